package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// The contended run (-contend N) starts N CPU-bound processes next to the
// client and the server for the whole benchmark: each is this binary,
// re-executed with roleEnv=spin, spinning on one thread. On the 2-core
// machine the results were taken on, one spinner keeps a core busy, so the
// client and the server share what is left with it, as on a loaded host.

// runSpinner is the spin role: it burns one CPU until killed.
func runSpinner() error {
	runtime.GOMAXPROCS(1)
	x := uint64(1)
	for {
		x = x*6364136223846793005 + 1442695040888963407
		if x == 0 {
			fmt.Println(x) // never: keeps the loop from being optimized away
		}
	}
}

// startSpinners starts n spinner processes and returns a function that
// kills them and waits for them to exit.
func startSpinners(n int) (stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for range n {
		c := exec.Command(exe)
		c.Env = append(os.Environ(), roleEnv+"=spin")
		if err := c.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("starting a spinner: %w", err)
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}
