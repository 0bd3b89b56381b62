// Package prof writes the profiles the benchmark commands take on request.
package prof

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// StartCPU starts a CPU profile into file ("" for none) and returns what
// stops it.
func StartCPU(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// WriteHeap writes the live heap, after a collection, to file.
func WriteHeap(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
