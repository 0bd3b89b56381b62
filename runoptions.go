package websocket

import (
	"crypto/tls"
	"sync"
	"unsafe"
	"weak"
)

// What every run of an App keeps for its whole life, shared between runs
// where the copies would be equal: programs that hold many connections
// start their Apps with the same options.
//
//   - The run's options (RunOptions with the defaults filled in, about 400
//     bytes) and the dial options the App puts in place (share).
//   - The copy of a TLSConfig that carries a session cache (about 1.7 KiB
//     with its cache and a stored session), by tlsCopies: one per
//     configuration, not one per App.
//
// Equal means equal as copies: every field holds the same value, and
// references (maps, slices, funcs, pointers, interfaces) refer to the same
// objects. That is what a run's own copy would have kept, so sharing cannot
// be told apart from copying: a change to a RunOptions after Run has
// started makes a new, unshared copy for the next run, and a change to
// something the options refer to (a Header map) reaches the runs that refer
// to it, as it always did. The comparison is of the copies' memory, as a
// function value can only be told apart that way.

var (
	sharedRunOptions  weakCache[string, RunOptions]
	sharedDialOptions weakCache[string, DialOptions]
)

// share returns a copy of *v that no one changes: the one in c that a live
// run holds, when its source had the same memory as *v, else a new one.
// The key is that memory: a live copy holds what its references refer to,
// so no other object can have their addresses while it is in c.
func share[T any](c *weakCache[string, T], v *T) *T {
	b := unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
	// A run that finds its copy makes no key: the lookup converts b
	// without allocating, and a key made for each run, garbage at once,
	// measurably left the heap's spans emptier (0.1 KiB per connection).
	c.mu.Lock()
	p := c.m[string(b)].Value()
	c.mu.Unlock()
	if p != nil {
		return p
	}
	return c.get(string(b), func() *T {
		cp := *v
		return &cp
	})
}

// tlsCopies holds, for each TLSConfig that Apps run with (and for none),
// the copy with a session cache that their runs dial with
// (App.sessionTLSConfig). An entry goes once no App holds its copy.
var tlsCopies weakCache[weak.Pointer[tls.Config], tls.Config]

// tlsCopy returns the copy of cfg (nil: of an empty configuration) with a
// session cache, made at the first call for cfg while no App holds one.
func tlsCopy(cfg *tls.Config) *tls.Config {
	// weak.Make(nil) is the zero Pointer: the key of "no TLSConfig".
	return tlsCopies.get(weak.Make(cfg), func() *tls.Config {
		c := &tls.Config{}
		if cfg != nil {
			c = cfg.Clone()
		}
		c.ClientSessionCache = tls.NewLRUClientSessionCache(0)
		return c
	})
}

// weakCache maps keys to values that live only while something else holds
// them: a value no one holds is collected, and its entry is dropped as the
// map grows.
type weakCache[K comparable, V any] struct {
	mu    sync.Mutex
	m     map[K]weak.Pointer[V]
	swept int // len(m) after the last sweep of dead entries
}

// get returns the live value of k, or makes one with mk (under the cache's
// lock) and keeps it.
func (c *weakCache[K, V]) get(k K, mk func() *V) *V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.m[k].Value(); v != nil {
		return v
	}
	v := mk()
	if c.m == nil {
		c.m = make(map[K]weak.Pointer[V])
	}
	c.m[k] = weak.Make(v)
	if len(c.m) > 2*c.swept+64 {
		for k, w := range c.m {
			if w.Value() == nil {
				delete(c.m, k)
			}
		}
		c.swept = len(c.m)
	}
	return v
}
