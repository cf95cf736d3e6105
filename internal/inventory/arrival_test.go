package inventory

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

type fakeVersions map[string]time.Time

func (f fakeVersions) OldestVersion(_ context.Context, key string) (time.Time, bool, error) {
	t, ok := f[key]
	return t, ok, nil
}

// A redrive in place moves LastModified; the original arrival comes from the status
// attribute first, then the object's versions, then this machine's redrive history.
func TestArrivalsResolveInOrder(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	arrived, redriven := now.Add(-6*time.Hour), now.Add(-27*time.Second)
	row := func(key string, item map[string]any) Row {
		r := Row{Object: awsclient.Object{Key: key, RequestID: key, LastModified: redriven}}
		if item != nil {
			r.Status = &awsclient.Status{RequestID: key, State: "FAILED", Item: item}
		}
		return r
	}
	rows := []Row{
		row("attr", map[string]any{"receivedAt": arrived.Format(time.RFC3339)}),
		row("attr-epoch", map[string]any{"receivedAt": json.Number("1772415000")}), // 2026-03-02T01:30:00Z
		row("versions", map[string]any{}),
		row("history", nil),
		row("never", nil),
	}
	a := &Arrivals{
		Attr:     "receivedAt",
		Versions: fakeVersions{"versions": arrived.Add(-time.Hour), "attr": now.Add(-48 * time.Hour)},
		History: NewHistory([]HistoryEntry{
			{Key: "history", Planned: arrived.Add(-2 * time.Hour), Sent: redriven},
			{Key: "history", Planned: redriven.Add(-time.Minute), Sent: redriven.Add(-time.Second)}, // a later run
			{Key: "never", Planned: arrived},                                                        // planned, never sent
		}),
	}
	if err := a.Resolve(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		received time.Time
		from     string
		redriven bool
	}{
		"attr":       {arrived, "status attribute", true},
		"attr-epoch": {time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC), "status attribute", true},
		"versions":   {arrived.Add(-time.Hour), "object versions", true},
		"history":    {arrived.Add(-2 * time.Hour), "redrive history", true},
		"never":      {redriven, "", false},
	}
	for _, r := range rows {
		w := want[r.Object.Key]
		if !r.ReceivedAt().Equal(w.received) || r.Arrival.From != w.from || r.Redriven() != w.redriven {
			t.Errorf("%s: received %v from %q (redriven %v); want %v from %q (%v)", r.Object.Key,
				r.ReceivedAt(), r.Arrival.From, r.Redriven(), w.received, w.from, w.redriven)
		}
	}
	if h := rows[3].Arrival.RedrivenAt; !h.Equal(redriven) {
		t.Errorf("history's last send %v, want %v", h, redriven)
	}

	// --since keeps by the original arrival: a request redriven a minute ago but received
	// six hours ago is not "since 1h".
	var kept []string
	emit := Options{Since: now.Add(-time.Hour), Arrivals: a}.arrive(context.Background(), func(rs []Row) error {
		for _, r := range rs {
			kept = append(kept, r.Object.Key)
		}
		return nil
	})
	fresh := []Row{row("attr", map[string]any{"receivedAt": arrived.Format(time.RFC3339)}), row("never", nil)}
	if err := emit(fresh); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || kept[0] != "never" {
		t.Fatalf("--since 1h kept %v, want only the request that arrived within it", kept)
	}
}
