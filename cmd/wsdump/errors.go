package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/wsclient/websocket"
)

// describeDialError turns a Dial failure into the one line printed after
// "wsdump: ", with a hint where one helps.
func describeDialError(rawURL string, err error) string {
	var (
		bad       *websocket.BadStatusError
		hs        *websocket.HandshakeError
		proxy     *websocket.ProxyError
		addr      *websocket.AddressError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &bad):
		msg := fmt.Sprintf("handshake failed: server answered %d", bad.StatusCode)
		if bad.StatusMessage != "" {
			msg += " " + oneLine(bad.StatusMessage)
		}
		if body := firstLine(bad.Body); body != "" {
			msg += ": " + body
		}
		return msg
	case errors.As(err, &hs):
		return "handshake failed: " + trimPrefix(hs)
	case errors.As(err, &proxy):
		return trimPrefix(err)
	case errors.As(err, &addr):
		return trimPrefix(err)
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		// The library's sentence says it all; crypto/tls's cause repeats it.
		msg, _, _ := strings.Cut(trimPrefix(err), ": tls: failed to verify certificate")
		return msg + " (use -n/--nocert to skip certificate verification)"
	case errors.As(err, &record):
		return trimPrefix(err) + " (is the server speaking TLS? try ws:// instead of wss://)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "cannot connect to " + dialledHost(rawURL, err) + ": connection refused"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "cannot connect to " + dialledHost(rawURL, err) + ": " + trimPrefix(err)
	}
	return trimPrefix(err)
}

// trimPrefix returns err's message without the library's "websocket: "
// prefix (wsdump adds its own) and on one line.
func trimPrefix(err error) string {
	return oneLine(strings.TrimPrefix(err.Error(), "websocket: "))
}

// oneLine folds s, a message to print, onto one line, with control
// characters escaped: a message may quote what a server or proxy sent.
func oneLine(s string) string {
	return escapeControls(strings.Join(strings.Fields(s), " "))
}

// firstLine returns the start of a response body worth showing: its first
// line, at most 120 bytes, if it is printable text.
func firstLine(body []byte) string {
	s, _, _ := strings.Cut(string(body), "\n")
	s = strings.TrimSpace(s)
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	if !utf8.ValidString(s) || escapeControls(s) != s {
		return ""
	}
	return s
}

// hostOf returns the host[:port] of a ws URL for messages, without the
// credentials the URL may hold.
func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "the server"
	}
	return u.Host
}

// dialledHost returns the host[:port] a failed connect went to, which a
// redirect makes another than rawURL's: as the library's error names it
// ("websocket: dial HOST:PORT: ..."), else the address of the
// *net.OpError, else rawURL's host.
func dialledHost(rawURL string, err error) string {
	if rest, ok := strings.CutPrefix(err.Error(), "websocket: dial "); ok {
		if addr, _, ok := strings.Cut(rest, ": "); ok {
			if _, _, err := net.SplitHostPort(addr); err == nil { // not "dial timeout: ..."
				return oneLine(addr)
			}
		}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		return op.Addr.String()
	}
	return hostOf(rawURL)
}

// writeErrString describes a failed write to standard output in the
// system's words ("broken pipe"), without the file's name.
func writeErrString(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return oneLine(err.Error())
}
