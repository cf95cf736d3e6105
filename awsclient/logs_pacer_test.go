package awsclient

import (
	"context"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/config"
)

// The pacer lets a burst through at once, then one call every 1/rate seconds, and refills
// as time passes: on a fake clock, the waits it asks for are exact.
func TestPacerSpacesCallsToTheQuota(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var waits []time.Duration
	p := newPacer(5, 5)
	p.now = func() time.Time { return now }
	p.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	for range 8 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v (five at once, then one per 200ms)", waits, want)
	}
	for i := range want {
		if d := waits[i] - want[i]; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("wait %d: %v, want %v", i, waits[i], want[i])
		}
	}
	// Later the bucket is full again: five more go at once.
	now = now.Add(2*time.Second + 600*time.Millisecond)
	waits = nil
	for range 5 {
		p.wait(context.Background())
	}
	if len(waits) != 0 {
		t.Errorf("after a pause the burst waits %v", waits)
	}
	var none *pacer
	if err := none.wait(context.Background()); err != nil || newPacer(0, 0) != nil {
		t.Error("a zero rate does not pace")
	}
}

// A new reader paces FilterLogEvents to the account's quota.
func TestLogReaderPacesFilterLogEvents(t *testing.T) {
	r := NewLogReader(nil, config.Logs{ProcessorGroups: []string{"/aws/lambda/x"}}, "us-east-1")
	if r.filterPace == nil || r.filterPace.rate != DefaultFilterRate || r.filterPace.burst != DefaultFilterRate {
		t.Errorf("pace %+v", r.filterPace)
	}
	r.SetFilterRate(0)
	if r.filterPace != nil {
		t.Error("SetFilterRate(0) still paces")
	}
}
