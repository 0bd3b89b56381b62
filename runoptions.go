package websocket

import (
	"hash/maphash"
	"sync"
	"unsafe"
	"weak"
)

// A run keeps its options (RunOptions with the dial options the App puts in
// place) for its whole life: about 400 bytes, the largest part of an idle
// App's run. Programs that hold many connections start their Apps with the
// same options, so runs share one copy of equal options instead of keeping
// one each.
//
// Equal means equal as copies: every field holds the same value, and
// references (maps, slices, funcs, pointers, interfaces) refer to the same
// objects. That is what a run's own copy would have kept, so sharing cannot
// be told apart from copying: a change to a RunOptions after Run has
// started makes a new, unshared copy for the next run, and a change to
// something the options refer to (a Header map, a *tls.Config) reaches the
// runs that refer to it, as it always did. The comparison is of the copies'
// memory, as a function value can only be told apart that way.

// sharedRunOptions holds the options of live runs.
var sharedRunOptions runOptionsSet

// runOptionsSet holds copies of RunOptions by the hash of their memory. Its
// entries are weak: a copy no run holds any more is collected, and its entry
// is dropped at a later insertion.
type runOptionsSet struct {
	mu    sync.Mutex
	seed  maphash.Seed
	m     map[uint64][]weak.Pointer[RunOptions]
	swept int // len(m) after the last sweep of dead entries
}

// memory returns the bytes of *v.
func memory[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// sameMemory reports whether *a and *b are equal as copies: the same
// bytes, so the same values and the same references.
func sameMemory[T any](a, b *T) bool { return string(memory(a)) == string(memory(b)) }

// share returns a copy of o that no one changes: one a live run already
// holds when its memory equals o's, else a new one.
func (set *runOptionsSet) share(o *RunOptions) *RunOptions {
	set.mu.Lock()
	defer set.mu.Unlock()
	if set.m == nil {
		set.seed = maphash.MakeSeed()
		set.m = make(map[uint64][]weak.Pointer[RunOptions])
	}
	b := memory(o)
	h := maphash.Bytes(set.seed, b)
	old := set.m[h]
	live := old[:0]
	var found *RunOptions
	for _, w := range old {
		p := w.Value()
		if p == nil {
			continue
		}
		live = append(live, w)
		if found == nil && sameMemory(p, o) {
			found = p
		}
	}
	clear(old[len(live):])
	if found == nil {
		found = new(RunOptions)
		*found = *o
		// A copy that differs from o in bytes no field covers (padding)
		// is not kept for sharing; that costs memory only.
		if sameMemory(found, o) {
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
func (set *runOptionsSet) sweep() {
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
