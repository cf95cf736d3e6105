package redrive

import (
	"context"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestTokenBucketPacesAtItsRate(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	b := newTokenBucket(10, clock.now)
	if w, _ := b.reserve(); w != 0 {
		t.Fatalf("the first token waits %v", w)
	}
	if w, _ := b.reserve(); w != 100*time.Millisecond {
		t.Errorf("the second token waits %v, want 100ms", w)
	}
	clock.advance(100 * time.Millisecond)
	if w, _ := b.reserve(); w != 0 {
		t.Errorf("after 100ms: wait %v", w)
	}
	// A long pause banks at most a tenth of a second's worth (1 token at 10/s).
	clock.advance(time.Hour)
	b.reserve()
	if w, _ := b.reserve(); w == 0 {
		t.Error("a pause let a burst through")
	}
	b.SetRate(0)
	for range 100 {
		if w, _ := b.reserve(); w != 0 {
			t.Fatal("rate 0 should be unlimited")
		}
	}
}

func TestTokenBucketWaitWakesWhenTheRateChanges(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	b := newTokenBucket(0.0001, clock.now) // one token every ~3 hours
	b.reserve()
	done := make(chan error)
	go func() { _, err := b.Wait(context.Background()); done <- err }()
	b.SetRate(0) // unlimited: the waiter goes at once
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.SetRate(0.0001)
	b.reserve()
	go func() { _, err := b.Wait(ctx); done <- err }()
	cancel()
	if err := <-done; err == nil {
		t.Error("Wait ignored its context")
	}
}

func TestGateCapsAndChanges(t *testing.T) {
	g := newGate(2)
	ctx := context.Background()
	g.Acquire(ctx)
	g.Acquire(ctx)
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.Acquire(short); err == nil {
		t.Fatal("a third slot was given at cap 2")
	}
	got := make(chan struct{})
	go func() { g.Acquire(ctx); close(got) }()
	g.SetLimit(3)
	<-got
	if g.InUse() != 3 || g.Limit() != 3 {
		t.Errorf("in use %d, limit %d", g.InUse(), g.Limit())
	}
	g.SetLimit(0)
	if g.Limit() != 1 {
		t.Errorf("limit %d, want at least 1", g.Limit())
	}
}

func TestBackoffIsExponentialWithFullJitterAndCapped(t *testing.T) {
	top := backoff{base: 100 * time.Millisecond, max: time.Second, rand: func() float64 { return 0.999999 }}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		got := top.delay(i + 1)
		if got > w*time.Millisecond || got < w*time.Millisecond*99/100 {
			t.Errorf("attempt %d: ceiling %v, want about %v", i+1, got, w*time.Millisecond)
		}
	}
	zero := backoff{base: 100 * time.Millisecond, max: time.Second, rand: func() float64 { return 0 }}
	if zero.delay(5) != 0 {
		t.Error("full jitter should reach down to zero")
	}
}
