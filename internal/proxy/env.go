package proxy

import (
	"net/url"
	"strconv"
	"strings"
)

// TargetPort returns the port of a ws, wss, http or https target URL: its
// explicit port (in decimal without leading zeros: "0080" is "80") or the
// scheme's default (RFC 6455 §3: 80 for ws, 443 for wss).
func TargetPort(target *url.URL) (string, bool) {
	if p := target.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err == nil {
			return strconv.FormatUint(n, 10), true
		}
		return p, true
	}
	switch strings.ToLower(target.Scheme) {
	case "ws", "http":
		return "80", true
	case "wss", "https":
		return "443", true
	}
	return "", false
}

// FromEnvironment returns the proxy for target according to the environment
// read through getenv (os.Getenv in production; tests inject their own), or
// nil for a direct connection.
//
// wss (and https) targets use https_proxy, ws (and http) targets http_proxy,
// and both fall back to all_proxy; each name is looked up in lower case first,
// then in upper case (curl's order; the first non-empty value wins). no_proxy
// (then NO_PROXY) lists the targets reached directly, see NoProxy.
// "localhost" and loopback addresses are always reached directly.
//
// When REQUEST_METHOD is set the program runs as a CGI script, where an HTTP
// "Proxy:" request header arrives as HTTP_PROXY ("httpoxy", CVE-2016-5385);
// the upper-case HTTP_PROXY is then ignored, as curl and Go's net/http do.
func FromEnvironment(getenv func(string) string, target *url.URL) (*url.URL, error) {
	if target == nil {
		return nil, &Error{Reason: "nil target URL"}
	}
	port, ok := TargetPort(target)
	if !ok {
		return nil, &Error{Reason: "unsupported target scheme " + strconv.Quote(target.Scheme)}
	}
	var names []string
	switch strings.ToLower(target.Scheme) {
	case "wss", "https":
		names = []string{"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}
	default:
		names = []string{"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}
		if getenv("REQUEST_METHOD") != "" {
			names = []string{"http_proxy", "all_proxy", "ALL_PROXY"}
		}
	}
	name, raw := firstSet(getenv, names...)
	if raw == "" {
		return nil, nil
	}
	host := target.Hostname()
	if IsLoopback(host) {
		return nil, nil
	}
	if _, noProxy := firstSet(getenv, "no_proxy", "NO_PROXY"); ParseNoProxy(noProxy).Match(host, port) {
		return nil, nil
	}
	u, err := Parse(raw)
	if err != nil {
		e := err.(*Error)
		return nil, &Error{Reason: "$" + name + ": " + e.Reason, Err: e.Err}
	}
	return u, nil
}

// firstSet returns the first of names whose value is not empty (after
// trimming spaces), and that value.
func firstSet(getenv func(string) string, names ...string) (name, value string) {
	for _, name := range names {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return name, v
		}
	}
	return "", ""
}

// Fixed returns a proxy function that sends every target through the proxy
// at raw except those matched by the noProxy lists (see NoProxy). Unlike
// FromEnvironment it does not bypass loopback targets: a proxy given
// explicitly is used for them too, unless noProxy says otherwise.
//
// raw is parsed once; if it is invalid, the function reports that error for
// every target, so a bad proxy never silently becomes a direct connection.
func Fixed(raw string, noProxy ...string) func(*url.URL) (*url.URL, error) {
	proxyURL, err := Parse(raw)
	np := ParseNoProxy(noProxy...)
	return func(target *url.URL) (*url.URL, error) {
		if err != nil {
			return nil, err
		}
		if target == nil {
			return nil, &Error{Reason: "nil target URL"}
		}
		port, ok := TargetPort(target)
		if !ok {
			return nil, &Error{Reason: "unsupported target scheme " + strconv.Quote(target.Scheme)}
		}
		if np.Match(target.Hostname(), port) {
			return nil, nil
		}
		u := *proxyURL // a copy: the caller may modify what it gets
		return &u, nil
	}
}
