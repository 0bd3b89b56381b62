package main

import (
	"context"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestCollect runs an App against the test kit's echo server (three
// messages and a ping), then collects once with a ManualReader and checks
// the reported values.
func TestCollect(t *testing.T) {
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

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	reg, err := RegisterStats(provider.Meter("test"), app, "echo")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	if err := app.RunForever(&websocket.RunOptions{PingInterval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	// name + the attribute values other than app → value
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			key := func(set attribute.Set) string {
				k := m.Name
				for _, kv := range set.ToSlice() {
					if kv.Key != "app" {
						k += " " + kv.Value.AsString()
					} else if kv.Value.AsString() != "echo" {
						t.Errorf("%s: app=%q", m.Name, kv.Value.AsString())
					}
				}
				return k
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic {
					t.Errorf("%s is not monotonic", m.Name)
				}
				for _, p := range d.DataPoints {
					got[key(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					got[key(p.Attributes)] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					got[key(p.Attributes)] = float64(p.Value)
				}
			default:
				t.Errorf("%s: unexpected %T", m.Name, m.Data)
			}
		}
	}
	for name, want := range map[string]float64{
		"websocket.messages sent":                  3,
		"websocket.messages received":              3,
		"websocket.bytes sent":                     3 * float64(len(msg)),
		"websocket.bytes received":                 3 * float64(len(msg)),
		"websocket.compressed_bytes received wire": 0,
		"websocket.compressed_bytes sent payload":  0,
		"websocket.reconnects":                     0,
		"websocket.errors":                         0,
		"websocket.last_close_code":                1000,
		"websocket.connected":                      0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (reported: %v), want %v", name, v, ok, want)
		}
	}
	if got["websocket.pongs received"] < 1 || got["websocket.pings sent"] < 1 {
		t.Errorf("pings sent %v, pongs received %v; want at least 1 each", got["websocket.pings sent"], got["websocket.pongs received"])
	}
	if got["websocket.latency"] <= 0 {
		t.Errorf("latency = %v, want > 0", got["websocket.latency"])
	}
}
