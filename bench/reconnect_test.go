package main

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// BenchmarkReconnectTLS times an App's reconnect over TLS against a Go
// (crypto/tls) server that drops each connection right after the
// handshake: one op is the drop seen, a new TCP connection, the TLS
// handshake and the upgrade, up to OnReconnect. "resume" is the App's
// default (its own session cache: each reconnect resumes the session);
// "full" turns resumption off (TLSConfig.SessionTicketsDisabled), so every
// reconnect is a full handshake with the server's certificate (ECDSA P-256)
// sent and verified. Without a suffix TLS 1.3 (whose resumption still runs
// a key exchange), with -tls12 TLS 1.2 (whose resumption skips it).
// resumed/op is the share of reconnects that resumed; cpu-ns/op the CPU
// time of client and server together (one process), steadier than ns/op on
// a busy machine.
//
//	go test -run '^$' -bench ReconnectTLS -benchtime 2000x -count 5
func BenchmarkReconnectTLS(b *testing.B) {
	srv := wstest.NewTLSServer(func(c *wstest.Conn) { c.Accept(nil) }) // then dropped
	defer srv.Close()
	for _, tt := range []struct {
		name       string
		noResume   bool
		maxVersion uint16
	}{
		{"resume", false, 0},
		{"full", true, 0},
		{"resume-tls12", false, tls.VersionTLS12},
		{"full-tls12", true, tls.VersionTLS12},
	} {
		b.Run(tt.name, func(b *testing.B) {
			cfg := srv.TLSConfig()
			cfg.SessionTicketsDisabled = tt.noResume
			cfg.MaxVersion = tt.maxVersion
			n, resumed := 0, 0
			var cpu0 int64
			count := func(a *websocket.App) {
				if n == 0 {
					b.ResetTimer()
					cpu0 = cpuTime()
				} else if tc, ok := a.Conn().NetConn().(*tls.Conn); ok && tc.ConnectionState().DidResume {
					resumed++
				}
				if n == b.N {
					b.StopTimer()
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
					a.Close()
				}
				n++
			}
			a := &websocket.App{URL: srv.URL, OnOpen: count, OnReconnect: count}
			err := a.RunForever(&websocket.RunOptions{
				Reconnect:   time.Nanosecond,
				DialOptions: websocket.DialOptions{TLSConfig: cfg},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(resumed)/float64(b.N), "resumed/op")
		})
	}
}
