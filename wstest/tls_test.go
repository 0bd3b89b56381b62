package wstest_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"

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

// TestReadFrameFrom reads frames as a client sends them (masked, with RSV
// bits and the 16- and 64-bit lengths) back from their wire bytes, and
// refuses one that declares more than 64 MiB.
func TestReadFrameFrom(t *testing.T) {
	for _, f := range []wstest.Frame{
		{Fin: true, Opcode: wstest.OpText, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}, Payload: []byte("hello")},
		{Rsv1: true, Rsv3: true, Opcode: wstest.OpBinary, Payload: bytes.Repeat([]byte{7}, 300)},
		{Fin: true, Opcode: wstest.OpPing, Masked: true, MaskKey: [4]byte{9, 9, 9, 9}, Payload: bytes.Repeat([]byte{1}, 70000)},
		// Low bits set where FIN and MASK are clear: the first fragment
		// of a text message, unmasked, 1 byte.
		{Opcode: wstest.OpText, Payload: []byte("a")},
		{Fin: true, Opcode: wstest.OpClose, Payload: []byte{}},
	} {
		got, err := wstest.ReadFrameFrom(bytes.NewReader(f.AppendTo(nil)))
		if err != nil {
			t.Fatal(err)
		}
		want := f
		want.Length = uint64(len(f.Payload))
		if got.Fin != want.Fin || got.Rsv1 != want.Rsv1 || got.Rsv2 != want.Rsv2 || got.Rsv3 != want.Rsv3 ||
			got.Opcode != want.Opcode || got.Masked != want.Masked || got.MaskKey != want.MaskKey ||
			got.Length != want.Length || !bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("read %+v back as %+v", want, got)
		}
	}
	huge := wstest.Frame{Opcode: wstest.OpBinary, Length: 64<<20 + 1}.AppendTo(nil)
	if _, err := wstest.ReadFrameFrom(bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "declares 67108865 bytes") {
		t.Errorf("a frame declaring 64 MiB + 1: %v, want the limit's error", err)
	}
}

// TestReadFrameFromShort: a frame that declares exactly 64 MiB is read (it
// ends early here), and a payload cut short ends as io.ReadFull reports it
// (io.EOF with no byte of it, io.ErrUnexpectedEOF with some) after taking
// memory only for the bytes that came.
func TestReadFrameFromShort(t *testing.T) {
	header := wstest.Frame{Opcode: wstest.OpBinary, Length: 64 << 20}.AppendTo(nil)
	for _, tt := range []struct {
		body []byte
		want error
	}{
		{nil, io.EOF},
		{[]byte("ten bytes!"), io.ErrUnexpectedEOF},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := wstest.ReadFrameFrom(bytes.NewReader(append(header, tt.body...)))
		runtime.ReadMemStats(&after)
		if err != tt.want {
			t.Errorf("64 MiB declared, %d bytes sent: %v, want %v", len(tt.body), err, tt.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("64 MiB declared, %d bytes sent: %d bytes allocated", len(tt.body), n)
		}
	}
}
