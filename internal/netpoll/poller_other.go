//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package netpoll

import "time"

// Poller does not exist on this platform: New reports ErrUnsupported.
type Poller struct{}

// New reports ErrUnsupported.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Add is never called: New fails.
func (p *Poller) Add(fd int) error { return ErrUnsupported }

// SetWrite is never called: New fails.
func (p *Poller) SetWrite(fd int, on bool) error { return ErrUnsupported }

// Modify is never called: New fails.
func (p *Poller) Modify(fd int, read, write bool) error { return ErrUnsupported }

// Remove is never called: New fails.
func (p *Poller) Remove(fd int) error { return ErrUnsupported }

// Wake is never called: New fails.
func (p *Poller) Wake() {}

// Wait is never called: New fails.
func (p *Poller) Wait(timeout time.Duration, f func(fd int, ev Event)) error { return ErrUnsupported }

// Close is never called: New fails.
func (p *Poller) Close() error { return nil }
