package websocket_test

import (
	"crypto/tls"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/wstest"
)

// didResume reports whether a's open connection resumed a TLS session.
func didResume(t *testing.T, a *websocket.App) bool {
	tc, ok := a.Conn().NetConn().(*tls.Conn)
	if !ok {
		t.Fatalf("NetConn is %T, want *tls.Conn", a.Conn().NetConn())
	}
	return tc.ConnectionState().DidResume
}

// countingCache is a session cache that counts the sessions put in it.
type countingCache struct {
	tls.ClientSessionCache
	puts atomic.Int32
}

func (c *countingCache) Put(key string, cs *tls.ClientSessionState) {
	c.puts.Add(1)
	c.ClientSessionCache.Put(key, cs)
}

// TestAppTLSResumption: a reconnect after the server dropped the first
// connection resumes its TLS session (TLS 1.2 and 1.3), and so does a
// later run of the same App; the user's TLSConfig is left as it was, and a
// ClientSessionCache of the user's own is used as it is.
func TestAppTLSResumption(t *testing.T) {
	defer leaktest.Check(t)()
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			ca := wstest.NewCA()
			srvConf := ca.ServerConfig()
			srvConf.MaxVersion = version
			var n atomic.Int32
			s := wstest.NewTLS(srvConf, func(c *wstest.Conn) {
				if n.Add(1) == 1 {
					return // dropped after the handshake
				}
				wstest.Echo(c)
			})
			defer s.Close()

			cfg := &tls.Config{RootCAs: ca.Pool}
			var resumed []bool
			firstRun := true // the server drops its first connection
			a := &websocket.App{URL: s.URL,
				OnOpen: func(a *websocket.App) {
					resumed = append(resumed, didResume(t, a))
					if !firstRun {
						a.Close()
					}
				},
				OnReconnect: func(a *websocket.App) {
					resumed = append(resumed, didResume(t, a))
					a.Close()
				},
			}
			opts := &websocket.RunOptions{Reconnect: time.Millisecond,
				DialOptions: websocket.DialOptions{TLSConfig: cfg, Timeout: testTimeout}}
			if err := a.RunForever(opts); err != nil {
				t.Fatalf("RunForever = %v", err)
			}
			if len(resumed) != 2 || resumed[0] || !resumed[1] {
				t.Errorf("DidResume of the first connection and the reconnect: %v, want [false true]", resumed)
			}
			if cfg.ClientSessionCache != nil {
				t.Error("the App changed the given TLSConfig")
			}

			resumed, firstRun = nil, false
			if err := a.RunForever(opts); err != nil {
				t.Fatalf("second RunForever = %v", err)
			}
			if len(resumed) != 1 || !resumed[0] {
				t.Errorf("DidResume in the second run: %v, want [true]", resumed)
			}

			// A cache of the user's own is the one used.
			cache := &countingCache{ClientSessionCache: tls.NewLRUClientSessionCache(1)}
			cfg.ClientSessionCache = cache
			resumed = nil
			if err := a.RunForever(opts); err != nil {
				t.Fatalf("RunForever with the user's cache = %v", err)
			}
			if len(resumed) != 1 || resumed[0] || cache.puts.Load() == 0 {
				t.Errorf("with the user's empty cache: DidResume %v, %d sessions put in it; want [false] and some",
					resumed, cache.puts.Load())
			}
		})
	}
}

// TestAppTLSSessionCacheKeepsEnvRoots: the copy of TLSConfig the App makes
// for its session cache still trusts the environment's CA bundles when the
// given config has no RootCAs, or is nil.
func TestAppTLSSessionCacheKeepsEnvRoots(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	s := wstest.NewTLS(ca.ServerConfig(), wstest.Echo)
	defer s.Close()
	t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", writeCA(t, ca))
	for _, cfg := range []*tls.Config{nil, {MinVersion: tls.VersionTLS12}} {
		opened := false
		a := &websocket.App{URL: s.URL, OnOpen: func(a *websocket.App) {
			opened = true
			a.Close()
		}}
		err := a.RunForever(&websocket.RunOptions{Reconnect: time.Millisecond,
			DialOptions: websocket.DialOptions{TLSConfig: cfg, Timeout: testTimeout}})
		if err != nil || !opened {
			t.Errorf("TLSConfig %v: RunForever = %v, opened %v; want nil, true", cfg, err, opened)
		}
	}
}

// TestAppTLSSessionsShared: Apps started with one TLSConfig share its
// session cache, so an App's first connection resumes the session another
// App's connection established; an App with another TLSConfig does not.
func TestAppTLSSessionsShared(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	s := wstest.NewTLS(ca.ServerConfig(), wstest.Echo)
	defer s.Close()
	run := func(cfg *tls.Config) (resumed bool) {
		t.Helper()
		a := &websocket.App{URL: s.URL,
			// The echo comes after the server's session ticket, so the
			// ticket is in the cache when the App closes.
			OnOpen:    func(a *websocket.App) { resumed = didResume(t, a); a.SendText("x") },
			OnMessage: func(a *websocket.App, _ websocket.Message) { a.Close() },
		}
		err := a.RunForever(&websocket.RunOptions{Reconnect: -1,
			DialOptions: websocket.DialOptions{TLSConfig: cfg, Timeout: testTimeout}})
		if err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		return resumed
	}
	cfg := &tls.Config{RootCAs: ca.Pool}
	if run(cfg) {
		t.Fatal("the first App resumed a session")
	}
	if !run(cfg) {
		t.Error("a second App with the same TLSConfig did not resume the first App's session")
	}
	if run(&tls.Config{RootCAs: ca.Pool}) {
		t.Error("an App with another TLSConfig resumed a session of the first one's cache")
	}
	if cfg.ClientSessionCache != nil {
		t.Error("the App changed the given TLSConfig")
	}
}
