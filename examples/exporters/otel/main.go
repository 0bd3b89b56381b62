// Command otel exports a WebSocket App's statistics as OpenTelemetry
// metrics: it runs an App against an echo server started inside the
// program (the test kit's, github.com/wsclient/websocket/wstest), sending
// a message and a ping every second, and prints the App's metrics to
// stdout every five seconds (stdoutmetric; use your OTLP exporter in its
// place).
//
//	go run ./otel
//
// RegisterStats (stats.go) reads App.Stats once per collection; copy it
// into your program and register it once per App.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	app := &websocket.App{
		URL:     srv.URL,
		OnError: func(_ *websocket.App, err error) { log.Print(err) },
	}

	exp, err := stdoutmetric.New(stdoutmetric.WithPrettyPrint())
	if err != nil {
		log.Fatal(err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(
		sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(5*time.Second))))
	defer provider.Shutdown(context.Background()) // a last export
	if _, err := RegisterStats(provider.Meter("github.com/wsclient/websocket"), app, "echo"); err != nil {
		log.Fatal(err)
	}

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
	log.Print("metrics to stdout every 5 s; Ctrl-C stops")
	err = app.Run(ctx, &websocket.RunOptions{
		DialOptions:  websocket.DialOptions{HandshakeTimeout: 10 * time.Second},
		PingInterval: time.Second, // keep-alive pings measure the latency
		PingTimeout:  500 * time.Millisecond,
		Reconnect:    time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
}
