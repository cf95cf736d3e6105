package inventory

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

var histT0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func histEnv() *config.Env {
	e := &config.Env{}
	e.ApplyDefaults()
	return e
}

// histRows: one request per minute from t0 for n minutes; i%4: 0 processed 1 min later,
// 1 FAILED 2 min later, 2 no status (LOST when old), 3 RETRYING (pending).
func histRows(n int) []Row {
	var rows []Row
	for i := 0; i < n; i++ {
		at := histT0.Add(time.Duration(i) * time.Minute)
		r := Row{Object: awsclient.Object{Key: fmt.Sprintf("k%03d", i), RequestID: fmt.Sprintf("r%03d", i), LastModified: at}}
		switch i % 4 {
		case 0:
			r.Status = &awsclient.Status{RequestID: r.Object.RequestID, State: "PROCESSED", UpdatedAt: at.Add(time.Minute)}
		case 1:
			r.Status = &awsclient.Status{RequestID: r.Object.RequestID, State: "FAILED", UpdatedAt: at.Add(2 * time.Minute)}
		case 3:
			r.Status = &awsclient.Status{RequestID: r.Object.RequestID, State: "RETRYING", UpdatedAt: at}
		}
		rows = append(rows, r)
	}
	return rows
}

func TestBucketsOf(t *testing.T) {
	rows := histRows(120) // 10:00 … 11:59
	now := histT0.Add(3 * time.Hour)
	bs := BucketsOf(rows, histEnv(), Window{Since: histT0, Until: histT0.Add(2 * time.Hour)}, time.Hour, now)
	if len(bs) != 2 || !bs[0].Start.Equal(histT0) || !bs[1].End.Equal(histT0.Add(2*time.Hour)) {
		t.Fatalf("buckets %+v", bs)
	}
	// First hour: 60 arrivals; processed at i+1 for i%4==0, i<59 → 15; failed at i+2 for
	// i%4==1 and i+2<60 → 15 (i=1…57); lost by arrival: 15.
	want := []Bucket{
		{Start: histT0, End: histT0.Add(time.Hour), Arrivals: 60, Processed: 15, Failed: 15, Lost: 15},
		{Start: histT0.Add(time.Hour), End: histT0.Add(2 * time.Hour), Arrivals: 60, Processed: 15, Failed: 15, Lost: 15},
	}
	for i := range want {
		if bs[i] != want[i] {
			t.Errorf("bucket %d = %+v, want %+v", i, bs[i], want[i])
		}
	}
	// Not yet old enough (lost_after 15m): at 12:05 only arrivals up to 11:50 are LOST.
	young := BucketsOf(rows, histEnv(), Window{Since: histT0}, time.Hour, histT0.Add(2*time.Hour+5*time.Minute))
	if len(young) != 3 || young[0].Lost != 15 || young[1].Lost != 13 { // i = 62, 66, …, 110
		t.Errorf("lost per hour at 12:05: %+v", young)
	}
	// An open window runs from the first event to now, empty buckets included.
	open := BucketsOf(rows, histEnv(), Window{}, time.Hour, histT0.Add(5*time.Hour))
	if len(open) != 6 || open[5].Arrivals != 0 || !open[5].Start.Equal(histT0.Add(5*time.Hour)) {
		t.Fatalf("open window: %d buckets, last %+v", len(open), open[len(open)-1])
	}
	if got := BucketsOf(nil, histEnv(), Window{}, time.Hour, now); got != nil {
		t.Fatalf("no rows, open window: %+v", got)
	}
	if got := BucketsOf(nil, histEnv(), Window{Since: histT0, Until: histT0.Add(time.Hour)}, Step5m, now); len(got) != 12 {
		t.Fatalf("no rows, closed window: %d buckets, want 12 empty", len(got))
	}
}

func TestBucketsWidenPastMaxBuckets(t *testing.T) {
	w := Window{Since: histT0, Until: histT0.Add(365 * 24 * time.Hour)}
	bs := BucketsOf(histRows(10), histEnv(), w, Step5m, histT0)
	if len(bs) > MaxBuckets || len(bs) < MaxBuckets/2 {
		t.Fatalf("%d buckets", len(bs))
	}
	sum := 0
	for _, b := range bs {
		sum += b.Arrivals
	}
	if sum != 10 {
		t.Fatalf("widened buckets lost arrivals: %d of 10", sum)
	}
}

// timesFake serves UpdatedTimes from rows' status items, a page of pageSize at a time,
// waiting latency per page (a Query round trip).
type timesFake struct {
	byState  map[string][]time.Time
	pageSize int
	latency  time.Duration
}

func newTimesFake(rows []Row) *timesFake {
	f := &timesFake{byState: map[string][]time.Time{}, pageSize: 1000}
	for _, r := range rows {
		if r.Status != nil {
			f.byState[r.Status.State] = append(f.byState[r.Status.State], r.Status.UpdatedAt)
		}
	}
	return f
}

func (f *timesFake) UpdatedTimes(ctx context.Context, state string, since, until time.Time, parts int, fn func([]time.Time) error) error {
	if since.IsZero() || until.IsZero() || parts < 1 {
		parts = 1
	}
	var mu sync.Mutex // fn is not called concurrently, as UpdatedTimes promises
	serve := func(w Window) error {
		var page []time.Time
		flush := func() error {
			if f.latency > 0 {
				time.Sleep(f.latency) // one Query round trip per page
			}
			mu.Lock()
			defer mu.Unlock()
			err := fn(page)
			page = page[:0]
			return err
		}
		for _, t := range f.byState[state] {
			if !w.Contains(t) {
				continue
			}
			page = append(page, t)
			if len(page) == f.pageSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	}
	if parts == 1 {
		return serve(Window{since, until})
	}
	step := until.Sub(since) / time.Duration(parts)
	errs := make(chan error, parts)
	for i := 0; i < parts; i++ {
		w := Window{since.Add(time.Duration(i) * step), since.Add(time.Duration(i+1) * step)}
		if i == parts-1 {
			w.Until = until
		}
		go func() { errs <- serve(w) }()
	}
	var first error
	for i := 0; i < parts; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// The index and the listing give the same processed and failed counts for the same data.
func TestBucketsFromIndexAgreesWithBucketsOf(t *testing.T) {
	rows := histRows(500)
	env := histEnv()
	now := histT0.Add(24 * time.Hour)
	for _, w := range []Window{{}, {Since: histT0.Add(time.Hour)}, {Since: histT0.Add(90 * time.Minute), Until: histT0.Add(5 * time.Hour)}} {
		listed := BucketsOf(rows, env, w, Step5m, now)
		indexed, err := BucketsFromIndex(context.Background(), newTimesFake(rows), HistogramStates(env, []string{"RETRYING", "FAILED"}), env, w, Step5m, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(indexed) != len(listed) && !w.Since.IsZero() {
			t.Fatalf("window %v: %d buckets from the index, %d from the listing", w, len(indexed), len(listed))
		}
		idx := map[time.Time]Bucket{}
		for _, b := range indexed {
			idx[b.Start] = b
		}
		for _, b := range listed {
			got := idx[b.Start]
			if got.Processed != b.Processed || got.Failed != b.Failed {
				t.Fatalf("window %v bucket %v: index %d/%d, listing %d/%d", w, b.Start, got.Processed, got.Failed, b.Processed, b.Failed)
			}
		}
	}
}

func TestHistogramStates(t *testing.T) {
	got := fmt.Sprint(HistogramStates(histEnv(), []string{"RETRYING", "PARSE_ERROR", "PROCESSED"}))
	if got != "[FAILED PARSE_ERROR PROCESSED]" {
		t.Fatalf("states %s", got)
	}
}

func TestStepFor(t *testing.T) {
	now := histT0
	for _, c := range []struct {
		w    Window
		want time.Duration
	}{
		{Window{Since: now.Add(-time.Hour)}, Step5m},
		{Window{Since: now.Add(-7 * 24 * time.Hour)}, Step1h},
		{Window{Since: now.Add(-30 * 24 * time.Hour)}, Step1d},
		{Window{}, Step1d},
	} {
		if got := StepFor(c.w, now); got != c.want {
			t.Errorf("StepFor(%v) = %v, want %v", c.w, got, c.want)
		}
	}
}

// BenchmarkHistogramIndex1M is the speed target of #14: the histogram over 1M items from
// the status index in at most 2x the Query round-trip bound. The fake answers pages of
// 1000 updated-at values (what a 1 MB Query page of small index items holds, rounded
// down) after a fixed 2 ms each; the bound is the sequential page count times that
// latency. The ratio metric is elapsed / bound: the fake serves a bounded window's
// IndexParallel slices at once, as DynamoDB does, so it can go below 1.
func BenchmarkHistogramIndex1M(b *testing.B) {
	const n = 1_000_000
	rows := make([]Row, 0, n)
	for i := 0; i < n; i++ {
		state := "PROCESSED"
		if i%5 == 0 {
			state = "FAILED"
		}
		rows = append(rows, Row{Status: &awsclient.Status{State: state, UpdatedAt: histT0.Add(time.Duration(i) * 600 * time.Millisecond)}})
	}
	fake := newTimesFake(rows)
	fake.latency = 2 * time.Millisecond
	env := histEnv()
	pages := (n + fake.pageSize - 1) / fake.pageSize
	bound := time.Duration(pages) * fake.latency
	for _, c := range []struct {
		name string
		w    Window
	}{
		{"Window", Window{Since: histT0, Until: histT0.Add(7 * 24 * time.Hour)}}, // sliced, read at once
		{"OpenStart", Window{Until: histT0.Add(7 * 24 * time.Hour)}},             // one Query per state
	} {
		b.Run(c.name, func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				bs, err := BucketsFromIndex(context.Background(), fake, []string{"FAILED", "PROCESSED"}, env, c.w, Step1h, histT0)
				if err != nil || len(bs) != 7*24 {
					b.Fatalf("%d buckets, %v", len(bs), err)
				}
			}
			b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(bound), "x-bound")
		})
	}
}

// boundsChecked fails as DynamoDB does when a Query's BETWEEN has lo after hi.
type boundsChecked struct{ *timesFake }

func (b boundsChecked) UpdatedTimes(ctx context.Context, state string, since, until time.Time, parts int, fn func([]time.Time) error) error {
	if !since.IsZero() && !until.IsZero() && since.After(until) {
		return fmt.Errorf("ValidationException: BETWEEN requires upper bound >= lower bound")
	}
	return b.timesFake.UpdatedTimes(ctx, state, since, until, parts, fn)
}

// A window that starts after now (and so after the read's end, now plus a minute) reads
// nothing rather than asking the index for an inverted range.
func TestBucketsFromIndexWindowAfterNow(t *testing.T) {
	env := histEnv()
	now := histT0.Add(24 * time.Hour)
	w := Window{Since: now.Add(time.Hour)}
	bs, err := BucketsFromIndex(context.Background(), boundsChecked{newTimesFake(histRows(50))}, HistogramStates(env, nil), env, w, Step5m, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Processed+b.Failed != 0 {
			t.Fatalf("bucket %v holds %d/%d", b.Start, b.Processed, b.Failed)
		}
	}
}
