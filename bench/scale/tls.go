package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"

	llibtls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/wsclient/websocket/bench/internal/localca"
)

// With -tls every connection is wss (TLS 1.3, ECDSA P-256): a CA made once
// per invocation by the library's test kit signs the server's certificate
// for 127.0.0.1, and every client verifies the chain against it. The
// invocation's processes get the chain through their environment: the
// server its certificate and key, the clients the CA.
const (
	tlsCAEnv   = "WSSCALE_TLS_CA"   // the CA's certificate, PEM: set means -tls
	tlsCertEnv = "WSSCALE_TLS_CERT" // the server's certificate, PEM
	tlsKeyEnv  = "WSSCALE_TLS_KEY"  // the server's key, PEM
)

// setupTLS makes the chain, unless a parent process made it already, and
// puts it in the environment the child processes inherit.
func setupTLS() error {
	if os.Getenv(tlsCAEnv) != "" {
		return nil
	}
	c, err := localca.New("wsclient scale CA")
	if err != nil {
		return err
	}
	os.Setenv(tlsCertEnv, string(c.CertPEM))
	os.Setenv(tlsKeyEnv, string(c.KeyPEM))
	os.Setenv(tlsCAEnv, string(c.CAPEM))
	return nil
}

// clientRoots returns the pool of the CA in the environment.
func clientRoots() (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(os.Getenv(tlsCAEnv))) {
		return nil, errors.New("-tls: no CA certificate in " + tlsCAEnv)
	}
	return pool, nil
}

// clientTLS is the crypto/tls configuration of every client but nbio's;
// nil without -tls. Every mode resumes TLS sessions, from one cache shared
// by its connections: an App dialing with a configuration without a cache
// gives its runs one of their own, and the peers get the same here, so
// that every mode pays a full handshake only for the first connection.
func clientTLS(o *options) (*tls.Config, error) {
	if !o.TLS {
		return nil, nil
	}
	pool, err := clientRoots()
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13, ClientSessionCache: tls.NewLRUClientSessionCache(0)}, nil
}

// nbioClientTLS is the same for nbio's client, which has a TLS of its own
// (a non-blocking fork of crypto/tls).
func nbioClientTLS(o *options) (*llibtls.Config, error) {
	if !o.TLS {
		return nil, nil
	}
	pool, err := clientRoots()
	if err != nil {
		return nil, err
	}
	return &llibtls.Config{RootCAs: pool, MinVersion: llibtls.VersionTLS13, ClientSessionCache: llibtls.NewLRUClientSessionCache(0)}, nil
}

// serverTLS is the server's configuration, from its environment.
func serverTLS() (*llibtls.Config, error) {
	cert, err := llibtls.X509KeyPair([]byte(os.Getenv(tlsCertEnv)), []byte(os.Getenv(tlsKeyEnv)))
	if err != nil {
		return nil, err
	}
	return &llibtls.Config{Certificates: []llibtls.Certificate{cert}, MinVersion: llibtls.VersionTLS13}, nil
}
