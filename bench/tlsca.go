package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"sync"

	"github.com/wsclient/websocket/bench/internal/localca"
)

// The wss scenarios run over TLS 1.3 with a certificate chain made at start
// by the library's test kit (wstest.CA, ECDSA P-256): a local CA that signs
// the server's certificate for 127.0.0.1. The server process gets its certificate and key through its
// environment; every client verifies the chain against the CA, as a client
// of a real server does, so connecting pays for the verification too.

// Environment of the server process: its certificate and key, PEM.
const (
	tlsCertEnv = "WSBENCH_TLS_CERT"
	tlsKeyEnv  = "WSBENCH_TLS_KEY"
)

// localCA is the chain of one benchmark invocation.
type localCA struct {
	certPEM, keyPEM []byte         // the server's certificate and key
	roots           *x509.CertPool // the CA, the clients' only root
	caPEM           []byte         // the CA's certificate, for client processes
}

// benchCA makes the chain once per process.
var benchCA = sync.OnceValues(newLocalCA)

func newLocalCA() (*localCA, error) {
	c, err := localca.New("wsclient bench CA")
	if err != nil {
		return nil, err
	}
	return &localCA{certPEM: c.CertPEM, keyPEM: c.KeyPEM, roots: c.Roots, caPEM: c.CAPEM}, nil
}

// serverEnv is the environment that hands the server its certificate.
func (ca *localCA) serverEnv() []string {
	return []string{tlsCertEnv + "=" + string(ca.certPEM), tlsKeyEnv + "=" + string(ca.keyPEM)}
}

// serverTLSConfig is the server's TLS configuration, from its environment:
// TLS 1.3 only, Go's defaults otherwise (session tickets are sent, but the
// clients keep no session cache, so every connection is a full handshake).
func serverTLSConfig() (*tls.Config, error) {
	cert, err := tls.X509KeyPair([]byte(os.Getenv(tlsCertEnv)), []byte(os.Getenv(tlsKeyEnv)))
	if err != nil {
		return nil, errors.Join(errors.New("the server's TLS certificate"), err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}, nil
}

// clientTLS returns, for a wss URL, the client configuration of this
// process: TLS 1.3, trusting only the benchmark's CA, for the server name
// 127.0.0.1 that every benchmark URL has (set here, so that no library
// writes it into the shared configuration, as gws would). For any other
// URL it returns nil, so that ws connections are dialled exactly as without
// TLS support. Only the parent process, which made the CA, dials wss.
func clientTLS(rawURL string) *tls.Config {
	if !strings.HasPrefix(rawURL, "wss://") {
		return nil
	}
	return sharedClientTLS()
}

var sharedClientTLS = sync.OnceValue(func() *tls.Config {
	ca, err := benchCA()
	if err != nil {
		panic(err) // startServer made it already
	}
	return &tls.Config{RootCAs: ca.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
})
