package websocket

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ALPN offers (RFC 7301): the Upgrade handshake is an HTTP/1.1 exchange,
// and a dial that may use HTTP/2 (HTTP2Prefer, HTTP2Require) offers both.
var (
	alpnHTTP1 = []string{"http/1.1"}
	alpnH2    = []string{"h2", "http/1.1"}
)

// tlsClient runs the TLS handshake over nc for host, offering the protocols
// protos by ALPN, with base (nil: an empty config) and, when base has no
// RootCAs, the system roots plus the CA bundles the environment names (see
// clientTLSConfig).
func tlsClient(ctx context.Context, nc net.Conn, host string, base *tls.Config, protos []string) (*tls.Conn, error) {
	cfg, err := clientTLSConfig(base)
	if err != nil {
		return nil, err
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	// Only what the dial can speak: offering h2 to an HTTP/1.1 upgrade
	// would let a server pick a protocol the handshake cannot speak.
	cfg.NextProtos = protos
	tc := tls.Client(tlsTransport(nc, cfg), cfg)
	// HandshakeContext watches only ctx.Done: ctx's deadline, which may
	// come without one, bounds the handshake as the connection's.
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
		defer nc.SetDeadline(time.Time{})
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, tlsError(host, err)
	}
	return tc, nil
}

// tlsError explains a failed TLS handshake.
func tlsError(host string, err error) error {
	switch certProblem(err) {
	case certUnknownAuthority:
		return fmt.Errorf("websocket: TLS: certificate of %s is signed by an unknown authority: %w", host, err)
	case certWrongHost:
		return fmt.Errorf("websocket: TLS: certificate is not valid for %s: %w", host, err)
	case certInvalid:
		return fmt.Errorf("websocket: TLS: certificate of %s is invalid: %w", host, err)
	}
	return fmt.Errorf("websocket: TLS handshake with %s: %w", host, err)
}

// What certProblem finds wrong with a peer's certificate.
const (
	certOK = iota // not a certificate verification failure
	certUnknownAuthority
	certWrongHost
	certInvalid
)

// certProblem classifies a TLS handshake error: the one place that knows
// which errors mean the peer's certificate failed verification (for the
// error message, and for DefaultRetry, which stops on them).
func certProblem(err error) int {
	var (
		unknown   x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknown):
		return certUnknownAuthority
	case errors.As(err, &hostname):
		return certWrongHost
	case errors.As(err, &invalid), errors.As(err, &verifyErr):
		return certInvalid
	}
	return certOK
}

// clientTLSConfig returns a copy of base (an empty config when nil) to use
// for a server or an https proxy. When base has no RootCAs and verifies
// certificates, the copy's roots are the system roots plus the CA bundles
// named by WEBSOCKET_CLIENT_CA_BUNDLE, SSL_CERT_FILE and SSL_CERT_DIR, read
// now, so that a change between two Dials takes effect.
func clientTLSConfig(base *tls.Config) (*tls.Config, error) {
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.RootCAs == nil && !cfg.InsecureSkipVerify {
		pool, err := envCertPool()
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool // nil when the environment names none: the system roots
	}
	return cfg, nil
}

// envCertPool returns nil (the system roots) unless WEBSOCKET_CLIENT_CA_BUNDLE,
// SSL_CERT_FILE or SSL_CERT_DIR name certificates, which are then added to
// the system roots. Each may be a file or a directory of PEM files.
func envCertPool() (*x509.CertPool, error) {
	var paths []string
	for _, name := range []string{"WEBSOCKET_CLIENT_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v := os.Getenv(name); v != "" {
			paths = append(paths, filepath.SplitList(v)...)
		}
	}
	if len(paths) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, p := range paths {
		if err := addCerts(pool, p); err != nil {
			return nil, err
		}
	}
	return pool, nil
}

func addCerts(pool *x509.CertPool, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("websocket: CA bundle: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("websocket: CA bundle: %w", err)
		}
		files = files[:0]
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("websocket: CA bundle: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) && !fi.IsDir() {
			return fmt.Errorf("websocket: CA bundle %s: no PEM certificates", f)
		}
	}
	return nil
}
