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
// Install it from a checkout of the repository with
//
//	cd cmd/wsdump && go install .
//
// or, from a tagged release, with
//
//	go install github.com/wsclient/websocket/cmd/wsdump@latest
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wsclient/websocket"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses, listed in -h.
const (
	exitOK          = 0
	exitConnect     = 1 // the connection could not be opened
	exitUsage       = 2 // bad command line, as argparse
	exitAbnormal    = 3 // the connection was lost or broken: no closing handshake
	exitPingTimeout = 4 // no pong within --ping-timeout
	exitOutput      = 5 // standard output could not be written (wsdump | head)
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
	opts, err := cfg.dialOptions()
	if err != nil {
		fmt.Fprintln(stderr, "wsdump: "+oneLine(err.Error()))
		return exitUsage
	}

	// SIGHUP (the terminal was closed) ends the session as SIGTERM does,
	// unless it is ignored (nohup wsdump ...): Notify would undo that.
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	// A write to standard output whose reader went away (wsdump | head)
	// must fail with EPIPE, which ends the session with a close frame:
	// without Notify for SIGPIPE the runtime kills the process instead
	// (os/signal). The signal itself is not acted on: a write to the
	// socket can raise it too.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)

	if cfg.verbose > 1 {
		websocket.EnableTrace(true, traceHandler(stderr))
		defer websocket.EnableTrace(false, nil)
	}
	conn, err := websocket.Dial(ctx, cfg.url, opts)
	var dialMsg string      // why the first dial failed, when --reconnect tries again
	var after time.Duration // the least wait before that: a 429's or 503's Retry-After
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "wsdump: interrupted while connecting")
			return exitConnect
		}
		dialMsg = describeDialError(cfg.url, err)
		var retry bool
		if retry, after = websocket.RetryTransient(err); cfg.reconnect <= 0 || !retry {
			fmt.Fprintln(stderr, "wsdump: "+dialMsg)
			return exitConnect
		}
	}
	f := &formatter{
		verbose: cfg.verbose, raw: cfg.raw, timings: cfg.timings, timestamps: cfg.timestamps,
		hex: cfg.hex, base64: cfg.base64, json: cfg.json, start: time.Now(), now: time.Now,
	}

	var con console
	inFile, inTTY := isTerminal(stdin)
	outFile, outTTY := isTerminal(stdout)
	if !inTTY && !cfg.commands {
		// Piped input is sent line by line, as it is: a file of
		// paths or a line "/quit" is data, not commands.
		cfg.noCommands = true
	}
	if inTTY && outTTY && !cfg.raw {
		// History is saved only from a terminal: never piped input.
		path := historyPath()
		if cfg.noHistory {
			path = "" // in memory only
		}
		hist := openHistory(path)
		defer hist.close()
		tc, err := newTermConsole(inFile, outFile, stderr, hist)
		if err != nil {
			if conn != nil {
				conn.Abort()
			}
			fmt.Fprintln(stderr, "wsdump: terminal: "+err.Error())
			return exitConnect
		}
		con = tc
	} else {
		con = newPlainConsole(stdin, stdout, stderr, cfg.raw, outTTY && colourWanted())
	}
	if cfg.verbose > 1 {
		// Traces now share the console's output when they go to the same
		// terminal, so that they do not break the raw-mode terminal's
		// lines or interleave with messages.
		websocket.EnableTrace(true, traceHandler(con.traceWriter()))
	}
	st := &runState{in: readInput(con)}
	code, msg := exitConnect, dialMsg
	if conn != nil {
		s := newSession(cfg, conn, con, f, st)
		if _, ok := con.(*termConsole); ok {
			con.note(fmt.Sprintf("Connected to %s%s. Press Ctrl-C or Ctrl-D to quit.%s", redacted(cfg.url), s.protocolNote(), helpNote(cfg)))
		} else if cfg.verbose > 0 {
			fmt.Fprintf(stderr, "connected to %s%s\n", redacted(cfg.url), s.protocolNote())
		}
		code, msg = s.run(ctx, true)
	}
	if cfg.reconnect > 0 {
		code, msg = reconnectLoop(ctx, cfg, opts, con, f, st, code, msg, after)
	}
	if err := con.outputErr(); err != nil && ctx.Err() == nil {
		// The output failed (its reader went away): that ended the
		// session, whatever the closing handshake gave. A signal's exit
		// stays the signal's, though the terminal is gone after SIGHUP.
		code, msg = exitOutput, "writing output: "+writeErrString(err)
	}
	con.close()
	if msg != "" {
		fmt.Fprintln(stderr, "wsdump: "+msg)
	}
	return code
}

// dialOptions maps the flags to the library's options.
func (c *config) dialOptions() (*websocket.DialOptions, error) {
	opts := &websocket.DialOptions{
		Header:       c.headers,
		Origin:       c.origin,
		Subprotocols: c.subprotocols,
	}
	var err error
	if opts.TLSConfig, err = c.tlsConfig(); err != nil {
		return nil, err
	}
	if c.auth != "" {
		opts.Header = opts.Header.Clone()
		if opts.Header == nil {
			opts.Header = http.Header{}
		}
		opts.Header.Set("Authorization", basicAuth(c.auth))
	}
	opts.RedirectLimit = c.maxRedirects
	opts.HTTP2 = c.http2
	if c.proxy != "" {
		opts.Proxy = proxyFunc(c.proxy)
	}
	if c.compress {
		opts.Compression = &websocket.CompressionOptions{}
	}
	return opts, nil
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

// redacted returns rawURL without its password, for messages; a user
// name without a password ("wss://token@host", "https://key:@api") is the
// credential and goes too. A URL that does not parse, or has no "//"
// ("ws:user:password@host"), shows nothing of what could be user info: the
// part before its last "@".
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err == nil && u.Opaque == "" {
		if u.User != nil {
			if pass, _ := u.User.Password(); pass == "" && u.User.Username() != "" {
				u.User = url.User("xxxxx")
				return u.String()
			}
		}
		return u.Redacted()
	}
	prefix, rest := "", rawURL
	if i := strings.Index(rawURL, "//"); i >= 0 {
		prefix, rest = rawURL[:i+2], rawURL[i+2:]
	} else if i := strings.IndexByte(rawURL, ':'); i >= 0 {
		prefix, rest = rawURL[:i+1], rawURL[i+1:]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		return prefix + "xxxxx@" + rest[at+1:]
	}
	return rawURL
}
