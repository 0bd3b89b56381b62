package websocket

// busyPolicy decides whether a read that finds its socket empty spins
// before parking (busyReader). Each spin that ends without data doubles the
// number of parks that follow without spinning (1, 3, 7 … busyPollMaxSkip);
// a spin that data rewards starts over.
type busyPolicy struct {
	backoff uint16 // parks to skip after the next unrewarded spin
	skip    uint16 // parks left to skip
}

// busyPollMaxSkip bounds the skipped parks: a connection whose spins never
// pay off still tries once per this many waits, so it notices when a stream
// starts.
const busyPollMaxSkip = 255

// spin says whether this wait spins, counting a skipped one.
func (p *busyPolicy) spin() bool {
	if p.skip > 0 {
		p.skip--
		return false
	}
	return true
}

// rewarded records a spin that data ended.
func (p *busyPolicy) rewarded() { p.backoff = 0 }

// unrewarded records a spin that timed out.
func (p *busyPolicy) unrewarded() {
	p.backoff = min(2*p.backoff+1, busyPollMaxSkip)
	p.skip = p.backoff
}
