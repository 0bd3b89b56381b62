package websocket_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"sync"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/wstest"
)

func TestEventLoopGroup(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	g := websocket.NewEventLoopGroup(3)
	if g.Len() != 3 {
		t.Fatalf("Len = %d, want 3", g.Len())
	}
	const apps = 9
	var mu sync.Mutex
	loops := map[string]int{} // goroutine → Apps whose callbacks ran on it
	events := make([][]string, apps)
	received := 0
	for i := range apps {
		var id string // the goroutine of this App's callbacks
		on := func(ev string) {
			if id == "" {
				id = goid()
				mu.Lock()
				loops[id]++
				mu.Unlock()
			} else if goid() != id {
				t.Errorf("app %d: %s on another goroutine than its earlier callbacks", i, ev)
			}
			events[i] = append(events[i], ev)
		}
		a := &websocket.App{URL: srv.URL}
		a.OnOpen = func(a *websocket.App) { on("open"); a.SendText(fmt.Sprint(i)) }
		a.OnMessage = func(a *websocket.App, m websocket.Message) {
			on("message " + string(m.Data))
			mu.Lock()
			if received++; received == apps {
				g.Stop()
			}
			mu.Unlock()
		}
		a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { on(fmt.Sprintf("close %d", code)) }
		if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: g.Next()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatalf("Run = %v, want nil after Stop", err)
	}
	for i, e := range events {
		if want := []string{"open", fmt.Sprint("message ", i), "close 1001"}; !slices.Equal(e, want) {
			t.Errorf("app %d: %q, want %q", i, e, want)
		}
	}
	if len(loops) != 3 {
		t.Errorf("callbacks ran on %d goroutines, want the group's 3: %v", len(loops), loops)
	}
	for id, n := range loops {
		if n != apps/3 {
			t.Errorf("goroutine %s ran %d Apps, want %d", id, n, apps/3)
		}
	}
}

// A group of loops, one per CPU, spreads many Apps; each App's callbacks
// run on its loop's goroutine, one at a time.
func ExampleNewEventLoopGroup() {
	g := websocket.NewEventLoopGroup(0) // one loop per CPU
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for range 1000 {
		a := &websocket.App{
			URL: "ws://127.0.0.1:8080/feed",
			OnMessage: func(a *websocket.App, m websocket.Message) {
				// ...
			},
		}
		if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: g.Next()}); err != nil {
			log.Fatal(err)
		}
	}
	// Until Ctrl-C: every App is then closed, on its own loop.
	if err := g.Run(ctx); err != nil && err != context.Canceled {
		log.Fatal(err)
	}
}
