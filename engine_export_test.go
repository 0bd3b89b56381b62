package websocket

// LoopOwned reports whether an event loop's poller owns c's socket (tests
// of the event loop's engine).
func LoopOwned(c *Conn) bool { return c != nil && c.lc.Load() != nil }
