// Package interop checks the wsclient client (github.com/wsclient/websocket)
// against real WebSocket servers, all on loopback. It is a module of its own
// so that library users never download its dependencies.
//
// Run everything, and regenerate MATRIX.md, with:
//
//	sudo ./install.sh            # once per machine: nginx, python3-websockets, websocketd, npm ci
//	go test ./...                # -v also prints the matrix
//	go run ./cmd/matrix          # the same, verbose, and always rewrites MATRIX.md
//
// The servers (servers_test.go): Node.js ws (pinned in node/package-lock.json),
// Debian's python3-websockets, nginx as a TLS-terminating reverse proxy
// (trusted through DialOptions.TLSConfig, through WEBSOCKET_CLIENT_CA_BUNDLE,
// and with a client certificate on a mutual-TLS location), websocketd wrapping
// a small line-echo command, and gorilla/websocket, coder/websocket and
// lxzan/gws in-process, and WebSockets over HTTP/2 (RFC 8441) to Node.js's
// built-in http2 module with extended CONNECT (node/h2-echo-server.js, over
// TLS and over h2c; the client dials with HTTP2Require). The checks (checks_test.go, restart_test.go): text and
// binary echo at 0 B, 125 B, 126 B, 64 KiB, 64 KiB+1 and 16 MiB; fragmented
// sends through NextWriter, also with a ping between the fragments; pings;
// the close handshake from either side with code and reason; subprotocol
// negotiation; and an App with PingInterval across a server restart.
//
// WebSockets over HTTP/2 (h2servers_test.go, installed by install-h2.sh):
// haproxy, Apache httpd with mod_http2 and H2WebSockets, nghttpx and
// hypercorn, each with TLS and ALPN h2 on loopback. Each gets the checks
// above through Dial with HTTP2Require, then 100 WebSockets on one TCP
// connection (counted in the server's own log) and the fallback of
// HTTP2Prefer to HTTP/1.1 against the server set up without WebSockets over
// HTTP/2. The results are written to H2.md.
//
// A server that cannot do a check shows n/a with the reason. A missing
// program fails the run when CI=true and skips the server otherwise.
//
// Package harness (interop/harness) starts and stops the external programs
// and is meant to be reused by other interop tests.
package interop
