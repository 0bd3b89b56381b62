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
    after end of input plus --eof-wait, or when the server closes. A
    server that stops reading cannot hold it: when a line cannot be sent
    within 3 seconds after the end of input, wsdump gives up (exit
    status 3).

OPTIONS
  Connection (the Python tool's)
    ws_url
        The WebSocket URL, e.g. ws://127.0.0.1:8080/chat. Options may come
        before or after it.
        Example: wsdump ws://127.0.0.1:8080/chat -v
    -p, --proxy URL
        Connect through a proxy: http://[user:pass@]host[:port] (CONNECT),
        https://..., socks4://, socks4a://, socks5:// or socks5h://.
        Without it the http_proxy, https_proxy, all_proxy and no_proxy
        environment variables apply.
        Example: wsdump -p socks5h://127.0.0.1:1080 ws://example.test/
    -v, --verbose [N]
        -v (or --verbose 1) shows the opcode of each received frame, and
        pings and pongs: "< text: hello". -vv (or --verbose 2) also traces
        the handshake and every frame sent and received on standard error.
        Example: wsdump -vv ws://127.0.0.1:8080/ 2>trace.log
    -n, --nocert
        Do not verify the server's TLS certificate (self-signed servers).
        Example: wsdump -n wss://localhost:8443/
    -r, --raw
        Raw output: received messages only, one per line, no "< " prefix,
        no prompt, no close notice, text printed byte for byte.
        Example: wsdump -r ws://127.0.0.1:8080/ > messages.txt
    -s, --subprotocols PROTOCOL...
        Offer subprotocols (Sec-WebSocket-Protocol): every argument
        after -s up to the next option or the URL (none: offer none).
        Example: wsdump -s chat superchat ws://127.0.0.1:8080/
    -o, --origin ORIGIN
        Send this Origin header instead of the default.
        Example: wsdump -o https://app.example ws://127.0.0.1:8080/
    --eof-wait SECONDS
        After end of input, keep printing received messages this long
        before closing (default 0, at most 1e9; fractions allowed).
        Example: echo hi | wsdump --eof-wait 2 ws://127.0.0.1:8080/
    -t, --text TEXT
        Send TEXT as the first message, before any input.
        Example: wsdump -t '{"op":"subscribe"}' ws://127.0.0.1:8080/
    --timings
        Prefix each received message with the seconds since the
        connection opened: "< 0.001234: hello".
        Example: wsdump --timings ws://127.0.0.1:8080/
    --headers "NAME: VALUE,NAME2: VALUE2"
        Extra handshake headers, separated by commas; may be repeated.
        Example: wsdump --headers "X-Id: 1,X-Env: dev" ws://127.0.0.1:8080/
    --compress
        Offer permessage-deflate compression (RFC 7692); with -v the
        banner tells whether the server accepted it. (Not in the Python
        tool.)
        Example: wsdump --compress -v ws://127.0.0.1:8080/
    --http2[=require]
        Open the WebSocket as a stream of an HTTP/2 connection (RFC 8441
        extended CONNECT) when the server takes it, as browsers do: for
        wss:// TLS offers h2 and http/1.1, and wsdump falls back to the
        HTTP/1.1 Upgrade when the server does not announce WebSockets over
        HTTP/2. --http2=require fails instead (exit status 1) and, for
        ws://, speaks HTTP/2 from the first byte (h2c with prior
        knowledge). With -v the banner says "over HTTP/2".
        Example: wsdump --http2 -v wss://example.test/socket

  Sending
    -b, --binary
        Send each line as a binary message instead of text.
        Example: printf 'raw bytes\n' | wsdump -b ws://127.0.0.1:8080/
    --base64
        Lines (and /binary) are base64, decoded and sent as binary
        messages; received binary messages are shown as base64.
        Example: echo AAH/ | wsdump --base64 ws://127.0.0.1:8080/
    --no-commands
        Send typed lines starting with "/" as they are (see COMMANDS).
        Example: wsdump --no-commands ws://127.0.0.1:8080/
    --commands
        Take piped lines starting with "/" as commands too (see
        COMMANDS); without it, piped input is sent as it is.
        Example: printf '/ping\n/close 4000 done\n' | wsdump --commands ws://127.0.0.1:8080/

  Output
    --hex
        Show binary messages as a hex dump (offset, bytes, ASCII).
        Example: wsdump --hex ws://127.0.0.1:8080/
    --json
        Pretty-print text messages that are a JSON object or array.
        Example: wsdump --json wss://stream.example/feed
    --timestamps
        Prefix each received line with the time of day, 15:04:05.000.
        Example: wsdump --timestamps ws://127.0.0.1:8080/

  Keep-alive and reconnecting
    --ping-interval DURATION
        Send a ping every DURATION (30s, 500ms, or seconds: 1.5).
        Example: wsdump --ping-interval 30s ws://127.0.0.1:8080/
    --ping-timeout DURATION
        With --ping-interval: no pong within DURATION after a ping means
        the connection is dead (exit status 4, or a reconnect).
        Example: wsdump --ping-interval 10s --ping-timeout 5s ws://h/
    --print-rtt
        Print each pong of --ping-interval with its round-trip time,
        "< pong: wsdump 1 rtt=412µs" (-v prints them too).
        Example: wsdump --ping-interval 1s --print-rtt ws://127.0.0.1:8080/
    --reconnect DURATION
        When the connection is lost (not closed by either side), or the
        first one cannot be opened, connect again after DURATION, then
        after twice as long at each failure (up to a minute, with 20%
        jitter), and go on with the same console; lines typed meanwhile
        are sent once connected. Each attempt is printed. A failure that
        another attempt would only repeat (a 4xx answer but 429, an
        untrusted certificate) exits with status 1 at once; after a 429
        (Too Many Requests) or 503 (Service Unavailable) the wait is at
        least what its Retry-After asks. After the end of input
        it goes on only for lines not sent yet: the next attempt is made,
        later ones within 3 seconds; then it gives up, saying how many
        lines were not sent. Ctrl-C, Ctrl-D and /quit exit at once, also
        while connecting (/help is answered; other commands wait for the
        connection).
        Example: wsdump --reconnect 1s ws://127.0.0.1:8080/

  TLS and authentication
    --ca FILE
        Also trust the CA certificates (PEM) in FILE.
        Example: wsdump --ca ca.pem wss://localhost:8443/
    --cert FILE --key FILE
        Present this client certificate and key (PEM), for mutual TLS.
        Example: wsdump --cert me.pem --key me.key wss://localhost:8443/
    --auth USER:PASSWORD
        Send HTTP Basic authentication (Authorization header).
        Example: wsdump --auth alice:secret ws://127.0.0.1:8080/
    -L, --max-redirects N
        Follow at most N redirects (default 3; 0 = follow none).
        Example: wsdump -L 0 ws://127.0.0.1:8080/

  Scripting
    -1, --once
        Exit after the first message received (closing cleanly).
        Example: wsdump -1 -r -t '{"op":"time"}' ws://h/ | jq .
    --max-messages N
        Exit after N messages received (never reconnecting after).
        Example: wsdump --max-messages 10 -r ws://127.0.0.1:8080/ > out
    --close-status CODE
        The code of the close frame wsdump sends (default 1000).
        Example: wsdump --close-status 4000 ws://127.0.0.1:8080/
    --close-reason TEXT
        The reason of the close frame wsdump sends (at most 123 bytes).
        Example: wsdump --close-reason done ws://127.0.0.1:8080/
    --no-history
        Do not load or save the line history (see FILES): it lasts
        for this session only.
        Example: wsdump --no-history ws://127.0.0.1:8080/

    -h, --help
        Print this manual and exit.
        Example: wsdump -h | less
    --version
        Print the version and exit.
        Example: wsdump --version

COMMANDS
    A line typed at the terminal starting with "/" is a command (piped
    lines too with --commands; else they are sent as they are):
    /ping [TEXT]           send a ping; its pong is shown with the
                           round-trip time
    /pong [TEXT]           send an unsolicited pong
    /close [CODE [REASON]] close with CODE and REASON, and exit
    /binary HEX...         send a binary message: /binary 01 02 ff
                           (base64 with --base64)
    /help                  list the commands
    /quit                  close normally and exit
    A line starting with "//" sends the rest as a message starting with
    "/": //tmp sends "/tmp". --no-commands turns commands off.

LINE EDITING
    Arrows, Home/End, Ctrl-A/E/K/U/W; Up/Down recall earlier lines;
    Ctrl-R searches them backwards (type to narrow, Ctrl-R again for an
    older match, Enter sends it, Ctrl-G gives up).

OUTPUT
    Text messages are printed as received; control characters other than
    tab and newline are escaped (\x1b) so that a server cannot drive your
    terminal (not with -r). Binary messages are shown escaped, as Python's
    repr does: b'\x00\x01abc', and b"it's" when they hold a single quote
    and no double quote; a payload that is, whole, a gzip or raw-deflate
    stream of UTF-8 text is shown decompressed as "[gzip] text" or
    "[zlib] text". When the
    server closes, its close code and reason are shown:
    "< close: 1000 (normal closure) bye".
    On a terminal, received messages are blue, pings, pongs and closes
    yellow, what commands sent (with -v) green and errors red; colours are
    off when the output is not a terminal, with -r, or when NO_COLOR is
    set.

FILES
    $XDG_STATE_HOME/wsdump/history, else ~/.local/state/wsdump/history
        The last 1000 lines typed at a terminal, one a line (never piped
        input, nor lines starting with a space). --no-history: none.

EXIT STATUS
    0   the connection was closed cleanly, by either side (a closing
        handshake, whatever its code)
    1   the connection could not be opened (refused, TLS, proxy,
        handshake): the reason is printed on one line starting with
        "wsdump: "
    2   bad command line
    3   the connection was lost or broken without a closing handshake
        (dropped socket, protocol error, or no close frame from the
        server in answer to wsdump's within 3 seconds, also when the
        server stopped reading and wsdump's could not be sent)
    4   no pong within --ping-timeout
    5   standard output could not be written (its reader went away:
        wsdump ... | head -n 1); wsdump sent its close frame
    SIGINT, SIGTERM and SIGHUP (the terminal was closed) close an open
    connection as Ctrl-C does, with a close frame: then 0 or 3 as above.

EXAMPLES
    wsdump ws://127.0.0.1:8080/
    echo '{"op":"ping"}' | wsdump --eof-wait 2 -r ws://127.0.0.1:8080/
    wsdump -n -s chat superchat -vv wss://localhost:8443/chat
    wsdump -p socks5h://127.0.0.1:1080 --headers "Authorization: Bearer x" ws://example.test/
    wsdump -1 -r -t '{"op":"status"}' ws://127.0.0.1:8080/ | jq .status
    wsdump --reconnect 1s --ping-interval 20s --ping-timeout 5s ws://h/
    wsdump --http2=require -t hello wss://localhost:8443/
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
