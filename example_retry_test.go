package websocket_test

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// A reconnect policy for production. RetryTransient retries outages (here a
// 503) and stops on answers another attempt would only repeat, such as a
// 401; this classifier first refreshes the token and tries once more. With
// ReconnectOnServerClose, a server's graceful restart (close 1012) leads to
// a reconnect instead of ending the run.
func ExampleRunOptions_retry() {
	var conns atomic.Int32
	srv := wstest.NewServer(func(c *wstest.Conn) {
		switch n := conns.Add(1); {
		case n == 1:
			c.Reject(http.StatusServiceUnavailable, nil, "") // an outage
		case c.Request().Header.Get("Authorization") != "Bearer fresh":
			c.Reject(http.StatusUnauthorized, nil, "")
		case n == 3:
			c.Close(1012, "restarting") // a graceful restart
		default:
			c.Close(1000, "bye")
		}
	})
	defer srv.Close()

	token := "stale" // set by Retry, read by HeaderFunc at the next dial
	refreshed := false
	app := &websocket.App{
		URL:         srv.URL,
		HeaderFunc:  func() http.Header { return http.Header{"Authorization": {"Bearer " + token}} },
		OnOpen:      func(*websocket.App) { fmt.Println("open") },
		OnReconnect: func(*websocket.App) { fmt.Println("reconnected") },
		OnError:     func(a *websocket.App, err error) { fmt.Println("error:", err) },
		OnClose: func(a *websocket.App, code websocket.StatusCode, reason string) {
			fmt.Printf("closed: %d %q\n", code, reason)
		},
	}
	err := app.RunForever(&websocket.RunOptions{
		Reconnect:              10 * time.Millisecond,
		ReconnectOnServerClose: true,
		Retry: func(err error) (retry bool, after time.Duration) {
			var bs *websocket.BadStatusError
			if errors.As(err, &bs) && bs.StatusCode == http.StatusUnauthorized && !refreshed {
				refreshed = true
				token = "fresh" // from your identity provider
				return true, 0
			}
			return websocket.RetryTransient(err)
		},
	})
	fmt.Println("run ended:", err)
	// Output:
	// error: websocket: handshake failed: status 503 Service Unavailable
	// error: websocket: handshake failed: status 401 Unauthorized
	// open
	// closed: 1012 "restarting"
	// reconnected
	// closed: 1000 "bye"
	// run ended: <nil>
}
