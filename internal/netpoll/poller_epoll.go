//go:build linux

package netpoll

import (
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Poller is an epoll set plus an eventfd that wakes it.
type Poller struct {
	epfd   int
	wakeFd int
	woken  atomic.Bool // a wake-up is pending: later ones need no write
	events [128]syscall.EpollEvent
}

// New returns a poller.
func New() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK); the syscall package has no
	// wrapper.
	r, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("eventfd2", errno)
	}
	p := &Poller{epfd: epfd, wakeFd: int(r)}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wakeFd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wakeFd, &ev); err != nil {
		p.Close()
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return p, nil
}

func (p *Poller) ctl(op, fd int, read, write bool) error {
	ev := syscall.EpollEvent{Fd: int32(fd)}
	if read {
		ev.Events |= syscall.EPOLLIN | syscall.EPOLLRDHUP
	}
	if write {
		ev.Events |= syscall.EPOLLOUT
	}
	if err := syscall.EpollCtl(p.epfd, op, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Add starts watching fd for readability.
func (p *Poller) Add(fd int) error { return p.ctl(syscall.EPOLL_CTL_ADD, fd, true, false) }

// SetWrite turns the watch for writability of fd on or off. Safe from any
// goroutine.
func (p *Poller) SetWrite(fd int, on bool) error { return p.ctl(syscall.EPOLL_CTL_MOD, fd, true, on) }

// Modify sets what fd is watched for: readability, writability, each on or
// off. A descriptor watched for neither may still report Hangup. Safe from
// any goroutine.
func (p *Poller) Modify(fd int, read, write bool) error {
	return p.ctl(syscall.EPOLL_CTL_MOD, fd, read, write)
}

// Remove stops watching fd; it must be called before fd is closed.
func (p *Poller) Remove(fd int) error {
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Wake makes a Wait in progress, or the next one, return. Safe from any
// goroutine; wake-ups before the Wait that sees them count once.
func (p *Poller) Wake() {
	if p.woken.Swap(true) {
		return
	}
	one := uint64(1)
	syscall.Write(p.wakeFd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

// Wait waits up to timeout (< 0: without limit) for events and calls f for
// each descriptor that has some. A wake-up ends it without calling f; a
// signal does not end it.
func (p *Poller) Wait(timeout time.Duration, f func(fd int, ev Event)) error {
	w := newWaitTimer(timeout)
	n, err := syscall.EpollWait(p.epfd, p.events[:], w.millis())
	for err == syscall.EINTR && w.interrupted() {
		n, err = syscall.EpollWait(p.epfd, p.events[:], w.millis())
	}
	if err == syscall.EINTR {
		return nil
	}
	if err != nil {
		return os.NewSyscallError("epoll_wait", err)
	}
	for i := range n {
		e := &p.events[i]
		fd := int(e.Fd)
		if fd == p.wakeFd {
			var buf [8]byte
			syscall.Read(p.wakeFd, buf[:])
			p.woken.Store(false)
			continue
		}
		var ev Event
		if e.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP) != 0 {
			ev |= Readable
		}
		if e.Events&syscall.EPOLLOUT != 0 {
			ev |= Writable
		}
		if e.Events&(syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
			ev |= Hangup | Readable
		}
		f(fd, ev)
	}
	return nil
}

// Close releases the poller.
func (p *Poller) Close() error {
	syscall.Close(p.wakeFd)
	return syscall.Close(p.epfd)
}
