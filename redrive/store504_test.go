package redrive_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// recordingStatus remembers every status the engine read, per request, in order.
type recordingStatus struct {
	redrive.StatusChecker
	mu    sync.Mutex
	reads map[string][]string // the states read ("" for no item)
}

func recordStatus(inner redrive.StatusChecker) *recordingStatus {
	return &recordingStatus{StatusChecker: inner, reads: map[string][]string{}}
}

func (s *recordingStatus) Get(ctx context.Context, id string) (awsclient.Status, bool, error) {
	st, found, err := s.StatusChecker.Get(ctx, id)
	if err == nil {
		s.mu.Lock()
		s.reads[id] = append(s.reads[id], st.State)
		s.mu.Unlock()
	}
	return st, found, err
}

// BatchGet records the batch reads a run makes ahead of its dispatcher as reads too.
func (s *recordingStatus) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	got, err := s.StatusChecker.(redrive.StatusBatchReader).BatchGet(ctx, ids)
	if err == nil {
		s.mu.Lock()
		for _, id := range ids {
			s.reads[id] = append(s.reads[id], got[id].State)
		}
		s.mu.Unlock()
	}
	return got, err
}

func (s *recordingStatus) readsOf(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reads[id]...)
}

// deterministicBackoff makes every retry wait about base: long enough for the devstack's
// processor to have handled what the gateway stored.
func deterministicBackoff(o *redrive.Options, base time.Duration) {
	o.BackoffBase, o.BackoffMax = base, 4*base
	o.Rand = func() float64 { return 0.999 }
}

// The dangerous real case: the gateway stores the body, then answers 504. Such an attempt
// is journaled unknown; before anything is sent again the status is read, and an item the
// processor has handled since is confirmed delivered, not sent again. Nothing is stored
// more than twice, and an item stored twice always had an unknown attempt.
func TestStoreThen504IsJournaledUnknownAndResolvedByTheStatusRecheck(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 23, Requests: 150, TransientRatio: 1, LostRatio: -1,
		Gateway: devstack.GatewayFaults{StoreThen504Ratio: 0.3}}})
	ids := d.failed(t, "transient", 60)
	if len(ids) < 40 {
		t.Fatalf("the seeded stack has only %d transient failures", len(ids))
	}
	m := d.plan(t, redrive.ModeInplace, redrive.Selection{IDs: ids})
	o := d.options("store504")
	o.MaxAttempts, o.MaxFailureRatio = 10, 1
	deterministicBackoff(&o, 500*time.Millisecond)
	deps := redrive.DepsFor(d.clients)
	status := recordStatus(deps.Status)
	deps.Status, deps.StatusBatch = status, status
	r, err := redrive.New(deps, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := r.Wait()
	d.settle(t)
	if rep.Outcome != redrive.OutcomeDelivered {
		t.Fatalf("outcome %s (%s): %s", rep.Outcome, rep.StopReason, rep.Counts)
	}

	got := d.st.Received()
	if got.StoredThen504 == 0 {
		t.Fatal("no request was stored then answered 504: the fault did not act")
	}
	stored504 := map[string]int{}
	for _, req := range got.Requests {
		if req.StoredThen504 {
			stored504[req.OriginalID]++
		}
	}
	_, maybe := journalFacts(t, o.JournalPath)
	sends, unknownFirst, confirmed := map[string]int{}, map[string]bool{}, map[string]bool{}
	for _, rec := range readJournal(t, o.JournalPath) {
		switch {
		case rec.Type == redrive.RecSending:
			sends[rec.ID]++
		case rec.Type == redrive.RecUnknown && rec.Attempt == 1:
			unknownFirst[rec.ID] = true
		case rec.Type == redrive.RecDelivered && strings.Contains(rec.Reason, "an earlier attempt was delivered"):
			confirmed[rec.ID] = true
		}
	}

	resolved := 0
	for _, it := range rep.Items {
		id := it.RequestID
		n := got.ByOriginalID[id]
		if n > 2 {
			t.Errorf("%s stored %d times, want at most twice", id, n)
		}
		if n == 2 && !maybe[id] {
			t.Errorf("%s stored twice without an attempt journaled unknown", id)
		}
		if stored504[id] > 0 && !maybe[id] {
			t.Errorf("%s was stored then answered 504, yet no attempt was journaled unknown", id)
		}
		if n != sends[id] {
			t.Errorf("%s: %d sends journaled, the gateway stored %d", id, sends[id], n)
		}
		// Every send followed a status read that did not show the item processed: a read
		// showing PROCESSED ends the item, so it can only be the last read.
		reads := status.readsOf(id)
		notProcessed := 0
		for i, s := range reads {
			if s == devstack.StateProcessed {
				if i != len(reads)-1 {
					t.Errorf("%s: read PROCESSED, then read again to send again: reads %v", id, reads)
				}
				continue
			}
			notProcessed++
		}
		// A batch read that grew older than RecheckAfterWait before its item was
		// dispatched is read again: more reads than sends, never fewer.
		if notProcessed < sends[id] {
			t.Errorf("%s: %d sends but %d reads before them that did not show it processed (reads %v)", id, sends[id], notProcessed, reads)
		}
		if confirmed[id] {
			resolved++
			if !unknownFirst[id] && !maybe[id] {
				t.Errorf("%s confirmed by its status without an unknown attempt", id)
			}
			if n != sends[id] || reads[len(reads)-1] != devstack.StateProcessed {
				t.Errorf("%s confirmed by its status, yet stored %d times for %d sends (reads %v)", id, n, sends[id], reads)
			}
			if !it.MaybeDuplicated || it.State != redrive.StateDelivered {
				t.Errorf("%s: report %+v", id, it)
			}
		}
		if s := d.state(id); s != devstack.StateProcessed {
			t.Errorf("%s: status %q, want PROCESSED", id, s)
		}
	}
	t.Logf("%d items, %d answers stored-then-504, %d resolved by the status re-check without a resend", len(rep.Items), got.StoredThen504, resolved)
	if resolved == 0 {
		t.Error("no unknown attempt was resolved by the status re-check")
	}
}

// A run stopped while its items' outcome is unknown (the gateway stored them, then
// answered 504) is resumed: each is re-checked first against the status read before its
// send, journaled in the sending record. One the processor handled is confirmed delivered
// without a resend, whether it succeeded or failed again.
func TestResumeRechecksUnknownItemsTheGatewayStored(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 29, Requests: 200, TransientRatio: 0.5, LostRatio: -1,
		Gateway: devstack.GatewayFaults{StoreThen504Ratio: 1}}})
	allTransient := map[string]bool{}
	for _, id := range d.failed(t, "transient", 1000) {
		allTransient[id] = true
	}
	transient := d.failed(t, "transient", 8)
	var permanent []string // failures a redelivery does not cure: the status stays FAILED
	for _, id := range d.failed(t, "", 1000) {
		if !allTransient[id] && len(permanent) < 3 {
			permanent = append(permanent, id)
		}
	}
	if len(transient) < 5 || len(permanent) < 2 {
		t.Fatalf("the seeded stack has %d transient and %d permanent failures", len(transient), len(permanent))
	}
	ids := append(append([]string(nil), transient...), permanent...)
	m := d.plan(t, redrive.ModeInplace, redrive.Selection{IDs: ids})

	// First run: every attempt is stored then answered 504; the retry waits an hour, so
	// the run is cancelled with every item unknown.
	o := d.options("unknown")
	deterministicBackoff(&o, time.Hour)
	r, err := redrive.New(redrive.DepsFor(d.clients), m, o)
	if err != nil {
		t.Fatal(err)
	}
	r.SetConcurrency(len(ids)) // every item in flight at once, each then waiting to retry
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for r.Snapshot().Counts.Unknown < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("not every item turned unknown: %s", r.Snapshot().Counts)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Cancel()
	if rep := r.Wait(); rep.Outcome != redrive.OutcomeCanceled || rep.Counts.Unknown != len(ids) {
		t.Fatalf("first run %s: %s", rep.Outcome, rep.Counts)
	}
	d.settle(t)
	before := d.st.Received()
	if before.StoredThen504 != len(ids) {
		t.Fatalf("%d stored-then-504 answers, want %d", before.StoredThen504, len(ids))
	}
	for _, id := range ids {
		if before.ByOriginalID[id] != 1 {
			t.Fatalf("%s stored %d times before the resume", id, before.ByOriginalID[id])
		}
	}

	st, err := redrive.LoadJournal(o.JournalPath)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Counts(); c.Unknown != len(ids) {
		t.Fatalf("journal counts %s, want %d unknown", c, len(ids))
	}
	d.st.SetGatewayFaults(devstack.GatewayFaults{}) // a resend would now be stored plainly
	deps := redrive.DepsFor(d.clients)
	status := recordStatus(deps.Status)
	deps.Status, deps.StatusBatch = status, status
	r, err = redrive.Resume(deps, st, d.options("resume"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := r.Wait()
	d.settle(t)
	if rep.Outcome != redrive.OutcomeDelivered || rep.Counts.Delivered != len(ids) {
		t.Fatalf("resume %s: %s", rep.Outcome, rep.Counts)
	}
	after := d.st.Received()
	byID := map[string]redrive.ItemResult{}
	for _, it := range rep.Items {
		byID[it.RequestID] = it
	}
	for _, id := range transient {
		it := byID[id]
		if n := after.ByOriginalID[id]; n != 1 {
			t.Errorf("%s (processed after the 504) stored %d times, want once: the re-check should have found it processed", id, n)
		}
		if !strings.Contains(it.Note, "an earlier attempt was delivered") || !it.MaybeDuplicated {
			t.Errorf("%s: report %+v, want delivered as confirmed by its status", id, it)
		}
		if reads := status.readsOf(id); len(reads) != 1 || reads[0] != devstack.StateProcessed {
			t.Errorf("%s: statuses read on resume %v, want one PROCESSED", id, reads)
		}
		if s := d.state(id); s != devstack.StateProcessed {
			t.Errorf("%s: status %q", id, s)
		}
	}
	for _, id := range permanent {
		// The processor handled the stored body and failed it again: the status is FAILED
		// as before, but its attempts and updatedAt moved. That proves delivery; a resend
		// would be a duplicate.
		it := byID[id]
		if n := after.ByOriginalID[id]; n != 1 {
			t.Errorf("%s (delivered, then FAILED again) stored %d times, want once: a status change proves delivery", id, n)
		}
		if it.State != redrive.StateDelivered || !strings.Contains(it.Note, "confirmed by status change") {
			t.Errorf("%s: report %+v, want delivered, confirmed by status change", id, it)
		}
		if reads := status.readsOf(id); len(reads) != 1 || reads[0] != devstack.StateFailed {
			t.Errorf("%s: statuses read on resume %v, want one FAILED", id, reads)
		}
	}
}

// Reupload against a gateway that stores bodies then answers 504: an unknown attempt is
// never sent again (its copy lives under a request ID only the gateway knows), so no
// request is stored twice; those items end unknown with a reason, the run exits failed.
func TestReuploadStoreThen504NeverStoresARequestTwice(t *testing.T) {
	d := startDev(t, devOptions{stack: devstack.Options{Seed: 31, Requests: 120, TransientRatio: 1, LostRatio: -1,
		Gateway: devstack.GatewayFaults{StoreThen504Ratio: 0.4}}})
	ids := d.failed(t, "transient", 40)
	if len(ids) < 20 {
		t.Fatalf("the seeded stack has only %d transient failures", len(ids))
	}
	m := d.plan(t, redrive.ModeReupload, redrive.Selection{IDs: ids})
	o := d.options("reupload504")
	o.MaxAttempts, o.MaxFailureRatio = 10, 1
	rep := d.run(t, m, o)
	d.settle(t)
	got := d.st.Received()
	if got.StoredThen504 == 0 {
		t.Fatal("no request was stored then answered 504: the fault did not act")
	}
	unknown := 0
	for _, it := range rep.Items {
		if n := got.ByOriginalID[it.RequestID]; n > 1 {
			t.Errorf("%s stored %d times: a reupload with an unknown outcome was sent again", it.RequestID, n)
		}
		switch it.State {
		case redrive.StateUnknown:
			unknown++
			if !strings.Contains(it.Error, redrive.UnknownReuploadReason) {
				t.Errorf("%s: unknown without the reason: %q", it.RequestID, it.Error)
			}
		case redrive.StateDelivered:
			if it.NewRequestID == "" {
				t.Errorf("%s delivered without its new request ID", it.RequestID)
			}
		default:
			t.Errorf("%s ended %s (%s)", it.RequestID, it.State, it.Error)
		}
	}
	if unknown != got.StoredThen504 {
		t.Errorf("%d items unknown, %d answers stored-then-504", unknown, got.StoredThen504)
	}
	if rep.Outcome != redrive.OutcomeFailed {
		t.Errorf("outcome %s, want %s: unknown items are not a success", rep.Outcome, redrive.OutcomeFailed)
	}
}
