package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"github.com/wsclient/websocket"
)

// moreFlags holds the raw values of the flags wsdump has beyond the Python
// tool's, checked by check once parsed.
type moreFlags struct {
	pingInterval, pingTimeout, reconnect string
	http2                                string
	once                                 bool
}

// addFlags defines those flags on fs.
func addFlags(fs *pflag.FlagSet, cfg *config) *moreFlags {
	m := &moreFlags{}
	fs.BoolVar(&cfg.noCommands, "no-commands", false, "")
	fs.BoolVar(&cfg.commands, "commands", false, "")
	fs.StringVar(&m.pingInterval, "ping-interval", "0", "")
	fs.StringVar(&m.pingTimeout, "ping-timeout", "0", "")
	fs.BoolVar(&cfg.printRTT, "print-rtt", false, "")
	fs.StringVar(&m.reconnect, "reconnect", "0", "")
	fs.BoolVarP(&cfg.binary, "binary", "b", false, "")
	fs.BoolVar(&cfg.hex, "hex", false, "")
	fs.BoolVar(&cfg.base64, "base64", false, "")
	fs.StringVar(&cfg.caFile, "ca", "", "")
	fs.StringVar(&cfg.certFile, "cert", "", "")
	fs.StringVar(&cfg.keyFile, "key", "", "")
	fs.StringVar(&cfg.auth, "auth", "", "")
	fs.IntVarP(&cfg.maxRedirects, "max-redirects", "L", 0, "")
	fs.BoolVar(&cfg.json, "json", false, "")
	fs.BoolVar(&cfg.timestamps, "timestamps", false, "")
	fs.BoolVarP(&m.once, "once", "1", false, "")
	fs.IntVar(&cfg.maxMessages, "max-messages", 0, "")
	fs.IntVar(&cfg.closeStatus, "close-status", 0, "")
	fs.StringVar(&cfg.closeReason, "close-reason", "", "")
	fs.BoolVar(&cfg.noHistory, "no-history", false, "")
	fs.StringVar(&m.http2, "http2", "off", "")
	fs.Lookup("http2").NoOptDefVal = "prefer"
	return m
}

// check validates the values and fills in cfg.
func (m *moreFlags) check(fs *pflag.FlagSet, cfg *config) error {
	var err error
	durations := []struct {
		name string
		raw  string
		dst  *time.Duration
	}{
		{"ping-interval", m.pingInterval, &cfg.pingInterval},
		{"ping-timeout", m.pingTimeout, &cfg.pingTimeout},
		{"reconnect", m.reconnect, &cfg.reconnect},
	}
	for _, d := range durations {
		if *d.dst, err = parseDuration(d.raw); err != nil {
			return usagef("--%s wants a duration such as 30s, 1.5 (seconds) or 500ms, not %q", d.name, d.raw)
		}
	}
	switch m.http2 {
	case "off":
		cfg.http2 = websocket.HTTP2Off
	case "prefer":
		cfg.http2 = websocket.HTTP2Prefer
	case "require":
		cfg.http2 = websocket.HTTP2Require
	default:
		return usagef("--http2 wants prefer (the default) or require, as --http2=require, not %q", m.http2)
	}
	if cfg.pingTimeout > 0 && cfg.pingInterval == 0 {
		return usagef("--ping-timeout needs --ping-interval")
	}
	if m.once {
		if fs.Changed("max-messages") && cfg.maxMessages != 1 {
			return usagef("--once and --max-messages %d disagree", cfg.maxMessages)
		}
		cfg.maxMessages = 1
	}
	if cfg.maxMessages < 0 {
		return usagef("--max-messages must not be negative")
	}
	if fs.Changed("close-status") && !sendableClose(cfg.closeStatus) {
		return usagef("--close-status %d is not a close code that may be sent (1000-1003, 1007-1014, 3000-4999)", cfg.closeStatus)
	}
	if len(cfg.closeReason) > 123 || !utf8.ValidString(cfg.closeReason) {
		return usagef("--close-reason must be UTF-8 of at most 123 bytes")
	}
	if (cfg.certFile == "") != (cfg.keyFile == "") {
		return usagef("--cert and --key go together")
	}
	if cfg.auth != "" && !strings.Contains(cfg.auth, ":") {
		return usagef("--auth wants user:password")
	}
	if cfg.hex && cfg.base64 {
		return usagef("--hex and --base64 both choose how binary messages are shown; pick one")
	}
	switch {
	case cfg.maxRedirects < 0:
		return usagef("--max-redirects must not be negative")
	case fs.Changed("max-redirects") && cfg.maxRedirects == 0:
		cfg.maxRedirects = -1 // -L 0: do not follow (the library's RedirectLimit)
	}
	return nil
}

// closeCode is the code of the close frame wsdump sends: --close-status,
// else 1000.
func (c *config) closeCode() websocket.StatusCode {
	if c.closeStatus == 0 {
		return websocket.StatusNormal
	}
	return websocket.StatusCode(c.closeStatus)
}

// parseDuration reads a Go duration ("30s", "500ms") or a number of seconds.
func parseDuration(s string) (time.Duration, error) {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return parseSeconds(s)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

// maxSeconds bounds a number of seconds (about 32 years): more would
// overflow a time.Duration.
const maxSeconds = 1e9

// parseSeconds reads a number of seconds, fractions allowed, from 0 to
// maxSeconds.
func parseSeconds(s string) (time.Duration, error) {
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || secs < 0 || math.IsInf(secs, 0) || math.IsNaN(secs) || secs > maxSeconds {
		return 0, fmt.Errorf("bad duration")
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// sendableClose reports whether code may be sent in a close frame
// (RFC 6455 §7.4).
func sendableClose(code int) bool {
	return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
}

// tlsConfig builds the TLS settings of -n, --ca, --cert and --key; nil
// when none is given.
func (c *config) tlsConfig() (*tls.Config, error) {
	if !c.nocert && c.caFile == "" && c.certFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{}
	if c.nocert {
		// -n/--nocert: the Python tool's sslopt cert_reqs=CERT_NONE,
		// check_hostname=False, for self-signed test servers.
		cfg.InsecureSkipVerify = true
	}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca: no PEM certificate in %s", c.caFile)
		}
		cfg.RootCAs = pool
	}
	if c.certFile != "" {
		cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// basicAuth is the Authorization header value of --auth user:pass.
func basicAuth(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}
