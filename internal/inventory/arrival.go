package inventory

import (
	"context"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// A redrive in place rewrites the object, so S3's LastModified becomes the redrive's time
// and a request received six hours ago would read "27s ago" and pass --since 1h. The
// original arrival is taken, where S3 no longer has it, from these sources in order:
//
//  1. the status item's status.received_attr, when configured: the processor's own record
//     of the first arrival, known to every operator and machine (no extra call);
//  2. the oldest version of the object, when the bucket is versioned and the operator
//     asked for it (storage.received_from_versions): one ListObjectVersions call per row;
//  3. stowage's redrive history on this machine: the journals of in-place runs record each
//     object's LastModified when it was planned, before the redrive rewrote it (read once
//     per command, no AWS call).
//
// A row whose object was not rewritten after any of them keeps LastModified.

// Arrival is what is known of a request's first arrival beyond S3's LastModified.
type Arrival struct {
	// ReceivedAt is the original arrival; zero when LastModified is it.
	ReceivedAt time.Time
	// RedrivenAt is when stowage last redrove it in place, as far as known; zero: never.
	RedrivenAt time.Time
	// From names the source of ReceivedAt ("status attribute", "object versions",
	// "redrive history").
	From string
}

// ReceivedAt is when the request first arrived: the Arrival's when known, else S3's
// LastModified (zero for a row without an object).
func (r Row) ReceivedAt() time.Time {
	if a := r.Arrival.ReceivedAt; !a.IsZero() && (r.NoObject || a.Before(r.Object.LastModified)) {
		return a
	}
	if r.NoObject {
		return time.Time{}
	}
	return r.Object.LastModified
}

// Redriven reports whether the row's object was rewritten by a redrive after it arrived.
func (r Row) Redriven() bool { return r.ReceivedAt().Before(r.Object.LastModified) }

// History is stowage's record of in-place redrives (see NewHistory).
type History interface {
	// Redrives says what the history knows of key: the earliest LastModified a run
	// planned it with and the latest time a run sent it; ok is false when no run did.
	Redrives(key string) (planned, sent time.Time, ok bool)
}

// Versions lists the versions of a key in a versioned bucket (awsclient.ObjectStore).
type Versions interface {
	OldestVersion(ctx context.Context, key string) (time.Time, bool, error)
}

// Arrivals resolve rows' original arrivals; the zero value resolves nothing (LastModified).
type Arrivals struct {
	// Attr is status.received_attr ("": none).
	Attr string
	// Versions, when set, is asked for every row's oldest version: only for a versioned
	// bucket whose operator asked for it, since it costs a call per row.
	Versions Versions
	// History is this machine's redrive history (nil: none).
	History History
	// Concurrency bounds the Versions calls in flight (0: DefaultConcurrency).
	Concurrency int
}

// Resolve sets the Arrival of each row, by the sources in order (see the package note).
func (a *Arrivals) Resolve(ctx context.Context, rows []Row) error {
	if a == nil {
		return nil
	}
	var need []int // rows still without an arrival, for the versions
	for i := range rows {
		r := &rows[i]
		if a.Attr != "" && r.Status != nil {
			if t := awsclient.StatusTime(r.Status.Item[a.Attr]); !t.IsZero() {
				r.Arrival = Arrival{ReceivedAt: t, From: "status attribute"}
			}
		}
		if a.History != nil && !r.NoObject {
			if planned, sent, ok := a.History.Redrives(r.Object.Key); ok && planned.Before(r.Object.LastModified) {
				r.Arrival.RedrivenAt = sent
				if r.Arrival.ReceivedAt.IsZero() {
					r.Arrival.ReceivedAt, r.Arrival.From = planned, "redrive history"
				}
			}
		}
		if r.Arrival.From == "" && a.Versions != nil && !r.NoObject {
			need = append(need, i)
		}
	}
	return a.fromVersions(ctx, rows, need)
}

// fromVersions asks for the oldest version of rows[need], a few at a time.
func (a *Arrivals) fromVersions(ctx context.Context, rows []Row, need []int) error {
	if len(need) == 0 {
		return nil
	}
	n := a.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, i := range need {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t, ok, err := a.Versions.OldestVersion(ctx, rows[i].Object.Key)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && first == nil:
				first = err
			case ok && t.Before(rows[i].Object.LastModified):
				rows[i].Arrival.ReceivedAt, rows[i].Arrival.From = t, "object versions"
			}
		}()
	}
	wg.Wait()
	return first
}

// HistoryEntry is one request in one in-place redrive run.
type HistoryEntry struct {
	Key string
	// Planned is the object's LastModified when the run planned it: its arrival, or an
	// earlier redrive's time.
	Planned time.Time
	// Sent is when the run last sent it (zero: not sent, e.g. skipped).
	Sent time.Time
}

// NewHistory indexes entries by key: the earliest Planned and the latest Sent of each
// key that was sent at least once.
func NewHistory(entries []HistoryEntry) History {
	h := memHistory{}
	for _, e := range entries {
		if e.Sent.IsZero() || e.Planned.IsZero() {
			continue // never sent: the object was not rewritten by this run
		}
		cur, ok := h[e.Key]
		if !ok || e.Planned.Before(cur.planned) {
			cur.planned = e.Planned
		}
		if e.Sent.After(cur.sent) {
			cur.sent = e.Sent
		}
		h[e.Key] = cur
	}
	return h
}

type memHistory map[string]struct{ planned, sent time.Time }

func (h memHistory) Redrives(key string) (time.Time, time.Time, bool) {
	e, ok := h[key]
	return e.planned, e.sent, ok
}

// arrive resolves each batch's arrivals and, with a Since bound, drops the rows that
// first arrived before it: the listing kept them by LastModified, which a redrive in
// place moved forward. It runs before the limiter, so --limit counts what is shown.
func (o Options) arrive(ctx context.Context, emit func([]Row) error) func([]Row) error {
	if o.Arrivals == nil {
		return emit
	}
	return func(rows []Row) error {
		if err := o.Arrivals.Resolve(ctx, rows); err != nil {
			return err
		}
		if !o.Since.IsZero() {
			rows = keepRows(rows, func(r Row) bool { return r.NoObject || !r.ReceivedAt().Before(o.Since) })
		}
		return emit(rows)
	}
}
