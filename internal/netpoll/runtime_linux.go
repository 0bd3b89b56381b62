package netpoll

import (
	"bytes"
	"errors"
	"io"
	"os"
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
// it once, from /proc/self/fdinfo: the first epoll set other than the
// Poller's that lists the descriptor. Only Go's set and the Poller's can:
// the socket is new, and nothing else knows its number.
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
// first call that can: the first set other than own, in descriptor order,
// that lists fd (Go makes its set when the process opens its first
// network connection, so it comes early and the search stops there). It
// returns -1 when there is none; it stops looking after three descriptors
// no other set watched.
func runtimeEpoll(fd, own int) int {
	s := &runtimeSet
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		sets, err := watchers(fd, own, true)
		switch {
		case len(sets) == 1:
			s.fd, s.done = sets[0], true
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return -1 // out of descriptors, say: look again next time
		case err != nil || s.misses >= 2:
			// No /proc, or thrice none (Go's poller is not an epoll
			// set): never look again.
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
func Watchers(fd int) ([]int, error) { return watchers(fd, -1, false) }

// watchers returns the epoll descriptors but skip whose watch lists have
// fd, in descriptor order; with first, only the first of them. It reads
// /proc/self/fd a batch at a time (the kernel lists it in descriptor
// order), so a search that ends early reads little of a process with a
// million descriptors.
func watchers(fd, skip int, first bool) ([]int, error) {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	want := strconv.Itoa(fd)
	var sets []int
	for {
		names, err := dir.Readdirnames(256)
		for _, name := range names {
			n, aerr := strconv.Atoi(name)
			if aerr != nil || n == skip {
				continue
			}
			ok, lerr := lists(name, want)
			if lerr != nil {
				return sets, lerr
			}
			if ok {
				if sets = append(sets, n); first {
					return sets, nil
				}
			}
		}
		if err == io.EOF {
			return sets, nil
		}
		if err != nil {
			return sets, err
		}
	}
}

// lists reports whether the descriptor named name is an epoll set whose
// watch list has the descriptor numbered want.
func lists(name, want string) (bool, error) {
	if l, err := os.Readlink("/proc/self/fd/" + name); err != nil || l != "anon_inode:[eventpoll]" {
		return false, nil // not a set, or closed meanwhile
	}
	info, err := os.ReadFile("/proc/self/fdinfo/" + name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil // closed meanwhile
		}
		return false, err
	}
	// One line per watched descriptor: "tfd:  <fd> events: ...".
	for line := range bytes.Lines(info) {
		rest, ok := bytes.CutPrefix(line, []byte("tfd:"))
		if !ok {
			continue
		}
		if f := bytes.Fields(rest); len(f) > 0 && string(f[0]) == want {
			return true, nil
		}
	}
	return false, nil
}
