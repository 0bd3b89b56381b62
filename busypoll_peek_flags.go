//go:build ((unix && !linux) || (linux && 386)) && !aix

package websocket

import "syscall"

// msgDontWait is the flag of a receive that must not block.
const msgDontWait = syscall.MSG_DONTWAIT
