package main

import (
	"runtime"
	"runtime/debug"
)

// usageText is printed by -h/--help: a short manual page.
const usageText = `NAME
    wsdump - WebSocket console: send lines, print what the server sends

SYNOPSIS
    wsdump [options] ws_url

DESCRIPTION
    wsdump connects to ws_url (ws://host[:port]/path or wss://...), sends
    every line it reads from standard input as a text message and prints
    every message the server sends as it arrives. It sends a close frame
    when it exits.

    On a terminal it is interactive: a "> " prompt with line editing
    (arrows, Home/End, Ctrl-A/E/K/U/W) and history (Up/Down); received
    messages are printed above the line being typed, as "< message".
    Ctrl-D on an empty line or Ctrl-C closes the connection and exits.

    When standard input is not a terminal (a pipe or a file), each line
    is sent as a text message, output is plain lines, and wsdump exits
    after end of input plus --eof-wait, or when the server closes.

OPTIONS
    ws_url
        The WebSocket URL, e.g. ws://127.0.0.1:8080/chat. Options may come
        before or after it.
    -p, --proxy URL
        Connect through a proxy: http://[user:pass@]host[:port] (CONNECT),
        https://..., socks4://, socks4a://, socks5:// or socks5h://.
        Without it the http_proxy, https_proxy, all_proxy and no_proxy
        environment variables apply.
    -v, --verbose [N]
        -v (or --verbose 1) shows the opcode of each received frame, and
        pings and pongs: "< text: hello". -vv (or --verbose 2) also traces
        the handshake and every frame sent and received on standard error.
    -n, --nocert
        Do not verify the server's TLS certificate (self-signed servers).
    -r, --raw
        Raw output: received messages only, one per line, no "< " prefix,
        no prompt, no close notice, text printed byte for byte.
    -s, --subprotocols PROTOCOL...
        Offer one or more subprotocols (Sec-WebSocket-Protocol): every
        argument after -s up to the next option or the URL.
    -o, --origin ORIGIN
        Send this Origin header instead of the default.
    --eof-wait SECONDS
        After end of input, keep printing received messages this long
        before closing (default 0; fractions allowed).
    -t, --text TEXT
        Send TEXT as the first message, before any input.
    --timings
        Prefix each received message with the seconds since the
        connection opened: "< 0.001234: hello".
    --headers "NAME: VALUE,NAME2: VALUE2"
        Extra handshake headers, separated by commas; may be repeated.
    --compress
        Offer permessage-deflate compression (RFC 7692); with -v the
        banner tells whether the server accepted it. (Not in the Python
        tool.)
    -h, --help
        Print this manual and exit.
    --version
        Print the version and exit.

OUTPUT
    Text messages are printed as received; control characters other than
    tab and newline are escaped (\x1b) so that a server cannot drive your
    terminal (not with -r). Binary messages are shown escaped, as Python's
    repr does: b'\x00\x01abc'; gzip and raw-deflate payloads holding UTF-8
    are shown decompressed as "[gzip] text" and "[zlib] text". When the
    server closes, its close code and reason are shown:
    "< close: 1000 (normal closure) bye".

EXIT STATUS
    0   the connection was closed cleanly (by either side)
    1   the connection could not be opened or was lost: the reason is
        printed on one line starting with "wsdump: "
    2   bad command line

EXAMPLES
    wsdump ws://127.0.0.1:8080/
    echo '{"op":"ping"}' | wsdump --eof-wait 2 -r ws://127.0.0.1:8080/
    wsdump -n -s chat superchat -vv wss://localhost:8443/chat
    wsdump -p socks5h://127.0.0.1:1080 --headers "Authorization: Bearer x" ws://example.test/
`

// version returns the module version wsdump was built from: the tag for
// "go install ...@vX.Y.Z", "(devel)" for a source build.
func version() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return "wsdump " + v + " (github.com/wsclient/websocket, " + runtime.Version() + ")"
}
