//go:build !amd64 || purego

package mask

import "testing"

// forEachKernel runs f once: there is only the portable implementation.
func forEachKernel(_ testing.TB, f func(name string)) { f("generic") }
