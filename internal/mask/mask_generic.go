//go:build !amd64 || purego

package mask

func apply(key [4]byte, pos int, b []byte) int { return applyGeneric(key, pos, b) }

func maskCopy(dst, src []byte, key [4]byte, pos int) int { return copyGeneric(dst, src, key, pos) }
