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
	// Known is what the caller has read of the request already (the TUI's detail: its
	// HEAD and status item); nil: nothing. Gather reads the log lines in the windows it
	// dates at once, beside the S3 and DynamoDB reads, instead of after them.
	Known *Known
	// First, when set, is called with what the first round read (S3, DynamoDB, the
	// history and the lines in Known's windows; Inputs.Partial set) before the rest is
	// read, when Known dated any window: a caller can show that much a round trip early.
	First func(Inputs)
}

// Known is what was read of a request before its timeline was asked for.
type Known struct {
	Object *awsclient.Object
	Status *awsclient.Status
}

// Gather reads what the timeline of request id (stored at key) is built from. First, at
// once: the object, its versions (when storage.received_from_versions says the bucket is
// versioned), the status item, the local redrive history and, when src.Known dates the
// request, the log lines of every group in the windows around what it knows. Then the
// log lines in the windows only the fresh reads date, beside the Lambda platform lines
// (START, END, REPORT) of each invocation the first lines named; then the platform lines
// of invocations only the second read named. With Known that is two round trips; without
// it, three (the windows wait for the first). A source that fails is named in
// Inputs.Errors; only a cancelled ctx fails Gather.
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
			in.ReceivedAt = receivedAt(env, &st)
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
	terms := Terms(snapshot)
	for _, nid := range terms[1:] {
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
	logsOn := src.Logs != nil && env.Logs.Configured()
	// What the caller knew dates windows now: their lines come with the reads above.
	var known []awsclient.LogWindow
	var first logRound
	if logsOn && src.Known != nil {
		k := Inputs{Object: src.Known.Object, Status: src.Known.Status, Runs: snapshot.Runs}
		k.ReceivedAt = receivedAt(env, src.Known.Status)
		if known = Windows(k, env.Logs); len(known) > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				first.res, first.err = findLogs(ctx, src.Logs, terms, known)
			}()
		}
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
	if !logsOn {
		return in, nil
	}
	if src.First != nil && (first.res != nil || first.err != nil) {
		early := in
		early.Logs, early.LogsErr, early.Partial = first.res, first.err, true
		src.First(early)
	}
	in.Logs, in.LogsErr = readRest(ctx, src.Logs, env.Logs, terms, first, Subtract(Windows(in, env.Logs), known))
	if ctx.Err() != nil {
		return in, ctx.Err()
	}
	return in, nil
}

// receivedAt is the processor's record of the first arrival in st (zero: none).
func receivedAt(env *config.Env, st *awsclient.Status) time.Time {
	if a := env.Status.ReceivedAttr; a != "" && st != nil {
		return awsclient.StatusTime(st.Item[a])
	}
	return time.Time{}
}

// logRound is what one round of log reads found.
type logRound struct {
	res *awsclient.LogResult
	err error
}

// readRest reads what the first round (first: lines in the windows the caller knew of;
// none when it knew nothing) left: the lines in the windows rest, beside the platform lines
// of the invocations first found; then the platform lines of the invocations only rest
// found. It merges every round.
func readRest(ctx context.Context, logs Logs, cfg config.Logs, terms []string, first logRound, rest []awsclient.LogWindow) (*awsclient.LogResult, error) {
	rounds := []logRound{}
	if first.res != nil || first.err != nil {
		rounds = append(rounds, first)
	}
	var second, invFirst logRound
	var wg sync.WaitGroup
	// Lines past logs.max_bytes are not read: the note says more exist.
	capped := first.res != nil && first.res.Capped
	if (len(rest) > 0 || len(rounds) == 0) && !capped {
		wg.Add(1)
		go func() {
			defer wg.Done()
			second.res, second.err = findLogs(ctx, logs, terms, rest)
		}()
	}
	seen := map[string]bool{}
	if first.res != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			invFirst.res = invocationLines(ctx, logs, cfg, first.res.Events, seen)
		}()
	}
	wg.Wait()
	rounds = append(rounds, second, invFirst)
	if second.res != nil {
		rounds = append(rounds, logRound{res: invocationLines(ctx, logs, cfg, second.res.Events, seen)})
	}
	return mergeRounds(terms, rounds)
}

// maxInvocations bounds the invocations whose platform lines are read (each is one more
// FilterLogEvents call, and the account has five a second).
const maxInvocations = 8

// invocationLines reads the Lambda platform lines (START, END, REPORT) of each
// invocation events name that seen does not hold yet, all at once: they name the
// invocation's own request ID (awsRequestId), not the request's. Each is read in its
// group, from the longest a Lambda runs (15 minutes) before its first line to as long
// after its last. nil when there is none to read.
func invocationLines(ctx context.Context, logs Logs, cfg config.Logs, events []awsclient.LogEvent, seen map[string]bool) *awsclient.LogResult {
	type span struct {
		group    string
		from, to time.Time
	}
	gateway := map[string]bool{cfg.AccessLogGroup: true, cfg.ExecutionLogGroup: true}
	spans := map[string]*span{}
	var order []string
	for _, e := range events {
		inv := InvocationOf(e.Message)
		if inv == "" || gateway[e.Group] || seen[inv] {
			continue
		}
		sp := spans[inv]
		if sp == nil {
			if len(spans) == maxInvocations {
				continue
			}
			sp = &span{group: e.Group, from: e.At, to: e.At}
			spans[inv] = sp
			order = append(order, inv)
		}
		sp.from, sp.to = minTime(sp.from, e.At), maxTime(sp.to, e.At)
	}
	if len(order) == 0 {
		return nil
	}
	for _, inv := range order {
		seen[inv] = true
	}
	results := make([]*awsclient.LogResult, len(order))
	var wg sync.WaitGroup
	for i, inv := range order {
		sp := spans[inv]
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := []awsclient.LogWindow{{Start: sp.from.Add(-lambdaMaxRun), End: sp.to.Add(lambdaMaxRun)}}
			results[i], _ = logs.Find(ctx, inv, w, []string{sp.group}) // a failure is in the result's Errors
		}()
	}
	wg.Wait()
	out := &awsclient.LogResult{}
	for _, r := range results {
		if r == nil {
			continue
		}
		// Only the platform lines: the request's own lines were read with its ID.
		for _, e := range r.Events {
			if platformLine(e.Message) {
				out.Events = append(out.Events, e)
			}
		}
		out.Capped = out.Capped || r.Capped
		out.Bytes += r.Bytes
		out.Errors = append(out.Errors, r.Errors...)
		out.Notes = append(out.Notes, r.Notes...)
	}
	return out
}

// lambdaMaxRun is the longest a Lambda function runs.
const lambdaMaxRun = 15 * time.Minute

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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
// the console finds them all. Its error is the request's own term's: nothing could be read.
func findLogs(ctx context.Context, logs Logs, terms []string, windows []awsclient.LogWindow) (*awsclient.LogResult, error) {
	rounds := make([]logRound, len(terms))
	var wg sync.WaitGroup
	for i, t := range terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rounds[i].res, rounds[i].err = logs.Find(ctx, t, windows, nil)
		}()
	}
	wg.Wait()
	out, _ := mergeRounds(terms, rounds)
	if out.Windows == nil {
		out.Windows = windows
	}
	return out, rounds[0].err
}

// mergeRounds joins what several reads found: the events oldest first and each once, the
// windows, the errors and notes each once. Its error is the first failed round's when
// every round that ran failed: nothing could be read.
func mergeRounds(terms []string, rounds []logRound) (*awsclient.LogResult, error) {
	out := &awsclient.LogResult{Query: awsclient.InsightsQuery(terms...)}
	seenErr := map[string]bool{}
	var firstErr error
	ran, failed := 0, 0
	for _, r := range rounds {
		if r.res != nil || r.err != nil {
			ran++
		}
		if r.err != nil {
			failed++
			if firstErr == nil {
				firstErr = r.err
			}
		}
		if r.res == nil {
			continue
		}
		if out.Groups == nil {
			out.Groups = r.res.Groups
		}
		out.Windows = append(out.Windows, r.res.Windows...)
		out.Events = append(out.Events, r.res.Events...)
		out.Capped = out.Capped || r.res.Capped
		out.Insights = out.Insights || r.res.Insights
		out.Bytes += r.res.Bytes
		for _, e := range r.res.Errors {
			if !seenErr[e.Error()] {
				seenErr[e.Error()] = true
				out.Errors = append(out.Errors, e)
			}
		}
		for _, n := range r.res.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
	}
	if out.Windows != nil {
		out.Windows = awsclient.MergeWindows(out.Windows)
	}
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
	if failed > 0 && failed == ran {
		return out, firstErr
	}
	return out, nil
}

// Subtract is the parts of windows that none of cover covers.
func Subtract(windows, cover []awsclient.LogWindow) []awsclient.LogWindow {
	cover = awsclient.MergeWindows(cover)
	var out []awsclient.LogWindow
	for _, w := range awsclient.MergeWindows(windows) {
		start := w.Start
		for _, c := range cover {
			if !c.End.After(start) || !c.Start.Before(w.End) {
				continue
			}
			if c.Start.After(start) {
				out = append(out, awsclient.LogWindow{Start: start, End: c.Start})
			}
			start = maxTime(start, c.End)
		}
		if w.End.After(start) {
			out = append(out, awsclient.LogWindow{Start: start, End: w.End})
		}
	}
	return out
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
