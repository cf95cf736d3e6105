package tui

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/awsclient"
)

// ChangedSince answers the auto-refresh's index read: items in state updated after since,
// oldest first.
func (f *fakeStatuses) ChangedSince(ctx context.Context, state string, since time.Time, limit int) ([]awsclient.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	var out []awsclient.Status
	for _, st := range f.items {
		if st.State == state && st.UpdatedAt.After(since) {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpdatedAt.Before(out[j].UpdatedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// seedClasses adds failures of three causes to seedRequests: a burst of XML syntax errors
// (permanent), a trickle of timeouts (transient) and one unknown.
func seedClasses(o *fakeObjects, s *fakeStatuses) {
	seedRequests(o, s)
	add := func(n int, age time.Duration, state, msg string) {
		id := fmt.Sprintf("c1a55e%02d-0000-4000-8000-%012d", n, n)
		o.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow.Add(-age), ContentType: "application/xml"}, []byte("<order/>"))
		s.put(awsclient.Status{RequestID: id, State: state, Attempts: 1, Error: msg, UpdatedAt: testNow.Add(-age + 10*time.Second)})
	}
	for i := range 9 {
		add(i, time.Duration(20+i)*time.Minute, "FAILED", fmt.Sprintf("XML syntax error at line %d, column %d: unexpected EOF", i+3, i*2+1))
	}
	for i := range 4 {
		add(10+i, time.Duration(2+i*90)*time.Minute, "FAILED", fmt.Sprintf("upstream timeout after %dms calling inventory-%d.internal:8443", 3000+i, i))
	}
	add(20, 30*time.Hour, "FAILED", "customer 42 is blocked")
}

func TestClassesView(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			f := newFixture(t, seedClasses)
			f.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			f.keys("E")
			v := plainView(f)
			for _, want := range []string{"Failure classes", "XML syntax error at", "unexpected EOF", "permanent", "transient"} {
				if !strings.Contains(v, want) {
					t.Errorf("%q missing:\n%s", want, v)
				}
			}
			checkFrame(t, f.view(), sz[0], sz[1])
			requireGolden(t, f.view())
		})
	}
}

// TestClassesCountAndShare: one class per cause, counted whole, worst first.
func TestClassesCountAndShare(t *testing.T) {
	f := newFixture(t, seedClasses)
	f.keys("E")
	c := f.m.cls
	if !c.done || c.grouping {
		t.Fatalf("the classes are not read: done %v grouping %v", c.done, c.grouping)
	}
	var got []string
	for _, cl := range c.classes {
		got = append(got, fmt.Sprintf("%d %s %.2f", cl.Count, cl.Kind, cl.Share))
	}
	// 9 XML, 4 timeouts, 1 blocked, plus the seed's schema and JSON failures.
	want := []string{"9 permanent 0.56", "4 transient 0.25"}
	if len(got) < 2 || !slices.Equal(got[:2], want) {
		t.Fatalf("classes %v, want first %v", got, want)
	}
}

// TestTimeWindowAppliesEverywhere: t narrows the table, the counts, the classes and the
// chart to the same window, and T takes a range typed by hand.
func TestTimeWindowAppliesEverywhere(t *testing.T) {
	f := newFixture(t, seedClasses)
	total := f.m.all.Len()
	f.keys("t") // last 1h
	if f.m.win.label() != "last 1h" {
		t.Fatalf("window %q", f.m.win.label())
	}
	in := 0
	for i := range f.m.all.rows {
		if r := &f.m.all.rows[i]; r.arrived() >= testNow.Add(-time.Hour).UnixNano() {
			in++
		}
	}
	if n := f.m.all.ViewLen(); n != in || n == total {
		t.Fatalf("the table shows %d rows, want the %d of %d in the last hour", n, in, total)
	}
	if h := plainView(f); !strings.Contains(h, "window last 1h · "+fmt.Sprint(in)+" of "+fmt.Sprint(total)+" in it") {
		t.Fatalf("the header does not show the window:\n%s", h)
	}
	known := f.m.statuses.listedKnown()
	if known > in {
		t.Fatalf("the counts cover %d rows, more than the %d in the window", known, in)
	}
	f.keys("L")
	if n := f.m.lostSet.ViewLen(); n != 1 || f.m.lostSet.Len() != 2 {
		t.Fatalf("LOST in the last hour: %d shown of %d, want the 40-minute-old one of 2", n, f.m.lostSet.Len())
	}
	if c := ansi.Strip(f.m.countsLine()); !strings.Contains(c, "LOST 1 ") {
		t.Fatalf("the counts in the window: %q", c)
	}
	f.keys("esc", "E")
	for _, cl := range f.m.cls.classes {
		if cl.Last.Before(testNow.Add(-time.Hour)) {
			t.Fatalf("class %q last seen %v, outside the window", cl.Key, cl.Last)
		}
		if strings.Contains(cl.Key, "blocked") {
			t.Fatalf("the 30h-old failure is in the 1h window's classes")
		}
	}
	f.keys("esc", "t", "t", "t", "t") // 6h, 24h, 7d, all
	if !f.m.win.all() || f.m.all.ViewLen() != total {
		t.Fatalf("after a full cycle: window %q, %d of %d rows", f.m.win.label(), f.m.all.ViewLen(), total)
	}
	f.keys("T")
	f.typeText("2h 30m")
	f.keys("enter")
	if f.m.win.preset != -1 {
		t.Fatalf("the typed range was not taken: %+v (note %q)", f.m.win, f.m.note.text)
	}
	for i := range f.m.all.ViewLen() {
		r := f.m.all.At(i)
		if at := time.Unix(0, r.arrived()); at.Before(testNow.Add(-2*time.Hour)) || !at.Before(testNow.Add(-30*time.Minute)) {
			t.Fatalf("%s arrived %v, outside 2h..30m ago", r.ID, at)
		}
	}
	f.keys("T")
	f.typeText("yesterday")
	f.keys("enter")
	if f.m.note.level != noteWarn || f.m.win.preset != -1 {
		t.Fatalf("a range that does not parse: note %q, window %+v", f.m.note.text, f.m.win)
	}
}

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in, label string
		err       bool
	}{
		{in: "", label: "all time"},
		{in: "all", label: "all time"},
		{in: "2h", label: "since 03-14 07:30"},
		{in: "2h..1h", label: "03-14 07:30–08:30"},
		{in: "2025-03-13T00:00:00Z 2025-03-14T00:00:00Z", label: "03-13 00:00–03-14 00:00"},
		{in: "1h 2h", err: true},
		{in: "1h 2h 3h", err: true},
		{in: "soon", err: true},
	} {
		w, err := parseWindow(tc.in, testNow)
		if (err != nil) != tc.err || err == nil && w.label() != tc.label {
			t.Errorf("parseWindow(%q) = %q, %v; want %q (error %v)", tc.in, w.label(), err, tc.label, tc.err)
		}
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"", "all", "2h", "2h..1h", "2025-03-13T00:00:00Z 2025-03-14", "1w2d 1d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := parseWindow(s, testNow)
		if err != nil {
			return
		}
		since, until := w.span(testNow)
		if !since.IsZero() && !until.IsZero() && !until.After(since) {
			t.Fatalf("%q: empty window %v..%v", s, since, until)
		}
		_ = w.label()
	})
}

// TestHistogramAgreesWithNumbers: every bucket's bar is drawn from its numbers, and the
// numbers add up to what the window holds.
func TestHistogramAgreesWithNumbers(t *testing.T) {
	f := newFixture(t, seedClasses, func(o *Options) { o.Session.Env.Status.Index = "status-updatedAt" })
	f.keys("t", "t") // 6h
	f.keys("H")
	h := f.m.hist
	arrivals, failed := 0, 0
	for _, b := range h.buckets {
		arrivals += b.Arrivals
		failed += b.Failed
	}
	if arrivals != f.m.all.ViewLen() {
		t.Fatalf("the chart counts %d arrivals, the table shows %d in the window", arrivals, f.m.all.ViewLen())
	}
	wantFailed := 0
	for _, fl := range f.m.cls.failures {
		if !fl.At.Before(testNow.Add(-6*time.Hour)) && !fl.At.After(testNow) {
			wantFailed++
		}
	}
	if failed != wantFailed {
		t.Fatalf("the chart counts %d failed, the index has %d in the window", failed, wantFailed)
	}
	processed := 0
	for _, b := range h.buckets {
		processed += b.Processed
	}
	if h.processedFrom != "the index" || processed != 1 {
		t.Fatalf("processed %d from %q, want the 1 PROCESSED item from the index", processed, h.processedFrom)
	}
	v := plainView(f)
	if !strings.Contains(v, "total") || !strings.Contains(v, fmt.Sprint(arrivals)) {
		t.Fatalf("the total line is missing:\n%s", v)
	}
}

func TestHistogramView(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			f := newFixture(t, seedClasses)
			f.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			f.keys("t", "t", "H") // 6h
			checkFrame(t, f.view(), sz[0], sz[1])
			requireGolden(t, f.view())
		})
	}
}

// TestSelectClassAndRedrive: space selects a class's requests, R plans them, and the plan
// says how many failed with a permanent error; P leaves those out.
func TestSelectClassAndRedrive(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedClasses, redriveEnv(), withGateway(&gw))
	f.keys("E", "down") // the timeouts: transient
	cl, _ := f.m.selectedClass()
	if cl.Kind != kindTransient {
		t.Fatalf("second class %q is %s", cl.Key, cl.Kind)
	}
	f.keys("R")
	s := f.m.rd
	if s == nil || s.phase != rdPlanned || len(s.ids) != cl.Count {
		t.Fatalf("R on a class planned %v", s)
	}
	if s.perm.Permanent != 0 || s.perm.Transient != cl.Count {
		t.Fatalf("permanence of the timeouts: %+v", s.perm)
	}
	f.keys("y")
	if v := plainView(f); !strings.Contains(v, "by class") || !strings.Contains(lineWith(v, "by class"), "4 processed · transient · upstream timeout") {
		t.Errorf("the summary does not give the outcome by class:\n%s", v)
	}
	sent := gw.sentIDs()
	slices.Sort(sent)
	ids := slices.Clone(cl.IDs)
	slices.Sort(ids)
	if !slices.Equal(sent, ids) {
		t.Fatalf("sent %v, want the class %v", sent, ids)
	}
}

func TestRedrivePlanPermanence(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			stateHome(t)
			var gw *fakeGateway
			f := newFixture(t, seedClasses, redriveEnv(), withGateway(&gw))
			f.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			f.keys("E", "a", "R")
			s := f.m.rd
			if s == nil || s.phase != rdPlanned {
				t.Fatalf("no plan: %v", s)
			}
			if s.perm.Permanent == 0 || !strings.Contains(plainView(f), "failed with a permanent error") {
				t.Fatalf("the plan does not say what will fail again (%+v):\n%s", s.perm, plainView(f))
			}
			checkFrame(t, f.view(), sz[0], sz[1])
			requireGolden(t, f.view())
			n := len(s.ids)
			f.keys("P")
			if s.allIDs == nil || len(s.ids) != n-s.allPermanent() {
				t.Fatalf("P: %d of %d ids kept", len(s.ids), n)
			}
			if s.perm.Permanent != 0 || !strings.Contains(plainView(f), "left out") {
				t.Fatalf("after P the plan still holds permanent failures:\n%s", plainView(f))
			}
			f.keys("P")
			if len(s.ids) != n || s.allIDs != nil {
				t.Fatalf("P again: %d ids, want %d", len(s.ids), n)
			}
		})
	}
}

// allPermanent is how many of the selection were left out as permanent.
func (s *redriveState) allPermanent() int { return len(s.allIDs) - len(s.ids) }

// TestAutoRefreshShowsNewFailure: a failure written after the TUI opened appears at the
// top of the table, marked, with a note; a throttled round backs off.
func TestAutoRefreshShowsNewFailure(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.m.opts.Refresh = 5 * time.Second // on, but rounds are driven by hand, not by timers
	f.m.sess.Env.Status.Index = "status-updatedAt"
	f.m.auto.since = testNow
	id := "f7e5a11e-0000-4000-8000-000000000001"
	f.objects.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow.Add(time.Second), ContentType: "application/json"}, []byte(`{}`))
	f.statuses.put(awsclient.Status{RequestID: id, State: "FAILED", Error: "upstream timeout", UpdatedAt: testNow.Add(2 * time.Second)})
	old := "5abe6b7d-9fa8-4c6d-8b8e-c25e8ed07f66" // listed last (26h ago): it fails again now
	f.statuses.put(awsclient.Status{RequestID: old, State: "FAILED", Error: "upstream timeout", UpdatedAt: testNow.Add(3 * time.Second)})
	f.exec(f.m.autoRound())
	if top := []string{f.m.all.At(0).ID, f.m.all.At(1).ID}; !slices.Contains(top, id) || !slices.Contains(top, old) {
		t.Fatalf("the new failures are not at the top: %v", top)
	}
	v := plainView(f)
	if !strings.Contains(lineWith(v, id), "●") || !strings.Contains(lineWith(v, old), "●") || !strings.Contains(v, "2 new failures") {
		t.Fatalf("the new failure is not marked:\n%s", v)
	}
	// Read again: nothing new, no second note.
	f.m.note = note{}
	f.exec(f.m.autoRound())
	if f.m.note.text != "" {
		t.Fatalf("a second round repeats the news: %q", f.m.note.text)
	}
	// Once processed, a new failure goes back to its place.
	f.statuses.put(awsclient.Status{RequestID: old, State: "PROCESSED", UpdatedAt: testNow.Add(4 * time.Second)})
	f.exec(f.m.autoRound())
	if f.m.all.At(f.m.all.ViewLen()-1).ID != old || strings.Contains(lineWith(plainView(f), old), "●") {
		t.Fatalf("a processed request stays pinned:\n%s", plainView(f))
	}
	f.statuses.err = &awsclient.Error{Kind: awsclient.KindThrottled, Op: "Query", Resource: "order-status", Code: "ProvisionedThroughputExceededException"}
	cmd := f.step(autoReadMsg{gen: f.m.gen, seq: f.m.auto.seq, idxErr: f.statuses.err})
	if cmd == nil || f.m.auto.interval != 10*time.Second || !strings.Contains(plainView(f), "throttled") {
		t.Fatalf("a throttled round: interval %v", f.m.auto.interval)
	}
}

// TestAutoRefreshReadBudget: one round never asks for more than read_budget × interval.
func TestAutoRefreshReadBudget(t *testing.T) {
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		for i := range 300 {
			id := fmt.Sprintf("b0d9e700-0000-4000-8000-%012d", i)
			o.put(awsclient.Object{Key: id, RequestID: id, LastModified: testNow.Add(-time.Duration(i) * time.Second)}, []byte("{}"))
			s.put(awsclient.Status{RequestID: id, State: "FAILED", Error: "boom", UpdatedAt: testNow.Add(time.Duration(i+1) * time.Millisecond)})
		}
	})
	f.m.opts.Refresh = time.Second
	f.m.sess.Env.ReadBudget = 20
	f.m.sess.Env.Status.Index = "status-updatedAt"
	f.m.auto.since = testNow
	cmd := f.m.autoRound()
	msg := cmd().(autoReadMsg)
	if reads := len(msg.ids) + len(msg.failed); reads > 20 || len(msg.failed) == 0 {
		t.Fatalf("one round read %d items (%d new failures), the budget is 20", reads, len(msg.failed))
	}
	f.step(msg)
}

// TestAutoRefreshToggle: ctrl+r turns it off and on, and the header says which.
func TestAutoRefreshToggle(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.m.opts.Refresh = 5 * time.Second
	f.m.auto.off = false
	if !strings.Contains(plainView(f), "auto 5s") {
		t.Fatalf("the header does not show the auto-refresh:\n%s", plainView(f))
	}
	f.step(tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl})
	if !f.m.auto.off || !strings.Contains(plainView(f), "auto off") {
		t.Fatalf("ctrl+r did not turn it off:\n%s", plainView(f))
	}
}

// TestAutoRefreshWithoutIndex: with no status index the rounds read the rows on screen
// only, and do not report a failure every round.
func TestAutoRefreshWithoutIndex(t *testing.T) {
	f := newFixture(t, seedRequests)
	f.m.opts.Refresh = 5 * time.Second
	f.statuses.put(awsclient.Status{RequestID: idXML, State: "PROCESSED", UpdatedAt: testNow.Add(time.Second)})
	f.exec(f.m.autoRound())
	if f.m.auto.err != nil || !strings.Contains(lineWith(plainView(f), idXML), "PROCESSED") {
		t.Fatalf("the row on screen was not read again (err %v):\n%s", f.m.auto.err, plainView(f))
	}
}

// TestHistoryTab: the detail's history tab lists the request's redrives from the journals
// on this machine, including runs this session did not make.
func TestHistoryTab(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), withGateway(&gw))
	f.openRow(idXML)
	f.keys("tab", "tab")
	if v := plainView(f); !strings.Contains(v, "no redrive on this machine has held this request") {
		t.Fatalf("before any redrive:\n%s", v)
	}
	f.keys("esc")
	f.openRow(idXML)
	f.keys("esc", "space", "R", "y")
	if len(gw.sentIDs()) != 1 {
		t.Fatalf("sent %v", gw.sentIDs())
	}
	f.keys("esc")
	// A new session on the same machine: the history comes from the journal, not memory.
	g := newFixture(t, seedRequests, redriveEnv())
	g.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	g.openRow(idXML)
	g.keys("tab", "tab")
	v := plainView(g)
	for _, want := range []string{"history (1)", "Redrives of this request · 1 run", "delivered", "inplace", "by tester"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing from the history tab:\n%s", want, v)
		}
	}
	g.keys("tab")
	if g.m.detail.tab != tabTimeline {
		t.Fatalf("tab after history: %v", g.m.detail.tab)
	}
	g.keys("tab")
	if g.m.detail.tab != tabPayload {
		t.Fatalf("tab after the timeline: %v", g.m.detail.tab)
	}
}

// TestClassesFollowRedrive: a class redriven and processed leaves the classes view, and
// the cursor stays on its class while the others reorder.
func TestClassesFollowRedrive(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedClasses, redriveEnv(), withGateway(&gw))
	f.keys("E", "down")
	cl, _ := f.m.selectedClass()
	key := cl.Key
	f.keys("R", "y", "esc")
	for _, c := range f.m.cls.classes {
		if c.Key == key {
			t.Fatalf("the redriven class %q is still listed with %d", key, c.Count)
		}
	}
	f.keys("down")
	sel, _ := f.m.selectedClass()
	f.m.cls.failures = append(f.m.cls.failures, failure{ID: "x", Error: "customer 7 is blocked", At: testNow})
	f.m.cls.ids["x"] = len(f.m.cls.failures) - 1
	f.exec(f.m.groupClasses())
	if now, _ := f.m.selectedClass(); now.Key != sel.Key {
		t.Fatalf("the cursor moved from %q to %q as the classes reordered", sel.Key, now.Key)
	}
}

// TestWindowStatusOnlyRows: a request known only from the status table (no object listed)
// goes by its status's last update in the window.
func TestWindowStatusOnlyRows(t *testing.T) {
	const gone = "9a9a9a9a-0000-4000-8000-000000000009"
	f := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
		seedRequests(o, s)
		s.put(awsclient.Status{RequestID: gone, State: "FAILED", Error: "expired", UpdatedAt: testNow.Add(-30 * time.Hour)})
	})
	f.keys("f", "F")
	if f.m.byState.IndexOfID(gone) < 0 {
		t.Fatalf("the status-only request is not in the FAILED view")
	}
	f.keys("t") // 1h
	if f.m.byState.IndexOfID(gone) >= 0 {
		t.Fatalf("a request that failed 30h ago shows in the last hour")
	}
}
