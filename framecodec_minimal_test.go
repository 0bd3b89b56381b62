package websocket

import (
	"bytes"
	"testing"
)

// Lengths in a longer encoding than needed are decoded like minimal ones,
// whole or fed a byte at a time.
func TestNonMinimalLengths(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		len  int64
	}{
		{"0 in 16 bits", []byte{0x82, 126, 0, 0}, 0},
		{"5 in 16 bits", []byte{0x82, 126, 0, 5}, 5},
		{"125 in 16 bits", []byte{0x82, 126, 0, 125}, 125},
		{"0 in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0}, 0},
		{"5 in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 5}, 5},
		{"300 in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 1, 44}, 300},
		{"65535 in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 65535},
		{"masked 5 in 64 bits", []byte{0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4}, 5},
		{"ping of 5 in 16 bits", []byte{0x89, 126, 0, 5}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := parseHeader(tc.head)
			if err != nil || n != len(tc.head) || h.length != tc.len {
				t.Fatalf("parseHeader = length %d, %d bytes, %v", h.length, n, err)
			}
			payload := bytes.Repeat([]byte{'p'}, int(tc.len))
			wire := append(bytes.Clone(tc.head), payload...)
			var d decoder
			var got []byte
			headers := 0
			for i := range wire {
				_, ev, p, err := d.feed(wire[i : i+1])
				if err != nil {
					t.Fatalf("byte %d: %v", i, err)
				}
				switch ev {
				case evHeader:
					headers++
					if d.h.length != tc.len {
						t.Fatalf("decoded length %d", d.h.length)
					}
				case evPayload:
					got = append(got, p...)
				}
			}
			if headers != 1 || d.remaining != 0 || len(got) != int(tc.len) {
				t.Fatalf("%d headers, %d payload bytes, done %t", headers, len(got), d.remaining == 0)
			}
		})
	}
}
