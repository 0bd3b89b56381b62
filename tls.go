package websocket

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
	"weak"

	"github.com/wsclient/websocket/internal/httptoken"
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
// clientTLSConfig). The certificate is verified for host without an IPv6
// zone.
func tlsClient(ctx context.Context, nc net.Conn, host string, base *tls.Config, protos []string) (*tls.Conn, error) {
	host = withoutZone(host)
	cfg, err := serverTLSConfig(base, host, protos)
	if err != nil {
		return nil, err
	}
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
	// The certificate's names and subject, which x509's errors quote as
	// they are, are the peer's: a log or terminal must not act on them.
	err = httptoken.ShownError(err)
	switch certProblem(err) {
	case certUnknownAuthority:
		return fmt.Errorf("websocket: TLS: certificate of %s is signed by an unknown authority: %w", host, err)
	case certWrongHost:
		return fmt.Errorf("websocket: TLS: certificate is not valid for %s: %w", host, err)
	case certInvalid:
		return fmt.Errorf("websocket: TLS: certificate of %s is invalid: %w", host, err)
	}
	return wrapError("websocket: TLS handshake with "+host, err)
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
// error message, and for RetryTransient, which stops on them).
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

// serverConfigs holds the configurations TLS clients of servers run with
// (serverTLSConfig): connections with the same base, host, protocols and
// roots share one, as crypto/tls allows, instead of each keeping a copy of
// about 500 bytes.
var serverConfigs weakCache[serverConfigKey, tls.Config]

type serverConfigKey struct {
	base  weak.Pointer[tls.Config]
	host  string
	h2    bool                        // protos is alpnH2, else alpnHTTP1
	roots weak.Pointer[x509.CertPool] // the environment's pool when base has no RootCAs
}

// serverTLSConfig returns the configuration a TLS client of host offering
// protos runs with: clientTLSConfig(base) with ServerName host (unless base
// names one) and NextProtos protos. It is shared: no one may change it.
func serverTLSConfig(base *tls.Config, host string, protos []string) (*tls.Config, error) {
	roots, err := baseRoots(base)
	if err != nil {
		return nil, err
	}
	key := serverConfigKey{weak.Make(base), host, len(protos) == len(alpnH2), weak.Make(roots)}
	return serverConfigs.get(key, func() *tls.Config {
		cfg := withRoots(base, roots)
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		// Only what the dial can speak: offering h2 to an HTTP/1.1 upgrade
		// would let a server pick a protocol the handshake cannot speak.
		cfg.NextProtos = protos
		return cfg
	}), nil
}

// clientTLSConfig returns a copy of base (an empty config when nil) to use
// for a server or an https proxy. When base has no RootCAs and verifies
// certificates, the copy's roots are the system roots plus the CA bundles
// named by WEBSOCKET_CLIENT_CA_BUNDLE, SSL_CERT_FILE and SSL_CERT_DIR, read
// now, so that a change between two Dials takes effect.
func clientTLSConfig(base *tls.Config) (*tls.Config, error) {
	roots, err := baseRoots(base)
	if err != nil {
		return nil, err
	}
	return withRoots(base, roots), nil
}

// baseRoots returns the roots a copy of base gets: the environment's
// (envCertPool) when base has no RootCAs and verifies certificates, else
// nil (base's own).
func baseRoots(base *tls.Config) (*x509.CertPool, error) {
	if base != nil && (base.RootCAs != nil || base.InsecureSkipVerify) {
		return nil, nil
	}
	return envCertPool()
}

// withRoots returns a copy of base (an empty config when nil) with roots
// in place of its nil RootCAs.
func withRoots(base *tls.Config, roots *x509.CertPool) *tls.Config {
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.RootCAs == nil {
		cfg.RootCAs = roots // nil when the environment names none: the system roots
	}
	return cfg
}

// envCertPool returns nil (the system roots) unless WEBSOCKET_CLIENT_CA_BUNDLE,
// SSL_CERT_FILE or SSL_CERT_DIR name certificates, which are then added to
// the system roots. Each may be a file or a directory of PEM files. The
// files are read at every call, so that a change between two Dials takes
// effect, but the pool is built again only when what was read changed: it
// is about 27 KiB with the system roots, which every connection would
// otherwise keep a copy of, and takes milliseconds to build.
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
	var bundles []caBundle
	for _, p := range paths {
		var err error
		if bundles, err = readCerts(bundles, p); err != nil {
			return nil, err
		}
	}
	h := maphash.Hash{}
	h.SetSeed(envRoots.seed)
	for _, b := range bundles {
		h.WriteString(b.file)
		h.WriteByte(0)
		h.Write(b.pem)
		h.WriteByte(0)
	}
	sum := h.Sum64()
	envRoots.mu.Lock()
	defer envRoots.mu.Unlock()
	if envRoots.pool != nil && envRoots.sum == sum {
		return envRoots.pool, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, b := range bundles {
		if !pool.AppendCertsFromPEM(b.pem) && !b.inDir {
			return nil, fmt.Errorf("websocket: CA bundle %s: no PEM certificates", b.file)
		}
	}
	envRoots.sum, envRoots.pool = sum, pool
	return pool, nil
}

// envRoots is the pool envCertPool built last, and the hash of the files it
// was built from.
var envRoots = struct {
	mu   sync.Mutex
	seed maphash.Seed
	sum  uint64
	pool *x509.CertPool
}{seed: maphash.MakeSeed()}

// caBundle is a file of PEM certificates read for envCertPool.
type caBundle struct {
	file  string
	pem   []byte
	inDir bool // found in a directory, where files without certificates are skipped
}

// readCerts appends the file at path, or the files of the directory at
// path, to bundles.
func readCerts(bundles []caBundle, path string) ([]caBundle, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("websocket: CA bundle: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("websocket: CA bundle: %w", err)
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
			return nil, fmt.Errorf("websocket: CA bundle: %w", err)
		}
		bundles = append(bundles, caBundle{file: f, pem: pem, inDir: fi.IsDir()})
	}
	return bundles, nil
}
