package websocket_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// settlingLoop is an EventLoop whose connections are read by a goroutine
// each and whose Go returns only once the goroutine it started can do no
// more (inside a synctest bubble): a Dispatcher's Go may be slow to return.
type settlingLoop struct{ readLoopDispatcher }

func (d settlingLoop) Go(f func()) {
	d.l.Go(f)
	synctest.Wait()
}

// TestAppPongReadBeforeThePingReturned: a pong read while the ping's send
// was still returning is the ping's pong. The App counted the pongs read so
// far after sending the ping, so a server that answered at once, read
// before that count, was taken for one that never answered: a ping timeout.
func TestAppPongReadBeforeThePingReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				switch f.Opcode {
				case wstest.OpPing: // a message, then the pong, at once
					c.WriteMessage(wstest.OpText, []byte("slow"))
					c.WriteMessage(wstest.OpPong, f.Payload)
				case wstest.OpClose:
					c.WriteFrame(f)
					return
				}
			}
		})
		defer srv.Close()
		var mu sync.Mutex
		var errs []error
		a := &websocket.App{URL: srv.URL, OnError: func(_ *websocket.App, err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}}
		a.OnMessage = func(*websocket.App, websocket.Message) { time.Sleep(time.Second) } // the pong waits behind it
		l := websocket.NewEventLoop()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		o := &websocket.RunOptions{Dispatcher: settlingLoop{readLoopDispatcher{l}},
			PingInterval: 3 * time.Second, PingTimeout: 500 * time.Millisecond,
			DialOptions: websocket.DialOptions{NetDialContext: srv.DialContext}}
		if err := a.Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second) // three pings
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(errs) != 0 {
			t.Errorf("OnError %v against a server that answered every ping at once", errs)
		}
		if st := a.Stats(); st.PingsSent < 2 {
			t.Errorf("%d pings sent in 10 s, want 3", st.PingsSent)
		}
	})
}

// TestAppFirstPingOneIntervalAfterOpen: "the first one PingInterval after
// the open", also when OnOpen takes longer: the ping goes out as soon as
// OnOpen returns. It went out a whole interval after OnOpen returned.
func TestAppFirstPingOneIntervalAfterOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var opened time.Time
		pinged := make(chan time.Duration, 1)
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				if f.Opcode == wstest.OpPing {
					select {
					case pinged <- time.Since(opened):
					default:
					}
					c.WriteMessage(wstest.OpPong, f.Payload)
				}
			}
		})
		defer srv.Close()
		a := &websocket.App{URL: srv.URL}
		a.OnOpen = func(*websocket.App) {
			opened = time.Now()
			time.Sleep(2500 * time.Millisecond) // a slow OnOpen
		}
		go a.RunForever(&websocket.RunOptions{PingInterval: time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: srv.DialContext}})
		if d := <-pinged; d != 2500*time.Millisecond {
			t.Errorf("first ping %v after the open, want 2.5s (PingInterval 1s, OnOpen returned at 2.5s)", d)
		}
		a.Close()
		synctest.Wait()
	})
}

// TestAppCloseWhileACallbackSendIsBlocked: a callback's send to a server
// that reads nothing holds the dispatcher; Close, CloseWith and the end of
// Run's ctx still close the socket at the close's timeout and end the run
// (OnClose 1006). They waited for the dispatcher, which the send held for
// good.
func TestAppCloseWhileACallbackSendIsBlocked(t *testing.T) {
	for _, how := range []string{"CloseWith", "ctx"} {
		t.Run(how, func(t *testing.T) {
			hold := make(chan struct{})
			srv := wstest.NewServer(func(c *wstest.Conn) {
				c.Accept(nil)
				<-hold // reads nothing
			})
			defer srv.Close()
			defer close(hold)
			opened := make(chan struct{})
			closed := make(chan websocket.StatusCode, 1)
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				close(opened)
				a.SendBytes(make([]byte, 64<<20)) // blocks: the server reads nothing
			}
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { closed <- code }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx, &websocket.RunOptions{Reconnect: -1}) }()
			<-opened
			start := time.Now()
			if how == "ctx" {
				cancel()
			} else {
				a.CloseWith(websocket.StatusNormal, "", 500*time.Millisecond)
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("Run still running 20 s after %s (close timeout %v)", how, map[string]time.Duration{"ctx": 3 * time.Second, "CloseWith": 500 * time.Millisecond}[how])
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Run returned %v after %s", d, how)
			}
			select {
			case code := <-closed:
				if code != websocket.StatusAbnormalClosure {
					t.Errorf("OnClose(%d), want 1006", code)
				}
			default:
				t.Error("Run returned before OnClose")
			}
		})
	}
}

// TestAppHeaderFuncPanicIsTheAttemptsFailure: "A panic in a callback is
// recovered and reported to OnError; the run goes on" — also in HeaderFunc,
// which the App calls at every attempt on the library's dial goroutine,
// where a panic ended the program.
func TestAppHeaderFuncPanicIsTheAttemptsFailure(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(map[bool]string{false: "goroutine", true: "loop"}[onLoop], func(t *testing.T) {
			srv := wstest.NewServer(wstest.Echo)
			defer srv.Close()
			var mu sync.Mutex
			var events []string
			calls := 0
			a := &websocket.App{URL: srv.URL}
			a.HeaderFunc = func() http.Header {
				mu.Lock()
				calls++
				n := calls
				mu.Unlock()
				if n == 1 {
					panic("token refresh failed")
				}
				return http.Header{"X-Token": {"t"}}
			}
			a.OnError = func(_ *websocket.App, err error) {
				mu.Lock()
				events = append(events, "error: "+err.Error())
				mu.Unlock()
			}
			a.OnOpen = func(a *websocket.App) {
				mu.Lock()
				events = append(events, "open")
				mu.Unlock()
				a.Close()
			}
			if err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: 10 * time.Millisecond}); err != nil {
				t.Errorf("run = %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			want := "[error: websocket: panic in a function the dial called (HeaderFunc, Proxy, NetDialContext, TLSConfig): token refresh failed open]"
			if got := fmt.Sprint(events); got != want {
				t.Errorf("events %s, want %s", got, want)
			}
		})
	}
}
