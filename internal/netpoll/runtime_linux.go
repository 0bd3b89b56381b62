package netpoll

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
)

// Go's runtime watches every socket of a net.Conn in an epoll set of its
// own (edge-triggered), so a socket that a Poller serves would also wake
// the runtime's poller at each burst of data: the kernel reports it twice,
// and the runtime's scheduler spends its idle turns collecting events no
// goroutine waits for (a fifth of the client's CPU when 10,000 connections
// receive small messages). The runtime has no call to stop watching one
// descriptor and does not say which descriptor its set is, so Linux finds
// it once, from /proc/self/fdinfo: the one epoll set other than the
// Poller's that lists the descriptor (when more than one does, it does
// nothing).
var runtimeSet struct {
	mu     sync.Mutex
	fd     int  // the runtime's epoll descriptor, when found
	done   bool // found, or known not to be findable
	misses int  // looks that found no set but the caller's
}

// TakeFromRuntime stops Go's own poller from watching fd, which p watches
// already, and reports whether it did. The caller holds fd open (inside a
// syscall.RawConn's Control) and from then on must never wait on its
// net.Conn for readiness: reads and writes that would block can no longer
// be woken, though deadlines still end them. Closing the net.Conn stays
// correct (the runtime's own removal finds nothing to remove and ignores
// that). Where the set cannot be found (no /proc) nothing changes.
func (p *Poller) TakeFromRuntime(fd int) bool {
	rfd := runtimeEpoll(fd, p.epfd)
	if rfd < 0 {
		return false
	}
	return syscall.EpollCtl(rfd, syscall.EPOLL_CTL_DEL, fd, nil) == nil
}

// runtimeEpoll returns the runtime's epoll descriptor, finding it at the
// first call that can: the one set other than own that lists fd, when
// exactly one does. It returns -1 when there is none; it stops looking
// after three descriptors no other set watched.
func runtimeEpoll(fd, own int) int {
	s := &runtimeSet
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		sets, err := Watchers(fd)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return -1 // out of descriptors, say: look again next time
		}
		sets = slices.DeleteFunc(sets, func(n int) bool { return n == own })
		switch {
		case len(sets) == 1:
			s.fd, s.done = sets[0], true
		case len(sets) > 1 || err != nil || s.misses >= 2:
			// No /proc, more than one set, or thrice none (Go's poller
			// is not an epoll set): never look again.
			s.fd, s.done = -1, true
		default:
			s.misses++ // fd is not Go's: look again with the next one
			return -1
		}
	}
	return s.fd
}

// Watchers returns the epoll descriptors of this process whose watch lists
// have fd (Linux, from /proc/self/fdinfo).
func Watchers(fd int) ([]int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	want := strconv.Itoa(fd)
	var sets []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || l != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // closed meanwhile
			}
			return nil, err
		}
		// One line per watched descriptor: "tfd:  <fd> events: ...".
		for line := range bytes.Lines(info) {
			rest, ok := bytes.CutPrefix(line, []byte("tfd:"))
			if !ok {
				continue
			}
			if f := bytes.Fields(rest); len(f) > 0 && string(f[0]) == want {
				sets = append(sets, n)
				break
			}
		}
	}
	return sets, nil
}
