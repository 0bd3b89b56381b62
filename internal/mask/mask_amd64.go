//go:build amd64 && !purego

package mask

// useAVX2 selects the 32-byte kernel; tests switch it off to exercise the
// SSE2 kernel, which is the amd64 baseline and always present.
var useAVX2 = hasAVX2()

// The kernels mask n bytes from src into dst (dst == src for Apply) with key
// already rotated for the first byte. They need n >= the vector width (32 for
// AVX2, 16 for SSE2): the first and last vectors are loaded up front and
// stored last, unaligned and overlapping the aligned body, which gives a tail
// without a byte loop or branches (each overlapped byte is written the same
// value twice, computed from the original input).

//go:noescape
func maskAVX2(dst, src *byte, n int, key uint32)

//go:noescape
func maskSSE2(dst, src *byte, n int, key uint32)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// hasAVX2 reports whether the CPU has AVX2 and the OS saves YMM registers
// (Intel SDM vol. 1 §14.7.1: CPUID.1:ECX.OSXSAVE+AVX, XCR0 bits 1 and 2,
// CPUID.(EAX=7,ECX=0):EBX.AVX2[bit 5]).
func hasAVX2() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	const osxsave, avx = 1 << 27, 1 << 28
	if _, _, ecx, _ := cpuid(1, 0); ecx&(osxsave|avx) != osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<5) != 0
}

func apply(key [4]byte, pos int, b []byte) int {
	n := len(b)
	switch {
	case n >= 32 && useAVX2:
		maskAVX2(&b[0], &b[0], n, keyWord(key, pos))
	case n >= 16:
		maskSSE2(&b[0], &b[0], n, keyWord(key, pos))
	default:
		// Short payloads (control frames, small messages) stay in Go, where
		// the call is cheaper than entering assembly.
		return applyGeneric(key, pos, b)
	}
	return (pos + n) & 3
}

func maskCopy(dst, src []byte, key [4]byte, pos int) int {
	n := len(src)
	switch {
	case n >= 32 && useAVX2:
		maskAVX2(&dst[0], &src[0], n, keyWord(key, pos))
	case n >= 16:
		maskSSE2(&dst[0], &src[0], n, keyWord(key, pos))
	default:
		return copyGeneric(dst, src, key, pos)
	}
	return (pos + n) & 3
}
