//go:build wsclient_nostats

package websocket

// With the wsclient_nostats build tag nothing is counted: the benchmarks
// built with it measure what counting costs (bench/README.md). It is not
// meant for programs.

func (c *Conn) frameSent(op Opcode, fin bool, payload []byte)  {}
func (c *Conn) publishOut() (msgs, bytes uint64)               { return 0, 0 }
func (c *Conn) unpublishOut(msgs, bytes uint64)                {}
func (m *msgReader) msgReceived(n int64)                       {}
func (m *msgReader) publishIn()                                {}
func (r *frameReader) publishIn()                              {}
func (s *connStats) controlReceived(op Opcode, payload []byte) {}
func (s *connStats) deflated(in, out int)                      {}
func (s *connStats) inflated(out int64)                        {}
func (m *msgReader) frameReceived(n int64, z bool)             {}
func (m *msgReader) msgAccepted()                              {}
func (s *connStats) controlUnsent(op Opcode)                   {}
func (s *connStats) undeflated(in, out int)                    {}
