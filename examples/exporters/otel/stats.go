package main

import (
	"context"
	"errors"

	"github.com/wsclient/websocket"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// RegisterStats makes meter report app's statistics (websocket.App.Stats)
// as asynchronous instruments, read once per collection, with the
// attribute app=name. It returns the registration, whose Unregister stops
// it.
func RegisterStats(meter metric.Meter, app *websocket.App, name string) (metric.Registration, error) {
	var failed []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		failed = append(failed, err)
		return c
	}
	messages := counter("websocket.messages", "{message}", "Whole text and binary messages.")
	bytes := counter("websocket.bytes", "By", "Payload bytes of data frames as on the wire (after compression).")
	compressed := counter("websocket.compressed_bytes", "By",
		"Bytes of permessage-deflate compressed messages: on the wire (form=wire) and uncompressed (form=payload).")
	pings := counter("websocket.pings", "{ping}", "Ping frames.")
	pongs := counter("websocket.pongs", "{pong}", "Pong frames.")
	reconnects := counter("websocket.reconnects", "{reconnect}", "Connections opened after the first of each run.")
	errs := counter("websocket.errors", "{error}", "Failures reported to OnError.")
	latency, err := meter.Float64ObservableGauge("websocket.latency", metric.WithUnit("s"),
		metric.WithDescription("Round-trip time of the last ping answered."))
	failed = append(failed, err)
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		failed = append(failed, err)
		return g
	}
	closeCode := gauge("websocket.last_close_code", "1", "Close code of the last connection that ended (1006: dropped).")
	connected := gauge("websocket.connected", "{connection}", "1 while a connection is open.")
	if err := errors.Join(failed...); err != nil {
		return nil, err
	}

	appAttr := attribute.String("app", name)
	attrs := func(kv ...string) metric.MeasurementOption {
		set := []attribute.KeyValue{appAttr}
		for i := 0; i+1 < len(kv); i += 2 {
			set = append(set, attribute.String(kv[i], kv[i+1]))
		}
		return metric.WithAttributes(set...)
	}
	var (
		sent, received = attrs("direction", "sent"), attrs("direction", "received")
		sentWire       = attrs("direction", "sent", "form", "wire")
		sentPayload    = attrs("direction", "sent", "form", "payload")
		recvWire       = attrs("direction", "received", "form", "wire")
		recvPayload    = attrs("direction", "received", "form", "payload")
		appOnly        = attrs()
	)
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := app.Stats()
		n := func(c metric.Int64ObservableCounter, v uint64, opt metric.MeasurementOption) {
			o.ObserveInt64(c, int64(v), opt)
		}
		n(messages, s.MessagesSent, sent)
		n(messages, s.MessagesReceived, received)
		n(bytes, s.BytesSent, sent)
		n(bytes, s.BytesReceived, received)
		n(compressed, s.CompressedWireSent, sentWire)
		n(compressed, s.CompressedPayloadSent, sentPayload)
		n(compressed, s.CompressedWireReceived, recvWire)
		n(compressed, s.CompressedPayloadReceived, recvPayload)
		n(pings, s.PingsSent, sent)
		n(pings, s.PingsReceived, received)
		n(pongs, s.PongsSent, sent)
		n(pongs, s.PongsReceived, received)
		n(reconnects, s.Reconnects, appOnly)
		n(errs, s.Errors, appOnly)
		o.ObserveFloat64(latency, s.Latency.Seconds(), appOnly)
		o.ObserveInt64(closeCode, int64(s.LastCloseCode), appOnly)
		open := int64(0)
		if app.Conn() != nil {
			open = 1
		}
		o.ObserveInt64(connected, open, appOnly)
		return nil
	}, messages, bytes, compressed, pings, pongs, reconnects, errs, latency, closeCode, connected)
}
