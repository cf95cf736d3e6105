package tui

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/redrive"
)

// marks returns the marked IDs, sorted.
func (f *fixture) marks() []string {
	var ids []string
	for id := range f.m.marked {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestSelectionSurvivesSortAndFilter(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.keys("space", "space") // marks the first two rows, moving down
	want := []string{idJSON, idXML}
	if got := f.marks(); !slices.Equal(got, want) {
		t.Fatalf("marked %v, want %v", got, want)
	}
	if !strings.Contains(plainView(f), "✓ 2 selected") {
		t.Errorf("the header does not count the selection:\n%s", plainView(f))
	}
	f.keys("s", "S")
	f.keys("/")
	f.typeText("1c7a")
	f.keys("enter")
	if got := f.marks(); !slices.Equal(got, want) {
		t.Fatalf("after sorting and filtering: marked %v", got)
	}
	if v := plainView(f); !strings.Contains(v, " ✓ "+idXML) && !strings.Contains(v, "▸✓ "+idXML) {
		t.Errorf("the filtered row does not show its mark:\n%s", v)
	}
	// a on a view that is all marked unmarks what it shows, leaving the rest; a again
	// marks it.
	f.keys("a")
	if got := f.marks(); !slices.Equal(got, []string{idJSON}) {
		t.Fatalf("a: marked %v, want only %s", got, idJSON)
	}
	f.keys("a")
	if got := f.marks(); !slices.Equal(got, want) {
		t.Fatalf("a again: marked %v, want %v", got, want)
	}
	f.keys("esc", "esc") // the note, then the filter
	f.keys("a")
	if len(f.marks()) != 6 {
		t.Fatalf("a on the whole listing marked %d", len(f.marks()))
	}
	// The order of a plan is the table's.
	ids := f.m.markedIDs()
	for i, id := range ids {
		if f.m.active().At(i).ID != id {
			t.Fatalf("marked IDs not in table order: %v", ids)
		}
	}
}

func TestRedriveRunsSelectionAndWatchesStatuses(t *testing.T) {
	state := stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	f.keys("f", "F") // the FAILED view
	f.keys("a")
	f.keys("R")
	v := plainView(f)
	for _, want := range []string{"Redrive 2 requests", "inplace", "PUT https://gw.example.com/prod/product/{bucket}/{key}",
		"2 · 146 B", "status now FAILED 2", "10/s · 4 at a time · ETA under a second", "Send 2 requests to environment staging?"} {
		if !strings.Contains(v, want) {
			t.Errorf("the plan lacks %q:\n%s", want, v)
		}
	}
	if len(gw.sentIDs()) != 0 {
		t.Fatal("something was sent before confirmation")
	}
	f.keys("y")
	if got := gw.sentIDs(); len(got) != 2 {
		t.Fatalf("sent %v, want both FAILED requests", got)
	}
	if !bytes.Equal(gw.bodies[idXML], f.objects.bodies[idXML]) {
		t.Errorf("the gateway got %q, not the stored bytes", gw.bodies[idXML])
	}
	if h := strings.Join(gw.headers[idXML], "\n"); !strings.Contains(h, "X-Stowage-Original-Request-Id: "+idXML) ||
		!strings.Contains(h, "X-Stowage-Redrive-Id: 7e57e57e-0000-4000-8000-000000000001") {
		t.Errorf("idempotency headers: %s", h)
	}
	v = plainView(f)
	for _, want := range []string{"Redrive finished", "✓ 2 requests: 2 delivered · took",
		"processor  2 delivered → 2 PROCESSED, 0 FAILED again, 0 no verdict yet", "journal", "report", "audit"} {
		if !strings.Contains(v, want) {
			t.Errorf("the summary lacks %q:\n%s", want, v)
		}
	}
	// The rows turned PROCESSED and carry their history.
	f.keys("esc")
	v = plainView(f)
	for _, id := range []string{idXML, idMalformed} {
		line := lineWith(v, id)
		if !strings.Contains(line, "PROCESSED") || !strings.Contains(line, "↻ 09:30 sent") {
			t.Errorf("row %s: %q", id, line)
		}
	}

	journal := onlyFile(t, filepath.Join(state, "redrives", "*.journal.jsonl"))
	st, err := redrive.LoadJournal(journal)
	if err != nil || st.Counts().Delivered != 2 || !st.Ended {
		t.Fatalf("journal: %v %+v", err, st)
	}
	report := onlyFile(t, filepath.Join(state, "redrives", "*.report.jsonl"))
	if report != redrive.ReportPath(journal) {
		t.Errorf("report %s is not beside the journal", report)
	}
	entries := auditEntries(t, state)
	if len(entries) != 1 {
		t.Fatalf("audit: %+v", entries)
	}
	e := entries[0]
	if e.Who != "tester" || e.Outcome != redrive.OutcomeDelivered || e.Counts.Delivered != 2 || e.Journal != journal ||
		e.Report != report || e.Selection != "2 IDs ("+idXML+", "+idMalformed+") from tui" || e.Mode != redrive.ModeInplace {
		t.Errorf("audit entry: %+v", e)
	}
	// The history shows in the detail too.
	f.openRow(idXML)
	f.keys("tab")
	if v := plainView(f); !strings.Contains(v, "Redrive history") || !strings.Contains(v, "inplace · delivered · 1 attempt · HTTP 200 · then PROCESSED") {
		t.Errorf("the detail lacks the history:\n%s", v)
	}
}

func lineWith(view, s string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func TestRedriveFailedAgainAndReuploadHistory(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	gw.failAgain[idMalformed] = true
	gw.answer[idXML] = 400
	f.keys("f", "F", "a", "R")
	f.keys("right") // inplace → s3-copy
	f.keys("left", "left")
	if f.m.rd.mode != redrive.ModeReupload {
		t.Fatalf("mode %s, want reupload", f.m.rd.mode)
	}
	if v := plainView(f); !strings.Contains(v, "PUT https://gw.example.com/prod/product ") {
		t.Fatalf("the plan was not made again for reupload:\n%s", v)
	}
	f.keys("y")
	v := plainView(f)
	// Delivered is not done: the processor failed the reupload again, and the summary says so.
	if !strings.Contains(v, "Redrive finished") || !strings.Contains(v, "HTTP 400") || !strings.Contains(v, "! 2 requests: 1 delivered, 1 failed") ||
		!strings.Contains(v, "processor  1 delivered → 0 PROCESSED, 1 FAILED again") {
		t.Fatalf("summary:\n%s", v)
	}
	f.keys("esc")
	v = plainView(f)
	if l := lineWith(v, idXML); !strings.Contains(l, "↻ 09:30 ✗") {
		t.Errorf("a failed redrive is not on its row: %q", l)
	}
	if l := lineWith(v, idMalformed); !strings.Contains(l, "FAILED") || !strings.Contains(l, "↻ 09:30 → new-") {
		t.Errorf("the reupload's new ID is not on its row: %q", l)
	}
	ev := f.m.history[idMalformed]
	if len(ev) != 1 || ev[0].newID != "new-"+idMalformed || ev[0].after != "FAILED" {
		t.Errorf("history %+v", ev)
	}
}

func TestRedriveTypedConfirmationOnProduction(t *testing.T) {
	state := stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw), func(o *Options) {
		o.Session.Env.Name, o.Session.Env.Production = "prod-eu", true
	})
	f.keys("f", "F", "a", "R")
	if f.m.rd.confirm != redrive.ConfirmTypeEnv {
		t.Fatal("a bulk run on production must ask for the environment name")
	}
	f.keys("y") // not enough
	f.keys("enter")
	f.typeText("prod")
	f.keys("enter")
	if len(gw.sentIDs()) != 0 || !strings.Contains(plainView(f), "“prod” is not “prod-eu”") {
		t.Fatalf("a wrong name was accepted:\n%s", plainView(f))
	}
	f.typeText("PROD-EU")
	f.keys("enter")
	if len(gw.sentIDs()) != 0 {
		t.Fatal("the name must match exactly")
	}
	f.keys("esc", "esc") // out of the field, then decline
	if f.m.rd != nil || len(f.m.dialogs) != 0 {
		t.Fatal("esc did not close the plan")
	}
	entries := auditEntries(t, state)
	if len(entries) != 1 || entries[0].Outcome != redrive.OutcomeDeclined || !entries[0].Production {
		t.Fatalf("a declined plan must be audited: %+v", entries)
	}
	f.keys("R", "enter")
	f.typeText(" prod-eu  ") // spaces around the name are trimmed, as the CLI trims them
	f.keys("enter")
	if len(gw.sentIDs()) != 2 {
		t.Fatalf("sent %v after the right name with spaces around it", gw.sentIDs())
	}
}

func TestRedriveCancelRateAndConcurrency(t *testing.T) {
	state := stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	gw.block, gw.started = make(chan struct{}), make(chan string, 10)
	f.keys("a", "R")
	if f.m.rd.confirm != redrive.ConfirmYesNo || f.m.rd.summary.Count != 6 {
		t.Fatalf("plan: %+v", f.m.rd.summary)
	}
	// Confirm, and run the command that starts the run by hand: its progress must not be
	// awaited while the gateway is held.
	var started redriveStartedMsg
	for _, msg := range run(f.step(keyPress("y"))) {
		if m, ok := msg.(redriveStartedMsg); ok {
			started = m
		}
	}
	if started.session == nil {
		t.Fatalf("the run did not start: %v", started.err)
	}
	wait := f.step(started)
	<-gw.started // the first requests are in flight, held
	run(f.step(keyPress("+")))
	run(f.step(keyPress(">")))
	run(f.step(keyPress("-")))
	run(f.step(keyPress("-")))
	p := started.session.Run().Snapshot()
	if p.TargetRate != 5 || p.Concurrency != 5 || f.m.rd.rate != 5 || f.m.rd.conc != 5 {
		t.Fatalf("rate %g concurrency %d (model %g, %d); want 5 and 5", p.TargetRate, p.Concurrency, f.m.rd.rate, f.m.rd.conc)
	}
	// Hidden, it keeps running and says so.
	f.step(keyPress("esc"))
	if f.m.redriveShown() || !f.m.redriveActive() || !strings.Contains(plainView(f), "redrive 0/6") {
		t.Fatalf("esc should hide the running redrive:\n%s", plainView(f))
	}
	// q does not quit while it runs; ctrl+c cancels instead of quitting.
	f.step(keyPress("q"))
	if f.m.quitting || !strings.Contains(f.m.note.text, "a redrive is running") {
		t.Fatal("q left a running redrive")
	}
	run(f.step(keyPress("ctrl+c")))
	if f.m.quitting || !f.m.rd.cancelling {
		t.Fatal("ctrl+c did not cancel the run")
	}
	close(gw.block)
	f.exec(wait)
	rep := f.m.rd.report
	if rep == nil || rep.Outcome != redrive.OutcomeCanceled {
		t.Fatalf("report %+v", rep)
	}
	sent := len(gw.sentIDs())
	// The PROCESSED request may have been skipped (nothing sent) before the cancel.
	if sent == 0 || sent == 6 || rep.Counts.Pending != 6-sent-rep.Counts.Skipped || rep.Counts.Delivered != sent {
		t.Fatalf("sent %d of 6 after cancel; counts %s", sent, rep.Counts)
	}
	if f.m.redriveShown() || !strings.Contains(f.m.note.text, "R shows the summary") {
		t.Fatalf("a hidden run's end should be a note, not a dialog: %q", f.m.note.text)
	}
	f.keys("R")
	v := plainView(f)
	for _, want := range []string{"Redrive cancelled", "What was sent is not undone", "redrive --resume"} {
		if !strings.Contains(v, want) {
			t.Errorf("the summary lacks %q:\n%s", want, v)
		}
	}
	entries := auditEntries(t, state)
	if len(entries) != 1 || entries[0].Outcome != redrive.OutcomeCanceled || entries[0].Report == "" {
		t.Fatalf("audit: %+v", entries)
	}
	// The audit keeps what was confirmed (10/s, 4 at a time) beside what the run ended with.
	if e := entries[0]; !e.Tuned || e.Rate != 5 || e.Concurrency != 5 || e.PlannedRate != 10 || e.PlannedConcurrency != 4 {
		t.Errorf("audit of a tuned run: tuned %v, rate %g, concurrency %d, planned %g and %d; want true, 5, 5, 10 and 4",
			e.Tuned, e.Rate, e.Concurrency, e.PlannedRate, e.PlannedConcurrency)
	}
	f.keys("esc", "R") // the summary was seen: R plans anew
	if f.m.rd.phase != rdPlanned || f.m.rd.report != nil {
		t.Fatalf("R after the summary: phase %d", f.m.rd.phase)
	}
}

func TestRedriveRefusesReadOnlyAndTooLarge(t *testing.T) {
	t.Run("read-only", func(t *testing.T) {
		state := stateHome(t)
		var gw *fakeGateway
		f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw), func(o *Options) { o.Session.Env.ReadOnly = true })
		f.keys("a", "R", "y", "enter")
		v := plainView(f)
		if !strings.Contains(v, "READ-ONLY") || len(gw.sentIDs()) != 0 || f.m.rd != nil {
			t.Fatalf("read-only did not refuse:\n%s", v)
		}
		e := auditEntries(t, state)
		if len(e) != 1 || e[0].Outcome != redrive.OutcomeRefused || e[0].Reason != "the environment is read-only" {
			t.Fatalf("audit: %+v", e)
		}
	})
	t.Run("too large for the gateway", func(t *testing.T) {
		stateHome(t)
		var gw *fakeGateway
		f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
			o.put(awsclient.Object{Key: "big", RequestID: "big", LastModified: testNow.Add(-time.Hour)}, make([]byte, redrive.MaxGatewayPayload+1))
			s.put(awsclient.Status{RequestID: "big", State: "FAILED"})
		}, redriveEnv(), withGateway(&gw))
		f.keys("R")
		v := plainView(f)
		if !strings.Contains(v, "over API Gateway's 10 MiB limit") || !strings.Contains(v, "→ switches to s3-copy") {
			t.Fatalf("no refusal:\n%s", v)
		}
		f.keys("y")
		if f.m.rd.phase != rdPlanned {
			t.Fatal("a plan that can send nothing was confirmed")
		}
		f.keys("right") // s3-copy
		f.keys("y")
		if got := f.objects.calls[len(f.objects.calls)-1]; got != "copy big" {
			t.Fatalf("s3-copy did not copy: %v", f.objects.calls)
		}
	})
}

// TestRedriveView pins the redrive dialog at 120x40: the typed confirmation of a bulk
// run on production, the progress mid-run, the summary, and the read-only refusal.
func TestRedriveView(t *testing.T) {
	seed := func(o *fakeObjects, s *fakeStatuses) {
		seedRequests(o, s)
		o.put(awsclient.Object{Key: "6bcf7c8e-0ab9-4d7e-9c9f-d36f9fe18077", RequestID: "6bcf7c8e-0ab9-4d7e-9c9f-d36f9fe18077",
			LastModified: testNow.Add(-50 * time.Minute), ContentType: "application/xml"}, make([]byte, redrive.MaxGatewayPayload+1))
		s.put(awsclient.Status{RequestID: "6bcf7c8e-0ab9-4d7e-9c9f-d36f9fe18077", State: "FAILED", Attempts: 2, Error: "Lambda timeout"})
		s.put(awsclient.Status{RequestID: "7cd08d9f-1bca-4e8f-8dad-e47fad2f9188", State: "FAILED", Attempts: 1, Error: "object expired"})
	}
	production := func(o *Options) { o.Session.Env.Name, o.Session.Env.Production = "prod-eu", true }
	planned := func(t *testing.T) *fixture {
		stateHome(t)
		var gw *fakeGateway
		f := newFixture(t, seed, redriveEnv(), withGateway(&gw), production)
		f.keys("f", "F", "a", "esc", "esc")
		f.keys("g", "space") // the PROCESSED request on top of the listing
		f.keys("R")
		return f
	}
	// running confirms a plan and feeds the model a run held before its start, so the
	// frames do not depend on timing.
	running := func(t *testing.T, f *fixture) *redrive.Run {
		f.keys("enter")
		f.typeText("prod-eu")
		f.step(keyPress("enter"))
		s := f.m.rd
		o := redrive.Options{JournalPath: "/home/ops/.local/state/stowage/redrives/20250314T093000Z-" + s.manifest.RunID + ".journal.jsonl"}
		r, err := redrive.New(f.m.sess.Redrive.Run, s.manifest, o)
		if err != nil {
			t.Fatal(err)
		}
		// A run held before its start, as onRedriveStarted would install a session's.
		s.run, s.journal, s.phase, s.rate, s.conc = r, o.JournalPath, rdRunning, s.manifest.Rate, s.manifest.Concurrency
		f.step(redriveProgressMsg{seq: s.seq, p: redrive.Progress{
			RunID: s.manifest.RunID, Total: 4, Sent: 4, Elapsed: 1500 * time.Millisecond, Rate: 2.7, TargetRate: 10,
			Concurrency: 4, InFlight: 1, ETA: 800 * time.Millisecond,
			Counts: redrive.Counts{Sending: 1, Delivered: 1, Failed: 1, Skipped: 1},
			LastErrors: []redrive.ItemError{{RequestID: "6bcf7c8e-0ab9-4d7e-9c9f-d36f9fe18077", Err: "too large for the gateway: 10485761 bytes, the limit is 10485760 (10 MiB); nothing was sent — redrive it with --mode s3-copy"},
				{RequestID: idMalformed, Attempt: 1, Err: "the gateway answered HTTP 503 \x1b[2J(service unavailable)"}},
		}})
		return r
	}
	cases := []struct {
		name string
		act  func(t *testing.T) *fixture
	}{
		{"plan_typed_confirmation", func(t *testing.T) *fixture {
			f := planned(t)
			f.keys("enter")
			f.typeText("prod-")
			return f
		}},
		{"progress", func(t *testing.T) *fixture {
			f := planned(t)
			running(t, f)
			f.keys("R") // in full: docked, it has no room for the ETA, the errors and the journal
			return f
		}},
		{"summary", func(t *testing.T) *fixture {
			f := planned(t)
			r := running(t, f)
			s := f.m.rd
			started := testNow.Add(-2 * time.Second)
			item := func(id string, st redrive.ItemState, attempts, code int, errText string) redrive.ItemResult {
				return redrive.ItemResult{RunID: s.manifest.RunID, RequestID: id, Key: id, Mode: redrive.ModeInplace, State: st,
					Attempts: attempts, HTTPStatus: code, Error: errText}
			}
			rep := &redrive.Report{RunID: s.manifest.RunID, Env: "prod-eu", Mode: redrive.ModeInplace, Target: s.summary.Target,
				JournalPath: r.JournalPath(), Outcome: redrive.OutcomeFailed, Started: started, Finished: testNow,
				Counts: redrive.Counts{Delivered: 1, Failed: 1, Skipped: 1, Unknown: 1},
				Items: []redrive.ItemResult{
					item(idJSON, redrive.StateSkipped, 0, 0, ""),
					item(idXML, redrive.StateDelivered, 1, 200, ""),
					item(idMalformed, redrive.StateUnknown, 5, 0, "connection reset after sending"),
					item("6bcf7c8e-0ab9-4d7e-9c9f-d36f9fe18077", redrive.StateFailed, 0, 0, "too large for the gateway: 10485761 bytes, the limit is 10485760 (10 MiB); nothing was sent — redrive it with --mode s3-copy"),
				}}
			f.step(redriveFinishedMsg{seq: s.seq, out: finishResult{report: rep,
				reportPath: redrive.ReportPath(r.JournalPath()), auditPath: "/home/ops/.local/state/stowage/audit.jsonl"}})
			return f
		}},
		{"read_only", func(t *testing.T) *fixture {
			stateHome(t)
			var gw *fakeGateway
			f := newFixture(t, seed, redriveEnv(), withGateway(&gw), production, func(o *Options) { o.Session.Env.ReadOnly = true })
			f.keys("f", "F", "a", "R")
			return f
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.act(t)
			v := f.view()
			checkFrame(t, v, 120, 40)
			requireGolden(t, v) // and its plain twin, for review
			// Smaller screens keep the frame whole: the dialog gives up its middle first.
			for _, sz := range [][2]int{{80, 24}, {60, 15}, {200, 60}} {
				f.step(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				checkFrame(t, f.view(), sz[0], sz[1])
			}
			f.step(tea.WindowSizeMsg{Width: 80, Height: 24})
			if v := plainView(f); !strings.Contains(v, "esc") {
				t.Errorf("at 80x24 the dialog lost its keys:\n%s", v)
			}
		})
	}
}

func TestRedriveForceAndDetail(t *testing.T) {
	state := stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	f.keys("space", "space") // a selection, which the detail view does not use
	// In the detail view, R redrives the open request: a PROCESSED one is skipped...
	f.openRow(idJSON)
	f.keys("R")
	if s := f.m.rd; s == nil || len(s.ids) != 1 || s.ids[0] != idJSON || s.confirm != redrive.ConfirmYesNo {
		t.Fatalf("R in the detail view planned %+v", f.m.rd)
	}
	if !strings.Contains(plainView(f), "1 request already processed: skipped") {
		t.Fatalf("plan:\n%s", plainView(f))
	}
	f.keys("y", "esc")
	if len(gw.sentIDs()) != 0 || f.m.history[idJSON][0].state != redrive.StateSkipped {
		t.Fatalf("an already processed request was sent without force: %v", gw.sentIDs())
	}
	// ... unless forced.
	f.keys("R", "!")
	if !strings.Contains(plainView(f), "force: 1 request already processed will be sent again") {
		t.Fatalf("plan with force:\n%s", plainView(f))
	}
	f.keys("y")
	if got := gw.sentIDs(); len(got) != 1 || got[0] != idJSON {
		t.Fatalf("forced: sent %v", got)
	}
	entries := auditEntries(t, state)
	if len(entries) != 2 || entries[0].Force || !entries[1].Force || entries[1].Counts.Delivered != 1 {
		t.Fatalf("audit: %+v", entries)
	}
	if len(f.m.history[idJSON]) != 2 {
		t.Errorf("history: %+v", f.m.history[idJSON])
	}
}

func TestRedriveUnavailableWithoutWriteClients(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.keys("R")
	if len(f.m.dialogs) != 0 || !strings.Contains(plainView(f), "redrive is not available") {
		t.Fatalf("R without redrive clients:\n%s", plainView(f))
	}
}

func TestNextRate(t *testing.T) {
	for _, tc := range []struct {
		cur, measured float64
		faster        bool
		want          float64
	}{
		{10, 0, true, 20}, {10, 0, false, 5}, {1000, 0, true, 0}, {0, 0, true, 0},
		{0, 37, false, 20}, {0, 0, false, 1000}, {0.5, 0, false, 0.5}, {3, 0, false, 2}, {3, 0, true, 5},
	} {
		if got := nextRate(tc.cur, tc.measured, tc.faster); got != tc.want {
			t.Errorf("nextRate(%g, %g, %v) = %g, want %g", tc.cur, tc.measured, tc.faster, got, tc.want)
		}
	}
}

func TestWatchTimesOut(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	// A processor that never answers: the status stays as it was.
	gw.statuses = newFakeStatuses()
	f.keys("f", "F", "a", "R", "y")
	w := f.m.watch
	if w == nil || w.active() || len(w.runs) != 1 || !w.runs[0].expired || w.runs[0].v.Outcome().Waiting != 2 {
		t.Fatalf("watch %+v", w)
	}
	if w.waited < f.m.opts.Redrive.WatchTimeout {
		t.Fatalf("gave up after %v", w.waited)
	}
	if l := lineWith(plainView(f), idXML); !strings.Contains(l, "↻ 09:30 no new") {
		t.Errorf("row: %q", l)
	}
}

func TestStalePlanIsDropped(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	first := f.step(keyPress("R"))      // plans inplace; not run yet
	second := f.step(keyPress("right")) // asks for s3-copy: the first plan is stale
	f.send(run(first)...)
	if f.m.rd.phase != rdPlanning || f.m.rd.manifest != nil {
		t.Fatalf("a stale plan was taken: phase %d", f.m.rd.phase)
	}
	f.send(run(second)...)
	if f.m.rd.phase != rdPlanned || f.m.rd.manifest.Mode != redrive.ModeS3Copy {
		t.Fatalf("the current plan was not taken: %+v", f.m.rd.manifest)
	}
}

// TestRedriveProgressSmoothed: the first burst does not read as the rate, the ETA never
// assumes more than the limit, the hint that led to the run goes, and the journal path
// fits one line.
func TestRedriveProgressSmoothed(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	f.keys("f", "F", "a")
	if !strings.Contains(f.m.note.text, "R redrives them") {
		t.Fatalf("note %q", f.m.note.text)
	}
	f.keys("R")
	f.step(keyPress("y"))
	if f.m.note.text != "" {
		t.Fatalf("the note stayed while the run starts: %q", f.m.note.text)
	}
	s := f.m.rd
	s.phase = rdRunning
	journal := "/home/ops/.local/state/stowage/redrives/20250314T093000Z-" + s.manifest.RunID + ".journal.jsonl"
	r, err := redrive.New(f.m.sess.Redrive.Run, s.manifest, redrive.Options{JournalPath: filepath.Join(t.TempDir(), "j.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	s.run, s.journal, s.rate = r, journal, 2
	f.keys("R") // the progress in full, with the ETA and the journal
	// The engine measures the rate over its window (tested in redrive); the view shows
	// "measuring" until it has, and then the engine's rate and ETA.
	progress := func(elapsed time.Duration, sent int, rate float64, measured bool, eta time.Duration) string {
		f.step(redriveProgressMsg{seq: s.seq, p: redrive.Progress{RunID: s.manifest.RunID, Total: 40, Sent: sent,
			Elapsed: elapsed, Rate: rate, RateMeasured: measured, ETA: eta, TargetRate: 2, Concurrency: 4,
			Counts: redrive.Counts{Delivered: sent, Pending: 40 - sent}}})
		return plainView(f)
	}
	v := progress(500*time.Millisecond, 12, 0, false, 14*time.Second)
	if !strings.Contains(v, "rate measuring… (limit 2/s)") || !strings.Contains(v, "ETA 14s") {
		t.Fatalf("right after the start:\n%s", v)
	}
	v = progress(3*time.Second, 17, 2, true, 12*time.Second)
	if !strings.Contains(v, "rate 2.0/s (limit 2/s)") || !strings.Contains(v, "ETA 12s") {
		t.Fatalf("after the burst:\n%s", v)
	}
	line := lineWith(v, "journal")
	if !strings.Contains(line, "/home/ops/") || !strings.Contains(line, ".journal.jsonl") || !strings.Contains(line, "…") {
		t.Fatalf("journal line %q", line)
	}
	s.run, s.phase = nil, rdFinished // the run was never started: nothing to wait for
}

// A running redrive's progress is docked under the table: the table keeps its keys (j/k
// move the cursor, / filters, and a c typed there does not cancel the run), the run keeps
// its own (c cancels), R shows it in full and esc hides it.
func TestRedriveDockedKeys(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	f.keys("f", "F", "a", "R")
	f.step(keyPress("y"))
	s := f.m.rd
	s.phase = rdRunning
	r, err := redrive.New(f.m.sess.Redrive.Run, s.manifest, redrive.Options{JournalPath: filepath.Join(t.TempDir(), "j.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	s.run = r
	t.Cleanup(func() { s.run, s.phase = nil, rdFinished }) // never started: nothing to wait for
	f.step(redriveProgressMsg{seq: s.seq, p: redrive.Progress{RunID: s.manifest.RunID, Total: 2, Sent: 1,
		TargetRate: 10, Concurrency: 4, Counts: redrive.Counts{Delivered: 1, Pending: 1}}})
	if f.m.dockedDialog() == nil || f.m.layout().dockH == 0 {
		t.Fatal("the running progress is not docked")
	}
	v := plainView(f)
	if lineWith(v, idXML[:20]) == "" || lineWith(v, idMalformed[:20]) == "" || !strings.Contains(v, "Redriving 2 requests") {
		t.Fatalf("want both rows and the docked progress:\n%s", v)
	}
	cur := f.m.cursor
	f.keys("j")
	if f.m.cursor != cur+1 {
		t.Errorf("j under the docked progress: cursor %d, want %d", f.m.cursor, cur+1)
	}
	f.keys("k")
	if f.m.cursor != cur {
		t.Errorf("k under the docked progress: cursor %d, want %d", f.m.cursor, cur)
	}
	f.keys("/")
	f.typeText("c")
	if s.cancelling {
		t.Fatal("a c typed into the filter cancelled the run")
	}
	f.keys("esc")
	if !f.redriveOnTop() {
		t.Fatal("esc in the filter prompt hid the progress")
	}
	f.keys("R")
	if f.m.dockedDialog() != nil || !strings.Contains(plainView(f), "it keeps running") {
		t.Fatalf("R on the docked progress does not show it in full:\n%s", plainView(f))
	}
	f.keys("esc")
	if f.redriveOnTop() {
		t.Fatal("esc did not hide the progress")
	}
	if f.m.note.text != redriveHiddenNote {
		t.Errorf("hidden, the status line says %q", f.m.note.text)
	}
	f.keys("R")
	if f.m.dockedDialog() == nil {
		t.Fatal("R after esc: the progress is not docked again")
	}
	if f.m.note.text == redriveHiddenNote {
		t.Error("shown again, the status line still says it is hidden")
	}
	// On a screen too small to dock it, the progress is a dialog over the table again,
	// and the table's keys stay with it.
	f.send(tea.WindowSizeMsg{Width: 60, Height: 12})
	if f.m.dockedDialog() != nil || f.m.layout().dockH != 0 {
		t.Error("docked on a 60x12 screen")
	}
	cur = f.m.cursor
	f.keys("j")
	if f.m.cursor != cur {
		t.Error("j moved the cursor under the progress dialog")
	}
	checkFrame(t, f.view(), 60, 12)
	// At 120x40 the preview stays below the table with the dock, as it was before the run.
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	if l := f.m.layout(); l.dockH == 0 || !l.pane || l.beside {
		t.Errorf("at 120x40 the dock moved the preview: %+v", l)
	}
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	f.keys("c")
	if !s.cancelling {
		t.Error("c on the docked progress did not cancel the run")
	}
}

// In production the docked progress has the red frame of every write dialog.
func TestRedriveDockProductionFrame(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw), func(o *Options) {
		o.Session.Env.Name, o.Session.Env.Production = "prod-eu", true
	})
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	f.keys("f", "F", "a", "R")
	s := f.m.rd
	s.phase = rdRunning // as if confirmed: the frame is what is checked
	t.Cleanup(func() { s.phase = rdFinished })
	if f.m.dockedDialog() == nil {
		t.Fatal("the running progress is not docked")
	}
	// DialogProd's thick border, where the others are rounded.
	if v := plainView(f); !strings.HasPrefix(lineWith(v, "Redriving"), "┃") {
		t.Errorf("the docked progress on production has no red frame:\n%s", v)
	}
}

func (f *fixture) redriveOnTop() bool {
	n := len(f.m.dialogs)
	return n > 0 && f.m.dialogs[n-1] == dialog(f.m.rd)
}

func TestMiddleTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		w    int
		want string
	}{
		{"/a/b/c", 10, "/a/b/c"},
		{"/home/ops/redrives/run.jsonl", 11, "/home…jsonl"},
		{"/home/ops/redrives/run.jsonl", 12, "/home….jsonl"},
	} {
		if got := middleTruncate(tc.in, tc.w); got != tc.want || ansi.StringWidth(got) > tc.w {
			t.Errorf("middleTruncate(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
	}
}

// TestRedrivePlanCountsTheRest: the plan lists a few requests and counts the rest.
func TestRedrivePlanCountsTheRest(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		for i := range 12 {
			id := millionRows(12)[i].ID
			o.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow.Add(-time.Hour)}, []byte("{}"))
			s.put(awsclient.Status{RequestID: id, State: "FAILED"})
		}
	}, redriveEnv(), withGateway(&gw))
	f.keys("a", "R")
	v := plainView(f)
	want := "… and " + commas(12-redrive.SampleSize) + " more"
	if !strings.Contains(v, want) || strings.Contains(v, "mores") {
		t.Fatalf("want %q:\n%s", want, v)
	}
}

// Once a cancelled run has stopped, the status line no longer says it is cancelling.
func TestRedriveCancellingNoteEndsWithTheRun(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	gw.block, gw.started = make(chan struct{}), make(chan string, 10)
	f.keys("a", "R")
	var started redriveStartedMsg
	for _, msg := range run(f.step(keyPress("y"))) {
		if m, ok := msg.(redriveStartedMsg); ok {
			started = m
		}
	}
	if started.session == nil {
		t.Fatalf("the run did not start: %v", started.err)
	}
	wait := f.step(started)
	<-gw.started
	run(f.step(keyPress("c")))
	if !f.m.redriveShown() || !strings.Contains(f.m.note.text, "cancelling the redrive") {
		t.Fatalf("c did not cancel with the dialog shown: %q", f.m.note.text)
	}
	close(gw.block)
	// Drive the run's commands by hand up to its end, before any status watch answers.
	cmds := []tea.Cmd{wait}
	for len(cmds) > 0 {
		cmd := cmds[0]
		cmds = cmds[1:]
		for _, msg := range run(cmd) {
			next := f.step(msg)
			if _, ok := msg.(redriveFinishedMsg); ok {
				if f.m.rd.report == nil {
					t.Fatal("the run did not finish")
				}
				if strings.Contains(f.m.note.text, "cancelling") {
					t.Errorf("the run stopped but the status line still says %q", f.m.note.text)
				}
				return
			}
			if _, ok := msg.(redriveProgressMsg); ok && next != nil {
				cmds = append(cmds, next)
			}
		}
	}
	t.Fatal("the run's end was never reported")
}

// The resume and retry hints run stowage as the caller said (the config file named), on
// the environment the run used, with paths quoted for the shell.
func TestRedriveHintsUseTheCommandPrefix(t *testing.T) {
	prefix := "stowage --config '/home/ops/my configs/stowage.yaml'"
	s := &redriveState{envName: "prod-eu", commandPrefix: prefix, reportPath: "/state/run 1.report.jsonl",
		manifest: &redrive.Manifest{Mode: redrive.ModeReupload}}
	if got, want := s.resumeHint("/state/run.journal.jsonl"),
		"Continue with: "+prefix+" --env prod-eu redrive --resume /state/run.journal.jsonl"; got != want {
		t.Errorf("resume hint\n got %s\nwant %s", got, want)
	}
	if got, want := s.retryHint(),
		"retry the failures: "+prefix+" --env prod-eu redrive --from-report '/state/run 1.report.jsonl' --only failed --mode reupload"; got != want {
		t.Errorf("retry hint\n got %s\nwant %s", got, want)
	}
	// The demo names its own temporary config when the caller gave it...
	s.demo, s.commandPrefix = true, "stowage --config /tmp/stowage-demo-1.yaml"
	if got := s.resumeHint("/j"); !strings.Contains(got, "while the demo runs: stowage --config /tmp/stowage-demo-1.yaml --env prod-eu redrive --resume /j") {
		t.Errorf("demo resume hint: %s", got)
	}
	// ...and says where to put it when not.
	s.commandPrefix = ""
	if got := s.retryHint(); !strings.Contains(got, "stowage --config <the demo's config> --env prod-eu redrive") {
		t.Errorf("demo retry hint without a prefix: %s", got)
	}
	s.demo = false
	if got := s.retryHint(); !strings.HasPrefix(got, "retry the failures: stowage --env prod-eu redrive") {
		t.Errorf("retry hint without a prefix: %s", got)
	}
}

// The prefix given in the options reaches the run's dialog, and the env it opens with.
func TestRedriveCommandPrefixReachesTheDialog(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw), func(o *Options) {
		o.Redrive.CommandPrefix = "stowage --config /etc/stowage.yaml"
	})
	f.keys("a", "R")
	if f.m.rd == nil {
		t.Fatal("R opened no plan")
	}
	if got := f.m.rd.resumeHint("/j"); got != "Continue with: stowage --config /etc/stowage.yaml --env staging redrive --resume /j" {
		t.Errorf("resume hint %q", got)
	}
}

// The plan is refused when a run of this environment that has not finished (started,
// never ended: killed, or still running elsewhere) holds some of the selected requests:
// it says why and how to go on, no key sends them anyway, and esc audits the refusal.
func TestRedrivePlanRefusesAnUnfinishedRunsRequests(t *testing.T) {
	state := stateHome(t)
	killedAt := time.Date(2025, 3, 14, 2, 0, 0, 0, time.UTC)
	seedRun := func(env, name string, ids ...string) string {
		m := &redrive.Manifest{Version: redrive.ManifestVersion, RunID: "run-" + name, Env: env, Mode: redrive.ModeInplace, PlannedAt: killedAt}
		for _, id := range ids {
			m.Items = append(m.Items, redrive.Item{RequestID: id, Key: id, Status: "FAILED"})
		}
		path := filepath.Join(state, "redrives", name+".journal.jsonl")
		j, err := redrive.CreateJournal(path, m)
		if err != nil {
			t.Fatal(err)
		}
		j.Close()
		e := redrive.AuditStarted(m, path, redrive.AuditContext{Who: "tester", At: killedAt})
		if err := redrive.AppendAudit(filepath.Join(state, "audit.jsonl"), e); err != nil {
			t.Fatal(err)
		}
		return path
	}
	killed := seedRun("staging", "killed", idXML, idMalformed, "not-selected")
	seedRun("prod", "elsewhere", idXML) // another environment: not this one's business
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	f.keys("f", "F", "a", "R") // the two FAILED requests
	if got := f.m.rd.overlaps; len(got) != 1 || !strings.Contains(got[0], "journal "+killed+", started 2025-03-14T02:00:00Z") ||
		!strings.Contains(got[0], "includes 2 of these requests; --resume it or check it before sending them again") {
		t.Fatalf("overlap warnings %q", got)
	}
	v := strings.Join(strings.Fields(plainView(f)), " ")
	if !strings.Contains(v, "another run (journal") || !strings.Contains(v, "has not finished") {
		t.Errorf("the plan does not show the warning:\n%s", plainView(f))
	}
	if !strings.Contains(v, "Refused, nothing is sent: 2 of these requests are held by 1 unfinished run(s)") {
		t.Errorf("the plan does not show the refusal:\n%s", plainView(f))
	}
	for _, want := range []string{"redrive --resume " + killed, "--allow-overlap"} {
		if !strings.Contains(f.m.rd.refusal, want) {
			t.Errorf("the refusal does not say %q: %s", want, f.m.rd.refusal)
		}
	}
	f.keys("y", "enter", "!", "y")
	if f.m.rd.phase != rdPlanned || len(gw.sentIDs()) != 0 {
		t.Fatalf("a refused plan went on: phase %v, sent %v", f.m.rd.phase, gw.sentIDs())
	}
	f.keys("esc")
	entries, _, err := redrive.LoadAudit(filepath.Join(state, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if last := entries[len(entries)-1]; last.Outcome != redrive.OutcomeRefused || !strings.Contains(last.Reason, "unfinished run") {
		t.Errorf("the refusal is not audited: %+v", last)
	}
}

// The summary says which claims the lease table was not told about, the first few.
func TestLeaseWarningLines(t *testing.T) {
	rep := &redrive.Report{}
	for i := range 5 {
		rep.LeaseWarnings = append(rep.LeaseWarnings, "request r"+strconv.Itoa(i)+": not told \x1b[31m")
	}
	lines := leaseWarningLines(rep, 80)
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "lease: request r0") || lines[3] != "… and 2 more lease warnings" {
		t.Errorf("lines %q", lines)
	}
	for _, l := range lines {
		if strings.Contains(l, "\x1b") {
			t.Errorf("an escape reached the screen: %q", l)
		}
	}
}

// A run from the TUI takes what the environment says as the CLI's does, the lease TTL
// included, and keeps the tuning it was given.
func TestRunOptionsForTakesTheEnvironment(t *testing.T) {
	env := &config.Env{ReadOnly: true}
	env.Gateway.OriginalIDHeader = "X-Orig"
	env.Redrive.LeaseTTL.Duration = 7 * time.Minute
	o := runOptionsFor(env, redrive.Options{MaxAttempts: 9, LeaseTTL: time.Minute})
	if o.MaxAttempts != 9 || !o.ReadOnly || o.OriginalIDHeader != "X-Orig" || o.LeaseTTL != 7*time.Minute {
		t.Errorf("options %+v", o)
	}
}

// The confirmation counts what is sent, not what was selected: skipped and refused
// requests are named beside it.
func TestRedriveSendTextCountsWhatIsSent(t *testing.T) {
	s := &redriveState{mode: redrive.ModeInplace, summary: redrive.Summary{Count: 56, AlreadyDone: 1}}
	if got := s.sendText(); got != "55 requests (1 already processed skipped)" {
		t.Errorf("sendText %q", got)
	}
	s.force = true
	if got := s.sendText(); got != "56 requests" {
		t.Errorf("forced: %q", got)
	}
	s.force, s.summary = false, redrive.Summary{Count: 3, TooLarge: 1}
	if got := s.sendText(); got != "2 requests (1 too large refused)" {
		t.Errorf("too large: %q", got)
	}
}

// journalHas waits (a bounded number of polls, no clock) until the journal at path holds
// text: the engine writes it from its own goroutines.
func journalHas(t *testing.T, path, text string) {
	t.Helper()
	for range 5000 {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), text) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the journal %s never held %q", path, text)
}

// Rows stay true while a run runs: a request the run has delivered shows the status the
// processor wrote, read from the table while the other request is still being sent.
// Goldens at 80x24, 120x40 and 200x50 with the progress docked under the table.
func TestRedriveLiveRows(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			stateHome(t)
			var gw *fakeGateway
			f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
			f.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			gw.block, gw.hold = make(chan struct{}), map[string]bool{idMalformed: true}
			f.keys("f", "F", "a", "R")
			var started redriveStartedMsg
			for _, msg := range run(f.step(keyPress("y"))) {
				if m, ok := msg.(redriveStartedMsg); ok {
					started = m
				}
			}
			if started.session == nil {
				t.Fatalf("the run did not start: %v", started.err)
			}
			t.Cleanup(func() { close(gw.block); f.m.waitForRedrive() })
			f.step(started)                                      // its progress wait and first watch tick are driven below
			journalHas(t, started.journal, `"type":"delivered"`) // only idXML can be: the other is held
			f.step(redriveProgressMsg{seq: f.m.rd.seq, p: redrive.Progress{RunID: f.m.rd.manifest.RunID, Total: 2, Sent: 2,
				Elapsed: time.Second, TargetRate: 10, Concurrency: 4, InFlight: 1, Counts: redrive.Counts{Sending: 1, Delivered: 1}}})
			if line := lineWith(plainView(f), idXML); strings.Contains(line, "PROCESSED") {
				t.Fatalf("read before the watch ran: %q", line)
			}
			// One watch round: the journal says what was delivered; its status is read.
			for _, msg := range run(f.step(watchTickMsg{w: f.m.watch})) {
				f.step(msg) // the next tick is left unrun
			}
			if f.m.rd.phase != rdRunning {
				t.Fatalf("the run ended (phase %d): the rows were not read while it ran", f.m.rd.phase)
			}
			v := plainView(f) // the progress is docked under the table, not over its rows
			if !strings.Contains(v, "Redriving 2 requests") {
				t.Errorf("no docked progress on screen:\n%s", v)
			}
			if l := lineWith(v, idXML[:20]); !strings.Contains(l, "PROCESSED") {
				t.Errorf("the delivered row is stale while the run runs: %q", l)
			}
			if l := lineWith(v, idMalformed[:20]); !strings.Contains(l, "FAILED") {
				t.Errorf("the row still being sent changed: %q", l)
			}
			checkFrame(t, f.view(), size[0], size[1])
			requireGolden(t, f.view())
		})
	}
}

// The outcome after processing, at 80x24, 120x40 and 200x50: one request processed, one
// failed again with the same error; the summary says so, the rows show it.
func TestRedriveOutcomeView(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			stateHome(t)
			var gw *fakeGateway
			f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
			f.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			f.keys("f", "F", "a", "R")
			f.step(keyPress("y")) // confirmed; the run below stands in for the engine's
			s := f.m.rd
			o := redrive.Options{JournalPath: "/home/ops/.local/state/stowage/redrives/20250314T093000Z-" + s.manifest.RunID + ".journal.jsonl"}
			r, err := redrive.New(f.m.sess.Redrive.Run, s.manifest, o)
			if err != nil {
				t.Fatal(err)
			}
			s.run, s.journal, s.phase = r, o.JournalPath, rdRunning
			pre := func(id string) *redrive.StatusRead {
				st, _, _ := f.m.sess.Statuses.Get(context.Background(), id)
				return &redrive.StatusRead{Found: true, State: st.State, Attempts: st.Attempts, UpdatedAt: st.UpdatedAt, Error: st.Error}
			}
			rep := &redrive.Report{RunID: s.manifest.RunID, Env: s.envName, Mode: redrive.ModeInplace, Target: s.summary.Target,
				JournalPath: o.JournalPath, Outcome: redrive.OutcomeDelivered, Started: testNow.Add(-3 * time.Second), Finished: testNow,
				Counts: redrive.Counts{Delivered: 2}}
			for _, id := range []string{idXML, idMalformed} {
				rep.Items = append(rep.Items, redrive.ItemResult{RunID: s.manifest.RunID, RequestID: id, Key: id, Mode: redrive.ModeInplace,
					State: redrive.StateDelivered, Attempts: 1, HTTPStatus: 200, PreSend: pre(id)})
			}
			f.step(redriveFinishedMsg{seq: s.seq, out: finishResult{report: rep,
				reportPath: redrive.ReportPath(o.JournalPath), auditPath: "/home/ops/.local/state/stowage/audit.jsonl"}})
			if v := plainView(f); !strings.Contains(v, "waiting") || !strings.Contains(v, "2 no verdict yet") {
				t.Fatalf("the summary does not wait for the verdict:\n%s", v)
			}
			xml, bad := pre(idXML), pre(idMalformed)
			f.step(watchReadMsg{w: f.m.watch, ids: []string{idXML, idMalformed}, found: map[string]awsclient.Status{
				idXML:       {RequestID: idXML, State: "PROCESSED", Attempts: xml.Attempts + 1, UpdatedAt: testNow},
				idMalformed: {RequestID: idMalformed, State: "FAILED", Attempts: bad.Attempts + 1, UpdatedAt: testNow, Error: bad.Error},
			}})
			v := plainView(f)
			for _, want := range []string{"Redrive finished", "! 2 requests: 2 delivered",
				"2 delivered → 1 PROCESSED, 1 FAILED again (same error)"} {
				if !strings.Contains(v, want) {
					t.Errorf("the outcome lacks %q:\n%s", want, v)
				}
			}
			checkFrame(t, f.view(), size[0], size[1])
			requireGolden(t, f.view())
			f.keys("esc")
			v = plainView(f)
			if l := rowWith(v, idMalformed[:12]); !strings.Contains(l, "✗ again") {
				t.Errorf("the row failed again does not say so: %q", l)
			}
			if l := rowWith(v, idXML[:12]); !strings.Contains(l, "sent ✓") {
				t.Errorf("the processed row: %q\n%s", l, v)
			}
		})
	}
}

// rowWith is the table row of the request whose ID starts with prefix.
func rowWith(view, prefix string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " ▸✓"), prefix) {
			return l
		}
	}
	return ""
}

// The docked progress (for view.go to place under the table): what runs, the bar, the
// counts, the verdicts so far and the keys, in at most dockMaxLines lines at every width.
func TestRedriveDock(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	f.keys("f", "F", "a", "R")
	s := f.m.rd
	s.phase, s.rate = rdRunning, 10
	s.progress = redrive.Progress{Total: 56, Counts: redrive.Counts{Delivered: 26, Pending: 30}, Rate: 9.8, RateMeasured: true}
	w := &watchState{}
	v := redrive.NewVerdicts(nil, nil)
	for _, id := range []string{"a", "b", "c"} {
		v.Add(redrive.VerdictTarget{Origin: id, ReadID: id})
	}
	v.Absorb([]string{"a", "b"}, map[string]awsclient.Status{"a": {State: "FAILED"}, "b": {State: "FAILED"}})
	w.runs = append(w.runs, &watchRun{rd: s, v: v, live: true})
	s.watch = w
	if !s.docked() {
		t.Fatal("a running redrive is not docked")
	}
	for _, width := range []int{76, 116, 196} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := s.renderSized(f.m.st, width, dockLines(40)-2)
			lines := strings.Split(out, "\n")
			if len(lines) > dockMaxLines {
				t.Fatalf("%d lines", len(lines))
			}
			for _, l := range lines {
				if ansi.StringWidth(l) > width {
					t.Errorf("a line of %d cells in %d: %q", ansi.StringWidth(l), width, ansi.Strip(l))
				}
			}
			plain := ansi.Strip(out)
			for _, want := range []string{"Redriving 56 requests", "26 of 56 done", "so far 0 PROCESSED · 2 failed again · 1 no verdict yet", "c cancel"} {
				if !strings.Contains(plain, want) {
					t.Errorf("the dock lacks %q:\n%s", want, plain)
				}
			}
			requireGolden(t, out)
		})
	}
	s.phase = rdFinished
	if s.docked() {
		t.Error("the summary is docked: it should ask for attention as a dialog")
	}
}

// Every mode has its line under the mode in the plan (the event modes had none), and a
// batch-ops run's retry line names the engine: --mode lambda alone is the local event
// mode, which sends the processor another event than the job's.
func TestRedriveModeHelpAndBatchRetryHint(t *testing.T) {
	for _, md := range redrive.Modes {
		if modeHelp(md) == "" {
			t.Errorf("%s has no help line", md)
		}
	}
	s := &redriveState{envName: "prod-eu", reportPath: "/r.jsonl", manifest: &redrive.Manifest{Mode: redrive.ModeLambda},
		batch: &batchState{}}
	if got := s.retryHint(); !strings.HasSuffix(got, "--only failed --engine batch-ops --mode lambda") {
		t.Errorf("batch retry hint: %s", got)
	}
}
