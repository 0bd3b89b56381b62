package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// TestScrape runs an App against the test kit's echo server (three
// messages and a ping), then scrapes /metrics once and checks the
// exported values.
func TestScrape(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	const msg = "hello"
	echoed, ponged := 0, false
	app := &websocket.App{URL: srv.URL}
	done := func(a *websocket.App) {
		if echoed == 3 && ponged {
			a.Close()
		}
	}
	app.OnOpen = func(a *websocket.App) {
		for range 3 {
			a.SendText(msg)
		}
	}
	app.OnMessage = func(a *websocket.App, _ websocket.Message) { echoed++; done(a) }
	app.OnPong = func(a *websocket.App, _ []byte) { ponged = true; done(a) }
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(app, "echo"))
	if err := app.RunForever(&websocket.RunOptions{PingInterval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	hs := httptest.NewServer(metricsHandler(reg))
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	metrics := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		if name, value, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(name, "#") {
			metrics[name], _ = strconv.ParseFloat(value, 64)
		}
	}
	for name, want := range map[string]float64{
		`websocket_messages_total{app="echo",direction="sent"}`:                         3,
		`websocket_messages_total{app="echo",direction="received"}`:                     3,
		`websocket_bytes_total{app="echo",direction="sent"}`:                            3 * float64(len(msg)),
		`websocket_bytes_total{app="echo",direction="received"}`:                        3 * float64(len(msg)),
		`websocket_compressed_bytes_total{app="echo",direction="received",form="wire"}`: 0,
		`websocket_reconnects_total{app="echo"}`:                                        0,
		`websocket_errors_total{app="echo"}`:                                            0,
		`websocket_last_close_code{app="echo"}`:                                         1000,
		`websocket_connected{app="echo"}`:                                               0,
	} {
		if got, ok := metrics[name]; !ok || got != want {
			t.Errorf("%s = %v (exported: %v), want %v", name, got, ok, want)
		}
	}
	if n := metrics[`websocket_pongs_total{app="echo",direction="received"}`]; n < 1 {
		t.Errorf("pongs received = %v, want at least 1", n)
	}
	if l := metrics[`websocket_latency_seconds{app="echo"}`]; l <= 0 {
		t.Errorf("latency = %v, want > 0", l)
	}
}
