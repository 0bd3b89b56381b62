package deflate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wsclient/websocket/internal/httptoken"
)

// ExtensionName is the extension token of RFC 7692 §7.
const ExtensionName = "permessage-deflate"

// Parameter names of RFC 7692 §7.1.
const (
	paramServerNoContextTakeover = "server_no_context_takeover"
	paramClientNoContextTakeover = "client_no_context_takeover"
	paramServerMaxWindowBits     = "server_max_window_bits"
	paramClientMaxWindowBits     = "client_max_window_bits"
)

// Window sizes allowed by RFC 7692 §7.1.2: 2^8 to 2^15 bytes.
const (
	MinWindowBits = 8
	MaxWindowBits = 15
)

// Levels: the flate levels Options.Level accepts.
const (
	HuffmanOnly  = -2 // entropy coding only, no back-references
	DefaultLevel = 1  // what 0 and -1 select: the fastest level
	BestLevel    = 9  // the smallest output
)

// Default thresholds (Options.Threshold == 0): below these sizes compression
// seldom pays for its CPU time. With context takeover short messages still
// shrink a lot because they can refer to earlier ones.
const (
	DefaultThresholdTakeover   = 128
	DefaultThresholdNoTakeover = 512
)

// Options mirrors the public CompressionOptions: what the client offers and
// how it compresses. The zero value offers permessage-deflate with context
// takeover and 15-bit windows.
type Options struct {
	Level                   int  // flate level, see DefaultLevel; 0 = DefaultLevel
	Threshold               int  // messages shorter than this are sent uncompressed; 0 = a default
	ClientNoContextTakeover bool // offer client_no_context_takeover (we reset our window per message)
	ServerNoContextTakeover bool // ask for server_no_context_takeover
	ClientMaxWindowBits     int  // 8–15: our largest window; 0 = offered without a value
	ServerMaxWindowBits     int  // 8–15: asked of the server; 0 = not asked
}

// Validate reports whether o can be offered: window bits 0 or 8–15, a level
// in -2..9, a non-negative threshold.
func (o Options) Validate() error {
	if o.Level < HuffmanOnly || o.Level > BestLevel {
		return fmt.Errorf("websocket: compression level %d out of range [%d, %d]", o.Level, HuffmanOnly, BestLevel)
	}
	if o.Threshold < 0 {
		return fmt.Errorf("websocket: compression threshold %d is negative", o.Threshold)
	}
	if b := o.ClientMaxWindowBits; b != 0 && (b < MinWindowBits || b > MaxWindowBits) {
		return fmt.Errorf("websocket: ClientMaxWindowBits %d out of range [%d, %d]", b, MinWindowBits, MaxWindowBits)
	}
	if b := o.ServerMaxWindowBits; b != 0 && (b < MinWindowBits || b > MaxWindowBits) {
		return fmt.Errorf("websocket: ServerMaxWindowBits %d out of range [%d, %d]", b, MinWindowBits, MaxWindowBits)
	}
	return nil
}

// Offer returns the Sec-WebSocket-Extensions value the client sends. It
// always includes client_max_window_bits, with a value only when
// ClientMaxWindowBits is set: that tells the server we can honour a smaller
// window (RFC 7692 §7.1.2.2), as browsers do.
func (o Options) Offer() string {
	var b strings.Builder
	b.WriteString(ExtensionName)
	b.WriteString("; " + paramClientMaxWindowBits)
	if o.ClientMaxWindowBits != 0 {
		b.WriteString("=" + strconv.Itoa(o.ClientMaxWindowBits))
	}
	if o.ServerMaxWindowBits != 0 {
		b.WriteString("; " + paramServerMaxWindowBits + "=" + strconv.Itoa(o.ServerMaxWindowBits))
	}
	if o.ClientNoContextTakeover {
		b.WriteString("; " + paramClientNoContextTakeover)
	}
	if o.ServerNoContextTakeover {
		b.WriteString("; " + paramServerNoContextTakeover)
	}
	return b.String()
}

// EffectiveThreshold returns the size below which messages go uncompressed
// on a connection that negotiated p.
func (o Options) EffectiveThreshold(p Params) int {
	switch {
	case o.Threshold > 0:
		return o.Threshold
	case p.ClientNoContextTakeover:
		return DefaultThresholdNoTakeover
	default:
		return DefaultThresholdTakeover
	}
}

// Params is what both sides agreed on. The window bits are always 8–15
// (15 where the response named none).
type Params struct {
	ClientNoContextTakeover bool // we reset our compressor after every message
	ServerNoContextTakeover bool // the server resets its window: we keep no history
	ClientMaxWindowBits     int  // the window our compressor may use
	ServerMaxWindowBits     int  // the window the server compresses with
}

// NewCompressor returns the Compressor for outgoing messages.
func (p Params) NewCompressor(level int) *Compressor {
	return NewCompressor(level, p.ClientMaxWindowBits, !p.ClientNoContextTakeover)
}

// NewDecompressor returns the Decompressor for incoming messages.
func (p Params) NewDecompressor() *Decompressor {
	return NewDecompressor(p.ServerMaxWindowBits, !p.ServerNoContextTakeover)
}

// errNegotiation prefixes every Accept error.
const errNegotiation = "websocket: Sec-WebSocket-Extensions response: "

// Accept checks the server's Sec-WebSocket-Extensions response header values
// against what the client offered (RFC 7692 §7.1). It returns ok == false
// with no error when the server declined the extension (sent none). Any
// other extension, a second permessage-deflate, an unknown, duplicated or
// malformed parameter, a window size outside 8–15, client_max_window_bits
// that was not offered or larger than offered, or server_max_window_bits
// larger than asked is an error: the client must fail the connection.
//
// The server may add server_no_context_takeover, client_no_context_takeover
// and server_max_window_bits on its own (§7.1.1.1, §7.1.1.2, §7.1.2.1).
// A parameter we asked for and the server left out is taken as the server's
// choice: e.g. without server_no_context_takeover in the response the
// server may keep its context, so we keep history for it.
func Accept(offered Options, values []string) (Params, bool, error) {
	exts, err := parseExtensions(values)
	if err != nil {
		return Params{}, false, err
	}
	if len(exts) == 0 {
		return Params{}, false, nil
	}
	for _, e := range exts {
		if !httptoken.EqualFold(e.name, ExtensionName) {
			return Params{}, false, fmt.Errorf(errNegotiation+"extension %q was not offered", e.name)
		}
	}
	if len(exts) > 1 {
		return Params{}, false, errors.New(errNegotiation + "permessage-deflate accepted more than once")
	}
	p := Params{
		ClientNoContextTakeover: offered.ClientNoContextTakeover,
		ClientMaxWindowBits:     MaxWindowBits,
		ServerMaxWindowBits:     MaxWindowBits,
	}
	if offered.ClientMaxWindowBits != 0 {
		// We said we would use no more than this (§7.1.2.2).
		p.ClientMaxWindowBits = offered.ClientMaxWindowBits
	}
	seen := make(map[string]bool, 4)
	for _, prm := range exts[0].params {
		name := strings.ToLower(prm.name)
		if seen[name] {
			return Params{}, false, fmt.Errorf(errNegotiation+"duplicate parameter %s", name)
		}
		seen[name] = true
		switch name {
		case paramServerNoContextTakeover, paramClientNoContextTakeover:
			if prm.hasValue {
				return Params{}, false, fmt.Errorf(errNegotiation+"%s must not have a value", name)
			}
			if name == paramServerNoContextTakeover {
				p.ServerNoContextTakeover = true
			} else {
				p.ClientNoContextTakeover = true
			}
		case paramServerMaxWindowBits:
			bits, err := parseWindowBits(name, prm)
			if err != nil {
				return Params{}, false, err
			}
			// §7.1.2.1: the same or a smaller value than the offer.
			if offered.ServerMaxWindowBits != 0 && bits > offered.ServerMaxWindowBits {
				return Params{}, false, fmt.Errorf(errNegotiation+"%s=%d exceeds the offered %d", name, bits, offered.ServerMaxWindowBits)
			}
			p.ServerMaxWindowBits = bits
		case paramClientMaxWindowBits:
			// Offer() always includes client_max_window_bits; the check
			// stays for callers that build their own offer.
			bits, err := parseWindowBits(name, prm)
			if err != nil {
				return Params{}, false, err
			}
			// §7.1.2.2: equal to or smaller than the offered value.
			if offered.ClientMaxWindowBits != 0 && bits > offered.ClientMaxWindowBits {
				return Params{}, false, fmt.Errorf(errNegotiation+"%s=%d exceeds the offered %d", name, bits, offered.ClientMaxWindowBits)
			}
			p.ClientMaxWindowBits = bits
		default:
			return Params{}, false, fmt.Errorf(errNegotiation+"unknown parameter %q", prm.name)
		}
	}
	return p, true, nil
}

// parseWindowBits reads a window-bits value: a decimal integer 8–15 without
// leading zeros, as a token or a quoted string (§7.1.2.1, §7.1.2.2).
func parseWindowBits(name string, prm param) (int, error) {
	if !prm.hasValue {
		return 0, fmt.Errorf(errNegotiation+"%s needs a value", name)
	}
	v := prm.value
	if len(v) == 0 || len(v) > 2 || v[0] == '0' {
		return 0, fmt.Errorf(errNegotiation+"%s=%q is not a window size in [8, 15]", name, v)
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf(errNegotiation+"%s=%q is not a window size in [8, 15]", name, v)
		}
		n = n*10 + int(v[i]-'0')
	}
	if n < MinWindowBits || n > MaxWindowBits {
		return 0, fmt.Errorf(errNegotiation+"%s=%q is not a window size in [8, 15]", name, v)
	}
	return n, nil
}

type param struct {
	name, value string
	hasValue    bool
}

type extension struct {
	name   string
	params []param
}

// parseExtensions parses header values by the grammar of RFC 6455 §9.1
// (with the quoted-string of RFC 9110 §5.6.4 for values): a comma list of
// token *( ";" token [ "=" ( token | quoted-string ) ] ) with optional white
// space; empty list elements are ignored (RFC 9110 §5.6.1).
func parseExtensions(values []string) ([]extension, error) {
	var exts []extension
	for _, v := range values {
		s := v
		for {
			s = skipOWS(s)
			if s == "" {
				break
			}
			if s[0] == ',' {
				s = s[1:]
				continue
			}
			var e extension
			var err error
			e.name, s, err = parseToken(s)
			if err != nil {
				return nil, err
			}
			for {
				s = skipOWS(s)
				if s == "" || s[0] == ',' {
					break
				}
				if s[0] != ';' {
					return nil, fmt.Errorf(errNegotiation+"malformed extension %q", v)
				}
				s = skipOWS(s[1:])
				var p param
				if p.name, s, err = parseToken(s); err != nil {
					return nil, err
				}
				s = skipOWS(s)
				if s != "" && s[0] == '=' {
					p.hasValue = true
					s = skipOWS(s[1:])
					if s != "" && s[0] == '"' {
						p.value, s, err = parseQuoted(s)
					} else {
						p.value, s, err = parseToken(s)
					}
					if err != nil {
						return nil, err
					}
				}
				e.params = append(e.params, p)
			}
			exts = append(exts, e)
		}
	}
	return exts, nil
}

func skipOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// parseToken splits a non-empty RFC 9110 token off the front of s.
func parseToken(s string) (tok, rest string, err error) {
	i := 0
	for i < len(s) && httptoken.IsTokenByte(s[i]) {
		i++
	}
	if i == 0 {
		return "", s, fmt.Errorf(errNegotiation+"expected a token at %q", s)
	}
	return s[:i], s[i:], nil
}

// parseQuoted splits a quoted-string off the front of s and unescapes it.
func parseQuoted(s string) (val, rest string, err error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:], nil
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f):
			b.WriteByte(c)
		default:
			return "", s, fmt.Errorf(errNegotiation+"bad byte %#x in quoted string", c)
		}
	}
	return "", s, errors.New(errNegotiation + "unterminated quoted string")
}
