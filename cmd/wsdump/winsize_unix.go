//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// watchWindowSize calls resize whenever the terminal is resized (SIGWINCH)
// until the returned stop is called.
func watchWindowSize(resize func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				resize()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
