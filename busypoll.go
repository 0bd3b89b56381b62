package websocket

import (
	"runtime"
	"strconv"
)

// BusyPollMode says whether a read that finds its socket empty retries for
// a few microseconds before the goroutine parks (see "Waiting for data: busy
// polling" in the package documentation), as DialOptions.BusyPoll.
//
// Busy polling saves a sleep and a wake-up whenever the next bytes are a
// moment away: while a server streams, and for the reply of a quick
// request. It costs CPU time, at most 5 µs per wait and far less on average
// (spins that go unrewarded back off). Turn it off (BusyPollOff) when
// CPU time matters more than latency: on a machine whose CPUs are all kept
// busy by other work, where a spin holds a CPU the sender may be waiting
// for (the default stops spinning there on Linux, but only as often as it
// looks), on metered CPU, or with very many connections that each receive
// rarely; and when measurements of your own traffic show no gain.
//
// It works on Unix systems (Linux, macOS, the BSDs, Solaris, AIX); on
// Windows, Plan 9 and WebAssembly no read spins, whatever the mode.
type BusyPollMode uint8

const (
	// BusyPollDefault busy-polls plain TCP and Unix sockets (not TLS
	// streams, where spinning measured no gain for its CPU time) when
	// the process may run on more than one CPU (GOMAXPROCS > 1 on a
	// machine with more than one), and never otherwise: a lone CPU that
	// spins keeps the sender, or the rest of the process, from running.
	// On Linux it also does not spin while more threads are runnable
	// than there are CPUs (the machine is contended), looking at most
	// every 50 ms.
	BusyPollDefault BusyPollMode = iota
	// BusyPollOff never spins: every read that finds its socket empty
	// parks at once, as a plain net.Conn read does, and the helper that
	// compresses half of a large message (see CompressionOptions) exits
	// when done instead of waiting for the next.
	BusyPollOff
	// BusyPollOn busy-polls TCP and Unix sockets, also under TLS, even
	// where BusyPollDefault would not (TLS, GOMAXPROCS = 1, a contended
	// machine).
	BusyPollOn
)

// String returns the constant's name.
func (m BusyPollMode) String() string {
	switch m {
	case BusyPollDefault:
		return "BusyPollDefault"
	case BusyPollOff:
		return "BusyPollOff"
	case BusyPollOn:
		return "BusyPollOn"
	}
	return "BusyPollMode(" + strconv.Itoa(int(m)) + ")"
}

// spins says whether a connection dialled with mode busy-polls.
func (m BusyPollMode) spins() bool {
	switch m {
	case BusyPollOn:
		return true
	case BusyPollDefault:
		return busyPollCPUs && runtime.GOMAXPROCS(0) > 1
	}
	return false
}

// busyPollCPUs says whether spinning can help by default: with one CPU the
// sender could not run while we spin.
var busyPollCPUs = runtime.NumCPU() > 1

// busyPolicy decides whether a read that finds its socket empty spins
// before parking (busyReader). Each spin that ends without data doubles the
// number of parks that follow without spinning (1, 3, 7 … busyPollMaxSkip);
// a spin that data rewards starts over.
type busyPolicy struct {
	backoff uint16 // parks to skip after the next unrewarded spin
	skip    uint16 // parks left to skip
}

// busyPollMaxSkip bounds the skipped parks: a connection whose spins never
// pay off still tries once per this many waits, so it notices when a stream
// starts.
const busyPollMaxSkip = 255

// spin says whether this wait spins, counting a skipped one.
func (p *busyPolicy) spin() bool {
	if p.skip > 0 {
		p.skip--
		return false
	}
	return true
}

// rewarded records a spin that data ended.
func (p *busyPolicy) rewarded() { p.backoff = 0 }

// unrewarded records a spin that timed out.
func (p *busyPolicy) unrewarded() {
	p.backoff = min(2*p.backoff+1, busyPollMaxSkip)
	p.skip = p.backoff
}
