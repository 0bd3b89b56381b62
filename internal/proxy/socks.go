package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ErrAuthRejected is matched (errors.Is) by a SOCKS5 proxy's refusal of
// our user name and password, or of every authentication method we
// offered: another attempt with the same proxy URL would be refused again.
var ErrAuthRejected = errors.New("proxy rejected the authentication")

// authError is an ErrAuthRejected with its own message.
type authError struct{ msg string }

func (e *authError) Error() string        { return e.msg }
func (e *authError) Is(target error) bool { return target == ErrAuthRejected }

// Permanent reports whether the SOCKS refusal is one another attempt would
// only repeat: SOCKS5's "connection not allowed by ruleset", the proxy's
// policy.
func (e *SOCKSError) Permanent() bool { return e.Version == 5 && e.Code == 0x02 }

// SOCKSError is the cause of an *Error when a SOCKS proxy refused the
// connection with a reply code.
type SOCKSError struct {
	Version int  // 4 or 5
	Code    byte // the reply code: CD for SOCKS4, REP for SOCKS5
}

func (e *SOCKSError) Error() string {
	var msg string
	if e.Version == 4 {
		switch e.Code {
		case 0x5b:
			msg = "request rejected or failed"
		case 0x5c:
			msg = "request rejected: the proxy cannot reach our identd"
		case 0x5d:
			msg = "request rejected: identd reported a different user id"
		}
	} else if int(e.Code) < len(socks5Replies) {
		msg = socks5Replies[e.Code]
	}
	if msg == "" {
		msg = "unknown error"
	}
	return fmt.Sprintf("%s (SOCKS%d reply code 0x%02x)", msg, e.Version, e.Code)
}

// socks5Replies are the REP texts of RFC 1928 §6.
var socks5Replies = [...]string{
	1: "general SOCKS server failure",
	2: "connection not allowed by ruleset",
	3: "network unreachable",
	4: "host unreachable",
	5: "connection refused",
	6: "TTL expired",
	7: "command not supported",
	8: "address type not supported",
}

// socks4 runs the SOCKS4 or SOCKS4A CONNECT request on conn. SOCKS4 carries
// only an IPv4 address, so the name is resolved here; SOCKS4A sends the name
// for the proxy to resolve, behind the invalid address 0.0.0.1 that marks
// the 4A form. The URL's user name is the request's USERID.
func (d *Dialer) socks4(ctx context.Context, conn net.Conn, p *url.URL, host, port string) error {
	where := display(p) + ": connecting to " + net.JoinHostPort(host, port)
	portN, _ := strconv.ParseUint(port, 10, 16) // checked by splitTarget
	user := p.User.Username()
	if strings.IndexByte(user, 0) >= 0 {
		return &Error{Reason: where, Err: errors.New("SOCKS4 user id contains a NUL byte")}
	}
	var ip [4]byte
	var name string
	if a, err := netip.ParseAddr(host); err == nil {
		if a = a.Unmap(); !a.Is4() {
			return &Error{Reason: where, Err: errors.New("SOCKS4 cannot carry an IPv6 address (use socks5)")}
		}
		ip = a.As4()
	} else if p.Scheme == SchemeSOCKS4A {
		ip, name = [4]byte{0, 0, 0, 1}, host
	} else {
		a, err := d.lookup(ctx, "ip4", host)
		if err != nil {
			return &Error{Reason: where + ": cannot resolve " + strconv.Quote(host), Err: err}
		}
		ip = a.As4()
	}
	req := make([]byte, 0, 9+len(user)+len(name)+1)
	req = append(req, 4, 1, byte(portN>>8), byte(portN)) // VN=4, CD=1 (CONNECT), DSTPORT
	req = append(req, ip[:]...)
	req = append(req, user...)
	req = append(req, 0)
	if name != "" {
		req = append(req, name...)
		req = append(req, 0)
	}
	if _, err := conn.Write(req); err != nil {
		return &Error{Reason: where + ": sending request", Err: err}
	}
	var reply [8]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil {
		return &Error{Reason: where + ": reading reply", Err: eofMeansClosed(err)}
	}
	if err := parseSOCKS4Reply(reply); err != nil {
		return &Error{Reason: where, Err: err}
	}
	return nil
}

// parseSOCKS4Reply checks the 8-byte SOCKS4 reply: VN 0, CD 90 (granted).
func parseSOCKS4Reply(reply [8]byte) error {
	if reply[0] != 0 {
		return fmt.Errorf("not a SOCKS4 reply (version byte 0x%02x, want 0x00)", reply[0])
	}
	if reply[1] != 0x5a {
		return &SOCKSError{Version: 4, Code: reply[1]}
	}
	return nil
}

// SOCKS5 authentication methods (RFC 1928 §3).
const (
	socks5NoAuth       = 0x00
	socks5UserPass     = 0x02 // RFC 1929
	socks5NoAcceptable = 0xff
)

// socks5 runs the SOCKS5 method negotiation, the RFC 1929 username/password
// subnegotiation when the URL has user info, and the CONNECT request (RFC
// 1928 §4). socks5 resolves the name here; socks5h sends it (ATYP 3).
func (d *Dialer) socks5(ctx context.Context, conn net.Conn, p *url.URL, host, port string) error {
	where := display(p) + ": connecting to " + net.JoinHostPort(host, port)
	portN, _ := strconv.ParseUint(port, 10, 16) // checked by splitTarget

	// Build the CONNECT request first: a name that cannot be sent or
	// resolved fails before any byte goes to the proxy.
	req := make([]byte, 0, 6+1+255+2)
	req = append(req, 5, 1, 0) // VER, CMD=CONNECT, RSV
	if a, err := netip.ParseAddr(host); err == nil {
		req = appendSOCKS5Addr(req, a.Unmap())
	} else if p.Scheme == SchemeSOCKS5H {
		if len(host) > 255 {
			return &Error{Reason: where, Err: errors.New("host name longer than 255 bytes")}
		}
		req = append(req, 3, byte(len(host)))
		req = append(req, host...)
	} else {
		a, err := d.lookup(ctx, "ip", host)
		if err != nil {
			return &Error{Reason: where + ": cannot resolve " + strconv.Quote(host), Err: err}
		}
		req = appendSOCKS5Addr(req, a)
	}
	req = append(req, byte(portN>>8), byte(portN))

	greeting := []byte{5, 1, socks5NoAuth}
	if p.User != nil {
		greeting = []byte{5, 2, socks5NoAuth, socks5UserPass}
	}
	if _, err := conn.Write(greeting); err != nil {
		return &Error{Reason: where + ": sending greeting", Err: err}
	}
	var choice [2]byte
	if _, err := io.ReadFull(conn, choice[:]); err != nil {
		return &Error{Reason: where + ": reading method choice", Err: eofMeansClosed(err)}
	}
	if choice[0] != 5 {
		return &Error{Reason: where, Err: fmt.Errorf("not a SOCKS5 reply (version byte 0x%02x, want 0x05)", choice[0])}
	}
	switch {
	case choice[1] == socks5NoAuth:
	case choice[1] == socks5UserPass && p.User != nil:
		if err := socks5Auth(conn, p.User); err != nil {
			return &Error{Reason: where + ": authentication", Err: err}
		}
	case choice[1] == socks5NoAcceptable && p.User == nil:
		return &Error{Reason: where, Err: &authError{"the proxy accepts none of our authentication methods (does it need a user name and password?)"}}
	case choice[1] == socks5NoAcceptable:
		return &Error{Reason: where, Err: &authError{"the proxy accepts none of our authentication methods"}}
	default:
		return &Error{Reason: where, Err: fmt.Errorf("the proxy chose authentication method 0x%02x, which we did not offer", choice[1])}
	}

	if _, err := conn.Write(req); err != nil {
		return &Error{Reason: where + ": sending request", Err: err}
	}
	if err := readSOCKS5Reply(conn); err != nil {
		return &Error{Reason: where, Err: err}
	}
	return nil
}

func appendSOCKS5Addr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		b = append(b, 1)
	} else {
		b = append(b, 4)
	}
	return append(b, a.AsSlice()...)
}

// socks5Auth runs the RFC 1929 username/password subnegotiation.
func socks5Auth(conn net.Conn, user *url.Userinfo) error {
	name := user.Username()
	pass, _ := user.Password()
	// RFC 1929 §2: ULEN is 1–255; PLEN is sent as is (0 allowed in
	// practice for an empty password).
	if len(name) == 0 || len(name) > 255 || len(pass) > 255 {
		return errors.New("user name must be 1–255 bytes and password at most 255 bytes")
	}
	req := make([]byte, 0, 3+len(name)+len(pass))
	req = append(req, 1, byte(len(name)))
	req = append(req, name...)
	req = append(req, byte(len(pass)))
	req = append(req, pass...)
	if _, err := conn.Write(req); err != nil {
		return err
	}
	var reply [2]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil {
		return eofMeansClosed(err)
	}
	if reply[0] != 1 {
		return fmt.Errorf("not a username/password reply (version byte 0x%02x, want 0x01)", reply[0])
	}
	if reply[1] != 0 {
		return &authError{fmt.Sprintf("user name or password rejected (status 0x%02x)", reply[1])}
	}
	return nil
}

// readSOCKS5Reply reads the whole CONNECT reply (RFC 1928 §6), including the
// bound address, so no reply byte is left to be mistaken for tunnel data.
func readSOCKS5Reply(r io.Reader) error {
	var head [4]byte // VER REP RSV ATYP
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return fmt.Errorf("reading reply: %w", eofMeansClosed(err))
	}
	if head[0] != 5 {
		return fmt.Errorf("not a SOCKS5 reply (version byte 0x%02x, want 0x05)", head[0])
	}
	if head[1] != 0 {
		return &SOCKSError{Version: 5, Code: head[1]}
	}
	var n int
	switch head[3] {
	case 1:
		n = 4
	case 4:
		n = 16
	case 3:
		var l [1]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return fmt.Errorf("reading reply: %w", eofMeansClosed(err))
		}
		n = int(l[0])
	default:
		return fmt.Errorf("reply has unknown address type 0x%02x", head[3])
	}
	var rest [255 + 2]byte
	if _, err := io.ReadFull(r, rest[:n+2]); err != nil {
		return fmt.Errorf("reading reply: %w", eofMeansClosed(err))
	}
	return nil
}

// eofMeansClosed turns a clean EOF in the middle of a handshake into
// io.ErrUnexpectedEOF with a message saying what happened.
func eofMeansClosed(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("proxy closed the connection during the handshake: %w", io.ErrUnexpectedEOF)
	}
	return err
}
