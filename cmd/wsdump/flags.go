package main

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/wsclient/websocket"
	"golang.org/x/net/http/httpguts"
)

// config is the parsed command line.
type config struct {
	url          string
	proxy        string
	verbose      int
	nocert       bool
	raw          bool
	subprotocols []string
	origin       string
	eofWait      time.Duration
	text         string
	hasText      bool // -t was given, even as ""
	timings      bool
	compress     bool
	headers      http.Header
	help         bool
	version      bool

	noCommands   bool                // --no-commands: lines starting with / are sent as is
	commands     bool                // --commands: piped lines starting with / are commands too
	pingInterval time.Duration       // --ping-interval
	pingTimeout  time.Duration       // --ping-timeout
	printRTT     bool                // --print-rtt
	reconnect    time.Duration       // --reconnect: first delay; 0 = off
	binary       bool                // -b/--binary: send lines as binary messages
	hex          bool                // --hex: show binary messages as a hex dump
	base64       bool                // --base64: lines and /binary are base64; binary shown as base64
	caFile       string              // --ca
	certFile     string              // --cert
	keyFile      string              // --key
	auth         string              // --auth user:pass
	maxRedirects int                 // -L/--max-redirects; 0 = the library's default (3), -1 = -L 0
	http2        websocket.HTTP2Mode // --http2[=prefer|require]; HTTP2Off without it

	json        bool   // --json
	timestamps  bool   // --timestamps
	maxMessages int    // --max-messages, -1/--once; 0 = no limit
	closeStatus int    // --close-status; 0 = 1000
	closeReason string // --close-reason
	noHistory   bool   // --no-history
}

// errUsage marks command-line errors, reported with exit status 2 as
// argparse does.
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// flagKind tells normalizeArgs how a flag consumes the arguments after it.
type flagKind int

const (
	kindBool  flagKind = iota // no value
	kindCount                 // -v: optional integer value, or repeated letters
	kindValue                 // exactly one value
	kindMulti                 // -s: every following non-flag argument
)

// shortKinds and longKinds describe every flag wsdump knows, so that the
// argparse-like pre-pass can tell values from flags and positionals.
var (
	shortKinds = map[byte]flagKind{
		'h': kindBool, 'n': kindBool, 'r': kindBool, 'b': kindBool, '1': kindBool,
		'v': kindCount,
		'p': kindValue, 'o': kindValue, 't': kindValue, 'L': kindValue,
		's': kindMulti,
	}
	longKinds = map[string]flagKind{
		"help": kindBool, "nocert": kindBool, "raw": kindBool, "timings": kindBool, "version": kindBool, "compress": kindBool,
		"no-commands": kindBool, "commands": kindBool, "print-rtt": kindBool, "binary": kindBool, "hex": kindBool, "base64": kindBool,
		"json": kindBool, "timestamps": kindBool, "once": kindBool, "no-history": kindBool,
		// --http2 takes its value only as --http2=require: the next
		// argument is the URL more often than not.
		"http2":   kindBool,
		"verbose": kindCount,
		"proxy":   kindValue, "origin": kindValue, "text": kindValue, "headers": kindValue, "eof-wait": kindValue,
		"ping-interval": kindValue, "ping-timeout": kindValue, "reconnect": kindValue,
		"ca": kindValue, "cert": kindValue, "key": kindValue, "auth": kindValue, "max-redirects": kindValue,
		"max-messages": kindValue, "close-status": kindValue, "close-reason": kindValue,
		"subprotocols": kindMulti,
	}
)

// normalizeArgs rewrites the argparse spellings that pflag does not accept
// into ones it does:
//
//	-v, -vv, -vvv       --verbose once, twice, three times (each adds a level)
//	-v N, --verbose N   --verbose=N (only when N is an integer)
//	-v2                 --verbose=2
//	-s a b c            --subprotocols=a --subprotocols=b --subprotocols=c
//
// -s takes arguments up to the next one that starts with "-" or looks like a
// URL (contains "://"), so "wsdump -s chat ws://host/" works, where argparse
// would swallow the URL as a subprotocol; it may take none, as argparse's
// nargs='*' (Python's wsdump then offers none). Values of flags that take
// one are copied untouched, so "-t -v" sends the text "-v".
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, bool) {
			if i+1 < len(args) {
				return args[i+1], true
			}
			return "", false
		}
		takeInt := func() (string, bool) {
			if n, ok := next(); ok && isUint(n) {
				i++
				return n, true
			}
			return "", false
		}
		// takeMulti takes the values of -s, none or more.
		takeMulti := func() {
			for {
				n, ok := next()
				if !ok || strings.HasPrefix(n, "-") || strings.Contains(n, "://") {
					return
				}
				out = append(out, "--subprotocols="+n)
				i++
			}
		}
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			switch longKinds[name] {
			case kindCount:
				if !hasValue {
					if n, ok := takeInt(); ok {
						a = "--verbose=" + n
					}
				}
				out = append(out, a)
			case kindMulti:
				if hasValue {
					out = append(out, a)
				} else {
					takeMulti()
				}
			case kindValue:
				out = append(out, a)
				if n, ok := next(); ok && !hasValue {
					out = append(out, n)
					i++
				}
			default:
				out = append(out, a)
			}
		case len(a) > 1 && a[0] == '-':
			if strings.Trim(a[1:], "v") == "" { // -v, -vv, -vvv: one more level each
				if a == "-v" {
					if n, ok := takeInt(); ok {
						out = append(out, "--verbose="+n)
						continue
					}
				}
				for range len(a) - 1 {
					out = append(out, "--verbose")
				}
				continue
			}
			if strings.HasPrefix(a, "-v") && isUint(a[2:]) { // -v2
				out = append(out, "--verbose="+a[2:])
				continue
			}
			tokens, multi := normalizeCluster(a, next, &i)
			out = append(out, tokens...)
			if multi {
				takeMulti()
			}
		default:
			out = append(out, a)
		}
	}
	return out
}

// normalizeCluster handles a group of short flags such as -nr, -nt TEXT or
// -ns a b: a value-taking letter takes the rest of the group, or the next
// argument when it ends the group. multi reports a group ending in -s, whose
// values the caller then takes.
func normalizeCluster(a string, next func() (string, bool), i *int) (tokens []string, multi bool) {
	for j := 1; j < len(a); j++ {
		switch shortKinds[a[j]] {
		case kindValue:
			if j == len(a)-1 {
				if n, ok := next(); ok {
					*i++
					return []string{a, n}, false
				}
			}
			return []string{a}, false
		case kindMulti:
			if j < len(a)-1 { // -schat or -s=chat: one attached value
				return []string{a}, false
			}
			if j > 1 {
				tokens = []string{a[:j]}
			}
			return tokens, true
		}
	}
	return []string{a}, false
}

func isUint(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseArgs parses the command line (without the program name).
func parseArgs(args []string) (*config, error) {
	cfg := &config{}
	fs := pflag.NewFlagSet("wsdump", pflag.ContinueOnError)
	fs.SetOutput(discard{})
	fs.Usage = func() {}
	fs.SortFlags = false
	var (
		subprotocols []string
		headers      []string
		eofWait      string
	)
	fs.BoolVarP(&cfg.help, "help", "h", false, "")
	fs.StringVarP(&cfg.proxy, "proxy", "p", "", "")
	fs.CountVarP(&cfg.verbose, "verbose", "v", "")
	fs.BoolVarP(&cfg.nocert, "nocert", "n", false, "")
	fs.BoolVarP(&cfg.raw, "raw", "r", false, "")
	fs.StringArrayVarP(&subprotocols, "subprotocols", "s", nil, "")
	fs.StringVarP(&cfg.origin, "origin", "o", "", "")
	fs.StringVar(&eofWait, "eof-wait", "0", "")
	fs.StringVarP(&cfg.text, "text", "t", "", "")
	fs.BoolVar(&cfg.timings, "timings", false, "")
	fs.BoolVar(&cfg.compress, "compress", false, "")
	fs.StringArrayVar(&headers, "headers", nil, "")
	fs.BoolVar(&cfg.version, "version", false, "")
	more := addFlags(fs, cfg)

	if err := fs.Parse(normalizeArgs(args)); err != nil {
		return nil, usagef("%v", err)
	}
	if cfg.help || cfg.version {
		return cfg, nil
	}
	cfg.hasText = fs.Changed("text")
	if cfg.verbose < 0 {
		return nil, usagef("--verbose must not be negative")
	}
	for _, p := range subprotocols {
		// Accept "a,b" too: a comma is never part of a subprotocol token
		// (RFC 6455 §4.1 and RFC 7230 §3.2.6).
		for s := range strings.SplitSeq(p, ",") {
			if s = strings.TrimSpace(s); s != "" {
				cfg.subprotocols = append(cfg.subprotocols, s)
			}
		}
	}
	var err error
	if cfg.eofWait, err = parseSeconds(eofWait); err != nil {
		if secs, err := strconv.ParseFloat(eofWait, 64); err == nil && secs > maxSeconds {
			return nil, usagef("--eof-wait wants at most 1e9 seconds, not %q", eofWait)
		}
		return nil, usagef("--eof-wait wants a number of seconds, not %q", eofWait)
	}
	for _, h := range headers {
		if cfg.headers, err = parseHeaders(cfg.headers, h); err != nil {
			return nil, err
		}
	}
	if err := checkRequestValues(cfg); err != nil {
		return nil, err
	}
	if err := more.check(fs, cfg); err != nil {
		return nil, err
	}
	switch pos := fs.Args(); len(pos) {
	case 0:
		return nil, usagef("missing ws_url")
	case 1:
		cfg.url = pos[0]
	default:
		return nil, usagef("unexpected argument %q after ws_url %q", redacted(pos[1]), redacted(pos[0]))
	}
	return cfg, nil
}

// parseHeaders adds the headers of a --headers value, "K: V,K2: V2" (the
// Python tool's format: commas separate headers, so a value cannot hold one).
func parseHeaders(h http.Header, s string) (http.Header, error) {
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			// Not quoted whole: it may be a credential ("Authorization Bearer …").
			name, _, _ := strings.Cut(item, " ")
			return nil, usagef("--headers: an item starting %q is not \"Name: value\"", name)
		}
		if h == nil {
			h = http.Header{}
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, nil
}

// reservedHeaders are the handshake headers the library sets itself and
// refuses in DialOptions.Header (its reservedHeaders, RFC 6455 §4.1).
var reservedHeaders = []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions"}

// checkRequestValues refuses, as a bad command line, the --headers, -o and
// -s values the library would refuse before dialing (its checkUserHeader
// and checkRequestFields): a header it sets itself, a name that is not a
// token, a value with CR, LF, NUL or another control character (a tab is
// allowed), a Host that is no host, a subprotocol that is not a token.
func checkRequestValues(cfg *config) error {
	for _, k := range slices.Sorted(maps.Keys(cfg.headers)) {
		if slices.Contains(reservedHeaders, http.CanonicalHeaderKey(k)) {
			return usagef("--headers: %s is set by wsdump itself and may not be given", k)
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return usagef("--headers: %q is not a valid header name", k)
		}
		for _, v := range cfg.headers[k] {
			if err := checkHeaderValue("--headers: "+k, k, v); err != nil {
				return err
			}
		}
	}
	if err := checkHeaderValue("--origin", "Origin", cfg.origin); err != nil {
		return err
	}
	for _, p := range cfg.subprotocols {
		if !httpguts.ValidHeaderFieldName(p) { // a token, as a header name is
			return usagef("--subprotocols: %q is not a token (RFC 7230 §3.2.6)", p)
		}
	}
	return nil
}

// secretHeaders are the headers whose values usage errors do not echo.
var secretHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true}

// checkHeaderValue refuses a value of header k that the library refuses,
// for flag.
func checkHeaderValue(flag, k, v string) error {
	shown := strconv.Quote(v)
	if secretHeaders[http.CanonicalHeaderKey(k)] {
		shown = "the value" // a credential is not echoed
	}
	switch {
	case strings.ContainsAny(v, "\r\n\x00"):
		return usagef("%s: %s contains CR, LF or NUL", flag, shown)
	case !httpguts.ValidHeaderFieldValue(v):
		return usagef("%s: %s contains a control character", flag, shown)
	case http.CanonicalHeaderKey(k) == "Host" && !httpguts.ValidHostHeader(v):
		return usagef("%s: %q is not a host", flag, v)
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
