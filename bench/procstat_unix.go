//go:build unix

package main

import "syscall"

// cpuTime returns the user plus system CPU time of this process so far, in
// nanoseconds (getrusage(2) with RUSAGE_SELF): all goroutines and the
// garbage collector included.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
