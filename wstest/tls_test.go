package wstest_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket/wstest"
)

// TestCAIssue: a server certificate the CA issues passes verification for
// its hosts with a pool holding only the CA, fails for another host, and
// CertPEM is the CA's certificate; a client certificate is for client
// authentication only.
func TestCAIssue(t *testing.T) {
	ca := wstest.NewCA("test CA")
	srv := ca.Issue("srv", x509.ExtKeyUsageServerAuth, "localhost", "127.0.0.1")
	opts := x509.VerifyOptions{Roots: ca.Pool()}
	for _, host := range []string{"localhost", "127.0.0.1"} {
		opts.DNSName = host
		if _, err := srv.Leaf.Verify(opts); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	opts.DNSName = "example.com"
	if _, err := srv.Leaf.Verify(opts); err == nil {
		t.Error("verified for example.com, a host it was not issued for")
	}
	if b, _ := pem.Decode(ca.CertPEM); b == nil || !bytes.Equal(b.Bytes, ca.Cert.Raw) {
		t.Error("CertPEM is not the CA's certificate")
	}
	cli := ca.Issue("client", x509.ExtKeyUsageClientAuth)
	opts = x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := cli.Leaf.Verify(opts); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if srv.Leaf.SerialNumber.Cmp(cli.Leaf.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
}

// TestCAValidity: "valid from an hour before NewCA until a day after it",
// the CA and what it issues, at the caller's clock (a synctest bubble's).
func TestCAValidity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		ca := wstest.NewCA("test CA")
		leaf := ca.Issue("srv", x509.ExtKeyUsageServerAuth, "localhost").Leaf
		for name, c := range map[string]*x509.Certificate{"CA": ca.Cert, "issued": leaf} {
			if !c.NotBefore.Equal(now.Add(-time.Hour).Truncate(time.Second)) || !c.NotAfter.Equal(now.Add(24*time.Hour).Truncate(time.Second)) {
				t.Errorf("%s valid %v to %v, want an hour before %v to a day after", name, c.NotBefore, c.NotAfter, now)
			}
		}
	})
}

// TestCATLSHandshake: a TLS server with an issued certificate and a client
// trusting the CA's pool complete a handshake.
func TestCATLSHandshake(t *testing.T) {
	ca := wstest.NewCA("test CA")
	cert := ca.Issue("srv", x509.ExtKeyUsageServerAuth, "127.0.0.1")
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	done := make(chan error, 1)
	go func() {
		done <- tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
	}()
	if err := tls.Client(b, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}).Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
