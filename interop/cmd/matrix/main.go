// Command matrix runs the interop tests and regenerates MATRIX.md.
//
// Run it from the interop module:
//
//	cd interop && go run ./cmd/matrix
//
// It runs `go test -count=1 -v -run '^TestInterop$' . -args -update` in the
// module's directory, streams the test output and exits with the test's
// status. Extra arguments are passed to go test before the package, for
// example `go run ./cmd/matrix -race`.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const module = "github.com/wsclient/websocket/interop"

func main() {
	dir, err := moduleDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "matrix:", err)
		os.Exit(2)
	}
	args := []string{"test", "-count=1", "-v", "-run", "^TestInterop$"}
	args = append(args, os.Args[1:]...)
	args = append(args, ".", "-args", "-update")
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			fmt.Fprintf(os.Stderr, "matrix: go test failed; %s was still written if every check ran\n", filepath.Join(dir, "MATRIX.md"))
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "matrix:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "matrix: wrote %s\n", filepath.Join(dir, "MATRIX.md"))
}

// moduleDir finds the interop module's directory from the current one.
func moduleDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w (run it inside the interop module)", err)
	}
	path, dir, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if path != module {
		return "", fmt.Errorf("the current module is %q, not %s: run it from interop/", path, module)
	}
	return dir, nil
}
