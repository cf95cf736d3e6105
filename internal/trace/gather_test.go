package trace

import (
	"context"
	"errors"
	"slices"
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

type fakeStatuses struct{ st *awsclient.Status }

func (f fakeStatuses) Get(context.Context, string) (awsclient.Status, bool, error) {
	if f.st == nil {
		return awsclient.Status{}, false, nil
	}
	return *f.st, true, nil
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
		Statuses: fakeStatuses{&awsclient.Status{State: "FAILED", UpdatedAt: arrived.Add(time.Second)}}, Logs: logs,
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
	if len(in.Logs.Events) != 2 || in.Logs.Query != awsclient.InsightsQuery(id) {
		t.Errorf("merged: %+v", in.Logs)
	}
	tl := Build(in)
	if last := tl.Entries[len(tl.Entries)-1]; last.Source != SourceProcessor || last.Summary != "INFO processed" {
		t.Errorf("last entry %+v", last)
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
