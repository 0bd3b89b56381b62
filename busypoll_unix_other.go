//go:build unix && !linux

package websocket

// machineContended reports whether the machine is too busy to spin on;
// only Linux is asked (busypoll_linux.go).
func machineContended() bool { return false }
