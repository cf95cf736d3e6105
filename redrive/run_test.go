package redrive

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// fixture is a bucket of n FAILED requests, a status table and a gateway.
type fixture struct {
	store  *fakeStore
	status *fakeStatus
	sender *fakeSender
	ids    []string
	dir    string
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	f := &fixture{store: newFakeStore(), status: newFakeStatus(), dir: t.TempDir()}
	f.sender = newFakeSender(f.status)
	for i := range n {
		id := fmt.Sprintf("req-%03d", i)
		f.store.put(id, []byte(fmt.Sprintf(`{"order":%d}`, i)), "application/json")
		f.status.set(id, "FAILED")
		f.ids = append(f.ids, id)
	}
	return f
}

func (f *fixture) plan(t *testing.T, mode Mode, ids ...string) *Manifest {
	t.Helper()
	if len(ids) == 0 {
		ids = f.ids
	}
	m, err := Plan(context.Background(), PlanDeps{Source: inventory.Source{Objects: f.store, Statuses: f.status}}, Selection{IDs: ids},
		PlanOptions{Env: "test", Mode: mode, Bucket: "b", GatewayURL: "http://gw", Route: routeFor(mode),
			Rate: 0, Concurrency: 4, SuccessStates: []string{"PROCESSED"}, LostAfter: time.Minute})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return m
}

func routeFor(mode Mode) awsclient.Route {
	if mode == ModeInplace {
		return awsclient.Route{Method: "PUT", Path: "/product/{bucket}/{key}"}
	}
	return awsclient.Route{Method: "PUT", Path: "/product"}
}

func (f *fixture) deps() Deps { return Deps{Objects: f.store, Status: f.status, Sender: f.sender} }

func (f *fixture) opts() Options {
	return Options{JournalPath: filepath.Join(f.dir, "run.journal.jsonl"), BackoffBase: time.Millisecond,
		BackoffMax: 2 * time.Millisecond, ProgressInterval: time.Millisecond, UnknownSettle: time.Millisecond}
}

func runToEnd(t *testing.T, r *Run) *Report {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return r.Wait()
}

func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestRunDeliversEveryItemOnceWithHeadersAndBytes(t *testing.T) {
	for _, mode := range []Mode{ModeReupload, ModeInplace} {
		t.Run(string(mode), func(t *testing.T) {
			f := newFixture(t, 30)
			m := f.plan(t, mode)
			r, err := New(f.deps(), m, f.opts())
			if err != nil {
				t.Fatal(err)
			}
			rep := runToEnd(t, r)
			if rep.Outcome != OutcomeDelivered || rep.Counts.Delivered != 30 {
				t.Fatalf("outcome %s, counts %+v", rep.Outcome, rep.Counts)
			}
			for _, id := range f.ids {
				if n := f.sender.receivedOf(id); n != 1 {
					t.Errorf("%s received %d times, want 1", id, n)
				}
			}
			for _, g := range f.sender.got {
				id := g.headers[DefaultOriginalIDHeader]
				if g.headers[DefaultRedriveIDHeader] != m.RunID {
					t.Errorf("%s: redrive id header %q, want the run id", id, g.headers[DefaultRedriveIDHeader])
				}
				if want := string(f.store.objects[id].body); string(g.body) != want || g.ctype != "application/json" {
					t.Errorf("%s: sent %q (%s), want %q (application/json)", id, g.body, g.ctype, want)
				}
				if g.route != routeFor(mode) || g.vars.Key != id || g.vars.Bucket != "b" {
					t.Errorf("%s: route %+v vars %+v", id, g.route, g.vars)
				}
			}
			for _, it := range rep.Items {
				// Only a reupload gets a new request ID; the gateway's call ID is kept apart.
				wantNew := ""
				if mode == ModeReupload {
					wantNew = "new-" + it.RequestID
				}
				if it.NewRequestID != wantNew || it.GatewayRequestID != "new-"+it.RequestID || it.HTTPStatus != 200 || it.Attempts != 1 {
					t.Errorf("report item %+v, want new request ID %q", it, wantNew)
				}
			}
			// Every delivered record is preceded by its sending record.
			sending := map[string]bool{}
			for _, rec := range readRecords(t, r.JournalPath()) {
				switch rec.Type {
				case RecSending:
					sending[rec.ID] = true
				case RecDelivered:
					if !sending[rec.ID] {
						t.Errorf("%s delivered without a sending record before it", rec.ID)
					}
				}
			}
		})
	}
}

func TestRunS3CopyCopiesEachObjectOnce(t *testing.T) {
	f := newFixture(t, 5)
	m := f.plan(t, ModeS3Copy)
	if m.Target.String() != "CopyObject s3://b" {
		t.Errorf("target %q", m.Target)
	}
	r, err := New(Deps{Objects: f.store, Status: f.status}, m, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	rep := runToEnd(t, r)
	if rep.Counts.Delivered != 5 {
		t.Fatalf("counts %+v", rep.Counts)
	}
	for _, id := range f.ids {
		if f.store.copies[id] != 1 {
			t.Errorf("%s copied %d times", id, f.store.copies[id])
		}
	}
}

func TestRunRetriesThrottlingAndServerErrorsThenDelivers(t *testing.T) {
	f := newFixture(t, 3)
	f.sender.script = func(id string, n int) (int, error) {
		switch {
		case id == "req-000" && n <= 2:
			return 429, nil
		case id == "req-001" && n == 1:
			return 503, nil
		case id == "req-002" && n == 1:
			return 0, &awsclient.Error{Kind: awsclient.KindNetwork, Op: "send", Err: fmt.Errorf("%w: refused", awsclient.ErrNotSent)}
		}
		return 200, nil
	}
	r, _ := New(f.deps(), f.plan(t, ModeInplace), f.opts())
	rep := runToEnd(t, r)
	want := map[string]int{"req-000": 3, "req-001": 2, "req-002": 2}
	for _, it := range rep.Items {
		if it.State != StateDelivered || it.Attempts != want[it.RequestID] {
			t.Errorf("%s: %s after %d attempts, want delivered after %d", it.RequestID, it.State, it.Attempts, want[it.RequestID])
		}
		if it.MaybeDuplicated {
			t.Errorf("%s marked maybe duplicated though every failure was safe", it.RequestID)
		}
	}
}

func TestRunFailsPermanentErrorsAtOnceAndGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFixture(t, 2)
	f.sender.script = func(id string, n int) (int, error) {
		if id == "req-000" {
			return 400, nil
		}
		return 500, nil
	}
	opts := f.opts()
	opts.MaxAttempts = 3
	r, _ := New(f.deps(), f.plan(t, ModeInplace), opts)
	rep := runToEnd(t, r)
	if rep.Outcome != OutcomeFailed {
		t.Errorf("outcome %s", rep.Outcome)
	}
	if got := f.sender.attemptsOf("req-000"); got != 1 {
		t.Errorf("400 tried %d times, want 1", got)
	}
	if got := f.sender.attemptsOf("req-001"); got != 3 {
		t.Errorf("500 tried %d times, want 3 (max attempts)", got)
	}
	for _, it := range rep.Items {
		if it.State != StateFailed || it.Error == "" {
			t.Errorf("%+v: want failed with a reason", it)
		}
	}
	if !strings.Contains(rep.Items[1].Error, "gave up after 3 attempts") {
		t.Errorf("reason %q", rep.Items[1].Error)
	}
}

func TestRunLostConnectionIsJournaledUnknownAndRecheckedBeforeResending(t *testing.T) {
	f := newFixture(t, 2)
	f.sender.script = func(id string, n int) (int, error) {
		if n == 1 {
			return 0, lostConnection() // the fake gateway took it (and the status turned PROCESSED)
		}
		return 200, nil
	}
	f.sender.status = nil // the processor has not run yet for req-001
	r, _ := New(f.deps(), f.plan(t, ModeInplace), f.opts())
	// req-000's processor is fast: by the re-check its status is PROCESSED.
	f.status.set("req-000", "FAILED")
	origScript := f.sender.script
	f.sender.script = func(id string, n int) (int, error) {
		c, err := origScript(id, n)
		if id == "req-000" && n == 1 {
			f.status.set("req-000", "PROCESSED")
		}
		return c, err
	}
	rep := runToEnd(t, r)
	byID := map[string]ItemResult{}
	for _, it := range rep.Items {
		byID[it.RequestID] = it
	}
	if it := byID["req-000"]; it.State != StateDelivered || f.sender.attemptsOf("req-000") != 1 || !it.MaybeDuplicated {
		t.Errorf("req-000: %+v after %d attempts; want delivered (confirmed by status) with no resend", it, f.sender.attemptsOf("req-000"))
	}
	if it := byID["req-001"]; it.State != StateDelivered || f.sender.attemptsOf("req-001") != 2 || !it.MaybeDuplicated {
		t.Errorf("req-001: %+v after %d attempts; want delivered on the resend, flagged maybe duplicated", it, f.sender.attemptsOf("req-001"))
	}
	var unknown int
	for _, rec := range readRecords(t, r.JournalPath()) {
		if rec.Type == RecUnknown {
			unknown++
		}
	}
	if unknown != 2 {
		t.Errorf("%d unknown records, want 2", unknown)
	}
}

func TestRunSkipsProcessedItemsUnlessForced(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprint("force=", force), func(t *testing.T) {
			f := newFixture(t, 2)
			m := f.plan(t, ModeInplace)
			f.status.set("req-001", "PROCESSED") // processed between planning and sending
			opts := f.opts()
			opts.Force = force
			r, _ := New(f.deps(), m, opts)
			rep := runToEnd(t, r)
			wantSends, wantState := 0, StateSkipped
			if force {
				wantSends, wantState = 1, StateDelivered
			}
			if got := f.sender.attemptsOf("req-001"); got != wantSends {
				t.Errorf("req-001 sent %d times, want %d", got, wantSends)
			}
			if rep.Items[1].State != wantState {
				t.Errorf("req-001 %s, want %s", rep.Items[1].State, wantState)
			}
			if rep.Outcome != OutcomeDelivered {
				t.Errorf("outcome %s", rep.Outcome)
			}
		})
	}
}

func TestRunReportsObjectChangedSincePlanning(t *testing.T) {
	f := newFixture(t, 1)
	m := f.plan(t, ModeReupload)
	f.store.put("req-000", []byte("new content"), "text/plain")
	r, _ := New(f.deps(), m, f.opts())
	rep := runToEnd(t, r)
	it := rep.Items[0]
	if it.State != StateFailed || !strings.Contains(it.Error, "changed since planning") {
		t.Errorf("%+v: want failed, changed since planning", it)
	}
	if f.sender.receivedOf("req-000") != 0 {
		t.Error("the changed object reached the gateway")
	}
}

func TestRunRefusesOversizedObjectsBeforeSending(t *testing.T) {
	f := newFixture(t, 1)
	f.store.put("big", make([]byte, MaxGatewayPayload+1), "application/octet-stream")
	m := f.plan(t, ModeReupload, "req-000", "big")
	if s := m.Summary(); s.TooLarge != 1 {
		t.Errorf("summary TooLarge %d", s.TooLarge)
	}
	r, _ := New(f.deps(), m, f.opts())
	rep := runToEnd(t, r)
	if f.sender.attemptsOf("big") != 0 {
		t.Error("an object over 10 MiB was sent to the gateway")
	}
	big := rep.Items[1]
	if big.State != StateFailed || !strings.Contains(big.Error, "--mode s3-copy") || big.Attempts != 0 {
		t.Errorf("%+v: want failed, suggesting s3-copy, no attempt", big)
	}
	if rep.Items[0].State != StateDelivered {
		t.Errorf("the small item: %+v", rep.Items[0])
	}
}

func TestCircuitBreakerStopsTheRunAfterTheFirst20Items(t *testing.T) {
	f := newFixture(t, 100)
	f.sender.script = func(string, int) (int, error) { return 400, nil }
	opts := f.opts()
	m := f.plan(t, ModeReupload)
	m.Concurrency = 1 // deterministic: one item at a time
	r, _ := New(f.deps(), m, opts)
	rep := runToEnd(t, r)
	if rep.Outcome != OutcomeTripped || !strings.Contains(rep.StopReason, "circuit breaker") {
		t.Fatalf("outcome %s (%s)", rep.Outcome, rep.StopReason)
	}
	if rep.Counts.Failed != 20 || rep.Counts.Pending != 80 {
		t.Errorf("counts %+v: want 20 failed then stop", rep.Counts)
	}
}

func TestCancelLetsInFlightFinishAndSendsNothingNew(t *testing.T) {
	f := newFixture(t, 10)
	f.sender.block = make(chan struct{})
	f.sender.entered = make(chan string, 10)
	m := f.plan(t, ModeReupload)
	m.Concurrency = 2
	r, _ := New(f.deps(), m, f.opts())
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-f.sender.entered
	<-f.sender.entered
	r.Cancel()
	close(f.sender.block)
	rep := r.Wait()
	if rep.Outcome != OutcomeCanceled {
		t.Errorf("outcome %s", rep.Outcome)
	}
	if rep.Counts.Delivered != 2 || rep.Counts.Pending != 8 {
		t.Errorf("counts %+v: want the 2 in flight delivered and 8 not sent", rep.Counts)
	}
	if !strings.Contains(rep.Items[9].Error, "--resume") {
		t.Errorf("an unsent item says %q", rep.Items[9].Error)
	}

	// Resume finishes the rest and sends nothing twice.
	f.sender.block = nil
	st, err := LoadJournal(r.JournalPath())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Remaining()) != 8 {
		t.Fatalf("%d remaining, want 8", len(st.Remaining()))
	}
	r2, err := Resume(f.deps(), st, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	rep2 := runToEnd(t, r2)
	if rep2.Counts.Delivered != 10 || rep2.Outcome != OutcomeDelivered {
		t.Errorf("after resume: %s %+v", rep2.Outcome, rep2.Counts)
	}
	for _, id := range f.ids {
		if n := f.sender.receivedOf(id); n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
}

func TestAbortCutsInFlightRequestsAndJournalsThemUnknown(t *testing.T) {
	f := newFixture(t, 3)
	f.sender.block = make(chan struct{})
	f.sender.entered = make(chan string, 3)
	m := f.plan(t, ModeReupload)
	m.Concurrency = 1
	r, _ := New(f.deps(), m, f.opts())
	r.Start(context.Background())
	<-f.sender.entered
	r.Abort()
	rep := r.Wait()
	if rep.Counts.Unknown != 1 || rep.Counts.Pending != 2 {
		t.Errorf("counts %+v: want 1 unknown, 2 not sent", rep.Counts)
	}
}

// journalFor writes a journal for m by hand, as a killed run would have left it.
func journalFor(t *testing.T, path string, m *Manifest, recs ...Record) {
	t.Helper()
	j, err := CreateJournal(path, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.At = time.Now()
		if err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
}

func TestResumeNeverResendsDeliveredAndRechecksInFlight(t *testing.T) {
	f := newFixture(t, 5)
	m := f.plan(t, ModeInplace)
	path := filepath.Join(f.dir, "killed.journal.jsonl")
	journalFor(t, path, m,
		Record{Type: RecSending, ID: "req-000", Attempt: 1},
		Record{Type: RecDelivered, ID: "req-000", Attempt: 1, HTTPStatus: 200, NewRequestID: "n0"},
		Record{Type: RecSending, ID: "req-001", Attempt: 1}, // in flight at the kill, processed since
		Record{Type: RecSending, ID: "req-002", Attempt: 1}, // in flight at the kill, never arrived
		Record{Type: RecSending, ID: "req-003", Attempt: 1},
		Record{Type: RecUnknown, ID: "req-003", Attempt: 1, Reason: "connection reset"},
	)
	// A torn write at the end, as a kill mid-append leaves it.
	fh, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	fh.WriteString(`{"type":"sending","id":"req-00`)
	fh.Close()
	f.status.set("req-000", "PROCESSED")
	f.status.set("req-001", "PROCESSED")

	st, err := LoadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(st.Remaining()); got != 4 {
		t.Fatalf("%d remaining, want 4", got)
	}
	r, err := Resume(f.deps(), st, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	rep := runToEnd(t, r)
	wantSends := map[string]int{"req-000": 0, "req-001": 0, "req-002": 1, "req-003": 1, "req-004": 1}
	for id, want := range wantSends {
		if got := f.sender.attemptsOf(id); got != want {
			t.Errorf("%s sent %d times on resume, want %d", id, got, want)
		}
	}
	if rep.Counts.Delivered != 5 || rep.Outcome != OutcomeDelivered {
		t.Errorf("%s %+v", rep.Outcome, rep.Counts)
	}
	if rep.Items[0].NewRequestID != "n0" {
		t.Errorf("the earlier delivery's new request ID was lost: %+v", rep.Items[0])
	}
	if rep.Items[2].Attempts != 2 {
		t.Errorf("attempt numbers restart on resume: %+v", rep.Items[2])
	}
	for _, i := range []int{1, 2, 3} {
		if !rep.Items[i].MaybeDuplicated {
			t.Errorf("%s was in flight at the kill but is not flagged maybe duplicated", rep.Items[i].RequestID)
		}
	}
	// The torn line is gone and the journal reads cleanly to the end.
	st2, err := LoadJournal(path)
	if err != nil {
		t.Fatalf("journal after resume: %v", err)
	}
	if !st2.Ended || len(st2.Remaining()) != 0 {
		t.Errorf("ended %v, remaining %d", st2.Ended, len(st2.Remaining()))
	}
}

func TestNewRefusesReadOnly(t *testing.T) {
	f := newFixture(t, 1)
	opts := f.opts()
	opts.ReadOnly = true
	_, err := New(f.deps(), f.plan(t, ModeReupload), opts)
	if !errors.Is(err, awsclient.ErrReadOnly) || !errors.Is(err, ErrRefusedReadOnly) {
		t.Fatalf("err %v", err)
	}
	if _, statErr := os.Stat(opts.JournalPath); !os.IsNotExist(statErr) {
		t.Error("a refused run created a journal")
	}
}

func TestJournalIsPrivateAndRefusesOverwrite(t *testing.T) {
	f := newFixture(t, 1)
	m := f.plan(t, ModeReupload)
	r, _ := New(f.deps(), m, f.opts())
	runToEnd(t, r)
	fi, err := os.Stat(r.JournalPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, want 0600", fi.Mode().Perm())
	}
	r2, _ := New(f.deps(), m, f.opts())
	if err := r2.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("second run on the same journal: %v", err)
	}
}

func TestJournalRejectsAlteredManifest(t *testing.T) {
	f := newFixture(t, 2)
	m := f.plan(t, ModeReupload)
	path := filepath.Join(f.dir, "j.jsonl")
	journalFor(t, path, m)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"req-001"`, `"req-666"`, 1)), 0o600)
	if _, err := LoadJournal(path); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Errorf("err %v", err)
	}
}

func TestResumeRefusesAJournalInUse(t *testing.T) {
	f := newFixture(t, 2)
	m := f.plan(t, ModeReupload)
	path := filepath.Join(f.dir, "j.jsonl")
	j, err := CreateJournal(path, m)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	st, err := LoadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := Resume(f.deps(), st, f.opts())
	if err := r.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("err %v", err)
	}
}

func TestRateLimitPacesRequestsAndCanChangeWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 31)
		m := f.plan(t, ModeReupload)
		m.Rate, m.Concurrency = 10, 8
		opts := f.opts()
		opts.ProgressInterval = time.Second
		r, _ := New(f.deps(), m, opts)
		start := time.Now()
		r.Start(context.Background())
		// 10/s: the first goes at once, then one every 100ms.
		time.Sleep(1050 * time.Millisecond)
		if got := r.Snapshot().Sent; got != 11 {
			t.Errorf("after 1.05s at 10/s: %d sent, want 11", got)
		}
		r.SetRate(20)
		rep := r.Wait()
		if rep.Counts.Delivered != 31 {
			t.Fatalf("counts %+v", rep.Counts)
		}
		// 20 more at 20/s take 1s.
		if el := time.Since(start); el < 2*time.Second || el > 2100*time.Millisecond {
			t.Errorf("took %v, want about 2s", el)
		}
	})
}

func TestConcurrencyCapHoldsAndCanChange(t *testing.T) {
	f := newFixture(t, 40)
	m := f.plan(t, ModeReupload)
	m.Concurrency = 3
	f.sender.block = make(chan struct{})
	f.sender.entered = make(chan string, 40)
	r, _ := New(f.deps(), m, f.opts())
	r.Start(context.Background())
	for range 3 {
		<-f.sender.entered
	}
	if p := r.Snapshot(); p.InFlight != 3 || p.Concurrency != 3 {
		t.Errorf("in flight %d, cap %d", p.InFlight, p.Concurrency)
	}
	r.SetConcurrency(6)
	for range 3 {
		<-f.sender.entered // three more start once the cap rises
	}
	close(f.sender.block)
	rep := r.Wait()
	if rep.Counts.Delivered != 40 {
		t.Fatalf("counts %+v", rep.Counts)
	}
	if f.sender.maxInFl > 6 {
		t.Errorf("%d requests in flight at once, cap was 6", f.sender.maxInFl)
	}
}

func TestProgressUpdatesEndWithTheFinalSnapshot(t *testing.T) {
	f := newFixture(t, 5)
	r, _ := New(f.deps(), f.plan(t, ModeReupload), f.opts())
	r.Start(context.Background())
	var last Progress
	for p := range r.Updates() {
		last = p
	}
	if !last.Done || last.Counts.Delivered != 5 || last.Fraction() != 1 {
		t.Errorf("final progress %+v", last)
	}
}

func TestStatusRecheckFailureFailsTheItemWithoutSending(t *testing.T) {
	f := newFixture(t, 1)
	m := f.plan(t, ModeReupload)
	f.status.getErr = &awsclient.Error{Kind: awsclient.KindAccessDenied, Op: "get-item", Resource: "dynamodb://t"}
	r, _ := New(f.deps(), m, f.opts())
	rep := runToEnd(t, r)
	if rep.Items[0].State != StateFailed || f.sender.attemptsOf("req-000") != 0 {
		t.Errorf("%+v", rep.Items[0])
	}
}

// In a forced run the items were already processed when planned, so their status cannot
// confirm that an interrupted attempt arrived: resume sends them again.
func TestResumeOfAForcedRunResendsInFlightItems(t *testing.T) {
	f := newFixture(t, 2)
	for _, id := range f.ids {
		f.status.set(id, "PROCESSED")
	}
	m := f.plan(t, ModeInplace)
	path := filepath.Join(f.dir, "forced.journal.jsonl")
	journalFor(t, path, m, Record{Type: RecSending, ID: "req-000", Attempt: 1})
	st, err := LoadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := f.opts()
	opts.Force = true
	r, _ := Resume(f.deps(), st, opts)
	rep := runToEnd(t, r)
	if f.sender.attemptsOf("req-000") != 1 || f.sender.attemptsOf("req-001") != 1 {
		t.Errorf("sends: %d, %d; want both sent", f.sender.attemptsOf("req-000"), f.sender.attemptsOf("req-001"))
	}
	if !rep.Items[0].MaybeDuplicated || rep.Items[1].MaybeDuplicated {
		t.Errorf("maybe duplicated: %v %v", rep.Items[0].MaybeDuplicated, rep.Items[1].MaybeDuplicated)
	}
}

// A journal that cannot be written stops the run before anything more is sent.
func TestJournalFailureStopsSending(t *testing.T) {
	f := newFixture(t, 5)
	m := f.plan(t, ModeInplace)
	m.Concurrency = 1
	f.sender.block = make(chan struct{})
	f.sender.entered = make(chan string, 5)
	r, _ := New(f.deps(), m, f.opts())
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-f.sender.entered
	// Break the file under the journal while the first request is in flight: its outcome
	// and everything after cannot be journaled.
	r.journal.f.Close()
	close(f.sender.block)
	rep := r.Wait()
	if rep.Outcome != OutcomeError || !strings.Contains(rep.StopReason, "journal") {
		t.Errorf("outcome %s (%s)", rep.Outcome, rep.StopReason)
	}
	sent := 0
	for _, id := range f.ids {
		sent += f.sender.attemptsOf(id)
	}
	if sent != 1 {
		t.Errorf("%d requests sent; want only the one in flight when the journal broke", sent)
	}
}

// A context that ends is a cancel, whichever goroutine notices first.
func TestEndedContextCancelsTheRun(t *testing.T) {
	for range 20 {
		f := newFixture(t, 3)
		r, _ := New(f.deps(), f.plan(t, ModeInplace), f.opts())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if rep := r.Wait(); rep.Outcome != OutcomeCanceled || rep.Counts.Pending != 3 {
			t.Fatalf("outcome %s, counts %s", rep.Outcome, rep.Counts)
		}
	}
}
