package main

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// residentBytes returns VmRSS from /proc/self/status (Linux), or 0 where that
// file does not exist.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest) // "123456 kB"
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// snapshot is the process's memory and goroutines at one point.
type snapshot struct {
	RSS        int64 // resident set (VmRSS)
	Heap       int64 // live heap after a collection (HeapAlloc)
	Spans      int64 // the heap's spans in use (HeapInuse): Heap plus the free room in partly used spans
	Stack      int64 // goroutine stacks (StackInuse)
	Goroutines int
}

// measure collects garbage, returns freed memory to the OS and takes a
// snapshot.
func measure() snapshot {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return snapshot{
		RSS:        residentBytes(),
		Heap:       int64(ms.HeapAlloc),
		Spans:      int64(ms.HeapInuse),
		Stack:      int64(ms.StackInuse),
		Goroutines: runtime.NumGoroutine(),
	}
}
