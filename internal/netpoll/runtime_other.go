//go:build !linux

package netpoll

// TakeFromRuntime reports false: only Linux can stop Go's own poller from
// watching a descriptor, so elsewhere both pollers watch it.
func (p *Poller) TakeFromRuntime(fd int) bool { return false }
