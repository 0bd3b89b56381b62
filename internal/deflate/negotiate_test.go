package deflate

import (
	"regexp"
	"strings"
	"testing"
)

var bareClientBits = regexp.MustCompile(`; client_max_window_bits(;|$)`)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"all set", Options{Level: 9, Threshold: 10, ClientNoContextTakeover: true, ServerNoContextTakeover: true, ClientMaxWindowBits: 8, ServerMaxWindowBits: 15}, true},
		{"the other edges", Options{ClientMaxWindowBits: 15, ServerMaxWindowBits: 8}, true},
		{"huffman only", Options{Level: -2}, true},
		{"level too low", Options{Level: -3}, false},
		{"level too high", Options{Level: 10}, false},
		{"negative threshold", Options{Threshold: -1}, false},
		{"client bits 7", Options{ClientMaxWindowBits: 7}, false},
		{"client bits 16", Options{ClientMaxWindowBits: 16}, false},
		{"server bits 7", Options{ServerMaxWindowBits: 7}, false},
		{"server bits -1", Options{ServerMaxWindowBits: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "websocket: ") {
				t.Errorf("error %q lacks the websocket: prefix", err)
			}
		})
	}
}

func TestOffer(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{}, "permessage-deflate; client_max_window_bits"},
		{Options{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=10"},
		{Options{ServerMaxWindowBits: 9, ClientNoContextTakeover: true, ServerNoContextTakeover: true},
			"permessage-deflate; client_max_window_bits; server_max_window_bits=9; client_no_context_takeover; server_no_context_takeover"},
	}
	for _, tt := range tests {
		if got := tt.o.Offer(); got != tt.want {
			t.Errorf("Offer(%+v) = %q, want %q", tt.o, got, tt.want)
		}
		// Our own offer, echoed back, must be accepted except for the bare
		// client_max_window_bits, which a response must not carry.
		echo := bareClientBits.ReplaceAllString(tt.o.Offer(), "$1")
		if _, ok, err := Accept(tt.o, []string{echo}); !ok || err != nil {
			t.Errorf("Accept(echo %q) = %v, %v", echo, ok, err)
		}
	}
}

func TestAccept(t *testing.T) {
	full := Params{ClientMaxWindowBits: 15, ServerMaxWindowBits: 15}
	with := func(f func(p *Params)) Params { p := full; f(&p); return p }
	tests := []struct {
		name    string
		offered Options
		values  []string
		want    Params
		ok      bool
		errSub  string // non-empty: an error containing this is expected
	}{
		// Declined: no extension at all (RFC 7692 §7.1, the server may decline).
		{name: "no header", values: nil},
		{name: "empty value", values: []string{""}},
		{name: "empty list elements", values: []string{" , ,", "\t"}},

		// RFC 7692 §7.1.3-style acceptances.
		{name: "plain", values: []string{"permessage-deflate"}, want: full, ok: true},
		{name: "case-insensitive name", values: []string{"Permessage-Deflate"}, want: full, ok: true},
		{name: "second header line", values: []string{"", "permessage-deflate"}, want: full, ok: true},
		{name: "server window as asked", offered: Options{ServerMaxWindowBits: 10},
			values: []string{"permessage-deflate; server_max_window_bits=10"},
			want:   with(func(p *Params) { p.ServerMaxWindowBits = 10 }), ok: true},
		{name: "server window smaller than asked", offered: Options{ServerMaxWindowBits: 10},
			values: []string{"permessage-deflate; server_max_window_bits=8"},
			want:   with(func(p *Params) { p.ServerMaxWindowBits = 8 }), ok: true},
		{name: "server window not asked (§7.1.2.1 allows)",
			values: []string{"permessage-deflate; server_max_window_bits=12"},
			want:   with(func(p *Params) { p.ServerMaxWindowBits = 12 }), ok: true},
		{name: "server ignores our window request", offered: Options{ServerMaxWindowBits: 10},
			values: []string{"permessage-deflate"}, want: full, ok: true},
		{name: "client window picked by server",
			values: []string{"permessage-deflate; client_max_window_bits=8"},
			want:   with(func(p *Params) { p.ClientMaxWindowBits = 8 }), ok: true},
		{name: "client window offered, not echoed", offered: Options{ClientMaxWindowBits: 10},
			values: []string{"permessage-deflate"},
			want:   with(func(p *Params) { p.ClientMaxWindowBits = 10 }), ok: true},
		{name: "client window smaller than offered", offered: Options{ClientMaxWindowBits: 10},
			values: []string{"permessage-deflate; client_max_window_bits=9"},
			want:   with(func(p *Params) { p.ClientMaxWindowBits = 9 }), ok: true},
		{name: "server_no_context_takeover added by server",
			values: []string{"permessage-deflate; server_no_context_takeover"},
			want:   with(func(p *Params) { p.ServerNoContextTakeover = true }), ok: true},
		{name: "client_no_context_takeover imposed by server",
			values: []string{"permessage-deflate; client_no_context_takeover"},
			want:   with(func(p *Params) { p.ClientNoContextTakeover = true }), ok: true},
		{name: "our client_no_context_takeover stands", offered: Options{ClientNoContextTakeover: true},
			values: []string{"permessage-deflate"},
			want:   with(func(p *Params) { p.ClientNoContextTakeover = true }), ok: true},
		{name: "server keeps context despite our request", offered: Options{ServerNoContextTakeover: true},
			values: []string{"permessage-deflate"}, want: full, ok: true},
		{name: "everything", offered: Options{ServerMaxWindowBits: 12, ClientMaxWindowBits: 12},
			values: []string{`permessage-deflate;server_no_context_takeover ; client_no_context_takeover; server_max_window_bits = "11";client_max_window_bits=9`},
			want:   Params{ClientNoContextTakeover: true, ServerNoContextTakeover: true, ClientMaxWindowBits: 9, ServerMaxWindowBits: 11}, ok: true},
		{name: "quoted value with escape", values: []string{`permessage-deflate; server_max_window_bits="1\1"`},
			want: with(func(p *Params) { p.ServerMaxWindowBits = 11 }), ok: true},
		{name: "windows of 15 and 8", values: []string{"permessage-deflate; server_max_window_bits=15; client_max_window_bits=8"},
			want: with(func(p *Params) { p.ServerMaxWindowBits, p.ClientMaxWindowBits = 15, 8 }), ok: true},
		{name: "quoted value with every allowed byte class", values: []string{"permessage-deflate; x-param=\"!\t ~\x80\"; server_no_context_takeover"},
			errSub: "unknown parameter"},

		// Rejections (RFC 7692 §7.1: the client must fail the connection).
		{name: "unknown extension", values: []string{"x-webkit-deflate-frame"}, errSub: "not offered"},
		{name: "unknown extension after ours", values: []string{"permessage-deflate, foo"}, errSub: "not offered"},
		{name: "duplicate extension", values: []string{"permessage-deflate, permessage-deflate"}, errSub: "more than once"},
		{name: "duplicate extension across lines", values: []string{"permessage-deflate", "permessage-deflate"}, errSub: "more than once"},
		{name: "unknown parameter", values: []string{"permessage-deflate; foo"}, errSub: "unknown parameter"},
		{name: "unknown parameter with value", values: []string{"permessage-deflate; foo=1"}, errSub: "unknown parameter"},
		{name: "duplicate parameter", values: []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, errSub: "duplicate"},
		{name: "duplicate window", values: []string{"permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"}, errSub: "duplicate"},
		{name: "duplicate differing case", values: []string{"permessage-deflate; client_no_context_takeover; CLIENT_NO_CONTEXT_TAKEOVER"}, errSub: "duplicate"},
		{name: "takeover with value", values: []string{"permessage-deflate; server_no_context_takeover=1"}, errSub: "must not have a value"},
		{name: "client takeover with value", values: []string{"permessage-deflate; client_no_context_takeover=true"}, errSub: "must not have a value"},
		{name: "server window without value", values: []string{"permessage-deflate; server_max_window_bits"}, errSub: "needs a value"},
		{name: "client window without value", values: []string{"permessage-deflate; client_max_window_bits"}, errSub: "needs a value"},
		{name: "server window 7", values: []string{"permessage-deflate; server_max_window_bits=7"}, errSub: "not a window size"},
		{name: "server window 16", values: []string{"permessage-deflate; server_max_window_bits=16"}, errSub: "not a window size"},
		{name: "client window 7", values: []string{"permessage-deflate; client_max_window_bits=7"}, errSub: "not a window size"},
		{name: "leading zero", values: []string{"permessage-deflate; server_max_window_bits=09"}, errSub: "not a window size"},
		{name: "plus sign", values: []string{"permessage-deflate; server_max_window_bits=+9"}, errSub: "not a window size"},
		{name: "letters", values: []string{"permessage-deflate; server_max_window_bits=1a"}, errSub: "not a window size"},
		{name: "a byte just past the digits", values: []string{`permessage-deflate; server_max_window_bits="?"`}, errSub: "not a window size"},
		{name: "a byte just before the digits", values: []string{`permessage-deflate; server_max_window_bits="1/"`}, errSub: "not a window size"},
		{name: "quote ending in a backslash", values: []string{`permessage-deflate; server_max_window_bits="1\`}, errSub: "unterminated"},
		{name: "empty quoted", values: []string{`permessage-deflate; server_max_window_bits=""`}, errSub: "not a window size"},
		{name: "huge", values: []string{"permessage-deflate; server_max_window_bits=100000000000000000000"}, errSub: "not a window size"},
		{name: "server window above asked", offered: Options{ServerMaxWindowBits: 10},
			values: []string{"permessage-deflate; server_max_window_bits=11"}, errSub: "exceeds"},
		{name: "client window above offered", offered: Options{ClientMaxWindowBits: 10},
			values: []string{"permessage-deflate; client_max_window_bits=11"}, errSub: "exceeds"},
		{name: "empty parameter", values: []string{"permessage-deflate;"}, errSub: "expected a token"},
		{name: "missing parameter name", values: []string{"permessage-deflate; =10"}, errSub: "expected a token"},
		{name: "missing semicolon", values: []string{"permessage-deflate server_no_context_takeover"}, errSub: "malformed"},
		{name: "missing value", values: []string{"permessage-deflate; server_max_window_bits="}, errSub: "expected a token"},
		{name: "unterminated quote", values: []string{`permessage-deflate; server_max_window_bits="10`}, errSub: "unterminated"},
		{name: "control byte in quote", values: []string{"permessage-deflate; server_max_window_bits=\"1\x010\""}, errSub: "bad byte"},
		{name: "leading semicolon", values: []string{"; permessage-deflate"}, errSub: "expected a token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := Accept(tt.offered, tt.values)
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) {
					t.Fatalf("Accept(%q) error = %v, want one containing %q", tt.values, err, tt.errSub)
				}
				if !strings.HasPrefix(err.Error(), "websocket: ") || ok {
					t.Fatalf("Accept(%q) = ok %v, error %q", tt.values, ok, err)
				}
				return
			}
			if err != nil || ok != tt.ok || got != tt.want {
				t.Fatalf("Accept(%q) = %+v, %v, %v; want %+v, %v, nil", tt.values, got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func TestEffectiveThreshold(t *testing.T) {
	tests := []struct {
		o    Options
		p    Params
		want int
	}{
		{Options{}, Params{}, DefaultThresholdTakeover},
		{Options{}, Params{ClientNoContextTakeover: true}, DefaultThresholdNoTakeover},
		{Options{Threshold: 1}, Params{ClientNoContextTakeover: true}, 1},
	}
	for _, tt := range tests {
		if got := tt.o.EffectiveThreshold(tt.p); got != tt.want {
			t.Errorf("EffectiveThreshold(%+v, %+v) = %d, want %d", tt.o, tt.p, got, tt.want)
		}
	}
}
