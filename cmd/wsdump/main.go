// Command wsdump is an interactive WebSocket console, the Go counterpart of
// the wsdump tool of Python's websocket-client, with the same flags:
//
//	wsdump [-h] [-p PROXY] [-v [N]] [-n] [-r] [-s PROTOCOL ...] [-o ORIGIN]
//	       [--eof-wait SECONDS] [-t TEXT] [--timings] [--headers HEADERS]
//	       [--compress] [--version] ws_url
//
// On a terminal it shows a "> " prompt with line editing and history, sends
// each line typed as a text message and prints received messages as they
// arrive ("< message") without disturbing the line being typed. With
// standard input from a pipe or a file it sends each line and exits after
// end of input plus --eof-wait. It exits 0 after a clean close and prints a
// one-line "wsdump: ..." error otherwise. Run "wsdump -h" for the manual.
//
// Install it with
//
//	go install github.com/wsclient/websocket/cmd/wsdump@latest
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsclient/websocket"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // connection failed or lost
	exitUsage = 2 // bad command line, as argparse
)

// run is wsdump without the process around it: it parses args, connects,
// and runs the console on stdin and stdout until the connection closes,
// returning the exit status. Errors go to stderr as one "wsdump: " line.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "wsdump: %s (see wsdump -h)\n", oneLine(err.Error()))
		return exitUsage
	}
	switch {
	case cfg.help:
		io.WriteString(stdout, usageText)
		return exitOK
	case cfg.version:
		fmt.Fprintln(stdout, version())
		return exitOK
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.verbose > 1 {
		websocket.EnableTrace(true, traceHandler(stderr))
		defer websocket.EnableTrace(false, nil)
	}
	conn, err := websocket.Dial(ctx, cfg.url, cfg.dialOptions())
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "wsdump: interrupted while connecting")
			return exitError
		}
		fmt.Fprintln(stderr, "wsdump: "+describeDialError(cfg.url, err))
		return exitError
	}
	f := &formatter{verbose: cfg.verbose, raw: cfg.raw, timings: cfg.timings, start: time.Now(), now: time.Now}

	var con console
	inFile, inTTY := isTerminal(stdin)
	outFile, outTTY := isTerminal(stdout)
	if inTTY && outTTY && !cfg.raw {
		tc, err := newTermConsole(inFile, outFile, stderr)
		if err != nil {
			conn.Abort()
			fmt.Fprintln(stderr, "wsdump: terminal: "+err.Error())
			return exitError
		}
		con = tc
	} else {
		con = newPlainConsole(stdin, stdout, stderr, cfg.raw)
	}
	if cfg.verbose > 1 {
		// Traces now share the console's output when they go to the same
		// terminal, so that they do not break the raw-mode terminal's
		// lines or interleave with messages.
		websocket.EnableTrace(true, traceHandler(con.traceWriter()))
	}
	s := &session{cfg: cfg, conn: conn, con: con, format: f}
	if _, ok := con.(*termConsole); ok {
		con.note(fmt.Sprintf("Connected to %s%s. Press Ctrl-C or Ctrl-D to quit.", redacted(cfg.url), s.protocolNote()))
	} else if cfg.verbose > 0 {
		fmt.Fprintf(stderr, "connected to %s%s\n", redacted(cfg.url), s.protocolNote())
	}
	code, msg := s.run(ctx)
	con.close()
	if msg != "" {
		fmt.Fprintln(stderr, "wsdump: "+msg)
	}
	return code
}

// dialOptions maps the flags to the library's options.
func (c *config) dialOptions() *websocket.DialOptions {
	opts := &websocket.DialOptions{
		Header:       c.headers,
		Origin:       c.origin,
		Subprotocols: c.subprotocols,
	}
	if c.nocert {
		// -n/--nocert: the Python tool's sslopt cert_reqs=CERT_NONE,
		// check_hostname=False, for self-signed test servers.
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if c.proxy != "" {
		opts.Proxy = proxyFunc(c.proxy)
	}
	if c.compress {
		opts.Compression = &websocket.CompressionOptions{}
	}
	return opts
}

// traceHandler is the slog handler for -vv: text at every level, the frame
// level named TRACE.
func traceHandler(w io.Writer) slog.Handler {
	return slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: websocket.LevelTrace,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // --timings is the way to see time
			}
			if a.Key == slog.LevelKey && len(groups) == 0 && a.Value.Any() == websocket.LevelTrace {
				a.Value = slog.StringValue("TRACE")
			}
			return a
		},
	})
}

// redacted returns rawURL without its password, for messages.
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Redacted()
}
