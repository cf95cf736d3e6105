package redrive

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Selecting a screenful in which most requests are already processed must not crawl at
// the send rate just to skip them: the status is read before the rate token is taken, so
// skipped items spend no token and the sends go at once.
func TestSkippedItemsSpendNoRateTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 50)
		for _, id := range f.ids[:40] {
			f.status.set(id, "PROCESSED") // skipped: already processed
		}
		m := f.plan(t, ModeInplace)
		m.Rate, m.Concurrency = 10, 4
		opts := f.opts()
		opts.ProgressInterval = time.Second
		r, err := New(f.deps(), m, opts)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rep := runToEnd(t, r)
		if rep.Counts.Skipped != 40 || rep.Counts.Delivered != 10 {
			t.Fatalf("counts %+v, want 40 skipped and 10 delivered", rep.Counts)
		}
		if got := r.bucket.Taken(); got != 10 {
			t.Errorf("%d rate tokens spent, want 10 (one per send; skips spend none)", got)
		}
		// 10 sends at 10/s: the first at once, then one every 100ms. Had the 40 skips
		// waited for tokens too, the run would take 4.9s.
		if el := time.Since(start); el < 900*time.Millisecond || el >= time.Second {
			t.Errorf("took %v, want 900ms (the 10 sends alone)", el)
		}
		for _, id := range f.ids[:40] {
			if n := f.sender.attemptsOf(id); n != 0 {
				t.Errorf("%s (already processed) sent %d times", id, n)
			}
		}
	})
}

// The check stays "just before sending": an item that waited long for its token reads its
// status again, and one processed in the meantime is skipped and gives its token back. A
// short wait does not read twice.
func TestStatusIsReadAgainAfterALongWaitForTheToken(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rate      float64
		wantGets  int
		wantState ItemState
		wantSends int
		wantSpent int
	}{
		{"long wait", 0.5, 2, StateSkipped, 0, 1},
		{"short wait", 10, 1, StateDelivered, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, 2)
				m := f.plan(t, ModeInplace)
				m.Rate, m.Concurrency = tc.rate, 1
				opts := f.opts()
				opts.ProgressInterval = time.Second
				r, _ := New(f.deps(), m, opts)
				if err := r.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				// One request takes the first token and goes at once (either: both are
				// checked while the first is sent); the other read FAILED, then waits for
				// its token. At 0.5/s (a 2s wait) the processor finishes it meanwhile.
				time.Sleep(50 * time.Millisecond)
				first, second := "req-000", "req-001"
				if f.sender.attemptsOf(first) == 0 {
					first, second = second, first
				}
				if tc.rate < 1 {
					time.Sleep(time.Second)
					f.status.set(second, "PROCESSED")
				}
				rep := r.Wait()
				it := rep.Items[0]
				if it.RequestID != second {
					it = rep.Items[1]
				}
				if it.State != tc.wantState {
					t.Fatalf("%s %s (%s), want %s", second, it.State, it.Note, tc.wantState)
				}
				if n := f.status.getsFor(second); n != tc.wantGets {
					t.Errorf("%s's status read %d times, want %d", second, n, tc.wantGets)
				}
				if n := f.sender.attemptsOf(second); n != tc.wantSends {
					t.Errorf("%s sent %d times, want %d", second, n, tc.wantSends)
				}
				if n := f.status.getsFor(first); n != 1 {
					t.Errorf("%s (no wait) read %d times, want 1", first, n)
				}
				if got := r.bucket.Taken(); got != tc.wantSpent {
					t.Errorf("%d tokens spent, want %d", got, tc.wantSpent)
				}
			})
		})
	}
}

// A refunded token goes to the next waiter at once.
func TestTokenBucketRefundWakesAWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTokenBucket(0.001, time.Now) // one token every ~17 minutes
		if _, err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		done := make(chan time.Duration)
		go func() {
			waited, _ := b.Wait(context.Background())
			done <- waited
		}()
		time.Sleep(time.Second)
		b.refund()
		if waited := <-done; waited != time.Second {
			t.Errorf("the waiter got the refunded token after %v, want 1s", waited)
		}
		if b.Taken() != 1 {
			t.Errorf("taken %d, want 1", b.Taken())
		}
	})
}

// The report carries the status read just before the first send: the baseline the
// processor's next verdict is told apart from, not what a later re-check read.
func TestItemResultCarriesTheStatusReadBeforeSending(t *testing.T) {
	f := newFixture(t, 3)
	f.status.set("req-001", "PROCESSED") // skipped
	f.status.mu.Lock()
	delete(f.status.states, "req-002") // lost: no status item
	f.status.mu.Unlock()
	f.sender.script = func(id string, n int) (int, error) {
		if id == "req-000" && n == 1 {
			return 0, lostConnection() // taken: the fake processor marks it PROCESSED
		}
		return 200, nil
	}
	r, _ := New(f.deps(), f.plan(t, ModeInplace), f.opts())
	rep := runToEnd(t, r)
	want := []struct {
		state ItemState
		found bool
		was   string
	}{
		{StateDelivered, true, "FAILED"}, // confirmed by the re-check, which read PROCESSED
		{StateSkipped, true, "PROCESSED"},
		{StateDelivered, false, ""},
	}
	for i, w := range want {
		it := rep.Items[i]
		if it.State != w.state {
			t.Errorf("%s %s, want %s", it.RequestID, it.State, w.state)
		}
		if it.PreSend == nil {
			t.Errorf("%s: no pre-send status", it.RequestID)
			continue
		}
		if it.PreSend.Found != w.found || it.PreSend.State != w.was {
			t.Errorf("%s: pre-send %+v, want found=%v state %q", it.RequestID, *it.PreSend, w.found, w.was)
		}
		st, ok := it.PreSend.Status(it.RequestID)
		if ok != w.found || st.State != w.was || (ok && (st.RequestID != it.RequestID || st.UpdatedAt.IsZero())) {
			t.Errorf("%s: Status() = %+v, %v", it.RequestID, st, ok)
		}
	}
	if f.sender.attemptsOf("req-000") != 1 {
		t.Errorf("req-000 sent %d times, want 1", f.sender.attemptsOf("req-000"))
	}
}

// The report file says what the status was, but not the processor's message.
func TestPreSendStatusInTheReportFileLeavesOutTheProcessorsMessage(t *testing.T) {
	it := ItemResult{RequestID: "a", State: StateDelivered, PreSend: &StatusRead{Found: true, State: "FAILED", Attempts: 2,
		UpdatedAt: time.Date(2024, 5, 1, 3, 0, 0, 0, time.UTC), Error: "card 4111 1111 1111 1111 declined"}}
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, `"preSend":{"found":true,"status":"FAILED","attempts":2,"updatedAt":"2024-05-01T03:00:00Z"}`) {
		t.Errorf("report line %s", s)
	}
	if strings.Contains(s, "4111") {
		t.Errorf("the processor's message reached the report: %s", s)
	}
	items, err := ReadReport(strings.NewReader(s + "\n"))
	if err != nil || len(items) != 1 || items[0].PreSend == nil || items[0].PreSend.State != "FAILED" {
		t.Errorf("read back %+v, %v", items, err)
	}
	var none ItemResult
	if b, _ := json.Marshal(none); strings.Contains(string(b), "preSend") {
		t.Errorf("an item without a read writes %s", b)
	}
}
