package h2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
)

func TestPoolSharesConnections(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), &http.HTTP2Config{MaxConcurrentStreams: 2})
	var pool Pool
	defer pool.Close()
	var dials atomic.Int32
	dial := func(ctx context.Context) (*ClientConn, error) {
		dials.Add(1)
		return dialTLS(ctx, srv, nil)
	}
	var wg sync.WaitGroup
	streams := make(chan *Stream, 5)
	for range 5 {
		wg.Go(func() {
			_, st, err := pool.OpenWebSocket(context.Background(), Key{Name: "k"}, dial, wsRequest(srv, "/"))
			if err != nil {
				t.Error(err)
				return
			}
			streams <- st
		})
	}
	wg.Wait()
	close(streams)
	for st := range streams {
		if err := echoCheck(st, []byte("pooled")); err != nil {
			t.Error(err)
		}
		t.Cleanup(func() { st.Close() })
	}
	// Two streams per connection: three connections, dialed one at a time.
	if n := dials.Load(); n != 3 || pool.Len() != 3 {
		t.Fatalf("%d dials, %d pooled connections; want 3", n, pool.Len())
	}
	// Another key gets its own connection.
	_, st, err := pool.OpenWebSocket(context.Background(), Key{Name: "other"}, dial, wsRequest(srv, "/"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if dials.Load() != 4 {
		t.Fatalf("%d dials", dials.Load())
	}
}

// pipeDial dials scripted peers that send settings s; each new peer is
// handed to the test on the returned channel.
func pipeDial(t *testing.T, s ...http2.Setting) (DialFunc, <-chan *peer) {
	peers := make(chan *peer, 10)
	return func(ctx context.Context) (*ClientConn, error) {
		c, p := newPeer(t, true)
		sent := p.async(func() { p.settings(s...) })
		cc, err := NewClientConn(ctx, c, nil)
		<-sent
		peers <- p
		return cc, err
	}, peers
}

// poolOpen opens a stream from pool on a scripted peer that answers 200.
func poolOpen(t *testing.T, pool *Pool, dial DialFunc, peers <-chan *peer, p *peer) (*Stream, *peer) {
	t.Helper()
	type result struct {
		st  *Stream
		err error
	}
	res := make(chan result, 1)
	go func() {
		_, st, err := pool.OpenWebSocket(context.Background(), Key{Name: "k"}, dial, &Request{Scheme: "https", Authority: "a"})
		res <- result{st, err}
	}()
	if p == nil {
		p = <-peers
	}
	p.headers(p.next(http2.FrameHeaders).stream, false, ":status", "200")
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.st, p
}

func TestPoolIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pool Pool
		defer pool.Close()
		dial, peers := pipeDial(t, extConnect)
		st, p := poolOpen(t, &pool, dial, peers, nil)
		st.Close()
		time.Sleep(DefaultIdleTimeout - time.Second)
		// Reused before the timeout: the same connection.
		st, _ = poolOpen(t, &pool, dial, peers, p)
		time.Sleep(time.Hour) // busy connections stay
		if pool.Len() != 1 {
			t.Fatal("busy connection dropped")
		}
		st.Close()
		time.Sleep(DefaultIdleTimeout - time.Second)
		if pool.Len() != 1 {
			t.Fatal("connection dropped before its idle timeout")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if pool.Len() != 0 {
			t.Fatal("idle connection kept")
		}
		if f := p.next(http2.FrameGoAway); f.code != http2.ErrCodeNo {
			t.Fatalf("GOAWAY %v", f.code)
		}
	})
}

// TestPoolServerAllowingNoStreams: a connection whose server allows no
// stream (SETTINGS_MAX_CONCURRENT_STREAMS 0) fails the dial that made it
// and is closed after the idle timeout, as an idle one is. It stayed open,
// in the pool, for good: a socket and two goroutines per dial.
func TestPoolServerAllowingNoStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := Pool{IdleTimeout: time.Second, MaxConnsPerKey: -1}
		defer pool.Close()
		dial, peers := pipeDial(t, extConnect, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 0})
		for range 3 {
			_, _, err := pool.OpenWebSocket(context.Background(), Key{Name: "k"}, dial, &Request{Scheme: "https", Authority: "a"})
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("OpenWebSocket = %v, want ErrRefused", err)
			}
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := pool.Len(); n != 0 {
			t.Fatalf("%d connections kept after the idle timeout", n)
		}
		for range 3 {
			if f := (<-peers).next(http2.FrameGoAway); f.code != http2.ErrCodeNo {
				t.Fatalf("GOAWAY %v", f.code)
			}
		}
	})
}

func TestPoolAfterGoAway(t *testing.T) {
	var pool Pool
	defer pool.Close()
	dial, peers := pipeDial(t, extConnect)
	st, p1 := poolOpen(t, &pool, dial, peers, nil)
	defer st.Close()
	p1.fr.WriteGoAway(st.ID(), http2.ErrCodeNo, nil)
	p1.ping(st.cc) // the GOAWAY has been read
	st2, p2 := poolOpen(t, &pool, dial, peers, nil)
	defer st2.Close()
	if p2 == p1 || st2.cc == st.cc {
		t.Fatal("a stream opened on a connection that is going away")
	}
	if pool.Len() != 2 {
		t.Fatalf("%d connections", pool.Len())
	}
}

func TestPoolErrors(t *testing.T) {
	var pool Pool
	errDial := errors.New("dial failed")
	_, _, err := pool.OpenWebSocket(context.Background(), Key{Name: "k"}, func(context.Context) (*ClientConn, error) { return nil, errDial }, &Request{Scheme: "https", Authority: "a"})
	if err != errDial {
		t.Fatalf("dial error: %v", err)
	}
	dial, _ := pipeDial(t) // no extended CONNECT
	_, _, err = pool.OpenWebSocket(context.Background(), Key{Name: "k"}, dial, &Request{Scheme: "https", Authority: "a"})
	if !errors.Is(err, ErrExtendedConnectUnsupported) || pool.Len() != 0 {
		t.Fatalf("got %v with %d connections", err, pool.Len())
	}
}

// TestPoolDialerGivesUp: when the caller whose dial others wait for gives
// up, a waiter dials again instead of failing with the other's error.
func TestPoolDialerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pool Pool
		defer pool.Close()
		pipe, peers := pipeDial(t, extConnect)
		var calls atomic.Int32
		dial := func(ctx context.Context) (*ClientConn, error) {
			if calls.Add(1) == 1 {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return pipe(ctx)
		}
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, _, err := pool.OpenWebSocket(ctx, Key{Name: "k"}, dial, &Request{Scheme: "https", Authority: "a"})
			first <- err
		}()
		synctest.Wait() // the first caller is dialing
		second := make(chan error, 1)
		go func() {
			_, st, err := pool.OpenWebSocket(context.Background(), Key{Name: "k"}, dial, &Request{Scheme: "https", Authority: "a"})
			if err == nil {
				st.Close()
			}
			second <- err
		}()
		synctest.Wait() // the second waits for the first's dial
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("first: %v", err)
		}
		p := <-peers
		p.headers(p.next(http2.FrameHeaders).stream, false, ":status", "200")
		if err := <-second; err != nil {
			t.Fatalf("second: %v", err)
		}
	})
}

// TestReservedAcrossGoAway: a slot reserved before a GOAWAY is refused,
// and the connection, with nothing left to do, closes.
func TestReservedAcrossGoAway(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	if !cc.reserve() {
		t.Fatal("reserve failed")
	}
	p.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	p.ping(cc) // the GOAWAY has been read
	if _, _, err := cc.open(context.Background(), &Request{Scheme: "https", Authority: "a"}, true); !errors.Is(err, ErrRefused) {
		t.Fatalf("open: %v", err)
	}
	select {
	case <-cc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection left open")
	}
}

// TestPoolMaxConnsPerKey: at the cap, with every connection at the
// server's stream limit, a caller waits for a slot instead of dialing, gets
// one when a stream ends, and gives up when its context does.
func TestPoolMaxConnsPerKey(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), &http.HTTP2Config{MaxConcurrentStreams: 1})
	pool := Pool{MaxConnsPerKey: 2}
	defer pool.Close()
	var dials atomic.Int32
	dial := func(ctx context.Context) (*ClientConn, error) {
		dials.Add(1)
		return dialTLS(ctx, srv, nil)
	}
	open := func(ctx context.Context) (*Stream, error) {
		_, st, err := pool.OpenWebSocket(ctx, Key{Name: "k"}, dial, wsRequest(srv, "/"))
		return st, err
	}
	var first []*Stream
	for range 2 {
		st, err := open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := open(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("at the cap with a cancelled context: %v, want context.Canceled", err)
	}
	res := make(chan error, 1)
	go func() {
		st, err := open(context.Background())
		if err == nil {
			err = echoCheck(st, []byte("waited"))
			st.Close()
		}
		res <- err
	}()
	for pool.slotWait.Load() == 0 { // until it waits
		select {
		case err := <-res:
			t.Fatalf("the open at the cap returned without waiting: %v", err)
		default:
		}
		runtime.Gosched()
	}
	first[0].Reset() // frees a slot
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	first[1].Close()
	if n := dials.Load(); n != 2 || pool.Len() != 2 {
		t.Fatalf("%d dials, %d pooled connections; want 2 (the cap)", n, pool.Len())
	}
}

// TestPoolDefaultCap: MaxConnsPerKey 0 caps a key at
// DefaultMaxConnsPerKey connections; negative is no cap. The servers take
// one stream per connection.
func TestPoolDefaultCap(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), &http.HTTP2Config{MaxConcurrentStreams: 1})
	var dials atomic.Int32
	dial := func(ctx context.Context) (*ClientConn, error) {
		dials.Add(1)
		return dialTLS(ctx, srv, nil)
	}
	for _, max := range []int{0, -1} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			dials.Store(0)
			pool := Pool{MaxConnsPerKey: max}
			defer pool.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // waiting for a slot fails
			defer cancel()
			for i := range DefaultMaxConnsPerKey {
				_, st, err := pool.OpenWebSocket(ctx, Key{Name: "k"}, dial, wsRequest(srv, "/"))
				if err != nil {
					t.Fatalf("open %d: %v", i, err)
				}
				defer st.Close()
			}
			if max == 0 {
				ctx, cancel = context.WithCancel(context.Background())
				cancel()
			}
			_, st, err := pool.OpenWebSocket(ctx, Key{Name: "k"}, dial, wsRequest(srv, "/"))
			if max == 0 {
				if !errors.Is(err, context.Canceled) || dials.Load() != DefaultMaxConnsPerKey {
					t.Fatalf("past the default cap with a cancelled context: %v after %d dials, want context.Canceled after %d", err, dials.Load(), DefaultMaxConnsPerKey)
				}
				return
			}
			if err != nil {
				t.Fatalf("past the default cap with no cap: %v", err)
			}
			st.Close()
			if n := pool.Len(); n != DefaultMaxConnsPerKey+1 {
				t.Fatalf("%d pooled connections, want %d", n, DefaultMaxConnsPerKey+1)
			}
		})
	}
}
