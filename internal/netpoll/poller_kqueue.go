//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// Poller is a kqueue plus a pipe that wakes it (EVFILT_USER is missing on
// some of the BSDs).
type Poller struct {
	kq     int
	wakeR  int
	wakeW  int
	woken  atomic.Bool
	events [128]syscall.Kevent_t
}

// New returns a poller.
func New() (*Poller, error) {
	kq, err := syscall.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	syscall.CloseOnExec(kq)
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		syscall.Close(kq)
		return nil, os.NewSyscallError("pipe", err)
	}
	p := &Poller{kq: kq, wakeR: fds[0], wakeW: fds[1]}
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
		syscall.SetNonblock(fd, true)
	}
	if err := p.change(p.wakeR, syscall.EVFILT_READ, syscall.EV_ADD); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Poller) change(fd, filter, flags int) error {
	var ch [1]syscall.Kevent_t
	syscall.SetKevent(&ch[0], fd, filter, flags)
	if _, err := syscall.Kevent(p.kq, ch[:], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

// Add starts watching fd for readability.
func (p *Poller) Add(fd int) error { return p.change(fd, syscall.EVFILT_READ, syscall.EV_ADD) }

// SetWrite turns the watch for writability of fd on or off. Safe from any
// goroutine.
func (p *Poller) SetWrite(fd int, on bool) error {
	flags := syscall.EV_DELETE
	if on {
		flags = syscall.EV_ADD
	}
	err := p.change(fd, syscall.EVFILT_WRITE, flags)
	if !on && err != nil {
		return nil // it was not on
	}
	return err
}

// Modify sets what fd is watched for: readability, writability, each on or
// off. A descriptor watched for neither may still report Hangup. Safe from
// any goroutine.
func (p *Poller) Modify(fd int, read, write bool) error {
	flags := syscall.EV_DISABLE
	if read {
		flags = syscall.EV_ENABLE
	}
	if err := p.change(fd, syscall.EVFILT_READ, flags); err != nil {
		return err
	}
	return p.SetWrite(fd, write)
}

// Remove stops watching fd; it must be called before fd is closed.
func (p *Poller) Remove(fd int) error {
	p.change(fd, syscall.EVFILT_WRITE, syscall.EV_DELETE)
	return p.change(fd, syscall.EVFILT_READ, syscall.EV_DELETE)
}

// Wake makes a Wait in progress, or the next one, return. Safe from any
// goroutine; wake-ups before the Wait that sees them count once.
func (p *Poller) Wake() {
	if p.woken.Swap(true) {
		return
	}
	syscall.Write(p.wakeW, []byte{0})
}

// Wait waits up to timeout (< 0: without limit) for events and calls f for
// each descriptor that has some. A wake-up ends it without calling f; a
// signal does not end it.
func (p *Poller) Wait(timeout time.Duration, f func(fd int, ev Event)) error {
	w := newWaitTimer(timeout)
	n, err := p.kevent(&w)
	for err == syscall.EINTR && w.interrupted() {
		n, err = p.kevent(&w)
	}
	if err == syscall.EINTR {
		return nil
	}
	if err != nil {
		return os.NewSyscallError("kevent", err)
	}
	for i := range n {
		e := &p.events[i]
		fd := int(e.Ident)
		if fd == p.wakeR {
			var buf [64]byte
			syscall.Read(p.wakeR, buf[:])
			p.woken.Store(false)
			continue
		}
		var ev Event
		switch e.Filter {
		case syscall.EVFILT_READ:
			ev = Readable
		case syscall.EVFILT_WRITE:
			ev = Writable
		}
		if e.Flags&(syscall.EV_EOF|syscall.EV_ERROR) != 0 {
			ev |= Hangup | Readable
		}
		f(fd, ev)
	}
	return nil
}

// kevent waits for events for what is left of w.
func (p *Poller) kevent(w *waitTimer) (int, error) {
	var ts *syscall.Timespec
	if ms := w.millis(); ms >= 0 {
		t := syscall.NsecToTimespec(int64(ms) * int64(time.Millisecond))
		ts = &t
	}
	return syscall.Kevent(p.kq, nil, p.events[:], ts)
}

// Close releases the poller.
func (p *Poller) Close() error {
	syscall.Close(p.wakeR)
	syscall.Close(p.wakeW)
	return syscall.Close(p.kq)
}
