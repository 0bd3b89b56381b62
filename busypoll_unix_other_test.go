//go:build unix && !linux

package websocket

import "testing"

// setContended is a no-op where machineContended always says no
// (busypoll_linux_test.go has the real one).
func setContended(t *testing.T, busy bool) {
	if busy {
		t.Skip("only Linux looks at contention")
	}
}
