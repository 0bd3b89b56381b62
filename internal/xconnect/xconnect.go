// Package xconnect lets tests run net/http's HTTP/2 server with extended
// CONNECT (RFC 8441), which it takes only with GODEBUG=http2xconnect=1,
// read once at init: too early for a test to set it.
package xconnect

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Reexec runs the test binary again with GODEBUG=http2xconnect=1 added
// and exits with its status, unless the variable is set already (in the
// process it started): then it returns. Call it first in TestMain.
func Reexec() {
	g := os.Getenv("GODEBUG")
	if strings.Contains(g, "http2xconnect=1") {
		return
	}
	if g != "" {
		g += ","
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+g+"http2xconnect=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
