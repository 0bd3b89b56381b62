package websocket

import "syscall"

// msgDontWait is the flag of a receive that must not block: AIX's name.
const msgDontWait = syscall.MSG_NONBLOCK
