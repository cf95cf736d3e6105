package redrive

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// tokenBucket is a rate limiter whose rate can change while callers wait.
type tokenBucket struct {
	mu      sync.Mutex
	rate    float64 // tokens per second; <= 0 means unlimited
	tokens  float64
	last    time.Time
	now     func() time.Time
	changed chan struct{} // closed and replaced by SetRate and refund, to wake waiters
	taken   int           // tokens handed out, net of refunds
}

func newTokenBucket(rate float64, now func() time.Time) *tokenBucket {
	b := &tokenBucket{now: now, changed: make(chan struct{})}
	b.rate = rate
	b.tokens = 1 // the first request goes at once
	b.last = now()
	return b
}

// burst is the most tokens the bucket holds: a tenth of a second's worth, at least one,
// so a run paces itself instead of firing bursts after a pause.
func (b *tokenBucket) burst() float64 { return math.Max(1, b.rate/10) }

// reserve takes a token if one is there, or says how long until one will be.
func (b *tokenBucket) reserve() (wait time.Duration, changed <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		b.taken++
		return 0, nil
	}
	now := b.now()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.burst(), b.tokens+el.Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		b.taken++
		return 0, nil
	}
	need := (1 - b.tokens) / b.rate
	return time.Duration(need * float64(time.Second)), b.changed
}

// Wait blocks until a token is taken or ctx is done, and says how long it waited (on the
// bucket's clock).
func (b *tokenBucket) Wait(ctx context.Context) (time.Duration, error) {
	start := b.now()
	for {
		wait, changed := b.reserve()
		if wait <= 0 {
			if err := ctx.Err(); err != nil {
				b.refund() // a cancelled wait spends nothing
				return b.now().Sub(start), err
			}
			return b.now().Sub(start), nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return b.now().Sub(start), ctx.Err()
		case <-changed:
			t.Stop()
		case <-t.C:
		}
	}
}

// refund gives back a token whose send did not happen (the item turned out to need none),
// so that only sends spend the rate.
func (b *tokenBucket) refund() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.taken--
	if b.rate <= 0 {
		return
	}
	b.tokens = math.Min(b.burst(), b.tokens+1)
	close(b.changed)
	b.changed = make(chan struct{})
}

// Taken is how many tokens were handed out and not refunded.
func (b *tokenBucket) Taken() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.taken
}

// SetRate changes the rate; waiters recompute their wait at once.
func (b *tokenBucket) SetRate(rate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rate = rate
	b.tokens = math.Min(b.tokens, b.burst())
	close(b.changed)
	b.changed = make(chan struct{})
}

// Rate is the rate in force.
func (b *tokenBucket) Rate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate
}

// gate caps how many workers run at once; the cap can change while they run (lowering
// it lets the extra workers finish and starts no new ones until below the new cap).
type gate struct {
	mu      sync.Mutex
	limit   int
	inUse   int
	changed chan struct{}
}

func newGate(limit int) *gate { return &gate{limit: max(1, limit), changed: make(chan struct{})} }

// Acquire takes a slot or returns ctx's error.
func (g *gate) Acquire(ctx context.Context) error {
	for {
		g.mu.Lock()
		if g.inUse < g.limit {
			g.inUse++
			g.mu.Unlock()
			return nil
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Release frees a slot.
func (g *gate) Release() {
	g.mu.Lock()
	g.inUse--
	g.wake()
	g.mu.Unlock()
}

// SetLimit changes the cap (at least 1).
func (g *gate) SetLimit(n int) {
	g.mu.Lock()
	g.limit = max(1, n)
	g.wake()
	g.mu.Unlock()
}

func (g *gate) wake() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// Limit and InUse report the cap and the slots taken.
func (g *gate) Limit() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}

func (g *gate) InUse() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inUse
}

// backoff is exponential backoff with full jitter: attempt n (1-based, the attempt that
// just failed) waits a uniform random time in [0, min(max, base·2^(n-1))).
type backoff struct {
	base, max time.Duration
	rand      func() float64 // [0,1)
}

func (b backoff) delay(attempt int) time.Duration {
	ceiling := float64(b.base) * math.Pow(2, float64(max(0, attempt-1)))
	ceiling = math.Min(ceiling, float64(b.max))
	r := b.rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(r() * ceiling)
}
