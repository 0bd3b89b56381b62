package harness

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"crypto/tls"

	"github.com/wsclient/websocket/wstest"
)

// CA is a throwaway certificate authority for one test run (wstest.CA,
// whose Cert, Key, CertPEM and Pool it has): servers get certificates it
// issues, and clients trust it through a tls.Config or a CA bundle file.
type CA struct {
	*wstest.CA
	// CertFile is the CA certificate as a PEM file, for programs and for
	// environment variables such as WEBSOCKET_CLIENT_CA_BUNDLE.
	CertFile string

	dir string
}

// Leaf is a certificate issued by a CA, with its key, in memory and as PEM
// files.
type Leaf struct {
	TLS      tls.Certificate
	CertFile string // PEM certificate
	KeyFile  string // PEM PKCS#8 private key
}

// NewCA makes a CA whose files live in a directory removed after the test.
func NewCA(tb testing.TB, name string) *CA {
	tb.Helper()
	ca := &CA{CA: wstest.NewCA(name), dir: tb.TempDir()}
	ca.CertFile = filepath.Join(ca.dir, "ca.pem")
	writeFile(tb, ca.CertFile, ca.CertPEM)
	return ca
}

// Server issues a server certificate for hosts (DNS names or IP addresses).
func (ca *CA) Server(tb testing.TB, name string, hosts ...string) *Leaf {
	tb.Helper()
	return ca.issue(tb, name, x509.ExtKeyUsageServerAuth, hosts)
}

// Client issues a client certificate for mutual TLS.
func (ca *CA) Client(tb testing.TB, name string) *Leaf {
	tb.Helper()
	return ca.issue(tb, name, x509.ExtKeyUsageClientAuth, nil)
}

func (ca *CA) issue(tb testing.TB, name string, usage x509.ExtKeyUsage, hosts []string) *Leaf {
	tb.Helper()
	cert := ca.Issue(name, usage, hosts...)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		tb.Fatalf("harness: key %s: %v", name, err)
	}
	l := &Leaf{
		TLS:      cert,
		CertFile: filepath.Join(ca.dir, name+".pem"),
		KeyFile:  filepath.Join(ca.dir, name+".key"),
	}
	writeFile(tb, l.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	writeFile(tb, l.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return l
}

func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatalf("harness: %v", err)
	}
}
