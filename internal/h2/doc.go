// Package h2 carries WebSockets over HTTP/2 (RFC 8441): an HTTP/2 client
// connection built on the framing and HPACK packages of golang.org/x/net,
// not on net/http, that opens extended CONNECT streams and hands each one
// out as a net.Conn.
//
// A ClientConn runs one HTTP/2 connection over a net.Conn (TLS with ALPN
// "h2", or h2c with prior knowledge): NewClientConn, then
// SupportsExtendedConnect, then OpenWebSocket for each WebSocket. A Pool
// shares connections by key and dials new ones when needed.
//
// Limits against a hostile peer, each answered with a connection error
// (GOAWAY, then the connection is closed) unless noted:
//   - receive windows: DefaultStreamWindow per stream, DefaultConnWindow per
//     connection; DATA beyond the connection window is FLOW_CONTROL_ERROR,
//     beyond a stream's window a stream error (RST_STREAM) of that type;
//   - WINDOW_UPDATE that overflows 2^31-1 is FLOW_CONTROL_ERROR (a stream
//     error for a stream's window), a zero increment PROTOCOL_ERROR;
//   - header lists: DefaultMaxHeaderListSize decoded (a stream error,
//     PROTOCOL_ERROR), twice that encoded and at most 64 CONTINUATION
//     frames per block (ENHANCE_YOUR_CALM), a single name or value of at
//     most DefaultMaxHeaderListSize and an HPACK dynamic table of 4096
//     bytes (COMPRESSION_ERROR past either);
//   - at most 1024 control frames (PING and SETTINGS acknowledgements,
//     resets, window updates) queued for the peer and not written yet: a
//     peer that reads nothing, or that sends more than that in one burst
//     faster than they can be written, and at most 1000 frames without
//     effect per second (frames for closed streams beyond 4 for each
//     stream that ended, empty DATA, PRIORITY, PRIORITY_UPDATE, frames of
//     unknown types, unsolicited PING and SETTINGS acknowledgements):
//     ENHANCE_YOUR_CALM past either;
//   - frames larger than 16384 bytes are FRAME_SIZE_ERROR; frames for
//     streams never opened and PUSH_PROMISE are PROTOCOL_ERROR;
//   - a peer that goes silent: with Config.ReadIdleTimeout, a connection
//     that received nothing for that long is sent a PING, and fails (GOAWAY
//     NO_ERROR) without its acknowledgement within Config.PingTimeout;
//   - a peer that reads nothing: data a stream gave up on (closed, or past
//     its write deadline) that the socket has not taken a second later,
//     whether the stream's Write or the connection's writer is writing
//     it, fails the connection, with an error that is not a timeout.
//
// Every error of the package starts with "websocket: http2: ".
package h2
