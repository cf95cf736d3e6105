package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/redrive"
)

// Objects reads the stored object and its versions (awsclient.ObjectStore).
type Objects interface {
	Head(ctx context.Context, key string) (awsclient.Object, error)
	Versions(ctx context.Context, key string) ([]awsclient.ObjectVersion, error)
}

// Statuses reads a status item (awsclient.StatusStore).
type Statuses interface {
	Get(ctx context.Context, id string) (awsclient.Status, bool, error)
}

// Logs finds log lines (awsclient.LogReader).
type Logs interface {
	Find(ctx context.Context, term string, windows []awsclient.LogWindow, groups []string) (*awsclient.LogResult, error)
}

// Sources are where Gather reads.
type Sources struct {
	Env      *config.Env
	Objects  Objects
	Statuses Statuses
	// Logs is nil when the environment has no logs: section.
	Logs Logs
	// History reads the request's redrive runs (redrive.RequestHistory on this machine's
	// state directory); nil: none.
	History func(env, id string) ([]redrive.HistoryRun, error)
	// MissingObject reports an error that means "no such object" (inventory.IsMissingObject).
	MissingObject func(error) bool
	// Now is the time LOST is judged at (nil: time.Now).
	Now func() time.Time
}

// Gather reads what the timeline of request id (stored at key) is built from, in two
// round trips: the object, its versions (when storage.received_from_versions says the
// bucket is versioned), the status item and the local redrive history at once; then the
// log lines of every group in the windows around each store and redrive at once. A
// source that fails is named in Inputs.Errors; only a cancelled ctx fails Gather.
func Gather(ctx context.Context, src Sources, id, key string) (Inputs, error) {
	env := src.Env
	in := Inputs{Env: env.Name, RequestID: id, Bucket: env.Storage.Bucket, Key: key, LogsConfig: env.Logs}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	fail := func(err error) {
		mu.Lock()
		in.Errors = append(in.Errors, err)
		mu.Unlock()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		obj, err := src.Objects.Head(ctx, key)
		switch {
		case err == nil:
			mu.Lock()
			in.Object = &obj
			mu.Unlock()
		case src.MissingObject == nil || !src.MissingObject(err):
			fail(err)
		}
	}()
	go func() {
		defer wg.Done()
		st, found, err := src.Statuses.Get(ctx, id)
		if err != nil {
			fail(err)
			return
		}
		if found {
			mu.Lock()
			in.Status = &st
			if a := env.Status.ReceivedAttr; a != "" {
				in.ReceivedAt = awsclient.StatusTime(st.Item[a])
			}
			mu.Unlock()
		}
	}()
	if env.Storage.ReceivedFromVersions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vs, err := src.Objects.Versions(ctx, key)
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			in.Versions = vs
			mu.Unlock()
		}()
	}
	if src.History != nil {
		runs, err := src.History(env.Name, id)
		if err != nil {
			fail(err)
		}
		for _, r := range runs {
			in.Runs = append(in.Runs, runDetail(r, id))
		}
	}
	// The status items of the new requests reupload redrives made: how the story ended.
	// Terms reads a copy of in taken under the lock: the reads above are still writing it.
	mu.Lock()
	snapshot := in
	mu.Unlock()
	for _, nid := range Terms(snapshot)[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, found, err := src.Statuses.Get(ctx, nid)
			if err != nil {
				fail(err)
				return
			}
			if found {
				mu.Lock()
				if in.NewStatuses == nil {
					in.NewStatuses = map[string]*awsclient.Status{}
				}
				in.NewStatuses[nid] = &st
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return in, err
	}
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	in.Lost = in.Object != nil && in.Status == nil && inventory.IsLost(*in.Object, inventory.LostAfter(env), now())
	if src.Logs == nil || !env.Logs.Configured() {
		return in, nil
	}
	in.Logs, in.LogsErr = findLogs(ctx, src.Logs, Terms(in), Windows(in, env.Logs))
	if ctx.Err() != nil {
		return in, ctx.Err()
	}
	return in, nil
}

// maxTerms bounds the request IDs whose lines are read: the request's own and those a
// reupload redrive stored it as.
const maxTerms = 4

// Terms are the request IDs whose log lines belong to the timeline: the request's own,
// then each new request a reupload redrive made of it.
func Terms(in Inputs) []string {
	terms := []string{in.RequestID}
	for _, r := range in.Runs {
		if n := r.NewRequestID; n != "" && !slices.Contains(terms, n) && len(terms) < maxTerms {
			terms = append(terms, n)
		}
	}
	return terms
}

// findLogs reads the lines of every term at once and merges them; the query offered for
// the console finds them all.
func findLogs(ctx context.Context, logs Logs, terms []string, windows []awsclient.LogWindow) (*awsclient.LogResult, error) {
	results := make([]*awsclient.LogResult, len(terms))
	errs := make([]error, len(terms))
	var wg sync.WaitGroup
	for i, t := range terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = logs.Find(ctx, t, windows, nil)
		}()
	}
	wg.Wait()
	out := results[0]
	if out == nil {
		out = &awsclient.LogResult{Query: awsclient.InsightsQuery(terms[0]), Windows: windows}
	}
	seenErr := map[string]bool{}
	for _, e := range out.Errors {
		seenErr[e.Error()] = true
	}
	for i := 1; i < len(terms); i++ {
		r := results[i]
		if r == nil {
			continue
		}
		out.Events = append(out.Events, r.Events...)
		out.Capped = out.Capped || r.Capped
		out.Insights = out.Insights || r.Insights
		out.Bytes += r.Bytes
		for _, e := range r.Errors {
			if !seenErr[e.Error()] {
				seenErr[e.Error()] = true
				out.Errors = append(out.Errors, e)
			}
		}
		for _, n := range r.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
	}
	if len(terms) > 1 {
		out.Query = awsclient.InsightsQuery(terms...)
		sort.SliceStable(out.Events, func(i, j int) bool { return out.Events[i].At.Before(out.Events[j].At) })
		seen := map[string]bool{}
		events := out.Events[:0]
		for _, e := range out.Events {
			k := e.Group + "\x00" + e.EventID + "\x00" + e.At.String() + e.Message
			if !seen[k] {
				seen[k] = true
				events = append(events, e)
			}
		}
		out.Events = events
	}
	return out, errs[0]
}

// Windows are the time ranges to read the logs in: around the arrival and every later
// store and redrive (logs.window_before to logs.window_after), or around the status
// item's last update when nothing else dates the request.
func Windows(in Inputs, l config.Logs) []awsclient.LogWindow {
	before, after := l.WindowBefore.Duration, l.WindowAfter.Duration
	if before == 0 && after == 0 {
		before, after = config.DefaultLogsWindowBefore, config.DefaultLogsWindowAfter
	}
	var at []time.Time
	for _, v := range in.Versions {
		at = append(at, v.LastModified)
	}
	if in.Object != nil {
		at = append(at, in.Object.LastModified)
	}
	if !in.ReceivedAt.IsZero() {
		at = append(at, in.ReceivedAt)
	}
	for _, r := range in.Runs {
		if !r.PlannedLastModified.IsZero() {
			at = append(at, r.PlannedLastModified)
		}
		if !r.SentAt.IsZero() {
			at = append(at, r.SentAt)
		} else if !r.At.IsZero() {
			at = append(at, r.At)
		} else if !r.Started.IsZero() {
			at = append(at, r.Started)
		}
	}
	if len(at) == 0 && in.Status != nil && !in.Status.UpdatedAt.IsZero() {
		at = append(at, in.Status.UpdatedAt)
	}
	var ws []awsclient.LogWindow
	for _, t := range at {
		if t.IsZero() {
			continue
		}
		ws = append(ws, awsclient.LogWindow{Start: t.Add(-before), End: t.Add(after)})
	}
	return awsclient.MergeWindows(ws)
}

// runDetail adds what the run's journal recorded of the request before sending.
func runDetail(r redrive.HistoryRun, id string) Run {
	run := Run{HistoryRun: r}
	data, err := os.ReadFile(r.Journal)
	if err != nil {
		return run
	}
	st, err := redrive.ReadJournal(bytes.NewReader(data))
	if err != nil || st.Manifest == nil {
		return run
	}
	for _, it := range st.Manifest.Items {
		if it.RequestID == id {
			if st.Manifest.Mode != redrive.ModeReupload {
				run.PlannedLastModified = it.LastModified
			}
			run.Before = it.Planned
		}
	}
	if tr := st.Items[id]; tr != nil && tr.PreSend != nil {
		run.Before = tr.PreSend
	}
	// When the request left: the item's last "sending" record (the journal is trusted:
	// ReadJournal checked every record's seal).
	for _, line := range bytes.Split(data, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"sending"`)) {
			continue
		}
		var rec redrive.Record
		if json.Unmarshal(line, &rec) == nil && rec.Type == redrive.RecSending && rec.ID == id {
			run.SentAt = rec.At
		}
	}
	return run
}
