// Package trace answers "what happened to request X": one timeline, oldest first, from
// the stored object (and its versions), the gateway's access log, the processor's log
// lines, the status item and stowage's own redrive history.
//
// Build is pure: it turns Inputs into a Timeline; it joins each Lambda invocation's START,
// END and REPORT lines into one entry (invocation.go). Gather reads the Inputs: S3,
// DynamoDB and, in the windows around what the caller already knows (Known: the TUI's
// detail), the log lines at once; then the windows only the fresh reads date, beside the
// invocations' platform lines. The TUI's tab takes two round trips, stowage trace three.
// The CLI (stowage trace) and the TUI (the detail's timeline tab) both call them. Render and
// Highlight draw a timeline. It must not import tui, internal/cli, internal/devstack or
// the AWS SDK (internal/archtest keeps the rule).
package trace

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// Source says where an entry comes from.
type Source string

const (
	SourceGateway   Source = "gateway"
	SourceS3        Source = "s3"
	SourceProcessor Source = "processor"
	SourceStatus    Source = "status"
	SourceStowage   Source = "stowage"
)

// order breaks ties between entries at the same instant, in the order things happen.
var order = map[Source]int{SourceStowage: 0, SourceGateway: 1, SourceS3: 2, SourceProcessor: 3, SourceStatus: 4}

// Entry is one line of the timeline.
type Entry struct {
	At     time.Time `json:"time"`
	Source Source    `json:"source"`
	// Summary is one sanitized line.
	Summary string `json:"summary"`
	// Error marks a failure (an ERROR line, a FAILED status, a failed redrive).
	Error bool `json:"error,omitempty"`
	// Message is a log line as CloudWatch stored it (from outside: sanitize before
	// display; Pretty indents it when it is JSON). "" for other sources.
	Message string `json:"message,omitempty"`
	// Group is the log group of a log line.
	Group string `json:"group,omitempty"`
	// Invocation is the Lambda request ID of an entry that joins one invocation's
	// platform lines (START, END, REPORT); Message holds them, one a line.
	Invocation string `json:"invocation,omitempty"`
	// Raw is the event as read: the log event (an invocation's: its platform lines), the
	// object or version, the status item, the redrive run. Kept for -o json.
	Raw any `json:"raw,omitempty"`
	// rank orders entries of one source at one instant: an invocation before the
	// function's lines it ran.
	rank int
}

// IsJSON reports a log line that is a JSON object (a structured Lambda log line).
func (e Entry) IsJSON() bool {
	m := strings.TrimSpace(e.Message)
	return strings.HasPrefix(m, "{") && json.Valid([]byte(m))
}

// Pretty is the log line whole: indented when it is JSON, sanitized either way.
func (e Entry) Pretty() string {
	if e.IsJSON() {
		var v any
		d := json.NewDecoder(strings.NewReader(e.Message))
		d.UseNumber()
		if d.Decode(&v) == nil {
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if enc.Encode(v) == nil {
				return sanitize.Block(strings.TrimRight(b.String(), "\n"))
			}
		}
	}
	return sanitize.Block(e.Message)
}

// Inputs are what a timeline is built from; Gather reads them.
type Inputs struct {
	Env       string
	RequestID string
	Bucket    string
	Key       string
	// Object is the stored object (nil: none); Versions its versions, oldest first, when
	// the bucket's versions were read.
	Object   *awsclient.Object
	Versions []awsclient.ObjectVersion
	// Status is the status item (nil: none). ReceivedAt is the processor's own record of
	// the first arrival (status.received_attr), zero when unknown.
	Status     *awsclient.Status
	ReceivedAt time.Time
	// NewStatuses are the status items of the new requests reupload redrives made of it,
	// by request ID (a new request missing: no item yet).
	NewStatuses map[string]*awsclient.Status
	// Lost is set when the object has no status item and was stored longer than
	// status.lost_after ago (inventory.IsLost; Gather decides it, Build stays pure).
	Lost bool
	// Runs are stowage's redrive runs that held the request (every journal on this machine).
	Runs []Run
	// Logs are the lines read; nil when no logs: section names a group. LogsErr is why
	// they could not be read at all.
	Logs    *awsclient.LogResult
	LogsErr error
	// Logs configuration, to tell processor lines from gateway lines.
	LogsConfig config.Logs
	// Partial is set on what Gather's first round read (Sources.First): more log lines
	// are on their way.
	Partial bool
	// Errors are failures to read a source other than the logs (sanitized at display).
	Errors []error
}

// Run is one redrive run that held the request, with what its journal recorded of the
// request before the send.
type Run struct {
	redrive.HistoryRun
	// PlannedLastModified is the object's LastModified when the run was planned (zero:
	// unknown): an in-place redrive rewrites it, so this dates the earlier store.
	PlannedLastModified time.Time `json:"plannedLastModified,omitzero"`
	// Before is the status item as the run read it before sending (nil: not recorded).
	Before *redrive.StatusRead `json:"before,omitempty"`
	// SentAt is when the run last sent the request (zero: never, or not recorded).
	SentAt time.Time `json:"sentAt,omitzero"`
}

// Timeline is one request's story.
type Timeline struct {
	RequestID string  `json:"id"`
	Key       string  `json:"key"`
	Entries   []Entry `json:"entries"`
	// Notes say what the timeline could not show, and why (sanitized).
	Notes []string `json:"notes,omitempty"`
	// Query is the Logs Insights query that finds the request's lines ("" without logs).
	Query string `json:"insightsQuery,omitempty"`
	// Capped is set when the log lines were cut at logs.max_bytes.
	Capped bool `json:"capped,omitempty"`
}

// Build makes the timeline of in, oldest first.
func Build(in Inputs) Timeline {
	tl := Timeline{RequestID: in.RequestID, Key: in.Key}
	uri := "s3://" + in.Bucket + "/" + in.Key
	add := func(e Entry) {
		e.At = e.At.UTC()
		e.Summary = sanitize.Line(e.Summary)
		tl.Entries = append(tl.Entries, e)
	}

	// S3: the arrival and every later store.
	switch {
	case len(in.Versions) > 0:
		for i, v := range in.Versions {
			what := "stored again"
			if i == 0 {
				what = "arrived: stored"
			}
			if v.DeleteMarker {
				what = "deleted (a delete marker)"
			} else {
				what += fmt.Sprintf(" (%s, version %s)", payload.Human(v.Size), clip(v.VersionID, 40))
			}
			if i == 0 {
				// The short facts first: the URI is cut first in a narrow row.
				what += " at " + clip(uri, 120)
			}
			add(Entry{At: v.LastModified, Source: SourceS3, Summary: what, Raw: v})
		}
	case in.Object != nil:
		o := in.Object
		desc := payload.Human(o.Size)
		if o.ContentType != "" {
			desc += ", " + clip(o.ContentType, 60)
		}
		first, from := in.ReceivedAt, "is the status item's received time"
		for _, r := range in.Runs {
			if t := r.PlannedLastModified; !t.IsZero() && (first.IsZero() || t.Before(first)) {
				first, from = t, "is the object's as redrive "+clip(r.RunID, 60)+" found it"
			}
		}
		switch {
		case !first.IsZero() && first.Before(o.LastModified):
			add(Entry{At: first, Source: SourceS3, Summary: "arrived: stored at " + clip(uri, 120) + " (the time " + from + ")"})
			add(Entry{At: o.LastModified, Source: SourceS3, Summary: "stored again (" + desc + ")", Raw: o})
		case !first.IsZero():
			add(Entry{At: o.LastModified, Source: SourceS3, Summary: "arrived: stored (" + desc + ") at " + clip(uri, 120), Raw: o})
		default:
			// Nothing dates the arrival: this store may be a later one.
			add(Entry{At: o.LastModified, Source: SourceS3, Summary: "stored (" + desc + ") at " + clip(uri, 120), Raw: o})
		}
	default:
		tl.Notes = append(tl.Notes, "no object at "+sanitize.Line(clip(uri, 200))+": the body was deleted, expired, or never stored")
	}

	// The log lines.
	processorLines := 0
	if in.Logs != nil {
		gw := map[string]bool{in.LogsConfig.AccessLogGroup: in.LogsConfig.AccessLogGroup != "",
			in.LogsConfig.ExecutionLogGroup: in.LogsConfig.ExecutionLogGroup != ""}
		// Each invocation's platform lines make one entry; the function's lines name the
		// request (a reupload's new one) the invocation ran for.
		invs := map[string][]awsclient.LogEvent{}
		var invOrder []string
		invFor := map[string]string{}
		for _, ev := range in.Logs.Events {
			if gw[ev.Group] {
				continue
			}
			inv := InvocationOf(ev.Message)
			switch {
			case inv == "":
			case platformLine(ev.Message):
				if invs[inv] == nil {
					invOrder = append(invOrder, inv)
				}
				invs[inv] = append(invs[inv], ev)
			case invFor[inv] == "":
				invFor[inv] = newRequestOf(in, ev.Message)
			}
		}
		for _, inv := range invOrder {
			e := invocationEntry(inv, invs[inv])
			if n := invFor[inv]; n != "" {
				e.Summary += " [new request " + clip(n, 13) + "]"
			}
			add(e)
		}
		for _, ev := range in.Logs.Events {
			src := SourceProcessor
			if gw[ev.Group] {
				src = SourceGateway
			} else if platformLine(ev.Message) {
				continue
			} else {
				processorLines++
			}
			sum, isErr := summarizeLog(src, ev.Message)
			if n := newRequestOf(in, ev.Message); n != "" {
				sum += " [new request " + clip(n, 13) + "]"
			}
			add(Entry{At: ev.At, Source: src, Summary: sum, Error: isErr, Message: ev.Message, Group: ev.Group, Raw: ev})
		}
		tl.Query = in.Logs.Query
		tl.Capped = in.Logs.Capped
		for _, n := range in.Logs.Notes {
			tl.Notes = append(tl.Notes, sanitize.Line(n))
		}
		for _, err := range in.Logs.Errors {
			tl.Notes = append(tl.Notes, "logs: "+sanitize.Line(err.Error()))
		}
		if in.Logs.Capped {
			tl.Notes = append(tl.Notes, fmt.Sprintf("only the first %s of log lines were read (logs.max_bytes); more exist. For all of them, run this query in CloudWatch Logs Insights%s:\n  %s",
				payload.Human(in.Logs.Bytes), consoleScope(in.Logs), sanitize.Line(in.Logs.Query)))
		}
	}
	if in.LogsErr != nil && (in.Logs == nil || len(in.Logs.Errors) == 0) {
		tl.Notes = append(tl.Notes, "logs: "+sanitize.Line(in.LogsErr.Error()))
	}
	if !in.LogsConfig.Configured() {
		tl.Notes = append(tl.Notes, NoLogsNote(in.Env))
	} else if in.Partial {
		tl.Notes = append(tl.Notes, PartialNote)
	} else if len(in.LogsConfig.ProcessorGroups) > 0 && processorLines == 0 && in.LogsErr == nil && in.Logs != nil && len(in.Logs.Errors) == 0 {
		note := "no processor line mentions this request in the windows read"
		if in.Lost {
			note += ": the processor never logged it (LOST: it was not triggered, or it died before logging)"
		}
		tl.Notes = append(tl.Notes, note)
	}

	// The status item.
	if st := in.Status; st != nil {
		sum := statusSummary(st)
		at := st.UpdatedAt
		if at.IsZero() {
			tl.Notes = append(tl.Notes, "the status item has no updatedAt; it is shown last")
			at = latest(tl.Entries)
		}
		add(Entry{At: at, Source: SourceStatus, Summary: sum, Error: strings.EqualFold(st.State, "FAILED"), Raw: st.Item})
	} else if in.Lost {
		tl.Notes = append(tl.Notes, "no status item: LOST (stored longer than status.lost_after ago, and no status was ever written)")
	} else {
		tl.Notes = append(tl.Notes, "no status item: the processor has not recorded this request (yet)")
	}

	// The new requests' status items, in the order of their runs.
	for _, nid := range Terms(in)[1:] {
		if st := in.NewStatuses[nid]; st != nil && !st.UpdatedAt.IsZero() {
			add(Entry{At: st.UpdatedAt, Source: SourceStatus, Summary: statusSummary(st) + " [new request " + clip(nid, 13) + "]",
				Error: strings.EqualFold(st.State, "FAILED"), Raw: st.Item})
		}
	}

	// stowage's redrives.
	for _, r := range in.Runs {
		at := r.SentAt // the redrive's moment: before the gateway and the processor saw it
		if at.IsZero() {
			at = r.At
		}
		if at.IsZero() {
			at = r.Started
		}
		who := r.Operator
		if who == "" {
			who = "an unknown operator"
		}
		sum := fmt.Sprintf("redrive %s: %s", r.Mode, r.Outcome)
		if r.Attempts > 1 {
			sum += fmt.Sprintf(" after %d attempts", r.Attempts)
		}
		if r.NewRequestID != "" {
			sum += " as new request " + clip(r.NewRequestID, 80)
		}
		if r.Error != "" {
			sum += " (" + clip(r.Error, 160) + ")"
		}
		// Who before the run ID: a narrow row cuts the ID, not the operator.
		sum += ", by " + clip(shortOperator(who), 80) + " - run " + clip(r.RunID, 60)
		add(Entry{At: at, Source: SourceStowage, Summary: sum, Error: r.Outcome == string(redrive.StateFailed), Raw: r})
		if b := r.Before; b != nil && b.Found && !b.UpdatedAt.IsZero() && !sameStatus(in.Status, b) {
			// The status as it stood before the redrive: a change later overwrote it.
			bs := "status " + b.State
			if b.Attempts > 0 {
				bs += fmt.Sprintf(" (%d attempt%s)", b.Attempts, map[bool]string{true: "", false: "s"}[b.Attempts == 1])
			}
			add(Entry{At: b.UpdatedAt, Source: SourceStatus, Summary: bs + ", read before redrive " + clip(r.RunID, 60),
				Error: strings.EqualFold(b.State, "FAILED"), Raw: b})
		}
	}
	for _, err := range in.Errors {
		tl.Notes = append(tl.Notes, sanitize.Line(err.Error()))
	}

	// CloudWatch Logs keeps milliseconds: within one, the order things happen decides (a
	// redrive journaled at .891500 came before the processor's line at .891).
	sort.SliceStable(tl.Entries, func(i, j int) bool {
		a, b := tl.Entries[i], tl.Entries[j]
		if am, bm := a.At.Truncate(time.Millisecond), b.At.Truncate(time.Millisecond); !am.Equal(bm) {
			return am.Before(bm)
		}
		if a.Source != b.Source {
			return order[a.Source] < order[b.Source]
		}
		return a.rank < b.rank
	})
	tl.Entries = storesAfterTheirSenders(tl.Entries)
	return tl
}

// storesAfterTheirSenders moves each S3 store dated to the whole second (S3 keeps no
// more) after the redrive and gateway entries of that same second that come before it in
// fact: the gateway receives, then S3 stores. Its time is left as S3 gives it.
func storesAfterTheirSenders(es []Entry) []Entry {
	for i := 0; i < len(es); i++ {
		e := es[i]
		if e.Source != SourceS3 || e.At.Nanosecond() != 0 {
			continue
		}
		end := e.At.Add(time.Second)
		j := i + 1
		for j < len(es) && es[j].At.Before(end) && (es[j].Source == SourceStowage || es[j].Source == SourceGateway) {
			j++
		}
		if j > i+1 {
			copy(es[i:j-1], es[i+1:j])
			es[j-1] = e
			i = j - 1
		}
	}
	return es
}

// statusSummary is a status item in a line: state, attempts, error.
func statusSummary(st *awsclient.Status) string {
	sum := "status " + st.State
	switch {
	case st.Attempts == 1:
		sum += " (1 attempt)"
	case st.Attempts > 1:
		sum += fmt.Sprintf(" (%d attempts)", st.Attempts)
	}
	if st.Error != "" {
		sum += ": " + clip(st.Error, 200)
	}
	return sum
}

// sameStatus reports a status a redrive read that is still the current item (a reupload
// leaves the original's item as it was): its row would say the same twice.
func sameStatus(cur *awsclient.Status, b *redrive.StatusRead) bool {
	return cur != nil && cur.State == b.State && cur.UpdatedAt.Equal(b.UpdatedAt)
}

// newRequestOf is the new request a log line is about when it names one a reupload made
// and not the request itself ("" otherwise).
func newRequestOf(in Inputs, msg string) string {
	if strings.Contains(msg, in.RequestID) {
		return ""
	}
	for _, n := range Terms(in)[1:] {
		if strings.Contains(msg, n) {
			return n
		}
	}
	return ""
}

// consoleScope is the groups and the time range a console query needs to find what res
// read: " on GROUPS from START to END (UTC)".
func consoleScope(res *awsclient.LogResult) string {
	var s string
	if len(res.Groups) > 0 {
		s += " on " + sanitize.Line(strings.Join(res.Groups, ", "))
	}
	if n := len(res.Windows); n > 0 {
		// Whole seconds, widened: the console takes no milliseconds.
		end := res.Windows[n-1].End.UTC()
		if end.Nanosecond() > 0 {
			end = end.Truncate(time.Second).Add(time.Second)
		}
		s += " from " + res.Windows[0].Start.UTC().Format(time.RFC3339) + " to " + end.Format(time.RFC3339)
	}
	return s
}

// shortOperator is an IAM ARN's resource part ("user/alice", "assumed-role/OnCall/alice"),
// enough to say who within the account; -o json keeps the whole ARN.
func shortOperator(who string) string {
	if !strings.HasPrefix(who, "arn:") {
		return who
	}
	if parts := strings.SplitN(who, ":", 6); len(parts) == 6 && parts[5] != "" {
		return parts[5]
	}
	return who
}

// PartialNote is the note of a timeline whose first round alone is read.
const PartialNote = "reading the rest of the log lines: the windows the fresh reads add and each invocation's START, END and REPORT…"

// NoLogsNote says how to add a logs: section.
func NoLogsNote(env string) string {
	where := "the environment"
	if env != "" {
		where = "environment " + sanitize.Line(env)
	}
	return "the processor's and the gateway's CloudWatch Logs are not read: " + where + " has no logs: section. Add one:\n" +
		"  logs:\n" +
		"    processor_groups: [/aws/lambda/YOUR-FUNCTION]\n" +
		"    access_log_group: YOUR-ACCESS-LOG-GROUP   # optional\n" +
		"(see README \"Trace a request\" for the IAM actions it needs)"
}

func latest(es []Entry) time.Time {
	var t time.Time
	for _, e := range es {
		if e.At.After(t) {
			t = e.At
		}
	}
	return t
}

// clip cuts s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// summarizeLog is a log line in a few words: a structured line's level, message and
// error type; an access-log line's method, path and status; else the line itself.
func summarizeLog(src Source, msg string) (string, bool) {
	m := strings.TrimSpace(msg)
	var doc map[string]any
	if strings.HasPrefix(m, "{") && json.Unmarshal([]byte(m), &doc) == nil {
		str := func(k string) string {
			switch v := doc[k].(type) {
			case string:
				return v
			case float64, bool:
				return fmt.Sprint(v)
			}
			return ""
		}
		if src == SourceGateway && str("httpMethod") != "" {
			s := str("httpMethod") + " " + str("resourcePath") + " -> " + str("status")
			if id := str("requestId"); id != "" {
				s += " (gateway request " + clip(id, 60) + ")"
			}
			return clip(s, 200), strings.HasPrefix(str("status"), "5")
		}
		level := strings.ToUpper(str("level"))
		parts := []string{}
		if level != "" {
			parts = append(parts, level)
		}
		if et := str("errorType"); et != "" {
			parts = append(parts, et+":")
		}
		if mm := str("message"); mm != "" {
			parts = append(parts, mm)
		}
		if st := str("status"); st != "" && src == SourceProcessor {
			parts = append(parts, "("+st+")")
		}
		if str("redelivery") == "true" {
			parts = append(parts, "(redelivery)")
		}
		if len(parts) > 0 {
			return clip(strings.Join(parts, " "), 200), level == "ERROR" || level == "FATAL"
		}
	}
	line := m
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i] + " …"
	}
	up := strings.ToUpper(line)
	return clip(strings.ReplaceAll(line, "\t", " "), 200), strings.Contains(up, "ERROR") || strings.Contains(up, "TASK TIMED OUT")
}
