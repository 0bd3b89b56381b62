//go:build amd64 && !purego

package mask

import "testing"

// forEachKernel runs f once per assembly kernel this CPU can execute.
func forEachKernel(t testing.TB, f func(name string)) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	if hasAVX2() {
		useAVX2 = true
		f("avx2")
	} else {
		t.Log("AVX2 not available: only the SSE2 kernel is tested")
	}
	useAVX2 = false
	f("sse2")
}
