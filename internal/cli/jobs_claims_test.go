package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/devstack"
)

// jobs watch says until when the run's claims hold, and, reattached past that, that they
// lapsed, when, and what it means (they lapsed silently: a watch the next day said
// nothing while another run could redrive the job's requests).
func TestJobsWatchSaysWhenClaimsLapse(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 200 })
	d.stack.SetBatchTaskDelay(time.Hour) // the job runs on while the watch looks
	defer d.stack.SetBatchTaskDelay(0)
	sess, _ := startElsewhere(t, d)
	if want := demoNow.Add(24 * time.Hour); !sess.ClaimsUntil().Equal(want) {
		t.Fatalf("ClaimsUntil %s, want %s", sess.ClaimsUntil(), want)
	}
	id := sess.JobIDs()[0]
	watch := func(at time.Time) string {
		t.Helper()
		w := *d
		w.seams.now = fixedClock(at)
		ctx, cancel := context.WithCancel(context.Background())
		var out, errb strings.Builder
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.runIn(ctx, strings.NewReader(""), &out, &errb, "jobs", "watch", id, "--batch-poll", "5ms")
		}()
		// Stopped as soon as it has said where the claims stand (its Ctrl+C cancels the job).
		for i := 0; i < 5000 && !strings.Contains(errb.String(), "laim"); i++ {
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
		return errb.String()
	}
	var held strings.Builder
	writeClaimsState(&held, sess, demoNow.Add(2*time.Hour))
	if !strings.Contains(held.String(), "Claims held until 2026-03-03T09:30:00Z (in 22h0m0s); renewed while this watch runs.") {
		t.Errorf("2 h after the start: %s", held.String())
	}
	got := watch(demoNow.Add(30 * time.Hour))
	for _, want := range []string{"this run's claims lapsed at 2026-03-03T09:30:00Z, 6h0m0s ago", "another run may have redriven some of its requests"} {
		if !strings.Contains(got, want) {
			t.Errorf("a watch 30 h after the start lacks %q:\n%s", want, got)
		}
	}
}
