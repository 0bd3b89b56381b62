package websocket

import (
	"crypto/tls"
	"hash/maphash"
	"sync"
	"unsafe"
	"weak"
)

// What every run of an App keeps for its whole life, shared between runs
// where the copies would be equal: programs that hold many connections
// start their Apps with the same options.
//
//   - The run's options (RunOptions with the defaults filled in, about 400
//     bytes) and the dial options the App puts in place, by copySet.
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
	sharedRunOptions  copySet[RunOptions]
	sharedDialOptions copySet[DialOptions]
)

// copySet holds copies of T by the hash of their memory. Its entries are
// weak: a copy no run holds any more is collected, and its entry is dropped
// at a later insertion.
type copySet[T any] struct {
	mu    sync.Mutex
	seed  maphash.Seed
	m     map[uint64][]weak.Pointer[T]
	swept int // len(m) after the last sweep of dead entries
}

// memory returns the bytes of *v.
func memory[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// sameMemory reports whether *a and *b are equal as copies: the same
// bytes, so the same values and the same references.
func sameMemory[T any](a, b *T) bool { return string(memory(a)) == string(memory(b)) }

// share returns a copy of v that no one changes: one a live run already
// holds when its memory equals v's, else a new one.
func (set *copySet[T]) share(v *T) *T {
	set.mu.Lock()
	defer set.mu.Unlock()
	if set.m == nil {
		set.seed = maphash.MakeSeed()
		set.m = make(map[uint64][]weak.Pointer[T])
	}
	h := maphash.Bytes(set.seed, memory(v))
	old := set.m[h]
	live := old[:0]
	var found *T
	for _, w := range old {
		p := w.Value()
		if p == nil {
			continue
		}
		live = append(live, w)
		if found == nil && sameMemory(p, v) {
			found = p
		}
	}
	clear(old[len(live):])
	if found == nil {
		found = new(T)
		*found = *v
		// A copy that differs from v in bytes no field covers (padding)
		// is not kept for sharing; that costs memory only.
		if sameMemory(found, v) {
			live = append(live, weak.Make(found))
		}
	}
	if len(live) == 0 {
		delete(set.m, h)
	} else {
		set.m[h] = live
	}
	if len(set.m) > 2*set.swept+64 {
		set.sweep()
	}
	return found
}

// sweep drops the entries whose copies were collected; mu is held.
func (set *copySet[T]) sweep() {
	for h, ws := range set.m {
		live := ws[:0]
		for _, w := range ws {
			if w.Value() != nil {
				live = append(live, w)
			}
		}
		clear(ws[len(live):])
		if len(live) == 0 {
			delete(set.m, h)
		} else {
			set.m[h] = live
		}
	}
	set.swept = len(set.m)
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
