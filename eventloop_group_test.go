package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
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

// TestEventLoopGroupSizeAndRunTwice: a group of n <= 0 loops has one per
// CPU, and at most 4096 (math.MaxInt panicked making the slice); a loop's
// Run while it runs already fails at once, and the first Run goes on.
func TestEventLoopGroupSizeAndRunTwice(t *testing.T) {
	for n, want := range map[int]int{0: runtime.GOMAXPROCS(0), -1: runtime.GOMAXPROCS(0), math.MinInt: runtime.GOMAXPROCS(0), 3: 3, 4097: 4096, math.MaxInt: 4096} {
		if got := websocket.NewEventLoopGroup(n).Len(); got != want {
			t.Errorf("NewEventLoopGroup(%d).Len() = %d, want %d", n, got, want)
		}
	}
	g := websocket.NewEventLoopGroup(2)
	l := g.Next()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	running := make(chan struct{})
	l.Post(func() { close(running) })
	<-running
	if err := l.Run(ctx); err == nil || !strings.HasPrefix(err.Error(), "websocket: ") || !strings.Contains(err.Error(), "already running") {
		t.Errorf("a second Run = %v, want an error saying the loop is running", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("the first Run = %v, want context.Canceled", err)
	}
}
