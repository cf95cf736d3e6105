package inventory

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/internal/config"
)

// Window is a time window of the triage views and of --since/--until: [Since, Until),
// a zero end is open.
type Window struct{ Since, Until time.Time }

// Contains reports whether t falls inside the window.
func (w Window) Contains(t time.Time) bool {
	return (w.Since.IsZero() || !t.Before(w.Since)) && (w.Until.IsZero() || t.Before(w.Until))
}

// Bucket is one time bucket of the histogram: requests that arrived (by their original
// arrival), were processed (a terminal state, by updated-at), failed (a failure state, by
// updated-at) and are LOST (by arrival) in [Start, End).
type Bucket struct {
	Start, End time.Time
	Arrivals   int
	Processed  int
	Failed     int
	Lost       int
}

// Histogram steps of stats --bucket and the TUI's chart.
const (
	Step5m = 5 * time.Minute
	Step1h = time.Hour
	Step1d = 24 * time.Hour
	// MaxBuckets bounds a histogram: a finer step over a longer window is widened to a
	// multiple of itself.
	MaxBuckets = 2000
)

// StepFor is the step that draws w in about 12 to 300 buckets (5m, 1h or 1d), for a
// caller that did not choose one.
func StepFor(w Window, now time.Time) time.Duration {
	since, until := w.Since, w.Until
	if until.IsZero() {
		until = now
	}
	if since.IsZero() {
		return Step1d
	}
	switch d := until.Sub(since); {
	case d <= 24*time.Hour:
		return Step5m
	case d <= 14*24*time.Hour:
		return Step1h
	}
	return Step1d
}

// histAcc counts events per step-aligned bucket (UTC), before the grid is known.
type histAcc struct {
	step   time.Duration
	w      Window
	counts map[int64]*Bucket
}

func newHistAcc(w Window, step time.Duration) *histAcc {
	if step <= 0 {
		step = Step1h
	}
	return &histAcc{step: step, w: w, counts: map[int64]*Bucket{}}
}

// slot is the bucket of t, nil when t is zero or outside the window.
func (h *histAcc) slot(t time.Time) *Bucket {
	if t.IsZero() || !h.w.Contains(t) {
		return nil
	}
	k := floorDiv(t.UnixNano(), int64(h.step))
	b := h.counts[k]
	if b == nil {
		b = &Bucket{}
		h.counts[k] = b
	}
	return b
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// buckets lays the counts on a grid of consecutive buckets from the window's start (or
// the first event) to its end (or now, or the last event), empty buckets included.
func (h *histAcc) buckets(now time.Time) []Bucket {
	step := int64(h.step)
	var lo, hi int64
	first := true
	for k := range h.counts {
		if first || k < lo {
			lo = k
		}
		if first || k > hi {
			hi = k
		}
		first = false
	}
	if !h.w.Since.IsZero() {
		lo = floorDiv(h.w.Since.UnixNano(), step)
	}
	switch {
	case !h.w.Until.IsZero():
		hi = floorDiv(h.w.Until.UnixNano()-1, step)
	case !now.IsZero() && (first || floorDiv(now.UnixNano(), step) > hi):
		hi = floorDiv(now.UnixNano(), step)
	}
	if first && (h.w.Since.IsZero() || hi < lo) {
		return nil
	}
	n := hi - lo + 1
	if n <= 0 {
		return nil
	}
	// Widen the step to keep at most MaxBuckets.
	group := int64(1)
	if n > MaxBuckets {
		group = (n + MaxBuckets - 1) / MaxBuckets
		lo = floorDiv(lo, group) * group
		n = (hi-lo)/group + 1
	}
	out := make([]Bucket, n)
	for i := range out {
		start := time.Unix(0, (lo+int64(i)*group)*step).UTC()
		out[i].Start, out[i].End = start, start.Add(time.Duration(group*step))
	}
	for k, c := range h.counts {
		i := (k - lo) / group
		if k < lo || i >= n {
			continue
		}
		out[i].Arrivals += c.Arrivals
		out[i].Processed += c.Processed
		out[i].Failed += c.Failed
		out[i].Lost += c.Lost
	}
	return out
}

// BucketsOf counts rows already listed (the TUI has them) per step over w: arrivals by
// Row.ReceivedAt, processed and failed by the status item's updated-at and the one state
// classification (Classify), LOST by arrival. It is the one histogram rule: stats over
// the listing calls it too, so the chart and the numbers agree.
func BucketsOf(rows []Row, env *config.Env, w Window, step time.Duration, now time.Time) []Bucket {
	h := newHistAcc(w, step)
	lostAfter := LostAfter(env)
	for _, r := range rows {
		received := r.ReceivedAt()
		if b := h.slot(received); b != nil {
			b.Arrivals++
		}
		if r.Status != nil {
			switch Classify(r.Status.State, env) {
			case ClassDone:
				if b := h.slot(r.Status.UpdatedAt); b != nil {
					b.Processed++
				}
			case ClassFailed:
				if b := h.slot(r.Status.UpdatedAt); b != nil {
					b.Failed++
				}
			}
			continue
		}
		if !r.NoObject && IsLost(r.Object, lostAfter, now) {
			if b := h.slot(received); b != nil {
				b.Lost++
			}
		}
	}
	return h.buckets(now)
}

// TimeReader reads the updated-at of the requests in one state from the status index
// (awsclient.StatusStore.UpdatedTimes); fn is not called concurrently for one call.
type TimeReader interface {
	UpdatedTimes(ctx context.Context, state string, since, until time.Time, parts int, fn func([]time.Time) error) error
}

// IndexParallel is how many Queries one state's window is split into when the window is
// bounded (each reads a slice of the range key), and IndexStates how many states are read
// at once.
const (
	IndexParallel = 4
	IndexStates   = 4
)

// BucketsFromIndex counts processed and failed requests per step over w from the status
// index: each of states (the terminal states and the failure states seen in the table)
// is read by its updated-at, classified like BucketsOf classifies it; pending states are
// skipped. Arrivals and LOST are not in the index: they stay 0 (stats says so).
func BucketsFromIndex(ctx context.Context, tr TimeReader, states []string, env *config.Env, w Window, step time.Duration, now time.Time) ([]Bucket, error) {
	h := newHistAcc(w, step)
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A window open at its end is read up to a minute past now (late clocks), so that
	// it can be split into slices read at once; open at its start it is one Query.
	until, parts := w.Until, 1
	if until.IsZero() && !now.IsZero() {
		until = now.Add(time.Minute)
	}
	if !w.Since.IsZero() && !until.IsZero() {
		if !w.Since.Before(until) {
			return h.buckets(now), nil // nothing to read (a Query's BETWEEN wants lo <= hi)
		}
		parts = IndexParallel
	}
	sem := make(chan struct{}, IndexStates)
	var wg sync.WaitGroup
	var first error
	seen := map[string]bool{}
	for _, st := range states {
		class := Classify(st, env)
		if (class != ClassDone && class != ClassFailed) || seen[st] {
			continue
		}
		seen[st] = true
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := tr.UpdatedTimes(ctx, st, w.Since, until, parts, func(ts []time.Time) error {
				mu.Lock()
				defer mu.Unlock()
				for _, t := range ts {
					if b := h.slot(t); b != nil {
						if class == ClassDone {
							b.Processed++
						} else {
							b.Failed++
						}
					}
				}
				return nil
			})
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return h.buckets(now), nil
}

// HistogramStates is the states BucketsFromIndex should read: env's terminal states, FAILED,
// and any failure state among seen (a sample of the table's states).
func HistogramStates(env *config.Env, seen []string) []string {
	set := map[string]bool{"FAILED": true}
	if env != nil {
		for _, s := range env.Status.TerminalStates {
			set[s] = true
		}
	}
	for _, s := range seen {
		if c := Classify(s, env); c == ClassDone || c == ClassFailed {
			set[s] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
