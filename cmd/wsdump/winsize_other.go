//go:build !unix

package main

// watchWindowSize does nothing where there is no SIGWINCH: the size read at
// start stays in use.
func watchWindowSize(resize func()) (stop func()) { return func() {} }
