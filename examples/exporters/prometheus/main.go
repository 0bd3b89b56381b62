// Command prometheus exports a WebSocket App's statistics to Prometheus:
// it runs an App against an echo server started inside the program (the
// test kit's, github.com/wsclient/websocket/wstest), sending a message
// and a ping every second, and serves the App's counters at /metrics.
//
//	go run ./prometheus [-addr 127.0.0.1:2112]
//	curl -s 127.0.0.1:2112/metrics | grep websocket_
//
// The Collector (collector.go) reads App.Stats when Prometheus scrapes;
// copy it into your program and register one per App.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2112", "address to serve /metrics on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	app := &websocket.App{
		URL:     srv.URL,
		OnError: func(_ *websocket.App, err error) { log.Print(err) },
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(app, "echo"))

	hs := &http.Server{Addr: *addr, Handler: metricsHandler(reg), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.ListenAndServe(); err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	defer hs.Close()
	go func() { // some traffic: a message a second (an error between connections)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				app.SendText(`{"op":"tick"}`)
			}
		}
	}()
	log.Printf("serving http://%s/metrics; Ctrl-C stops", *addr)
	err := app.Run(ctx, &websocket.RunOptions{
		DialOptions:  websocket.DialOptions{HandshakeTimeout: 10 * time.Second},
		PingInterval: time.Second, // keep-alive pings measure the latency
		PingTimeout:  500 * time.Millisecond,
		Reconnect:    time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// metricsHandler serves reg's metrics at /metrics.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
