package trace_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/trace"
	"github.com/stowage-cli/stowage/internal/trace/tracetest"
	"github.com/stowage-cli/stowage/redrive"
)

type fakeObjects struct {
	obj *awsclient.Object
	// wait, when set, holds the HEAD until it is closed or the context ends.
	wait chan struct{}
}

var errMissing = errors.New("no such key")

func (f fakeObjects) Head(ctx context.Context, _ string) (awsclient.Object, error) {
	if f.wait != nil {
		select {
		case <-f.wait:
		case <-ctx.Done():
			return awsclient.Object{}, ctx.Err()
		}
	}
	if f.obj == nil {
		return awsclient.Object{}, errMissing
	}
	return *f.obj, nil
}

func (f fakeObjects) Versions(context.Context, string) ([]awsclient.ObjectVersion, error) {
	return nil, nil
}

type fakeStatuses struct {
	st *awsclient.Status
	// others are the items of other request IDs (nil: st answers for every ID).
	others map[string]*awsclient.Status
}

func (f fakeStatuses) Get(_ context.Context, rid string) (awsclient.Status, bool, error) {
	st := f.st
	if f.others != nil && rid != id {
		st = f.others[rid]
	}
	if st == nil {
		return awsclient.Status{}, false, nil
	}
	return *st, true, nil
}

type fakeLogs struct {
	mu      sync.Mutex
	terms   []string
	windows [][]awsclient.LogWindow
	events  map[string][]awsclient.LogEvent
	// found is closed at the first call (when set).
	found chan struct{}
}

// Find answers the lines of term in the windows.
func (f *fakeLogs) Find(_ context.Context, term string, ws []awsclient.LogWindow, _ []string) (*awsclient.LogResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.found != nil && len(f.terms) == 0 {
		close(f.found)
	}
	f.terms = append(f.terms, term)
	f.windows = append(f.windows, ws)
	var evs []awsclient.LogEvent
	for _, e := range f.events[term] {
		for _, w := range ws {
			if !e.At.Before(w.Start) && !e.At.After(w.End) {
				evs = append(evs, e)
				break
			}
		}
	}
	return &awsclient.LogResult{Events: evs, Windows: ws, Query: awsclient.InsightsQuery(term)}, nil
}

// calls are the windows each call read for term.
func (f *fakeLogs) calls(term string) [][]awsclient.LogWindow {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]awsclient.LogWindow
	for i, t := range f.terms {
		if t == term {
			out = append(out, f.windows[i])
		}
	}
	return out
}

// storyLogs answers the lines of tracetest's FailedRedrivenProcessed: the function's by
// the request ID, the platform lines (and the function's again) by each awsRequestId.
func storyLogs() *fakeLogs {
	f := &fakeLogs{events: map[string][]awsclient.LogEvent{}}
	for _, e := range failedRedrivenProcessed().Logs.Events {
		if strings.Contains(e.Message, id) {
			f.events[id] = append(f.events[id], e)
		}
		for _, l := range []string{tracetest.Lambda, tracetest.Relambda} {
			if strings.Contains(e.Message, l) {
				f.events[l] = append(f.events[l], e)
			}
		}
	}
	return f
}

// storySources are the sources of FailedRedrivenProcessed: its object and status item,
// its redrive run, its lines.
func storySources(logs *fakeLogs) trace.Sources {
	in := failedRedrivenProcessed()
	env := &config.Env{Name: "demo", Storage: config.Storage{Bucket: "b"}, Logs: logsConfig, Status: config.Status{ReceivedAttr: "receivedAt"}}
	st := *in.Status
	st.Item = map[string]any{"requestId": id, "status": st.State, "receivedAt": arrived.Format(time.RFC3339Nano)}
	return trace.Sources{Env: env, Objects: fakeObjects{obj: in.Object}, Statuses: fakeStatuses{st: &st}, Logs: logs,
		MissingObject: func(err error) bool { return errors.Is(err, errMissing) },
		History: func(string, string) ([]redrive.HistoryRun, error) {
			r := in.Runs[0].HistoryRun
			r.Journal = "/nonexistent"
			return []redrive.HistoryRun{r}, nil
		}}
}

// With what the detail read, the log lines are asked for while the object and the status
// item are read again: the HEAD here answers only once a Find has started (before, the
// windows waited for it, and Gather ran out of time).
func TestGatherReadsTheKnownWindowsBesideTheReads(t *testing.T) {
	logs := storyLogs()
	logs.found = make(chan struct{})
	src := storySources(logs)
	obj := failedRedrivenProcessed().Object
	src.Objects = fakeObjects{obj: obj, wait: logs.found}
	st, _, _ := src.Statuses.Get(t.Context(), id)
	src.Known = &trace.Known{Object: obj, Status: &st}
	var firsts []trace.Inputs
	src.First = func(in trace.Inputs) { firsts = append(firsts, in) }
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	in, err := trace.Gather(ctx, src, id, id)
	if err != nil || in.Object == nil {
		t.Fatalf("gather: %v (object %v)", err, in.Object)
	}
	// The first round is handed on before the rest is read: the request's lines, not yet
	// the invocations' platform lines, and a note that says so.
	if len(firsts) != 1 || !firsts[0].Partial || firsts[0].Logs == nil || in.Partial {
		t.Fatalf("first rounds %+v", firsts)
	}
	for _, e := range firsts[0].Logs.Events {
		if strings.HasPrefix(e.Message, "START ") {
			t.Errorf("the first round has a platform line: %q", e.Message)
		}
	}
	if notes := strings.Join(trace.Build(firsts[0]).Notes, "\n"); !strings.Contains(notes, trace.PartialNote) || strings.Contains(notes, "no processor line") {
		t.Errorf("first round's notes:\n%s", notes)
	}
	// The fresh reads date nothing new: the request's lines are read once.
	if c := logs.calls(id); len(c) != 1 {
		t.Errorf("%d reads of the request's lines, want 1: %+v", len(c), c)
	}
}

// When the fresh reads date a store the detail did not know of, only the window around
// it is read after them.
func TestGatherReadsOnlyTheWindowsTheFreshReadsAdd(t *testing.T) {
	logs := storyLogs()
	src := storySources(logs)
	src.History = nil
	stale := *failedRedrivenProcessed().Object
	stale.LastModified = arrived
	src.Known = &trace.Known{Object: &stale}
	src.First = func(trace.Inputs) {}
	if _, err := trace.Gather(t.Context(), src, id, id); err != nil {
		t.Fatal(err)
	}
	c := logs.calls(id)
	fresh := failedRedrivenProcessed().Object.LastModified
	want := [][]awsclient.LogWindow{
		{{Start: arrived.Add(-time.Minute), End: arrived.Add(15 * time.Minute)}},
		{{Start: fresh.Add(-time.Minute), End: fresh.Add(15 * time.Minute)}},
	}
	if len(c) != 2 || !slices.Equal(c[0], want[0]) || !slices.Equal(c[1], want[1]) {
		t.Errorf("reads %+v, want %+v", c, want)
	}
}

func TestSubtract(t *testing.T) {
	w := func(a, b int) awsclient.LogWindow {
		return awsclient.LogWindow{Start: arrived.Add(time.Duration(a) * time.Minute), End: arrived.Add(time.Duration(b) * time.Minute)}
	}
	for _, c := range []struct {
		windows, cover, want []awsclient.LogWindow
	}{
		{[]awsclient.LogWindow{w(0, 10)}, nil, []awsclient.LogWindow{w(0, 10)}},
		{[]awsclient.LogWindow{w(0, 10)}, []awsclient.LogWindow{w(0, 10)}, nil},
		{[]awsclient.LogWindow{w(0, 10)}, []awsclient.LogWindow{w(-5, 3), w(5, 7)}, []awsclient.LogWindow{w(3, 5), w(7, 10)}},
		{[]awsclient.LogWindow{w(0, 10), w(20, 30)}, []awsclient.LogWindow{w(8, 22)}, []awsclient.LogWindow{w(0, 8), w(22, 30)}},
		{[]awsclient.LogWindow{w(0, 10)}, []awsclient.LogWindow{w(40, 50)}, []awsclient.LogWindow{w(0, 10)}},
	} {
		if got := trace.Subtract(c.windows, c.cover); !slices.Equal(got, c.want) {
			t.Errorf("Subtract(%v, %v) = %v, want %v", c.windows, c.cover, got, c.want)
		}
	}
}

// Each invocation's START, END and REPORT name only its awsRequestId: Gather reads them
// by it, and the timeline joins them into one entry before the function's own lines,
// which stay entries of their own (each once).
func TestGatherJoinsEachInvocationsPlatformLines(t *testing.T) {
	logs := storyLogs()
	in, err := trace.Gather(t.Context(), storySources(logs), id, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{tracetest.Lambda, tracetest.Relambda} {
		if len(logs.calls(l)) != 1 {
			t.Errorf("the platform lines of %s read %d times, want 1", l, len(logs.calls(l)))
		}
	}
	var got []string
	var inv trace.Entry
	for _, e := range trace.Build(in).Entries {
		if e.Source == trace.SourceProcessor {
			got = append(got, e.Summary)
		}
		if e.Invocation == tracetest.Lambda {
			inv = e
		}
	}
	want := []string{"invocation 6f1d2b7a…: 37.52 ms, 87/512 MB, cold start (init 212.09 ms)", "INFO processing",
		"ERROR parse: malformed JSON at line 1, column 9: invalid character '}'",
		"invocation 9a8b7c6d…: 36.80 ms, 91/512 MB", "INFO processing (redelivery)", "INFO processed (PROCESSED)"}
	if !slices.Equal(got, want) {
		t.Errorf("processor entries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	raw, ok := inv.Raw.([]awsclient.LogEvent)
	if !ok || len(raw) != 3 || !strings.HasPrefix(inv.Message, "START RequestId: "+tracetest.Lambda) ||
		!strings.Contains(inv.Message, "\nREPORT RequestId: ") {
		t.Errorf("the invocation keeps its lines: %q, raw %+v", inv.Message, inv.Raw)
	}
	if l := trace.HighlightLine(nil, inv, 0); !strings.HasPrefix(l, "REPORT RequestId: ") {
		t.Errorf("its line in the tab is the REPORT: %q", l)
	}
}

func TestInvocationOf(t *testing.T) {
	const l = tracetest.Lambda
	for msg, want := range map[string]string{
		"START RequestId: " + l + " Version: $LATEST":                              l,
		"END RequestId: " + l:                                                      l,
		"REPORT RequestId: " + l + "\tDuration: 1.00 ms":                           l,
		`{"level":"INFO","requestId":"x","awsRequestId":"` + l + `"}`:              l,
		`{"level":"INFO","function_request_id":"` + l + `"}`:                       l,
		`{"time":"t","type":"platform.report","record":{"requestId":"` + l + `"}}`: l,
		"2026-03-02T09:14:07.160Z\t" + l + "\tINFO\tprocessing":                    l,
		"[ERROR]\t2026-03-02T09:14:07.160Z\t" + l + "\tboom":                       l,
		"START RequestId: not-a-uuid Version: $LATEST":                             "",
		`{"level":"INFO","requestId":"` + l + `"}`:                                 "",
		"processing " + l: "",
	} {
		if got := trace.InvocationOf(msg); got != want {
			t.Errorf("InvocationOf(%q) = %q, want %q", msg, got, want)
		}
	}
}

// The lines of the new request a reupload redrive made belong to the timeline too.
func TestGatherReadsTheLinesOfEveryReupload(t *testing.T) {
	env := &config.Env{Name: "demo", Storage: config.Storage{Bucket: "b"}, Logs: logsConfig}
	logs := &fakeLogs{events: map[string][]awsclient.LogEvent{
		id:        {ev(group, arrived.Add(time.Second), `{"level":"ERROR","requestId":"`+id+`","message":"bad"}`)},
		"new-req": {ev(group, redrove.Add(time.Second), `{"level":"INFO","requestId":"new-req","message":"processed"}`)},
	}}
	src := trace.Sources{Env: env, Objects: fakeObjects{obj: &awsclient.Object{Key: id, LastModified: arrived}},
		Statuses: fakeStatuses{st: &awsclient.Status{State: "FAILED", UpdatedAt: arrived.Add(time.Second)},
			others: map[string]*awsclient.Status{"new-req": {State: "PROCESSED", Attempts: 1, UpdatedAt: redrove.Add(2 * time.Second)}}}, Logs: logs,
		MissingObject: func(err error) bool { return errors.Is(err, errMissing) },
		History: func(env, id string) ([]redrive.HistoryRun, error) {
			return []redrive.HistoryRun{{RunID: "r1", Mode: "reupload", Outcome: "delivered", NewRequestID: "new-req", At: redrove, Journal: "/nonexistent"}}, nil
		}}
	in, err := trace.Gather(context.Background(), src, id, id)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(logs.terms)
	if !slices.Equal(logs.terms, []string{id, "new-req"}) || len(logs.windows[0]) != 2 {
		t.Errorf("terms %q, windows %+v", logs.terms, logs.windows)
	}
	if len(in.Logs.Events) != 2 || !strings.Contains(in.Logs.Query, "filter @message like /"+id+"|new-req/ |") {
		t.Errorf("merged: %+v", in.Logs)
	}
	// The story ends with the new request: its line and its status item, each saying so.
	tl := trace.Build(in)
	var tail []string
	for _, e := range tl.Entries[len(tl.Entries)-2:] {
		tail = append(tail, string(e.Source)+": "+e.Summary)
	}
	if want := []string{"processor: INFO processed [new request new-req]", "status: status PROCESSED (1 attempt) [new request new-req]"}; !slices.Equal(tail, want) {
		t.Errorf("last entries %q, want %q", tail, want)
	}
}

// A reupload leaves the original's status item as the redrive read it: one row says so,
// not two.
func TestTimelineShowsAnUnchangedStatusOnce(t *testing.T) {
	in := failedRedrivenProcessed()
	b := in.Runs[0].Before
	in.Status = &awsclient.Status{RequestID: id, State: b.State, Attempts: b.Attempts, UpdatedAt: b.UpdatedAt}
	n := 0
	for _, e := range trace.Build(in).Entries {
		if e.Source == trace.SourceStatus {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d status rows, want 1", n)
	}
}

// A request the table and the bucket do not know is read nowhere else but the logs.
func TestGatherWithoutObjectOrStatus(t *testing.T) {
	env := &config.Env{Name: "demo", Storage: config.Storage{Bucket: "b"}, Logs: logsConfig}
	logs := &fakeLogs{}
	in, err := trace.Gather(context.Background(), trace.Sources{Env: env, Objects: fakeObjects{}, Statuses: fakeStatuses{}, Logs: logs,
		MissingObject: func(err error) bool { return errors.Is(err, errMissing) }}, id, id)
	if err != nil || in.Object != nil || in.Status != nil || len(in.Errors) != 0 {
		t.Fatalf("%+v %v", in, err)
	}
	if len(logs.terms) != 1 || len(logs.windows[0]) != 0 {
		t.Errorf("no time to read around: %+v", logs.windows)
	}
}
