// Package websocket is a WebSocket client (RFC 6455) with the feature set of
// Python's websocket-client, in Go's idiom, and then more: permessage-deflate
// (RFC 7692), HTTP CONNECT and SOCKS4/4a/5/5h proxies, strict fail-fast UTF-8,
// and an event-driven App with keep-alive and reconnect.
//
// # Layers
//
// The package is layered like the protocol; each layer knows only the one
// below it:
//
//	App, EventLoop       app.go, session.go, eventloop.go,    callbacks, keep-alive, reconnect
//	                     reconnect.go, retry.go               and which failures retry
//	Conn                 conn.go, read.go, write.go,          messages, control frames, closing handshake
//	                     writewait.go, close.go
//	Message reader       msgreader.go                         read state: one step per header or payload piece
//	Read buffering       readbuf.go, busypoll_*.go            socket reads sized to traffic, busy polling
//	Dial                 dial.go, handshake.go, tls.go,       opening handshake, redirects, TLS, proxies
//	                     proxy.go, dial_h2.go, dialcheck.go   (and HTTP/2: internal/h2), the options' checks
//	Frames               frame.go, framecodec.go              Frame, header codec, the push decoder, masking
//	Extensions           compress.go                          permessage-deflate
//	Tracing              trace.go                             log/slog frame and handshake traces
//
// # Connecting
//
// Dial opens a connection; a nil *DialOptions uses the defaults:
//
//	conn, err := websocket.Dial(ctx, "wss://example.com/feed", nil)
//	if err != nil { ... }
//	defer conn.Close()
//	conn.SendText("hello")
//	msg, err := conn.Recv()
//
// Sending is safe from many goroutines; receiving serves one reader at a
// time. While receiving, pings are answered and a close frame is echoed
// and reported as *CloseError, which matches ErrConnectionClosed.
//
// # WebSockets over HTTP/2
//
// With DialOptions.HTTP2 set to HTTP2Prefer, a wss WebSocket runs as a
// stream of an HTTP/2 connection, opened by an extended CONNECT (RFC 8441),
// when the server supports it, and over HTTP/1.1 otherwise:
//
//	opts := &websocket.DialOptions{HTTP2: websocket.HTTP2Prefer}
//	conn, err := websocket.Dial(ctx, "wss://example.com/feed", opts)
//
// WebSockets to the same origin, with the same TLSConfig (pointer) and
// proxy, share one TCP connection, up to the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, then another; an HTTP2Transport
// (DialOptions.HTTP2Transport, or a package-wide default) holds the
// connections and closes each one IdleTimeout (90 s) after its last
// WebSocket ended. A shared connection runs two goroutines, which end when
// it closes. TLS offers "h2" and "http/1.1" by ALPN: when the server picks
// http/1.1, the Upgrade handshake runs on that same connection; when it
// picks h2 but does not announce extended CONNECT, on a new one, and the
// transport sends that origin's dials straight to HTTP/1.1 for the next
// 10 minutes. HTTP2Require fails instead of falling back, and for ws URLs
// speaks HTTP/2 from the first byte (h2c with prior knowledge); HTTP2Prefer
// dials ws URLs over HTTP/1.1.
//
// On a stream, everything else works as on a TCP connection: messages,
// fragments, pings, limits, timeouts and deadlines (per stream),
// permessage-deflate and subprotocols (negotiated in the request and
// response headers; there is no Sec-WebSocket-Key and the status is a 2xx,
// 200 as a rule, which Conn.Status reports), headers, cookies and the Jar,
// proxies (the HTTP/2 connection runs inside the tunnel), redirects,
// tracing (the HEADERS sent and received, secrets redacted) and App. The
// closing handshake ends the stream with END_STREAM and Abort resets it
// (RST_STREAM); neither touches the connection's other streams.
// Conn.NetConn returns the stream, a net.Conn whose addresses are the
// connection's. The HTTP/2 connection's own limits against a hostile
// server (receive windows of 1 MiB per stream and 1 GiB per connection,
// header lists of 64 KiB decoded and 128 KiB encoded, a header value of
// 64 KiB, bounds on control and useless frames) are those of internal/h2.
// A server that breaks a limit of the connection (its window, a header
// block's encoded size or one of its values, the HPACK table, the bounds
// on frames) gets GOAWAY and every stream of the connection fails, with
// errors matching ErrConnectionClosed; one that sends a stream more than
// its window, or answers with a header list over 64 KiB decoded, gets
// only that stream reset (RST_STREAM), and the dial waiting for that
// answer fails with the reset. The body of a refusal is kept up to 4 KiB,
// read for at most 2 s. A write stuck in the shared socket (a server that
// reads nothing) gets one second after its WebSocket's close or write
// deadline, then the whole connection fails, its other WebSockets with
// errors matching ErrConnectionClosed. DialOptions.NetConn cannot carry
// HTTP/2.
//
// # Receiving without allocating
//
// Recv returns a fresh slice per message. RecvAppend appends the message to
// a buffer the caller reuses, so a steady stream of messages allocates
// nothing:
//
//	buf := make([]byte, 0, 64<<10)
//	for {
//		op, b, err := conn.RecvAppend(buf[:0])
//		if err != nil { ... }
//		handle(op, b)
//		buf = b
//	}
//
// # Waiting for data: busy polling
//
// When a read finds a plain TCP or Unix socket empty, it retries for up to
// 5 µs before the goroutine parks. While a peer streams, the next bytes are
// usually that close, and the retry saves the thread a sleep and the sender
// a wake-up: on a 2-core VM, receive of 64 KiB messages got about 30%
// faster and a 16-byte echo round trip went from 7.6 to 5.2 µs. Spins that
// end without data back off (1, 3, 7 … 255 waits without spinning), so a
// connection with sparse traffic spins about once per 256 messages; a
// machine with one CPU never spins. A read refilling the pooled 64 KiB
// buffer of a flood of small messages does not spin: there, letting a full
// buffer gather while parked costs less than more, smaller reads. TLS
// connections spin only with BusyPollOn (crypto/tls then reads its records
// through the spinning socket): by default their reads park, as spinning
// there cost CPU time without a measured gain. Connections whose
// DialOptions.NetDialContext returns its own net.Conn type are read
// through that net.Conn as usual.
// On Linux a wait does not spin while more threads are runnable than
// there are CPUs: the spin would take a CPU from one of them.
// DialOptions.BusyPoll turns spinning off (BusyPollOff), or on where the
// default would not (BusyPollOn: TLS, GOMAXPROCS = 1, a contended machine);
// BusyPollMode says when to turn it off.
//
// # Sending and write coalescing
//
// A send to an idle connection is written at once by the calling goroutine,
// and its error is that call's. Frames sent while another write is in
// progress, or in a burst right after one (a loop of sends), are queued and
// written together by one system call; such a send returns once its frame
// is queued. The table shows what this buys on loopback, where one write(2)
// costs about as much as a small message's whole send:
//
//	send loop of            one write per frame   queued and coalesced
//	16-byte messages        ~1 µs per message     ~0.1 µs per message
//	1 KiB messages          ~1 µs per message     ~0.2 µs per message
//
// A queued frame whose write fails closes the Conn, and the error is
// returned by the next send or Flush. Call Flush to wait until every
// queued frame has reached the socket. A close frame always follows the
// frames sent before it.
//
// # Errors
//
// Every error message starts with "websocket: ". Use errors.As with
// *CloseError, *ProtocolError, *PayloadError, *HandshakeError,
// *BadStatusError, *ProxyError and *AddressError; a timeout matches
// os.ErrDeadlineExceeded and is a net.Error whose Timeout is true, and a read
// timeout leaves the Conn usable.
//
// # Limits
//
// A received message is bounded by DialOptions.ReadLimit (64 MiB by default),
// checked against each frame's declared length before any of its payload is
// read, and against the inflated size while decompressing; buffers grow as
// bytes arrive, never to a length the peer merely declared; a length check
// never adds two lengths, so no sum can wrap. A message may have at most
// 131,072 frames, empty ones included, however it is read; a peer that sends
// more gets close 1009. A frame length encoded longer than needed (a 5-byte
// payload with a 64-bit length) is accepted. Handshake response headers are
// bounded to 64 KiB and an error body to 64 KiB; DialOptions.HandshakeTimeout
// (30 s by default) bounds dial, proxy, TLS and upgrade together. Close and
// CloseWith return within their timeout whatever else is blocked.
package websocket
