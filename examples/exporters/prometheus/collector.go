package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wsclient/websocket"
)

// Collector exports an App's statistics (websocket.App.Stats) to
// Prometheus. It reads them when scraped, so it costs nothing between
// scrapes. Register one per App, each with its own name:
//
//	prometheus.MustRegister(NewCollector(app, "feed"))
type Collector struct {
	app  *websocket.App
	desc struct {
		messages, bytes, compressed, pings, pongs *prometheus.Desc
		reconnects, errors, latency, closeCode    *prometheus.Desc
		connected                                 *prometheus.Desc
	}
}

// NewCollector returns a Collector of app's statistics, labelled
// app=name.
func NewCollector(app *websocket.App, name string) *Collector {
	c := &Collector{app: app}
	labels := prometheus.Labels{"app": name}
	d := func(metric, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc("websocket_"+metric, help, variable, labels)
	}
	c.desc.messages = d("messages_total", "Whole text and binary messages.", "direction")
	c.desc.bytes = d("bytes_total", "Payload bytes of data frames as on the wire (after compression).", "direction")
	c.desc.compressed = d("compressed_bytes_total",
		"Bytes of permessage-deflate compressed messages: on the wire (form=wire) and uncompressed (form=payload).",
		"direction", "form")
	c.desc.pings = d("pings_total", "Ping frames.", "direction")
	c.desc.pongs = d("pongs_total", "Pong frames.", "direction")
	c.desc.reconnects = d("reconnects_total", "Connections opened after the first of each run.")
	c.desc.errors = d("errors_total", "Failures reported to OnError.")
	c.desc.latency = d("latency_seconds", "Round-trip time of the last ping answered.")
	c.desc.closeCode = d("last_close_code", "Close code of the last connection that ended (1006: dropped).")
	c.desc.connected = d("connected", "1 while a connection is open.")
	return c
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.desc.messages, c.desc.bytes, c.desc.compressed, c.desc.pings,
		c.desc.pongs, c.desc.reconnects, c.desc.errors, c.desc.latency, c.desc.closeCode, c.desc.connected} {
		ch <- d
	}
}

// Collect reads the App's statistics once and sends them as metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.app.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(c.desc.messages, s.MessagesSent, "sent")
	counter(c.desc.messages, s.MessagesReceived, "received")
	counter(c.desc.bytes, s.BytesSent, "sent")
	counter(c.desc.bytes, s.BytesReceived, "received")
	counter(c.desc.compressed, s.CompressedWireSent, "sent", "wire")
	counter(c.desc.compressed, s.CompressedPayloadSent, "sent", "payload")
	counter(c.desc.compressed, s.CompressedWireReceived, "received", "wire")
	counter(c.desc.compressed, s.CompressedPayloadReceived, "received", "payload")
	counter(c.desc.pings, s.PingsSent, "sent")
	counter(c.desc.pings, s.PingsReceived, "received")
	counter(c.desc.pongs, s.PongsSent, "sent")
	counter(c.desc.pongs, s.PongsReceived, "received")
	counter(c.desc.reconnects, s.Reconnects)
	counter(c.desc.errors, s.Errors)
	gauge(c.desc.latency, s.Latency.Seconds())
	gauge(c.desc.closeCode, float64(s.LastCloseCode))
	connected := 0.0
	if c.app.Conn() != nil {
		connected = 1
	}
	gauge(c.desc.connected, connected)
}
