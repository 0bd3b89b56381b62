//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package main

import "os"

// ttyCooked cannot tell the terminal's mode from its master side here.
func ttyCooked(master *os.File) (cooked, ok bool) { return false, false }
