package websocket_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/proxy/proxytest"
	"github.com/wsclient/websocket/internal/wstest"
)

// writeCA writes ca's certificate to a new file and returns its path.
func writeCA(t *testing.T, ca *wstest.CA) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// dialClose dials u with opts and closes the connection.
func dialClose(u string, opts *websocket.DialOptions) error {
	c, err := websocket.Dial(context.Background(), u, opts)
	if err != nil {
		return err
	}
	return c.Close()
}

// TestCABundleWithTLSConfig: the environment's CA bundles are trusted when
// the given TLSConfig has no RootCAs, read at each Dial.
func TestCABundleWithTLSConfig(t *testing.T) {
	// crypto/x509 reads SSL_CERT_FILE and SSL_CERT_DIR once, when it first
	// loads the system roots: load them now, before the subtests set those.
	if _, err := x509.SystemCertPool(); err != nil {
		t.Log(err)
	}
	ca := wstest.NewCA()
	s := wstest.NewTLS(ca.ServerConfig(), wstest.Echo)
	t.Cleanup(s.Close)
	opts := func() *websocket.DialOptions {
		return &websocket.DialOptions{Timeout: testTimeout, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	}
	for _, env := range []string{"WEBSOCKET_CLIENT_CA_BUNDLE", "SSL_CERT_FILE"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, writeCA(t, ca))
			if err := dialClose(s.URL, opts()); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("SSL_CERT_DIR", func(t *testing.T) {
		t.Setenv("SSL_CERT_DIR", filepath.Dir(writeCA(t, ca)))
		if err := dialClose(s.URL, opts()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("changed between Dials", func(t *testing.T) {
		t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", writeCA(t, wstest.NewCA()))
		if err := dialClose(s.URL, opts()); err == nil {
			t.Fatal("Dial trusted a CA the environment does not name")
		}
		t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", writeCA(t, ca))
		if err := dialClose(s.URL, opts()); err != nil {
			t.Fatalf("after WEBSOCKET_CLIENT_CA_BUNDLE changed: %v", err)
		}
		t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", writeCA(t, wstest.NewCA()))
		if err := dialClose(s.URL, opts()); err == nil {
			t.Fatal("Dial still trusts a CA after WEBSOCKET_CLIENT_CA_BUNDLE changed")
		}
	})
	t.Run("file rewritten between Dials", func(t *testing.T) {
		file := writeCA(t, wstest.NewCA())
		t.Setenv("SSL_CERT_FILE", file)
		if err := dialClose(s.URL, opts()); err == nil {
			t.Fatal("Dial trusted a CA the file does not hold")
		}
		if err := os.WriteFile(file, ca.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := dialClose(s.URL, opts()); err != nil {
			t.Fatalf("after the file was rewritten: %v", err)
		}
	})
}

// TestCABundleHTTPSProxy: TLS to an https proxy trusts the environment's CA
// bundles.
func TestCABundleHTTPSProxy(t *testing.T) {
	ca := wstest.NewCA()
	target := wstest.New(wstest.Echo)
	t.Cleanup(target.Close)
	p := proxytest.StartTLS(t, "127.0.0.1", ca.Server, proxytest.HTTPConnect(proxytest.HTTPOptions{}))
	pu := &url.URL{Scheme: "https", Host: p.Addr}
	for _, cfg := range []*tls.Config{nil, {MinVersion: tls.VersionTLS12}} {
		opts := &websocket.DialOptions{Timeout: testTimeout, TLSConfig: cfg, Proxy: func(*url.URL) (*url.URL, error) { return pu, nil }}
		t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", writeCA(t, wstest.NewCA()))
		if err := dialClose(target.URL, opts); err == nil {
			t.Fatalf("TLSConfig %v: Dial trusted a proxy CA the environment does not name", cfg)
		}
		t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", writeCA(t, ca))
		if err := dialClose(target.URL, opts); err != nil {
			t.Fatalf("TLSConfig %v: %v", cfg, err)
		}
	}
}
