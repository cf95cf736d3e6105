package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/trace"
	"github.com/stowage-cli/stowage/internal/trace/tracetest"
)

// The timeline tab's fixtures are internal/trace's timeline tests' (tracetest): a request
// that failed, was redriven and processed; a LOST one; one without logs:.
func tlFailedRedrivenProcessed(id string) trace.Inputs {
	return tracetest.FailedRedrivenProcessed("test", id)
}
func tlLost(id string) trace.Inputs   { return tracetest.Lost("test", id) }
func tlNoLogs(id string) trace.Inputs { return tracetest.NoLogs("test", id) }

// gatherings counts the tab's gatherings and keeps the sources of the last.
type gatherings struct {
	n   int
	src trace.Sources
}

// withTimeline makes the tab gather in, counting the gatherings (rec nil: not counted).
func withTimeline(t *testing.T, in func(id string) trace.Inputs, rec *gatherings) {
	t.Helper()
	old := gatherTimeline
	gatherTimeline = func(ctx context.Context, src trace.Sources, id, key string) (trace.Inputs, error) {
		if rec != nil {
			rec.n++
			rec.src = src
		}
		return in(id), nil
	}
	t.Cleanup(func() { gatherTimeline = old })
}

// timelineOf opens the timeline tab of idJSON, gathered as in, on a 120x40 screen.
func timelineOf(t *testing.T, in func(id string) trace.Inputs) (*fixture, *timelineState) {
	t.Helper()
	withTimeline(t, in, nil)
	f := newFixture(t, seedRequests)
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	openTimeline(f, idJSON)
	return f, f.m.detail.tl
}

// openTimeline opens the request full screen and tabs to the timeline.
func openTimeline(f *fixture, id string) {
	f.t.Helper()
	f.openRow(id)
	f.keys("tab", "tab", "tab")
	if f.m.detail.tab != tabTimeline {
		f.t.Fatalf("tab is %v, want the timeline", f.m.detail.tab)
	}
}

// TestTimelineTabGoldens: the timeline tab of the three stories at 80x24, 120x40, 200x50.
func TestTimelineTabGoldens(t *testing.T) {
	stories := []struct {
		name string
		in   func(string) trace.Inputs
		want []string
	}{
		{"FailedRedrivenProcessed", tlFailedRedrivenProcessed, []string{"arrived", "ERROR parse", "redrive inplace: delivered", "INFO processed"}},
		{"Lost", tlLost, []string{"LOST"}},
		{"NoLogsConfig", tlNoLogs, []string{"logs:", "processor_groups"}},
	}
	for _, s := range stories {
		for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
			t.Run(fmt.Sprintf("%s/%dx%d", s.name, size[0], size[1]), func(t *testing.T) {
				withTimeline(t, s.in, nil)
				f := newFixture(t, seedRequests)
				f.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				openTimeline(f, idJSON)
				v := plainView(f)
				if size[1] >= 40 {
					for _, w := range s.want {
						if !strings.Contains(v, w) {
							t.Errorf("%q missing:\n%s", w, v)
						}
					}
				}
				checkFrame(t, f.view(), size[0], size[1])
				requireGolden(t, f.view())
			})
		}
	}
}

// TestTimelineTabOpensALogLine: the cursor walks the entries; enter on the processor's
// error opens it whole and pretty; y offers it and the Logs Insights query; esc goes back
// to the timeline, then to the list.
func TestTimelineTabOpensALogLine(t *testing.T) {
	f, tl := timelineOf(t, tlFailedRedrivenProcessed)
	errAt := -1
	for i, e := range tl.tl.Entries {
		if e.Error && e.Message != "" {
			errAt = i
			break
		}
	}
	if errAt < 0 {
		t.Fatal("no error log line in the fixture's timeline")
	}
	for range errAt {
		f.keys("down")
	}
	if tl.cursor != errAt {
		t.Fatalf("cursor %d, want %d", tl.cursor, errAt)
	}
	f.keys("enter")
	v := plainView(f)
	for _, want := range []string{"Log line", `"errorType": "parse"`, "esc back to the timeline"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing from the opened line:\n%s", want, v)
		}
	}
	t.Run("Opened", func(t *testing.T) { requireGolden(t, f.view()) })
	f.keys("y")
	v = plainView(f)
	if !strings.Contains(v, "log line") || !strings.Contains(v, "Logs Insights query") {
		t.Errorf("the copy menu does not offer the line and the query:\n%s", v)
	}
	f.keys("esc", "esc")
	if f.m.mode != modeDetail || f.m.detail.tl.open != -1 {
		t.Fatalf("esc did not go back to the timeline (mode %v, open %d)", f.m.mode, f.m.detail.tl.open)
	}
	f.keys("enter") // the error line again
	f.keys("esc", "esc")
	if f.m.mode != modeList {
		t.Fatalf("esc from the timeline: mode %v", f.m.mode)
	}
	if f.m.detail != nil && f.m.detail.tab == tabTimeline {
		t.Errorf("the pane kept the timeline tab")
	}
}

// TestTimelineTabGathersWithWhatTheDetailRead: the tab hands Gather the object and the
// status item the detail read, so that the log lines are read beside the fresh reads
// (two round trips, as BenchmarkTimeline20ms/detail), not after them.
func TestTimelineTabGathersWithWhatTheDetailRead(t *testing.T) {
	var calls gatherings
	withTimeline(t, tlFailedRedrivenProcessed, &calls)
	f := newFixture(t, seedRequests)
	openTimeline(f, idJSON)
	d := f.m.detail
	k := calls.src.Known
	if k == nil || k.Object == nil || k.Object.ETag != d.obj.ETag || !k.Object.LastModified.Equal(d.obj.LastModified) {
		t.Fatalf("the detail's object was not handed on: %+v (the detail's: %+v)", k, d.obj)
	}
	if k.Status == nil || k.Status.State != d.st.State || !d.stFound {
		t.Errorf("the detail's status item was not handed on: %+v (found %v: %+v)", k.Status, d.stFound, d.st)
	}
}

// TestTimelineTabOpensAnInvocation: an invocation's entry (its START, END and REPORT
// joined) opens to those lines whole.
func TestTimelineTabOpensAnInvocation(t *testing.T) {
	f, tl := timelineOf(t, tlFailedRedrivenProcessed)
	at := slices.IndexFunc(tl.tl.Entries, func(e trace.Entry) bool { return e.Invocation != "" })
	if at < 0 {
		t.Fatal("no invocation in the fixture's timeline")
	}
	for range at {
		f.keys("down")
	}
	if v := plainView(f); !strings.Contains(v, "invocation 6f1d2b7a…: 37.52 ms, 87/512 MB") || !strings.Contains(v, "│ REPORT RequestId: ") {
		t.Errorf("the invocation's row and its REPORT under the cursor:\n%s", v)
	}
	f.keys("enter")
	v := plainView(f)
	for _, want := range []string{"START RequestId: " + tracetest.Lambda, "END RequestId: ", "Max Memory Used: 87 MB"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing from the opened invocation:\n%s", want, v)
		}
	}
	t.Run("Opened", func(t *testing.T) { requireGolden(t, f.view()) })
}

// TestTimelineTabShowsTheFirstRoundFirst: what the first round read shows at once, with
// a note that more is coming; the whole timeline replaces it, keeping the cursor on its
// entry; a first round arriving after the whole timeline is dropped.
func TestTimelineTabShowsTheFirstRoundFirst(t *testing.T) {
	var early trace.Timeline
	old := gatherTimeline
	t.Cleanup(func() { gatherTimeline = old })
	gatherTimeline = func(ctx context.Context, src trace.Sources, id, key string) (trace.Inputs, error) {
		in := tlFailedRedrivenProcessed(id)
		first := in
		first.Partial = true
		first.Logs = &awsclient.LogResult{Query: in.Logs.Query}
		for _, e := range in.Logs.Events {
			if trace.InvocationOf(e.Message) == "" || !strings.Contains(e.Message, "RequestId: ") {
				first.Logs.Events = append(first.Logs.Events, e)
			}
		}
		early = trace.Build(first)
		src.First(first)
		return in, nil
	}
	f := newFixture(t, seedRequests)
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	f.openRow(idJSON)
	f.keys("tab", "tab")
	d := f.m.detail
	// The first round alone: its entries and the note, and the cursor moved onto the error.
	cmd := f.step(tea.KeyPressMsg{Code: tea.KeyTab})
	msgs := run(cmd)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the first round's and the whole timeline's", len(msgs))
	}
	f.send(msgs[0])
	if !d.tl.partial || !strings.Contains(plainView(f), trace.PartialNote[:40]) || strings.Contains(plainView(f), "invocation ") {
		t.Fatalf("the first round is not shown alone:\n%s", plainView(f))
	}
	errAt := slices.IndexFunc(early.Entries, func(e trace.Entry) bool { return e.Error && e.Message != "" })
	for range errAt {
		f.keys("down")
	}
	f.send(msgs[1])
	if d.tl.partial || strings.Contains(plainView(f), trace.PartialNote[:40]) || !strings.Contains(plainView(f), "invocation 6f1d2b7a") {
		t.Fatalf("the whole timeline did not replace the first round's:\n%s", plainView(f))
	}
	if e := d.tl.tl.Entries[d.tl.cursor]; !strings.HasPrefix(e.Summary, "ERROR parse") {
		t.Errorf("the cursor moved off its entry to %q", e.Summary)
	}
	f.send(msgs[0])
	if d.tl.partial {
		t.Error("a first round arriving after the whole timeline replaced it")
	}
}

// TestTimelineTabGathersOnceAndDropsStale: the tab gathers when it first opens and on r,
// not on every visit; an answer for an earlier gathering or another request is dropped.
func TestTimelineTabGathersOnceAndDropsStale(t *testing.T) {
	var calls gatherings
	withTimeline(t, tlLost, &calls)
	f := newFixture(t, seedRequests)
	openTimeline(f, idJSON)
	f.keys("tab", "tab", "tab", "tab")
	if calls.n != 1 {
		t.Fatalf("gathered %d times for two visits, want 1", calls.n)
	}
	f.keys("r")
	if calls.n != 2 {
		t.Fatalf("r gathered %d times, want 2", calls.n)
	}
	d := f.m.detail
	before := len(d.tl.tl.Entries)
	f.send(timelineReadMsg{gen: f.m.gen, seq: d.tl.seq - 1, id: d.id, tl: trace.Timeline{}})
	f.send(timelineReadMsg{gen: f.m.gen, seq: d.tl.seq, id: "another", tl: trace.Timeline{}})
	if len(d.tl.tl.Entries) != before {
		t.Fatalf("a stale answer replaced the timeline")
	}
}

// TestTimelineTabWithoutLogs: through the real trace.Gather over the session's stores, an
// environment without logs: gets the note that says how to add one.
func TestTimelineTabWithoutLogs(t *testing.T) {
	stateHome(t)
	f := newFixture(t, seedRequests)
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	openTimeline(f, idJSON)
	v := plainView(f)
	for _, want := range []string{"no logs: section", "processor_groups:", "status"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing:\n%s", want, v)
		}
	}
}
