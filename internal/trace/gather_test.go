package trace

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
	"github.com/stowage-cli/stowage/redrive"
)

type fakeObjects struct{ obj *awsclient.Object }

var errMissing = errors.New("no such key")

func (f fakeObjects) Head(context.Context, string) (awsclient.Object, error) {
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
}

func (f *fakeLogs) Find(_ context.Context, term string, ws []awsclient.LogWindow, _ []string) (*awsclient.LogResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.terms = append(f.terms, term)
	f.windows = append(f.windows, ws)
	return &awsclient.LogResult{Events: f.events[term], Query: awsclient.InsightsQuery(term)}, nil
}

// The lines of the new request a reupload redrive made belong to the timeline too.
func TestGatherReadsTheLinesOfEveryReupload(t *testing.T) {
	env := &config.Env{Name: "demo", Storage: config.Storage{Bucket: "b"}, Logs: logsConfig}
	logs := &fakeLogs{events: map[string][]awsclient.LogEvent{
		id:        {ev(group, arrived.Add(time.Second), `{"level":"ERROR","requestId":"`+id+`","message":"bad"}`)},
		"new-req": {ev(group, redrove.Add(time.Second), `{"level":"INFO","requestId":"new-req","message":"processed"}`)},
	}}
	src := Sources{Env: env, Objects: fakeObjects{&awsclient.Object{Key: id, LastModified: arrived}},
		Statuses: fakeStatuses{st: &awsclient.Status{State: "FAILED", UpdatedAt: arrived.Add(time.Second)},
			others: map[string]*awsclient.Status{"new-req": {State: "PROCESSED", Attempts: 1, UpdatedAt: redrove.Add(2 * time.Second)}}}, Logs: logs,
		MissingObject: func(err error) bool { return errors.Is(err, errMissing) },
		History: func(env, id string) ([]redrive.HistoryRun, error) {
			return []redrive.HistoryRun{{RunID: "r1", Mode: "reupload", Outcome: "delivered", NewRequestID: "new-req", At: redrove, Journal: "/nonexistent"}}, nil
		}}
	in, err := Gather(context.Background(), src, id, id)
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
	tl := Build(in)
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
	for _, e := range Build(in).Entries {
		if e.Source == SourceStatus {
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
	in, err := Gather(context.Background(), Sources{Env: env, Objects: fakeObjects{}, Statuses: fakeStatuses{}, Logs: logs,
		MissingObject: func(err error) bool { return errors.Is(err, errMissing) }}, id, id)
	if err != nil || in.Object != nil || in.Status != nil || len(in.Errors) != 0 {
		t.Fatalf("%+v %v", in, err)
	}
	if len(logs.terms) != 1 || len(logs.windows[0]) != 0 {
		t.Errorf("no time to read around: %+v", logs.windows)
	}
}
