package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/inventory"
)

// After a redrive in place a request received six hours ago was shown as received "2m
// ago". RECEIVED is the original arrival (from the redrive history, or the status item's
// received attribute), and the REDRIVE column says when it was stored again.
func TestReceivedIsTheOriginalArrival(t *testing.T) {
	const id = "1c7a2d3f-5b64-4e2f-8d4a-8e1a4a9f3b22" // stored 5m ago by seedRequests
	for name, arrivals := range map[string]*inventory.Arrivals{
		"History": {History: inventory.NewHistory([]inventory.HistoryEntry{
			{Key: id, Planned: testNow.Add(-6 * time.Hour), Sent: testNow.Add(-5 * time.Minute)}})},
		"StatusAttribute": {Attr: "receivedAt"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
				seedRequests(o, s)
				st := s.items[id]
				st.Item = map[string]any{"receivedAt": testNow.Add(-6 * time.Hour).Format(time.RFC3339)}
				s.items[id] = st
			}, func(o *Options) { o.Session.Arrivals = arrivals })
			var line string
			for _, l := range strings.Split(plainView(f), "\n") {
				if strings.Contains(l, id[:13]) {
					line = l
				}
			}
			if !strings.Contains(line, " 6h ago ") || strings.Contains(line, "5m ago") || !strings.Contains(line, "redriven 5m") {
				t.Fatalf("the row does not show the original arrival and the redrive:\n%s\n\n%s", line, plainView(f))
			}
		})
	}
	t.Run("WithoutArrivals", func(t *testing.T) {
		f := newFixture(t, seedRequests)
		if v := plainView(f); strings.Contains(v, "redriven") || strings.Contains(v, "REDRIVE") {
			t.Fatalf("no redrive known, none shown:\n%s", v)
		}
	})
}

// A misspelt state read like an all-clear ("no requests in state FAILD"): the empty view
// names the nearest known state, as ls --status does (inventory.SuggestState).
func TestMisspeltStateSuggestsTheNearest(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.keys("f", "t")
	f.typeText("PROCESING")
	f.keys("enter")
	if v := plainView(f); !strings.Contains(v, "no requests in state PROCESING") || !strings.Contains(v, "did you mean PROCESSING?") {
		t.Fatalf("view:\n%s", v)
	}
	f.keys("f", "t")
	f.typeText("RETRYING")
	f.keys("enter")
	if v := plainView(f); !strings.Contains(v, "no requests in state RETRYING") || strings.Contains(v, "did you mean") {
		t.Fatalf("a state far from any known one gets no guess:\n%s", v)
	}
}

// The received sort orders by the original arrival: a request redriven a minute ago but
// received a day ago sorts with the day-old ones, not at the top.
func TestReceivedSortUsesTheArrival(t *testing.T) {
	const id = "0b6f1c2e-4a53-4d1e-9c39-7d0f3f8e2a11" // stored 2m ago: the newest
	f := newFixture(t, seedRequests, func(o *Options) {
		o.Session.Arrivals = &inventory.Arrivals{History: inventory.NewHistory([]inventory.HistoryEntry{
			{Key: id, Planned: testNow.Add(-27 * time.Hour), Sent: testNow.Add(-2 * time.Minute)}})}
	})
	s := f.m.active()
	if first, last := s.At(0).ID, s.At(s.ViewLen()-1).ID; first == id || last != id {
		t.Fatalf("newest first: %s first, %s last; want %s last (received 27h ago)", first, last, id)
	}
}
