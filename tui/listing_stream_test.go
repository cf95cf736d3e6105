package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// rangeObjects is fakeObjects that also lists from a key onward (ListObjectsV2
// StartAfter), as S3 does, so that the listing can shard.
type rangeObjects struct {
	*fakeObjects
	after []string // the StartAfter of every call
}

func (r *rangeObjects) ListPageAfter(ctx context.Context, prefix, startAfter, token string, max int32) (awsclient.Page, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return awsclient.Page{}, err
	}
	r.after = append(r.after, startAfter)
	return r.pageOf(func(k string) bool { return strings.HasPrefix(k, prefix) && k > startAfter }, token, max), nil
}

// withRangeObjects makes the fixture's store list by ranges.
func withRangeObjects(ro **rangeObjects) func(*Options) {
	return func(o *Options) {
		r := &rangeObjects{fakeObjects: o.Objects.(*fakeObjects)}
		o.Objects = r
		*ro = r
	}
}

// TestListingIsShardedAndCoversEveryKey: with a store that lists from a key onward, the
// TUI lists the key ranges ls lists (inventory.DefaultParallel of them), and every key
// arrives once: UUIDs, and keys that start with no hex digit at all (upper case, a date,
// punctuation, unicode). Before, it paged through one stream.
func TestListingIsShardedAndCoversEveryKey(t *testing.T) {
	keys := []string{"ZZZ-upper", "2024-06-01/order", "_underscore", "émoji-ü", "~tilde", "A", "00", "ff", "fg", "g"}
	next := uuids()
	for range 300 {
		keys = append(keys, next())
	}
	var ro *rangeObjects
	f := newFixture(t, func(o *fakeObjects, _ *fakeStatuses) {
		for i, k := range keys {
			o.put(awsclient.Object{Key: k, RequestID: k, LastModified: testNow.Add(-time.Duration(i) * time.Minute)}, []byte("{}"))
		}
	}, withRangeObjects(&ro))
	if !f.m.list.done || f.m.all.Len() != len(keys) {
		t.Fatalf("listed %d of %d (done %v, err %v)", f.m.all.Len(), len(keys), f.m.list.done, f.m.list.err)
	}
	for _, k := range keys {
		if !f.m.all.Has(k) {
			t.Errorf("%q was not listed", k)
		}
	}
	ranges := map[string]bool{}
	for _, a := range ro.after {
		ranges[a] = true
	}
	if len(ranges) != inventory.DefaultParallel || f.m.list.stream.shards != inventory.DefaultParallel {
		t.Fatalf("listed %d key ranges (%d shards), want %d", len(ranges), f.m.list.stream.shards, inventory.DefaultParallel)
	}
	if slices.Contains(ro.calls, "list ") {
		t.Fatal("the single-stream listing ran too")
	}
}

// TestListingWithoutRangesIsOneStream: a store that cannot list from a key onward is
// listed in one stream, every key once.
func TestListingWithoutRangesIsOneStream(t *testing.T) {
	f := newFixture(t, func(o *fakeObjects, _ *fakeStatuses) {
		next := uuids()
		for i := range 120 {
			id := next()
			o.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow.Add(-time.Duration(i) * time.Minute)}, []byte("{}"))
		}
	})
	if !f.m.list.done || f.m.all.Len() != 120 || f.m.list.stream.shards != 1 {
		t.Fatalf("listed %d (done %v, shards %d)", f.m.all.Len(), f.m.list.done, f.m.list.stream.shards)
	}
}

// TestQuitCancelsTheListing: q stops the listing's goroutine (its context is cancelled),
// rather than leave it paging after the TUI is gone.
func TestQuitCancelsTheListing(t *testing.T) {
	f := newFixtureNoInit(t, seedRequests)
	f.m.Init() // started, not run: the listing's command is never read from
	s := f.m.list.stream
	ctxDone := make(chan struct{})
	// The listing's context is a child of the model's; cancel is what stop calls.
	orig := s.cancel
	s.cancel = func() { orig(); close(ctxDone) }
	if _, cmd := f.m.Update(keyPress("q")); cmd == nil {
		t.Fatal("q did not quit")
	}
	select {
	case <-ctxDone:
	default:
		t.Fatal("quitting left the listing running")
	}
}

// TestListingChunksDrainWhatWaits: a chunk message takes every chunk already waiting
// (bounded), so a fast listing costs few Updates; a closed channel ends it as cancelled.
func TestListingChunksDrainWhatWaits(t *testing.T) {
	ch := make(chan listChunk, 8)
	for i := range 3 {
		ch <- listChunk{objs: []awsclient.Object{{Key: fmt.Sprint(i)}}}
	}
	msg := nextListChunk(1, 2, ch).(listChunkMsg)
	if len(msg.objs) != 3 || msg.done || msg.gen != 1 || msg.seq != 2 {
		t.Fatalf("got %+v", msg)
	}
	ch <- listChunk{done: true}
	if msg := nextListChunk(1, 2, ch).(listChunkMsg); !msg.done || msg.err != nil {
		t.Fatalf("end: %+v", msg)
	}
	close(ch)
	if msg := nextListChunk(1, 2, ch).(listChunkMsg); !msg.done || msg.err == nil {
		t.Fatalf("closed: %+v", msg)
	}
}

// TestHistogramCountsInACommand: H leaves the counting (a pass over every listed row) to
// a command; Update only asks for it. Before, Update counted.
func TestHistogramCountsInACommand(t *testing.T) {
	f := newFixture(t, seedRequests)
	_, cmd := f.m.Update(keyPress("H"))
	if !f.m.hist.building || len(f.m.hist.buckets) != 0 {
		t.Fatalf("Update built the chart itself (building %v, %d buckets)", f.m.hist.building, len(f.m.hist.buckets))
	}
	f.send(run(cmd)...)
	if f.m.hist.building || len(f.m.hist.buckets) == 0 || f.m.hist.listed != 6 {
		t.Fatalf("the command's chart did not arrive (building %v, %d buckets, %d listed)", f.m.hist.building, len(f.m.hist.buckets), f.m.hist.listed)
	}
	// An older build's answer is dropped.
	old := histBuiltMsg{gen: f.m.gen, seq: f.m.hist.chartSeq - 1}
	f.send(old)
	if len(f.m.hist.buckets) == 0 {
		t.Fatal("a stale chart replaced the current one")
	}
}

// TestListedShare reads the listing's progress from the last key's first two hex digits.
func TestListedShare(t *testing.T) {
	for _, tc := range []struct {
		prefix, key string
		want        float64
		ok          bool
	}{
		{"", "80aa", 0.5, true},
		{"requests/", "requests/40", 0.25, true},
		{"requests/", "requests/zz", 0, false},
		{"requests/", "other/80", 0, false},
		{"", "8", 0, false},
	} {
		got, ok := listedShare(tc.prefix, tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("listedShare(%q, %q) = %v, %v; want %v, %v", tc.prefix, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

var _ tea.Msg = listChunkMsg{}

// TestListingKeepsTheTopOnTheFirstRow: as the key ranges arrive, a cursor on the first row
// stays on the first row (the newest), while a cursor the operator moved down stays on its
// request. Before, the first row selected was followed down as newer rows sorted above it.
func TestListingKeepsTheTopOnTheFirstRow(t *testing.T) {
	f := newFixture(t, nil)
	f.m.list.done, f.m.list.loading = false, true
	obj := func(key string, age time.Duration) awsclient.Object {
		return awsclient.Object{Key: key, RequestID: key, LastModified: testNow.Add(-age)}
	}
	chunk := func(objs ...awsclient.Object) {
		f.send(listChunkMsg{gen: f.m.gen, seq: f.m.list.seq, objs: objs})
	}
	chunk(obj("0a", 3*time.Hour), obj("0b", 4*time.Hour), obj("0c", 5*time.Hour))
	chunk(obj("8a", time.Hour))
	if r, _ := f.m.selected(); f.m.cursor != 0 || r.ID != "8a" {
		t.Fatalf("cursor %d on %s, want the newest on top", f.m.cursor, r.ID)
	}
	f.keys("j") // on 0a
	chunk(obj("fa", time.Minute))
	if r, _ := f.m.selected(); r.ID != "0a" {
		t.Fatalf("the moved cursor left its request for %s", r.ID)
	}
}
