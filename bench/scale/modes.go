package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	websocket "github.com/wsclient/websocket"
)

// A mode is one way of holding many client connections. Its client is made
// before the baseline measurement (so engines, loops and the slice of
// handles are not counted per connection) and opens connection i when
// asked.
type mode struct {
	name string
	// autoPing: the library sends keep-alive pings itself (the App's
	// PingInterval); otherwise one goroutine of the tool pings every open
	// connection each interval, as a user of that library would.
	autoPing bool
	// tlsDialers, when not 0, caps -dialers with -tls: the most opens
	// the library's TLS client survives at once.
	tlsDialers int
	// idleOnly: a floor, not a client: its connections are measured idle
	// and take no part in the echo, the hold or the push.
	idleOnly bool
	make     func(ev *events, o *options) (client, error)
}

type client interface {
	// open starts opening connection i to url. A blocking client returns
	// once it is open (the caller then reports it to ev); an asynchronous
	// one returns at once and reports through ev.openDone or ev.fail.
	open(ctx context.Context, i int, url string) error
	// async reports whether open returns before the connection is open.
	async() bool
	// send sends p as one binary message on connection i.
	send(i int, p []byte) error
	// ping sends a ping on connection i (modes without autoPing).
	ping(i int) error
}

var modes = []mode{
	{name: "ours-conn", make: newOursConn},
	{name: "ours-app", autoPing: true, make: newOursApp},
	{name: "ours-loop", autoPing: true, make: newOursLoop},
	{name: "gobwas", make: newGobwas},
	{name: "gws", make: newGWS},
	// nbio v1.6.8's client TLS fails handshakes ("handshake message of
	// length ... exceeds maximum") when several run at once.
	{name: "nbio", make: newNbio, tlsDialers: 1},
	{name: "netconn", idleOnly: true, make: newNetConnFloor},
}

func modeNames() []string {
	var names []string
	for _, m := range modes {
		names = append(names, m.name)
	}
	return names
}

func findMode(name string) (mode, error) {
	i := slices.IndexFunc(modes, func(m mode) bool { return m.name == name })
	if i < 0 {
		return mode{}, fmt.Errorf("unknown mode %q (have %s)", name, strings.Join(modeNames(), ", "))
	}
	return modes[i], nil
}

// ours-conn: websocket.Dial and one goroutine per Conn reading with
// RecvData(true), which also returns the pongs.
type oursConn struct {
	ev    *events
	conns []*websocket.Conn
	opts  *websocket.DialOptions
}

func newOursConn(ev *events, o *options) (client, error) {
	cfg, err := clientTLS(o)
	if err != nil {
		return nil, err
	}
	return &oursConn{ev: ev, conns: make([]*websocket.Conn, o.N), opts: &websocket.DialOptions{TLSConfig: cfg}}, nil
}

func (c *oursConn) async() bool { return false }

func (c *oursConn) open(ctx context.Context, i int, url string) error {
	conn, err := websocket.Dial(ctx, url, c.opts)
	if err != nil {
		return err
	}
	c.conns[i] = conn
	go c.read(conn)
	return nil
}

func (c *oursConn) read(conn *websocket.Conn) {
	for {
		op, _, err := conn.RecvData(true)
		if err != nil {
			c.ev.fail(err)
			return
		}
		switch op {
		case websocket.OpPong:
			c.ev.pongs.add()
		case websocket.OpBinary, websocket.OpText:
			c.ev.msgs.add()
		}
	}
}

func (c *oursConn) send(i int, p []byte) error { return c.conns[i].SendBinary(p) }
func (c *oursConn) ping(i int) error           { return c.conns[i].Ping(nil) }

// ours-app and ours-loop: one App per connection with PingInterval set
// (automatic keep-alive), run by RunForever on its own goroutine (ours-app)
// or registered with an event loop through RunOptions.Dispatcher
// (ours-loop: RunForever returns at once). The callbacks are shared by all
// Apps; reconnecting is off, so any failure shows.
type oursApp struct {
	ev   *events
	apps []*websocket.App
	opts []*websocket.RunOptions // one per loop (ours-loop), or one
	loop bool
	cb   appCallbacks
}

// appCallbacks are the callbacks every App of a mode shares, bound once: a
// method value taken in open would be a closure made for each App (64
// bytes per connection that a user's shared handler does not cost).
type appCallbacks struct {
	open    func(*websocket.App)
	message func(*websocket.App, websocket.Message)
	pong    func(*websocket.App, []byte)
	fail    func(*websocket.App, error)
}

// bind binds c's callbacks; it returns c.
func (c *oursApp) bind() *oursApp {
	c.cb = appCallbacks{open: c.onOpen, message: c.onMessage, pong: c.onPong, fail: c.onError}
	return c
}

func newOursApp(ev *events, o *options) (client, error) {
	cfg, err := clientTLS(o)
	if err != nil {
		return nil, err
	}
	return (&oursApp{
		ev:   ev,
		apps: make([]*websocket.App, o.N),
		opts: []*websocket.RunOptions{{PingInterval: o.Ping, Reconnect: -1, DialOptions: websocket.DialOptions{TLSConfig: cfg}}},
	}).bind(), nil
}

func newOursLoop(ev *events, o *options) (client, error) {
	cfg, err := clientTLS(o)
	if err != nil {
		return nil, err
	}
	a := &oursApp{ev: ev, apps: make([]*websocket.App, o.N), loop: true}
	for range max(o.Loops, 1) {
		l := websocket.NewEventLoop()
		go func() { _ = l.Run(context.Background()) }()
		a.opts = append(a.opts, &websocket.RunOptions{PingInterval: o.Ping, Reconnect: -1, Dispatcher: l,
			DialOptions: websocket.DialOptions{TLSConfig: cfg}})
	}
	return a.bind(), nil
}

func (c *oursApp) async() bool { return true }

func (c *oursApp) open(_ context.Context, i int, url string) error {
	a := &websocket.App{
		URL:       url,
		OnOpen:    c.cb.open,
		OnMessage: c.cb.message,
		OnPong:    c.cb.pong,
		OnError:   c.cb.fail,
	}
	c.apps[i] = a
	opts := c.opts[i%len(c.opts)]
	if c.loop {
		return a.RunForever(opts)
	}
	go func() { _ = a.RunForever(opts) }()
	return nil
}

func (c *oursApp) onOpen(*websocket.App)                       { c.ev.openDone() }
func (c *oursApp) onMessage(*websocket.App, websocket.Message) { c.ev.msgs.add() }
func (c *oursApp) onPong(*websocket.App, []byte)               { c.ev.pongs.add() }
func (c *oursApp) onError(_ *websocket.App, err error)         { c.ev.fail(err) }

func (c *oursApp) send(i int, p []byte) error { return c.apps[i].SendBytes(p) }
func (c *oursApp) ping(int) error             { return nil }

// netconn: a floor, not a client. Each connection is opened with
// websocket.Dial, and then only its net.Conn is kept (the *net.TCPConn, or
// the *tls.Conn for wss): no Conn, no goroutine, nothing read. That is
// what Go's net package costs per open connection (the net.Conn, its
// addresses, the runtime poller's descriptor with its deadline timers),
// which any API that hands each connection's net.Conn to its user pays
// while the connection is open.
type netConnFloor struct {
	conns []net.Conn
	opts  *websocket.DialOptions
}

func newNetConnFloor(_ *events, o *options) (client, error) {
	cfg, err := clientTLS(o)
	if err != nil {
		return nil, err
	}
	return &netConnFloor{conns: make([]net.Conn, o.N), opts: &websocket.DialOptions{TLSConfig: cfg}}, nil
}

func (c *netConnFloor) async() bool { return false }

func (c *netConnFloor) open(ctx context.Context, i int, url string) error {
	conn, err := websocket.Dial(ctx, url, c.opts)
	if err != nil {
		return err
	}
	c.conns[i] = conn.NetConn()
	return nil
}

func (c *netConnFloor) send(int, []byte) error { return errIdleOnly }
func (c *netConnFloor) ping(int) error         { return nil }

var errIdleOnly = errors.New("this mode holds its connections idle")
