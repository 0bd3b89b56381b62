package main

import (
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNormalizeArgs(t *testing.T) {
	tests := []struct {
		in, want string // space-separated
	}{
		{"ws://h -v", "ws://h --verbose"},
		{"-vv ws://h", "--verbose --verbose ws://h"},
		{"-vvv", "--verbose --verbose --verbose"},
		{"-v 2 ws://h", "--verbose=2 ws://h"},
		{"-v ws://h", "--verbose ws://h"},
		{"-vv 2", "--verbose --verbose 2"}, // argparse: -vv takes no further value
		{"-v2", "--verbose=2"},
		{"--verbose 3 ws://h", "--verbose=3 ws://h"},
		{"--verbose=2", "--verbose=2"},
		{"--verbose ws://h", "--verbose ws://h"},
		{"-s a b ws://h", "--subprotocols=a --subprotocols=b ws://h"},
		{"ws://h -s a b", "ws://h --subprotocols=a --subprotocols=b"},
		{"-s a -n ws://h", "--subprotocols=a -n ws://h"},
		{"--subprotocols a b -- c", "--subprotocols=a --subprotocols=b -- c"},
		{"--subprotocols=a ws://h", "--subprotocols=a ws://h"},
		{"-ns a b ws://h", "-n --subprotocols=a --subprotocols=b ws://h"},
		{"-schat ws://h", "-schat ws://h"},
		{"-t -v ws://h", "-t -v ws://h"}, // -v is the text
		{"--text -s ws://h", "--text -s ws://h"},
		{"-nt -vv ws://h", "-nt -vv ws://h"},
		{"-p -v ws://h", "-p -v ws://h"},
		{"--headers -vv ws://h", "--headers -vv ws://h"},
		{"--eof-wait 2 -v", "--eof-wait 2 --verbose"},
		{"-nr ws://h", "-nr ws://h"},
		{"-- -vv", "-- -vv"},
		{"--text=x -vv", "--text=x --verbose --verbose"}, // a value given with = takes no argument
		{"--text", "--text"},                             // nothing to take
		{"- ws://h", "- ws://h"},
		{"-vx ws://h", "-vx ws://h"},
		{"-n5 ws://h", "-n5 ws://h"},
		{"-sx ws://h", "-sx ws://h"}, // a one-letter attached value
	}
	for _, tt := range tests {
		if got := strings.Join(normalizeArgs(strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("normalizeArgs(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	if got := normalizeArgs([]string{""}); !slices.Equal(got, []string{""}) {
		t.Errorf("normalizeArgs of an empty argument = %q", got)
	}
}

// TestSubprotocolsMayBeNone: -s takes zero or more values, as Python
// wsdump's nargs='*': with none (the URL, another flag or nothing after
// it) no subprotocol is offered, and the rest of the line is read as
// without it.
func TestSubprotocolsMayBeNone(t *testing.T) {
	for _, tt := range []struct {
		args  string
		want  []string
		flags config // nocert and verbose compared
	}{
		{"-s ws://h", nil, config{}},
		{"ws://h -s", nil, config{}},
		{"-s -n ws://h", nil, config{nocert: true}},
		{"-ns ws://h", nil, config{nocert: true}},
		{"ws://h -ns", nil, config{nocert: true}},
		{"-s -- ws://h", nil, config{}},
		{"--subprotocols ws://h", nil, config{}},
		{"ws://h --subprotocols", nil, config{}},
		{"-s a ws://h --subprotocols -v", []string{"a"}, config{verbose: 1}},
	} {
		cfg, err := parseArgs(strings.Fields(tt.args))
		if err != nil {
			t.Errorf("parseArgs(%q) = %v", tt.args, err)
			continue
		}
		if cfg.url != "ws://h" || !slices.Equal(cfg.subprotocols, tt.want) || cfg.nocert != tt.flags.nocert || cfg.verbose != tt.flags.verbose {
			t.Errorf("parseArgs(%q) = url %q, subprotocols %q, nocert %v, verbose %d; want ws://h, %q, %v, %d",
				tt.args, cfg.url, cfg.subprotocols, cfg.nocert, cfg.verbose, tt.want, tt.flags.nocert, tt.flags.verbose)
		}
	}
}

func TestParseArgs(t *testing.T) {
	r123 := strings.Repeat("r", 123)
	tests := []struct {
		args string
		want config // only the fields set here are compared
	}{
		{"ws://h", config{url: "ws://h"}},
		{"ws://h -vv -n -r --timings", config{url: "ws://h", verbose: 2, nocert: true, raw: true, timings: true}},
		{"-v -v ws://h", config{url: "ws://h", verbose: 2}},
		{"-v 3 ws://h", config{url: "ws://h", verbose: 3}},
		{"--verbose=2 ws://h", config{url: "ws://h", verbose: 2}},
		{"-nrv ws://h", config{url: "ws://h", verbose: 1, nocert: true, raw: true}},
		{"-s a b,c ws://h", config{url: "ws://h", subprotocols: []string{"a", "b", "c"}}},
		{"ws://h -s a -s=b --subprotocols c", config{url: "ws://h", subprotocols: []string{"a", "b", "c"}}},
		{"-p socks5h://127.0.0.1:1080 -o http://o ws://h", config{url: "ws://h", proxy: "socks5h://127.0.0.1:1080", origin: "http://o"}},
		{"--eof-wait 2 ws://h", config{url: "ws://h", eofWait: 2 * time.Second}},
		{"--eof-wait=0.25 ws://h", config{url: "ws://h", eofWait: 250 * time.Millisecond}},
		{"--eof-wait 1e9 ws://h", config{url: "ws://h", eofWait: 1e9 * time.Second}},
		{"-t hi ws://h", config{url: "ws://h", text: "hi", hasText: true}},
		{"ws://h --text=", config{url: "ws://h", hasText: true}},
		{"--headers A:1,B:_2_ ws://h", config{url: "ws://h", headers: http.Header{"A": {"1"}, "B": {"_2_"}}}},
		{"--proxy http://127.0.0.1:3128 --origin http://o --text hi --nocert --raw ws://h", config{url: "ws://h", proxy: "http://127.0.0.1:3128", origin: "http://o", text: "hi", hasText: true, nocert: true, raw: true}},
		{"ws://h --proxy=socks5://127.0.0.1:1080 --origin=http://o2 --verbose", config{url: "ws://h", proxy: "socks5://127.0.0.1:1080", origin: "http://o2", verbose: 1}},
		{"-h", config{help: true}},
		{"--version", config{version: true}},
		{"--once --max-messages 1 ws://h", config{url: "ws://h", maxMessages: 1}}, // they agree
		{"-L 0 ws://h", config{url: "ws://h", maxRedirects: -1}},                  // follow none: the library's -1
		{"--max-redirects 3 ws://h", config{url: "ws://h", maxRedirects: 3}},
		{"--close-reason " + r123 + " ws://h", config{url: "ws://h", closeReason: r123}}, // a close payload is at most 125 bytes
	}
	for _, tt := range tests {
		got, err := parseArgs(strings.Fields(tt.args))
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct{ args, want string }{
		{"", "missing ws_url"},
		{"-v", "missing ws_url"},
		{"ws://a ws://b", `unexpected argument "ws://b" after ws_url "ws://a"`},
		{"-x ws://a", "unknown shorthand flag: 'x'"},
		{"--eof-wait -1 ws://a", "--eof-wait wants a number of seconds"},
		{"--eof-wait NaN ws://a", "--eof-wait wants a number of seconds"},
		// Past 1e9 seconds (as parseDuration): 1e10 overflowed to a negative
		// wait, taken as none.
		{"--eof-wait 1e10 ws://a", `--eof-wait wants at most 1e9 seconds, not "1e10"`},
		{"--headers : ws://a", "--headers"},
		{"--headers Bad_Name_With_Space:x,A_B ws://a", `"A_B" is not "Name: value"`},
		{"--verbose=-1 ws://a", "must not be negative"},
		{"ws://a -o", "flag needs an argument"},
		{"--close-reason " + strings.Repeat("r", 124) + " ws://a", "--close-reason must be UTF-8 of at most 123 bytes"},
		{"--close-reason \xff ws://a", "--close-reason must be UTF-8 of at most 123 bytes"},
		{"--close-status 1004 ws://a", "--close-status 1004 is not a close code that may be sent"},
		{"--ping-timeout 1s ws://a", "--ping-timeout needs --ping-interval"},
		{"--once --max-messages 2 ws://a", "--once and --max-messages 2 disagree"},
	}
	for _, tt := range tests {
		_, err := parseArgs(strings.Fields(tt.args))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errUsage) {
			t.Errorf("parseArgs(%q) = %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	h, err := parseHeaders(nil, " X-A: 1 ,, X-B:two: parts ,X-A:again")
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"X-A": {"1", "again"}, "X-B": {"two: parts"}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got %v, want %v", h, want)
	}
	if h, err := parseHeaders(nil, " , "); err != nil || h != nil {
		t.Errorf("blank: %v, %v", h, err)
	}
}
