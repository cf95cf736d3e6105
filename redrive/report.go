package redrive

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/atomicfile"
)

// ItemResult is one line of a report: what happened to one request.
type ItemResult struct {
	RunID     string    `json:"runId"`
	RequestID string    `json:"id"`
	Key       string    `json:"key"`
	Mode      Mode      `json:"mode"`
	State     ItemState `json:"state"`
	Attempts  int       `json:"attempts"`
	// HTTPStatus is the gateway's last answer (0 for s3-copy or no answer).
	HTTPStatus int `json:"httpStatus,omitempty"`
	// NewRequestID is, for reupload only, the request's new ID (the gateway's
	// x-amzn-RequestId); in place and s3-copy the request keeps its ID.
	NewRequestID string `json:"newRequestId,omitempty"`
	// GatewayRequestID is the gateway's x-amzn-RequestId of the last call, for its logs.
	GatewayRequestID string        `json:"gatewayRequestId,omitempty"`
	Error            string        `json:"error,omitempty"`
	Note             string        `json:"note,omitempty"` // why skipped, or how delivery was confirmed
	Duration         time.Duration `json:"-"`
	DurationMS       float64       `json:"durationMs"`
	// MaybeDuplicated is set when an attempt's outcome was unknown (the connection was
	// lost after sending, or the run died mid-request): the processor may have received
	// the request more than once and should deduplicate on the idempotency headers.
	MaybeDuplicated bool `json:"maybeDuplicated,omitempty"`
	// PreSend is the status this run read just before it first sent the item (or
	// skipped it): the baseline a new verdict of the processor differs from. nil when
	// this run read none (the item was finished by an earlier run, or never reached).
	PreSend *StatusRead `json:"preSend,omitempty"`
	// Verdict is what the processor made of the delivery, when the caller waited for it
	// (redrive --wait, the TUI); nil when nobody waited.
	Verdict *Verdict `json:"verdict,omitempty"`
	// JournalSeq is the sequence number of the item's last journal record: a journal
	// that ends before it lost records (see VerifyJournal).
	JournalSeq uint64 `json:"journalSeq,omitempty"`
}

// StatusRead is one read of a request's status item.
type StatusRead struct {
	Found bool `json:"found"` // false: the table had no item (a lost request)
	// State is the processing state; "status" as in ls -o json, since the item's own
	// "state" is the redrive's.
	State     string    `json:"status,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// Error is the processor's message. It is kept out of the report file, which may
	// travel further than the table: it can quote the payload.
	Error string `json:"-"`
}

// Status is the read as the status client returns it; ok is false when there was no item.
func (s StatusRead) Status(requestID string) (st awsclient.Status, ok bool) {
	if !s.Found {
		return awsclient.Status{}, false
	}
	return awsclient.Status{RequestID: requestID, State: s.State, Error: s.Error, Attempts: s.Attempts, UpdatedAt: s.UpdatedAt}, true
}

// Report is the result of a run.
type Report struct {
	RunID        string
	Env          string
	Mode         Mode
	Target       string
	ManifestHash string
	JournalPath  string
	Outcome      Outcome
	StopReason   string
	Counts       Counts
	Started      time.Time
	Finished     time.Time
	// Rate and Concurrency are the settings in force at the end; Tuned says they were
	// changed while the run ran.
	Rate        float64
	Concurrency int
	Tuned       bool
	// JournalSeq is the journal's last sequence number when the report was made.
	JournalSeq uint64
	// NoLeaseTable says the run claimed nothing: runs on other machines could not see
	// it. LeaseWarnings are the lease problems the run met (claims it could not finish).
	NoLeaseTable  bool
	LeaseWarnings []string
	Items         []ItemResult
}

func (r *Run) buildReport() *Report {
	rep := &Report{
		RunID: r.m.RunID, Env: r.m.Env, Mode: r.m.Mode, Target: r.m.Target.String(),
		ManifestHash: r.m.Hash(), JournalPath: r.opts.JournalPath,
		Outcome: r.outcome, StopReason: r.stopReason, Counts: r.counts,
		Started: r.startedAt, Finished: r.now(),
		Rate: r.bucket.Rate(), Concurrency: r.gate.Limit(), Tuned: r.tuned,
		NoLeaseTable: r.deps.Leases == nil, LeaseWarnings: append([]string(nil), r.leaseWarnings...),
	}
	if r.journal != nil {
		rep.JournalSeq = r.journal.LastSeq()
	}
	for _, it := range r.m.Items {
		res := *r.items[it.RequestID]
		if r.journal != nil {
			res.JournalSeq = r.journal.SeqOf(it.RequestID)
		}
		res.DurationMS = ms(res.Duration)
		res.MaybeDuplicated = r.everMaybe[it.RequestID]
		if !res.State.Final() && res.Error == "" {
			res.Error = "not finished: " + notSentWhy(r.outcome)
		}
		rep.Items = append(rep.Items, res)
	}
	return rep
}

// ReportFromJournal rebuilds the report of a journaled run (for a run that has nothing
// left to do, or one that was killed).
func ReportFromJournal(st *JournalState) *Report {
	rep := &Report{
		RunID: st.Manifest.RunID, Env: st.Manifest.Env, Mode: st.Manifest.Mode,
		Target: st.Manifest.Target.String(), ManifestHash: st.Hash, JournalPath: st.Path,
		Outcome: st.Outcome, Counts: st.Counts(), JournalSeq: st.LastSeq,
	}
	if !st.Ended {
		rep.Outcome = ""
	}
	for _, it := range st.Manifest.Items {
		t := st.Items[it.RequestID]
		res := ItemResult{RunID: st.Manifest.RunID, RequestID: it.RequestID, Key: it.Key, Mode: st.Manifest.Mode,
			State: t.State, Attempts: t.Attempts, HTTPStatus: t.HTTPStatus, NewRequestID: t.NewRequestID, GatewayRequestID: t.GatewayRequestID,
			Duration: t.Duration, DurationMS: ms(t.Duration), MaybeDuplicated: t.EverUnknown, JournalSeq: t.Seq}
		if t.State == StateFailed || !t.State.Final() {
			res.Error = t.Reason
		} else {
			res.Note = t.Reason
		}
		rep.Items = append(rep.Items, res)
	}
	return rep
}

// Headline says how the run ended, with the counts that are not zero, in words that do
// not contradict them: "finished: 55 delivered, 1 skipped", "finished: nothing sent, 1
// skipped", "cancelled: 3 delivered, 88 not sent".
func (rep *Report) Headline() string {
	if rep == nil {
		return "stopped"
	}
	c := rep.Counts
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	if c.Delivered+c.Failed+c.Unknown+c.Sending+c.Retrying == 0 {
		parts = append(parts, "nothing sent")
	}
	add(c.Delivered, "delivered")
	add(c.Failed, "failed")
	add(c.Unknown+c.Sending+c.Retrying, "unknown")
	add(c.Skipped, "skipped")
	add(c.Pending, "not sent")
	how := "finished"
	switch rep.Outcome {
	case OutcomeCanceled:
		how = "cancelled"
	case OutcomeTripped:
		how = "stopped by the circuit breaker"
	case OutcomeError:
		how = "stopped by an error"
	case "":
		how = "not finished"
	}
	return how + ": " + strings.Join(parts, ", ")
}

// SendText is what a confirmed plan will send, in words: not the requests it skips as
// already processed (unless force), nor those the gateway refuses as too large: "55
// requests (1 already processed skipped)". The CLI and the TUI ask with it.
func (s Summary) SendText(force bool) string {
	skipped, refused := 0, 0
	if !force {
		skipped = s.AlreadyDone
	}
	if s.Mode.UsesGateway() {
		refused = s.TooLarge
	}
	n := max(0, s.Count-skipped-refused)
	text := fmt.Sprintf("%d requests", n)
	if n == 1 {
		text = "1 request"
	}
	var aside []string
	if skipped > 0 {
		aside = append(aside, fmt.Sprintf("%d already processed skipped", skipped))
	}
	if refused > 0 {
		aside = append(aside, fmt.Sprintf("%d too large refused", refused))
	}
	if len(aside) > 0 {
		text += " (" + strings.Join(aside, ", ") + ")"
	}
	return text
}

func notSentWhy(o Outcome) string {
	switch o {
	case OutcomeCanceled:
		return "the run was cancelled; continue it with --resume"
	case OutcomeTripped:
		return "the circuit breaker stopped the run; continue it with --resume"
	case OutcomeError:
		return "the run stopped on an error; continue it with --resume"
	}
	return "continue it with --resume"
}

// WriteJSONLines writes one JSON object per item.
func (rep *Report) WriteJSONLines(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, it := range rep.Items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteTable writes an aligned table. Text from outside becomes a cell through the
// caller's functions, which make it safe for a terminal and cut it: id for request IDs
// and keys (which operators copy), text for errors and notes.
func (rep *Report) WriteTable(w io.Writer, id, text func(string) string) error {
	if id == nil {
		id = func(s string) string { return s }
	}
	if text == nil {
		text = id
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	// KEY only when some key is not its ID; VERDICT only when someone waited for it.
	keys, verdicts := false, false
	for _, it := range rep.Items {
		keys = keys || it.Key != it.RequestID
		verdicts = verdicts || it.Verdict != nil
	}
	cols := []string{"REQUEST ID"}
	if keys {
		cols = append(cols, "KEY")
	}
	cols = append(cols, "MODE", "STATE", "ATTEMPTS", "HTTP", "NEW REQUEST ID", "DURATION")
	if verdicts {
		cols = append(cols, "VERDICT")
	}
	fmt.Fprintln(tw, strings.Join(append(cols, "ERROR"), "\t"))
	// Requests a stopped run never reached are one count line, not a line each: a
	// cancelled run of 90 would otherwise print 88 alike. JSON keeps every item.
	unsent, why := 0, ""
	for _, it := range rep.Items {
		if it.State == StatePending && it.Attempts == 0 {
			unsent++
			if why == "" {
				why = strings.TrimPrefix(it.Error, "not finished: ")
			}
			continue
		}
		status := ""
		if it.HTTPStatus != 0 {
			status = fmt.Sprint(it.HTTPStatus)
		}
		msg := it.Error
		if msg == "" {
			msg = it.Note
		}
		if v := it.Verdict; msg == "" && v != nil && v.Kind == VerdictFailed {
			msg = v.Error // why the processor failed it again
		}
		state := string(it.State)
		if it.MaybeDuplicated {
			state += "*"
		}
		row := []string{id(it.RequestID)}
		if keys {
			row = append(row, id(it.Key))
		}
		row = append(row, string(it.Mode), state, fmt.Sprint(it.Attempts), status, id(it.NewRequestID), it.Duration.Round(time.Millisecond).String())
		if verdicts {
			row = append(row, verdictCell(it.Verdict, text))
		}
		fmt.Fprintln(tw, strings.Join(append(row, text(msg)), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if unsent > 0 {
		line := fmt.Sprintf("… and %d not sent", unsent)
		if why != "" {
			line += ": " + text(why)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	for _, it := range rep.Items {
		if it.MaybeDuplicated {
			_, err := fmt.Fprintln(w, "* an attempt's outcome was unknown: the processor may have received it twice")
			return err
		}
	}
	return nil
}

// verdictCell is the table's word for a verdict: the new state ("FAILED again" when it
// failed with the same error), "no verdict" while there is none, "" when not followed.
func verdictCell(v *Verdict, text func(string) string) string {
	switch {
	case v == nil:
		return ""
	case v.Kind == VerdictNone:
		return "no verdict"
	case v.SameError:
		return text(v.State) + " again"
	}
	return text(v.State)
}

// SaveJSONLines writes the report to path (mode 0600), replacing it atomically.
func (rep *Report) SaveJSONLines(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save report: %w", err)
	}
	if err := atomicfile.Write(path, atomicfile.Options{Perm: 0o600}, rep.WriteJSONLines); err != nil {
		return fmt.Errorf("save report %s: %w", path, err)
	}
	return nil
}

// ReportPath is where a journal's report is saved: beside it, ".report.jsonl" instead of
// ".journal.jsonl" (or ".jsonl").
func ReportPath(journalPath string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(journalPath, ".jsonl"), ".journal")
	return base + ".report.jsonl"
}

// ReadReport parses a JSON Lines report (the output of -o json). Blank lines are skipped;
// a line that is not a report item is an error naming it.
func ReadReport(r io.Reader) ([]ItemResult, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []ItemResult
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var it ItemResult
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			return nil, fmt.Errorf("line %d is not a redrive report item (write reports with -o json): %v", n, err)
		}
		if it.RequestID == "" || it.State == "" {
			return nil, fmt.Errorf("line %d is not a redrive report item: it has no id or state", n)
		}
		it.Duration = time.Duration(it.DurationMS * float64(time.Millisecond))
		out = append(out, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	return out, nil
}

// SelectFromReport returns the IDs of the items whose state is one of only, in order.
// "unfinished" matches every state that is not final.
func SelectFromReport(items []ItemResult, only []ItemState) []string {
	want := map[ItemState]bool{}
	for _, s := range only {
		want[s] = true
	}
	var ids []string
	seen := map[string]bool{}
	for _, it := range items {
		if (want[it.State] || (want["unfinished"] && !it.State.Final())) && !seen[it.RequestID] {
			seen[it.RequestID] = true
			ids = append(ids, it.RequestID)
		}
	}
	return ids
}

// ChangedIn says how the status now differs from s, read before a send ("" when it does
// not): a new item, another state, more attempts or a new updatedAt all mean the
// processor wrote since, so the request reached it.
func (s *StatusRead) ChangedIn(now *StatusRead) string {
	switch {
	case s.Found != now.Found:
		return "a status item appeared"
	case !now.Found:
		return ""
	case s.State != now.State:
		return fmt.Sprintf("state %s → %s", s.State, now.State)
	case now.Attempts != s.Attempts:
		return fmt.Sprintf("attempts %d → %d", s.Attempts, now.Attempts)
	case !now.UpdatedAt.Equal(s.UpdatedAt):
		return "updatedAt " + s.UpdatedAt.UTC().Format(time.RFC3339Nano) + " → " + now.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	return ""
}
