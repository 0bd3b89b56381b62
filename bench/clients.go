package main

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// A library is one WebSocket client under test.
type library struct {
	// name is the column heading and the value of the -libs flag.
	name string
	// peer is false for our own client and for the raw-TCP ceiling, which
	// take no part in the "best peer" column.
	peer bool
	// dial opens a connection to url. size is the largest message the
	// connection will carry, so that read buffers can be allocated here, out
	// of the measured section.
	dial func(ctx context.Context, url string, size int) (conn, error)
	// dialZ is dial with permessage-deflate (RFC 7692) offered the way the
	// library does it, with context takeover both ways where it can, and its
	// own default compression level; nil for libraries that take no part in
	// the compressed scenarios (zrecv, zsend).
	dialZ func(ctx context.Context, url string, size int) (zconn, error)
	// zNoTakeover marks a library that compresses only without context
	// takeover: it takes part in the compressed scenarios, marked, but it
	// is no peer there, as it compresses a different (each message on its
	// own) and cheaper stream.
	zNoTakeover bool
	// extra marks a variant that runs only when -libs names it.
	extra bool
}

// isPeer reports whether lib counts in the "best peer" column of scenario
// sc's rows.
func isPeer(lib, sc string) bool {
	l := libraries[lib]
	if compressed(sc) {
		return l.peer && l.dialZ != nil && !l.zNoTakeover
	}
	return l.peer
}

// conn is one open connection of a library, used the way the library's
// documentation recommends for speed. Each method is one measured operation
// of a scenario, so that per-message work runs inside the library's own loop
// (for gws, inside its event handler) rather than behind an extra call.
type conn interface {
	// receive sends a one-byte start message, then reads n messages of size
	// bytes each into a reused buffer.
	receive(n, size int) error
	// send sends n binary messages carrying p, then waits for the server's
	// message saying it has seen them all.
	send(p []byte, n int) error
	// roundTrip sends p and reads its echo.
	roundTrip(p []byte) error
	// idle starts the library's usual reading setup, a goroutine blocked in
	// its read call, and returns at once.
	idle()
	// close ends the connection with the library's orderly close.
	close() error
	// abort drops the TCP connection without a closing handshake.
	abort()
}

// zconn is a connection that negotiated permessage-deflate. Its receive
// inflates (and checks each message's decompressed length).
type zconn interface {
	conn
	// sendTexts sends n text messages, the i-th being msgs[i%len(msgs)],
	// then waits for the server's message saying it has seen them all.
	sendTexts(msgs [][]byte, n int) error
}

// Names of the libraries, in the order of the report's columns.
const (
	libOurs       = "wsclient"
	libOursNoPoll = "wsclient-nopoll"
	libOursSpin   = "wsclient-spin"
	libGorilla    = "gorilla"
	libCoder      = "coder"
	libGWS        = "gws"
	libGobwas     = "gobwas"
	libTCP        = "tcp"
)

var columnOrder = []string{libOurs, libOursNoPoll, libOursSpin, libGorilla, libCoder, libGWS, libGobwas, libTCP}

// libraries holds every registered library; each client_*.go file adds its own
// in an init function, so our client can sit behind a build tag.
var libraries = map[string]library{}

func register(l library) { libraries[l.name] = l }

// availableLibraries returns the registered names in column order, the
// extra variants left out.
func availableLibraries() []string {
	var names []string
	for _, n := range columnOrder {
		if l, ok := libraries[n]; ok && !l.extra {
			names = append(names, n)
		}
	}
	return names
}

// selectLibraries resolves the -libs flag; an empty list means all but the
// extra variants.
func selectLibraries(want []string) ([]string, error) {
	if len(want) == 0 {
		return availableLibraries(), nil
	}
	var all []string
	for _, n := range columnOrder {
		if _, ok := libraries[n]; ok {
			all = append(all, n)
		}
	}
	var out []string
	for _, n := range all {
		if slices.Contains(want, n) {
			out = append(out, n)
		}
	}
	for _, n := range want {
		if !slices.Contains(all, n) {
			return nil, fmt.Errorf("unknown library %q (have %v)", n, all)
		}
	}
	return out, nil
}

// startMessage is the client's signal to the flood server to begin.
var startMessage = []byte{'s'}

// readMessage reads r to EOF into buf[:0] and returns the grown buffer, which
// the caller keeps so that steady-state reads allocate nothing.
func readMessage(buf []byte, r io.Reader) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// checkSize reports a message of the wrong length, which would mean the
// adapter or the server is broken and the numbers are meaningless.
func checkSize(got, want int) error {
	if got != want {
		return fmt.Errorf("got a message of %d bytes, want %d", got, want)
	}
	return nil
}

// messageBuffer returns an empty buffer with room for a message of size bytes.
func messageBuffer(size int) []byte { return make([]byte, 0, max(size, 512)) }
