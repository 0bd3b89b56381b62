package websocket

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// A dial's timeouts: one deadline bounds it (the earlier of Timeout,
// HandshakeTimeout and ctx's), carried by a context that needs no timer,
// and the error of a dial it ended says which one fired.

// errDialTimeout and errHandshakeTimeout are the causes of a dial's
// context that Timeout or HandshakeTimeout ended (context.Cause), which the
// stages that watch the context report instead of ctx.Err(): a timeout
// (matching os.ErrDeadlineExceeded, a net.Error whose Timeout is true), not
// context.DeadlineExceeded, which would say the caller's ctx expired.
var (
	errDialTimeout      error = &boundError{"Timeout expired"}
	errHandshakeTimeout error = &boundError{"HandshakeTimeout expired"}
)

// boundError is errDialTimeout's and errHandshakeTimeout's type.
type boundError struct{ msg string }

func (e *boundError) Error() string        { return e.msg }
func (e *boundError) Timeout() bool        { return true }
func (e *boundError) Temporary() bool      { return true }
func (e *boundError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

// defaultHandshakeTimeout is HandshakeTimeout's default.
const defaultHandshakeTimeout = 30 * time.Second

// deadlineCtx is the context of a dial: the parent's values and
// cancellation, and the dial's deadline (the earlier of the parent's and
// ours) with what it stands for, without a timer. Each stage enforces the
// deadline on its connection (net.Dialer, the TLS and Upgrade handshakes
// through SetDeadline), and Err reports it once it has passed.
type deadlineCtx struct {
	context.Context
	d     time.Time
	cause error // errDialTimeout, errHandshakeTimeout, or nil for the parent's own deadline
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.d, true }

func (c *deadlineCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if time.Now().Before(c.d) {
		return nil
	}
	return context.DeadlineExceeded
}

// realContext returns a context that ends at ctx's deadline for a stage
// that may watch only Done (a NetDialContext, a proxy, name resolution by
// the system resolver): ctx itself unless it is a *deadlineCtx. When the
// deadline is Timeout's or HandshakeTimeout's, its cause says so.
func realContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dc, ok := ctx.(*deadlineCtx); ok {
		if dc.cause != nil {
			return context.WithDeadlineCause(dc.Context, dc.d, dc.cause)
		}
		return context.WithDeadline(dc.Context, dc.d)
	}
	return ctx, func() {}
}

// connectContext returns ctx for net.Dialer's connect, which applies ctx's
// deadline to the socket only when ctx has a Done channel: a deadlineCtx
// under a context that cannot end (context.Background) gets one that is
// never closed, where a dial would otherwise wait for the kernel's own
// connect timeout (minutes). Only the connect gets it: elsewhere a Done
// that is never closed would keep a context.AfterFunc waiting for good.
func connectContext(ctx context.Context) context.Context {
	if dc, ok := ctx.(*deadlineCtx); ok && dc.Done() == nil {
		return connectCtx{dc}
	}
	return ctx
}

// connectCtx is connectContext's: a deadlineCtx with a Done.
type connectCtx struct{ *deadlineCtx }

var neverDone = make(chan struct{})

func (connectCtx) Done() <-chan struct{} { return neverDone }

// dialCause is what ended ctx: for a *deadlineCtx the cause it stands for.
func dialCause(ctx context.Context) error {
	if dc, ok := ctx.(*deadlineCtx); ok {
		if dc.Context.Err() != nil || dc.cause == nil {
			return context.Cause(dc.Context)
		}
		return dc.cause
	}
	return context.Cause(ctx)
}

// ownTimeout returns errDialTimeout or errHandshakeTimeout when that bound
// ended ctx (the dial's context) while the caller's ctx was live, else nil.
func ownTimeout(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	if cause := dialCause(ctx); cause == errDialTimeout || cause == errHandshakeTimeout {
		return cause
	}
	return nil
}

// notCallersDeadline is err, from a stage that reported the end of the
// dial's context by ctx.Err() when Timeout or HandshakeTimeout ended it (a
// NetDialContext, the net package's connect, crypto/tls): it says and
// matches what err does, except context.DeadlineExceeded, which would say
// that the caller's ctx expired.
type notCallersDeadline struct{ err error }

func (e *notCallersDeadline) Error() string { return e.err.Error() }
func (e *notCallersDeadline) Is(target error) bool {
	return target != context.DeadlineExceeded && errors.Is(e.err, target)
}
func (e *notCallersDeadline) As(target any) bool { return errors.As(e.err, target) }

// dialError makes a failure caused by the end of ctx say so: a Timeout or
// HandshakeTimeout is a timeout error (which does not match
// context.DeadlineExceeded), a cancelled or expired ctx wraps ctx.Err().
// A server's non-101 answer stays its *BadStatusError.
func dialError(ctx context.Context, err error) error {
	if _, own := ctx.(*deadlineCtx); own {
		// Its Err already reports the deadline the socket's fired at.
	} else if d, ok := ctx.Deadline(); ok && ctx.Err() == nil && !time.Now().Before(d) {
		// The socket's deadline (ctx's) fired a moment before ctx's own
		// timer: report it as the end of ctx.
		<-ctx.Done()
	}
	if ctx.Err() == nil {
		return err
	}
	if bs := (*BadStatusError)(nil); errors.As(err, &bs) {
		// The server answered; only reading its error body ran into
		// the deadline (badStatus stops there): the answer is the error.
		return err
	}
	own := ownTimeout(ctx)
	masked := false
	if own != nil && errors.Is(err, context.DeadlineExceeded) {
		if te, ok := err.(*timeoutError); ok {
			err = &timeoutError{op: te.op, err: &notCallersDeadline{te.err}}
		} else {
			err = &notCallersDeadline{err}
		}
		masked = true
	}
	if own == errHandshakeTimeout {
		if te, ok := err.(*timeoutError); ok {
			err = te.err // not "timeout" twice
		}
		return &timeoutError{op: "handshake", err: wrapError("not done within HandshakeTimeout", err)}
	}
	var pe *ProxyError
	if errors.As(err, &pe) && (masked || errors.Is(err, ctx.Err()) || own != nil && errors.Is(err, own)) {
		if own == errDialTimeout {
			return &timeoutError{op: "dial", err: err} // still a *ProxyError to errors.As
		}
		return err
	}
	if own == errDialTimeout {
		var te *timeoutError
		if errors.As(err, &te) {
			return err // already says it timed out
		}
		if errors.Is(err, errDialTimeout) {
			return &timeoutError{op: "dial", err: err} // the stage said why it stopped
		}
		return &timeoutError{op: "dial", err: fmt.Errorf("%w (%s)", os.ErrDeadlineExceeded, detail(err))}
	}
	if errors.Is(err, ctx.Err()) {
		return err
	}
	if te, ok := err.(*timeoutError); ok {
		// The end of ctx interrupted a socket operation through its
		// deadline: nothing timed out.
		return fmt.Errorf("websocket: dial: %w (during the %s)", ctx.Err(), te.op)
	}
	return fmt.Errorf("websocket: dial: %w (%s)", ctx.Err(), detail(err))
}
