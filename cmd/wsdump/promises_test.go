package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// TestHTTP2BannerWithSubprotocols: "With -v the banner says "over
// HTTP/2"", also when -s offered subprotocols the server did not take (the
// subprotocol note replaced it).
func TestHTTP2BannerWithSubprotocols(t *testing.T) {
	reqs := make(chan *http.Request, 8)
	h2URL, caFile := newH2Server(t, reqs, recordingEcho(make(chan received, 8)))
	stdout, stderr, code := runWith(t, "", "--http2", "-v", "--ca", caFile, "-s", "chat", "-t", "hi", "--max-messages", "1", h2URL)
	if code != 0 || stdout != "< text: hi\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if r := <-reqs; r.ProtoMajor != 2 {
		t.Fatalf("not HTTP/2: %s", r.Proto)
	}
	if !strings.Contains(stderr, "over HTTP/2 (the server chose none of the 1 subprotocols offered)") {
		t.Errorf("banner %q, want it to say \"over HTTP/2\" and that no subprotocol was chosen", stderr)
	}
}

// TestReconnectOn4xx: with --reconnect "a failure that another attempt
// would only repeat (a 4xx answer but 429 …) exits with status 1 at once;
// after a 429 (Too Many Requests) or a 503 (Service Unavailable) the
// wait is at least what its Retry-After asks" (a 429's was ignored and
// retried on the schedule, later a 503's).
func TestReconnectOn4xx(t *testing.T) {
	for _, status := range []string{"403 Forbidden", "404 Not Found", "429 Too Many Requests", "503 Service Unavailable"} {
		t.Run(status, func(t *testing.T) {
			srv := wstest.NewRaw(func(nc net.Conn) {
				defer nc.Close()
				if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
					io.WriteString(nc, "HTTP/1.1 "+status+"\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n")
				}
			})
			t.Cleanup(srv.Close)
			p := start(t, "--reconnect", "10ms", srv.URL) // stdin stays open
			retried := strings.HasPrefix(status, "429") || strings.HasPrefix(status, "503")
			deadline := time.After(testTimeout)
			for {
				s, changed := p.stderr.snapshot()
				if strings.Contains(s, "reconnecting in") {
					p.cmd.Process.Kill()
					p.wait()
					if !retried {
						t.Fatalf("a %s answer is retried: stderr %q", status, s)
					}
					if !strings.Contains(s, "reconnecting in 7s") {
						t.Fatalf("stderr %q, want a wait of Retry-After's 7s", s)
					}
					return
				}
				select {
				case <-p.done:
					if code := p.wait(); retried || code != 1 {
						t.Fatalf("exit %d (want 1, and no exit after a 429 or 503); stderr %q", code, p.stderr)
					}
					return
				case <-changed:
				case <-deadline:
					t.Fatalf("still running; stderr %q", s)
				}
			}
		})
	}
}

// TestPingEveryInterval: "--ping-interval DURATION: Send a ping every
// DURATION", without --ping-timeout also when the server answers none (one
// ping was sent, then none while it went unanswered).
func TestPingEveryInterval(t *testing.T) {
	for _, emptyPong := range []bool{false, true} {
		t.Run(fmt.Sprintf("emptyPong=%v", emptyPong), func(t *testing.T) {
			pings := make(chan struct{}, 1000)
			srv, _ := newServer(t, nil, func(c *wstest.Conn) {
				for {
					f, err := c.ReadFrame()
					if err != nil {
						return
					}
					switch f.Opcode {
					case 9:
						pings <- struct{}{}
						if emptyPong {
							c.WriteFrame(true, 10, nil)
						}
					case 8:
						c.WriteFrame(true, 8, f.Payload)
						return
					}
				}
			})
			p := start(t, "--ping-interval", "50ms", srv.URL)
			deadline := time.After(testTimeout)
			for n := 0; n < 3; n++ {
				select {
				case <-pings:
				case <-deadline:
					t.Fatalf("%d ping(s) in %v with --ping-interval 50ms", n, testTimeout)
				}
			}
			p.stdin.Close()
			p.wait()
		})
	}
}
