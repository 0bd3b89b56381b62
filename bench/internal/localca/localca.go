// Package localca makes the TLS chain of a benchmark run: a CA (the
// library's test kit, ECDSA P-256) and a server certificate it signs for
// 127.0.0.1, in PEM for the processes that get them through their
// environment.
package localca

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"

	"github.com/wsclient/websocket/wstest"
)

// Chain is a CA and the server certificate it signed.
type Chain struct {
	CertPEM, KeyPEM []byte         // the server's certificate and key
	CAPEM           []byte         // the CA's certificate
	Roots           *x509.CertPool // the CA, a client's only root
}

// New makes a chain whose CA is called name.
func New(name string) (*Chain, error) {
	ca := wstest.NewCA(name)
	cert := ca.Issue("127.0.0.1", x509.ExtKeyUsageServerAuth, "127.0.0.1", "localhost")
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("the server's key is not ECDSA")
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Chain{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		CAPEM:   ca.CertPEM,
		Roots:   ca.Pool(),
	}, nil
}
