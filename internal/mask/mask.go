// Package mask applies the RFC 6455 §5.3 masking transform.
package mask

// Apply XORs b in place with key, starting at key byte pos&3, and returns the
// key position after b ((pos+len(b))&3), so a payload can be masked in pieces.
func Apply(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}
