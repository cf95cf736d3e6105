package redrive

import (
	"context"
	"sync"
	"time"
)

// gatherer collects entries into batches of up to size and hands each batch to handle on
// a caller goroutine, at most calls.Limit() at once. A batch leaves when it is full, or
// linger after the first entry that waits; and only when a call slot is free, so while
// every slot is busy the entries behind gather into full batches. The event modes' sends
// (eventBatcher) and the lease table's claims and finishes (leaseBatcher) use it.
type gatherer[E any] struct {
	size   int
	linger time.Duration
	calls  *gate
	handle func([]E)

	mu      sync.Mutex
	pending []E
	timer   *time.Timer
	running bool // a flusher is taking pending entries

	idle chan []E // to a caller idle since its last batch (callers)
}

// callerIdle is how long a caller goroutine waits for its next batch before it ends: a
// goroutine kept through a run keeps the stack the SDK's deep call chains grew, where one
// per call started small and grew it again each time (about 7% of a sqs run's CPU).
const callerIdle = time.Second

func newGatherer[E any](size int, linger time.Duration, calls int, handle func([]E)) *gatherer[E] {
	return &gatherer[E]{size: size, linger: linger, calls: newGate(max(1, calls)), handle: handle, idle: make(chan []E)}
}

// add queues e for the next batch.
func (g *gatherer[E]) add(e E) {
	g.mu.Lock()
	g.pending = append(g.pending, e)
	switch {
	case len(g.pending) >= g.size:
		g.kick()
	case g.timer == nil:
		g.timer = time.AfterFunc(g.linger, func() {
			g.mu.Lock()
			g.timer = nil
			g.kick()
			g.mu.Unlock()
		})
	}
	g.mu.Unlock()
}

// now sends what is pending without waiting out the linger.
func (g *gatherer[E]) now() {
	g.mu.Lock()
	g.kick()
	g.mu.Unlock()
}

// kick starts a flusher unless one runs (g.mu held).
func (g *gatherer[E]) kick() {
	if g.running || len(g.pending) == 0 {
		return
	}
	g.running = true
	go g.flush()
}

// flush sends the pending entries, a batch per free call slot, until none is pending.
func (g *gatherer[E]) flush() {
	for {
		_ = g.calls.Acquire(context.Background())
		g.mu.Lock()
		n := min(g.size, len(g.pending))
		if n == 0 {
			g.running = false
			g.mu.Unlock()
			g.calls.Release()
			return
		}
		batch := append([]E(nil), g.pending[:n]...)
		g.pending = append(g.pending[:0], g.pending[n:]...)
		if len(g.pending) == 0 && g.timer != nil {
			g.timer.Stop()
			g.timer = nil
		}
		g.mu.Unlock()
		select {
		case g.idle <- batch:
		default:
			go g.caller(batch)
		}
	}
}

// caller hands batch to handle, then each batch flush gives it, until none comes for
// callerIdle.
func (g *gatherer[E]) caller(batch []E) {
	t := time.NewTimer(callerIdle)
	defer t.Stop()
	for {
		g.handle(batch)
		g.calls.Release()
		t.Reset(callerIdle)
		select {
		case batch = <-g.idle:
		case <-t.C:
			return
		}
	}
}
