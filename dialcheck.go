// The checks of a dial's options, made before anything is dialled: no
// option may put CR or LF on the wire or set what the library owns.

package websocket

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wsclient/websocket/internal/httptoken"
	"golang.org/x/net/http/httpguts"
)

// reservedHeaders are set by the library alone (RFC 6455 §4.1).
var reservedHeaders = []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions"}

// checkUserHeader refuses headers the library owns and values that would
// split the request (CR or LF).
func checkUserHeader(h http.Header) error {
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if slices.Contains(reservedHeaders, ck) {
			return fmt.Errorf("websocket: header %s is set by the library and may not be given", k)
		}
		if !httptoken.IsToken(k) {
			return fmt.Errorf("websocket: invalid header name %q", k)
		}
		for _, v := range vs {
			if err := checkHeaderValue(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkHeaderValue refuses a value for header k that would split the
// request or end it early (CR, LF, NUL), or that HTTP does not allow in a
// field: another control character (a tab is allowed), or for Host what is
// not a host[:port]. Dials over HTTP/1.1 and HTTP/2 so refuse the same
// values, before anything is dialed.
func checkHeaderValue(k, v string) error {
	switch {
	case strings.ContainsAny(v, "\r\n\x00"):
		return fmt.Errorf("websocket: header %s: value contains CR, LF or NUL", k)
	case !httpguts.ValidHeaderFieldValue(v):
		return fmt.Errorf("websocket: header %s: value contains a control character", k)
	case http.CanonicalHeaderKey(k) == "Host" && !httpguts.ValidHostHeader(v):
		return fmt.Errorf("websocket: header %s: %q is not a host", k, v)
	}
	return nil
}

// hostOption checks DialOptions.Host and returns it as it is sent: a name
// that is not ASCII in its IDNA form, with its port if it has one.
func hostOption(host string) (string, error) {
	if !isASCII(host) {
		u := &url.URL{Host: host}
		if err := normalizeHost(u); err != nil {
			return "", fmt.Errorf("websocket: header Host: %q: %w", host, err)
		}
		host = u.Host
	}
	if err := checkHeaderValue("Host", host); err != nil {
		return "", err
	}
	return host, nil
}

// checkOptions refuses the options that no dial could send: header values
// and request fields that would inject bytes, a Host that is no host, bad
// compression parameters, an HTTP/2 mode that is none or cannot be had.
// An App checks them once, as its run starts.
func checkOptions(opts *DialOptions) error {
	if err := checkUserHeader(opts.Header); err != nil {
		return err
	}
	switch mode := opts.HTTP2; {
	case mode != HTTP2Off && mode != HTTP2Prefer && mode != HTTP2Require:
		return fmt.Errorf("websocket: invalid DialOptions.HTTP2 %v", mode)
	case mode == HTTP2Require && opts.NetConn != nil:
		return errors.New("websocket: HTTP2Require cannot be used with DialOptions.NetConn")
	}
	if err := checkCompressionOptions(opts.Compression); err != nil {
		return err
	}
	if err := checkRequestFields(opts); err != nil {
		return err
	}
	_, err := hostOption(opts.Host)
	return err
}

// checkRequestFields refuses the DialOptions fields that go into the request
// as they are (Origin, Cookie, Subprotocols; Host is hostOption's) when they
// would inject bytes into it. A subprotocol must be a token (RFC 6455 §4.1,
// RFC 7230 §3.2.6).
func checkRequestFields(opts *DialOptions) error {
	if err := checkHeaderValue("Origin", opts.Origin); err != nil {
		return err
	}
	if err := checkHeaderValue("Cookie", opts.Cookie); err != nil {
		return err
	}
	for _, p := range opts.Subprotocols {
		if !httptoken.IsToken(p) {
			return fmt.Errorf("websocket: subprotocol %q is not a token (RFC 7230 §3.2.6)", p)
		}
	}
	return nil
}
