package harness

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// shell returns /bin/sh, skipping (or failing under CI) without it.
func shell(t *testing.T) string { return Need(t, "sh", "/bin/sh") }

func TestProcessStartStopRestart(t *testing.T) {
	sh := shell(t)
	p := Start(t, Spec{
		Name:  "sleeper",
		Path:  sh,
		Args:  []string{"-c", "echo READY; exec sleep 60"},
		Ready: OutputReady("READY"),
	})
	if !p.Running() {
		t.Fatal("Running() = false after Start")
	}
	p.Stop()
	if p.Running() {
		t.Fatal("Running() = true after Stop")
	}
	p.Stop() // a no-op when stopped
	p.Start(t)
	if !p.Running() {
		t.Fatal("Running() = false after Start again")
	}
	p.Restart(t)
	p.Kill()
	if p.Running() {
		t.Fatal("Running() = true after Kill")
	}
	p.Start(t)
	if got := strings.Count(p.Logs(), "\nREADY\n"); got != 4 {
		t.Errorf("READY printed %d times over four runs, want 4; logs:\n%s", got, p.Logs())
	}
}

// TestProcessStopsChildren checks that Stop ends the whole process group,
// here a shell that ignores SIGTERM and its child.
func TestProcessStopsChildren(t *testing.T) {
	sh := shell(t)
	p := Start(t, Spec{
		Name:  "stubborn",
		Path:  sh,
		Args:  []string{"-c", "trap '' TERM; sleep 60 & echo READY; wait"},
		Ready: OutputReady("READY"),
		// The shell ignores SIGTERM: Stop must go on to SIGKILL.
		StopGrace: 100 * time.Millisecond,
	})
	start := time.Now()
	p.Stop()
	if p.Running() {
		t.Fatal("Running() = true after Stop")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %v", d)
	}
}

func TestReadyFailures(t *testing.T) {
	sh := shell(t)
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{
			name: "exits early",
			spec: Spec{Name: "quitter", Path: sh, Args: []string{"-c", "echo bye; exit 3"}, Ready: OutputReady("READY")},
			want: "exited before it was ready",
		},
		{
			name: "never ready",
			spec: Spec{Name: "mute", Path: sh, Args: []string{"-c", "exec sleep 60"}, Ready: OutputReady("READY"), ReadyTimeout: 200 * time.Millisecond},
			want: "not ready after",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Process{spec: tc.spec, tb: t}
			t.Cleanup(p.Stop)
			err := p.start()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("start: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTCPReady(t *testing.T) {
	port := FreePort(t)
	ready := TCPReady(Addr(port))
	if err := ready(t.Context(), nil); err == nil {
		t.Fatalf("TCPReady on a closed port: nil error")
	}
	l, err := net.Listen("tcp", Addr(port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := ready(t.Context(), nil); err != nil {
		t.Fatalf("TCPReady on a listening port: %v", err)
	}
}

// TestHTTPServerRestart checks that Stop also drops hijacked connections
// and that the server comes back on the same address, over TLS.
func TestHTTPServerRestart(t *testing.T) {
	ca := NewCA(t, "test CA")
	leaf := ca.Server(t, "server", "127.0.0.1")
	hijacked := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hijack" {
			io.WriteString(w, "hello")
			return
		}
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		hijacked <- struct{}{}
		io.Copy(io.Discard, c) // until Stop closes it
		c.Close()
	})
	s := ServeHTTP(t, h, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})
	cfg := &tls.Config{RootCAs: ca.Pool()}

	c, err := tls.Dial("tcp", s.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
	<-hijacked
	s.Stop()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); err == nil {
		t.Fatal("hijacked connection still open after Stop")
	}
	if _, err := tls.Dial("tcp", s.Addr, cfg); err == nil {
		t.Fatal("dial succeeded while stopped")
	}
	s.Start(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + s.Addr + "/")
	if err != nil {
		t.Fatalf("GET after Start: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("body = %q, want hello", body)
	}
}

func TestCAIssuesVerifiableCertificates(t *testing.T) {
	ca := NewCA(t, "test CA")
	srv := ca.Server(t, "server", "localhost", "127.0.0.1")
	cli := ca.Client(t, "client")
	for _, tc := range []struct {
		leaf *Leaf
		host string
	}{{srv, "localhost"}, {srv, "127.0.0.1"}} {
		if err := tc.leaf.TLS.Leaf.VerifyHostname(tc.host); err != nil {
			t.Errorf("server certificate for %s: %v", tc.host, err)
		}
	}
	if len(cli.TLS.Certificate) == 0 || cli.CertFile == "" || cli.KeyFile == "" {
		t.Errorf("client certificate incomplete: %+v", cli)
	}
}

// TestFreePortOutsideEphemeralRange checks that FreePort's ports lie below
// the kernel's ephemeral range (where no dial can take them as its source
// port) and are never handed out twice.
func TestFreePortOutsideEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	seen := map[int]bool{}
	for range 50 {
		p := FreePort(t)
		if p < 10000 || p >= low {
			t.Fatalf("FreePort = %d, want within 10000–%d", p, low-1)
		}
		if seen[p] {
			t.Fatalf("FreePort handed out %d twice", p)
		}
		seen[p] = true
	}
}
