package wstest

import (
	"crypto/tls"
	"crypto/x509"

	public "github.com/wsclient/websocket/wstest"
)

// CA is a throwaway certificate authority with one server certificate for
// 127.0.0.1, ::1 and localhost, made by the public wstest's CA.
type CA struct {
	CertPEM []byte         // the CA certificate, PEM
	Pool    *x509.CertPool // holding the CA
	Server  tls.Certificate
}

// NewCA makes a CA and a server certificate signed by it.
func NewCA() *CA {
	ca := public.NewCA("wstest CA")
	return &CA{
		CertPEM: ca.CertPEM,
		Pool:    ca.Pool(),
		Server:  ca.Issue("localhost", x509.ExtKeyUsageServerAuth, "localhost", "127.0.0.1", "::1"),
	}
}

// ServerConfig returns a TLS config serving the CA's server certificate.
func (ca *CA) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{ca.Server}}
}
