package websocket

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/wsclient/websocket/internal/wstest"
)

// TestServerTLSConfigShared: TLS clients with the same base configuration,
// host, protocols and roots run with one configuration, which is base's
// copy with the host and protocols set; base is left as it was.
func TestServerTLSConfigShared(t *testing.T) {
	base := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: wstest.NewCA().Pool}
	get := func(base *tls.Config, host string, protos []string) *tls.Config {
		t.Helper()
		c, err := serverTLSConfig(base, host, protos)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := get(base, "a.example", alpnHTTP1)
	if a.ServerName != "a.example" || len(a.NextProtos) != 1 || a.RootCAs != base.RootCAs || a.MinVersion != tls.VersionTLS12 {
		t.Fatalf("config: ServerName %q, NextProtos %v, roots kept %v", a.ServerName, a.NextProtos, a.RootCAs == base.RootCAs)
	}
	if get(base, "a.example", alpnHTTP1) != a {
		t.Error("two clients of one host with one base run with two configurations")
	}
	for name, c := range map[string]*tls.Config{
		"another host":      get(base, "b.example", alpnHTTP1),
		"h2 offered":        get(base, "a.example", alpnH2),
		"another base":      get(&tls.Config{RootCAs: base.RootCAs}, "a.example", alpnHTTP1),
		"no base":           get(nil, "a.example", alpnHTTP1),
		"base without hint": get(&tls.Config{ServerName: "named.example"}, "a.example", alpnHTTP1),
	} {
		if c == a {
			t.Errorf("%s: shares the first configuration", name)
		}
	}
	if c := get(&tls.Config{ServerName: "named.example"}, "a.example", alpnHTTP1); c.ServerName != "named.example" {
		t.Errorf("base's ServerName %q replaced by %q", "named.example", c.ServerName)
	}
	if base.ServerName != "" || base.NextProtos != nil {
		t.Error("base was changed")
	}
}

// TestEnvCertPoolShared: the environment's pool is read at every call but
// built again only when a file changed, so connections share it.
func TestEnvCertPoolShared(t *testing.T) {
	// crypto/x509 reads SSL_CERT_FILE once, when it first loads the system
	// roots: load them before setting it.
	if _, err := x509.SystemCertPool(); err != nil {
		t.Log(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, wstest.NewCA().CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", file)
	p1, err := envCertPool()
	if err != nil || p1 == nil {
		t.Fatalf("envCertPool = %v, %v", p1, err)
	}
	if p2, _ := envCertPool(); p2 != p1 {
		t.Error("the same file gave two pools")
	}
	c1, _ := serverTLSConfig(nil, "a.example", alpnHTTP1)
	if c2, _ := serverTLSConfig(nil, "a.example", alpnHTTP1); c2 != c1 || c1.RootCAs != p1 {
		t.Error("two clients of one host, no base, run with two configurations or without the environment's pool")
	}
	if err := os.WriteFile(file, wstest.NewCA().CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	p3, err := envCertPool()
	if err != nil || p3 == p1 || p3.Equal(p1) {
		t.Errorf("after the file changed: a new pool %v, equal to the old %v, err %v", p3 != p1, p3.Equal(p1), err)
	}
	if c3, _ := serverTLSConfig(nil, "a.example", alpnHTTP1); c3 == c1 || c3.RootCAs != p3 {
		t.Error("after the file changed, clients still run with the old pool")
	}
	if err := os.WriteFile(file, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := envCertPool(); err == nil {
		t.Error("a file without certificates was accepted")
	}
}
