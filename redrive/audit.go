package redrive

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StateDir is $XDG_STATE_HOME/stowage, or ~/.local/state/stowage when XDG_STATE_HOME is
// unset or relative (the XDG spec says to ignore relative values).
func StateDir() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "stowage"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errors.New("no state directory: set XDG_STATE_HOME or HOME")
	}
	return filepath.Join(home, ".local", "state", "stowage"), nil
}

// AuditPath is the audit log, StateDir()/audit.jsonl.
func AuditPath() (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "audit.jsonl"), nil
}

// DefaultJournalPath is where a run journals when no --journal is given:
// StateDir()/redrives/<time>-<run id>.journal.jsonl.
func DefaultJournalPath(m *Manifest) (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	name := m.PlannedAt.UTC().Format("20060102T150405Z") + "-" + m.RunID + ".journal.jsonl"
	return filepath.Join(dir, "redrives", name), nil
}

// AuditEntry is one line of the audit log: one run, dry runs and declined ones included.
type AuditEntry struct {
	RunID string    `json:"runId"`
	At    time.Time `json:"at"`  // when the run was planned
	Who   string    `json:"who"` // the STS caller ARN; "demo" in the demo
	// Account is the AWS account the credentials resolved to ("" on a local stack).
	Account    string `json:"account,omitempty"`
	Env        string `json:"env"`
	Production bool   `json:"production,omitempty"`
	Selection  string `json:"selection"`
	Count      int    `json:"count"` // items in the manifest
	Bytes      int64  `json:"bytes"`
	// ManifestHash identifies exactly what was planned; the journal holds the manifest.
	ManifestHash string `json:"manifestHash"`
	Mode         Mode   `json:"mode"`
	Target       string `json:"target"`
	// Rate and Concurrency are what the run ended with (the planned values for a run
	// that did not run); Tuned says they were changed while it ran, and PlannedRate and
	// PlannedConcurrency then keep what was confirmed.
	Rate               float64 `json:"rate"`
	Concurrency        int     `json:"concurrency"`
	Tuned              bool    `json:"tuned,omitempty"`
	PlannedRate        float64 `json:"plannedRate,omitempty"`
	PlannedConcurrency int     `json:"plannedConcurrency,omitempty"`
	Force              bool    `json:"force,omitempty"`
	// AllowOverlap: the operator sent requests an unfinished run also held (--allow-overlap).
	AllowOverlap bool    `json:"allowOverlap,omitempty"`
	Resumed      bool    `json:"resumed,omitempty"`
	Outcome      Outcome `json:"outcome"`
	Reason       string  `json:"reason,omitempty"` // why it stopped early, or was refused
	Counts       Counts  `json:"counts"`
	// JournalSeq is the journal's last sequence number when the run ended: a journal
	// that ends before it lost records.
	JournalSeq uint64    `json:"journalSeq,omitempty"`
	Journal    string    `json:"journal,omitempty"`
	Report     string    `json:"report,omitempty"`
	Finished   time.Time `json:"finished"`
}

// NewAuditEntry starts an entry from a manifest.
func NewAuditEntry(m *Manifest, who string) AuditEntry {
	return AuditEntry{
		RunID: m.RunID, At: m.PlannedAt, Who: who, Env: m.Env, Production: m.Production,
		Selection: m.Selection.Describe(), Count: len(m.Items), Bytes: m.TotalBytes(),
		ManifestHash: m.Hash(), Mode: m.Mode, Target: m.Target.String(), Rate: m.Rate,
		Concurrency: m.Concurrency, Counts: Counts{Pending: len(m.Items)},
	}
}

// FromReport fills the entry's outcome and counts from a run's report.
func (e *AuditEntry) FromReport(rep *Report) {
	e.Outcome, e.Reason, e.Counts = rep.Outcome, rep.StopReason, rep.Counts
	e.Journal, e.JournalSeq = rep.JournalPath, rep.JournalSeq
}

// AuditContext is what an audit entry says beyond the manifest and the report.
type AuditContext struct {
	Who     string // the STS caller ARN; "demo" in the demo
	Account string // the account the credentials resolved to ("" on a local stack)
	// AllowOverlap: --allow-overlap overrode the refusal of an overlapping run.
	AllowOverlap bool
	Force        bool
	Resumed      bool
	// At is when the run ended or was refused: the entry's Finished (and, for a refusal
	// before planning, its At).
	At time.Time
}

func (c AuditContext) at() time.Time {
	if c.At.IsZero() {
		return time.Now().UTC()
	}
	return c.At.UTC()
}

// AuditRun is the audit entry of a run that ran: its outcome, counts, stop reason and
// journal come from rep; reportPath is where the report was saved ("" when it could not
// be). The CLI and the TUI both build their entries here, so they record the same things.
func AuditRun(m *Manifest, rep *Report, reportPath string, c AuditContext) AuditEntry {
	e := NewAuditEntry(m, c.Who)
	e.Account, e.Force, e.Resumed, e.AllowOverlap = c.Account, c.Force, c.Resumed, c.AllowOverlap
	e.FromReport(rep)
	e.Reason = auditReason(rep.StopReason)
	e.Report = reportPath
	e.Finished = c.at()
	if rep.Concurrency > 0 && (rep.Rate != m.Rate || rep.Concurrency != m.Concurrency || rep.Tuned) {
		e.PlannedRate, e.PlannedConcurrency = m.Rate, m.Concurrency
		e.Rate, e.Concurrency = rep.Rate, rep.Concurrency
		e.Tuned = rep.Tuned
	}
	return e
}

// AuditStarted is the entry written, fsynced, before a run sends anything: a run killed
// and never resumed still leaves a record, which stowage audit shows as unfinished.
func AuditStarted(m *Manifest, journal string, c AuditContext) AuditEntry {
	e := NewAuditEntry(m, c.Who)
	e.Account, e.Force, e.Resumed, e.Outcome, e.Journal = c.Account, c.Force, c.Resumed, OutcomeStarted, journal
	e.AllowOverlap = c.AllowOverlap
	e.Finished = c.at()
	return e
}

// AppendStarted appends AuditStarted's entry to the audit log. Its error says what to do:
// a caller must not send anything when it fails.
func AppendStarted(m *Manifest, journal string, c AuditContext) (string, error) {
	path, err := AuditPath()
	if err != nil {
		return "", fmt.Errorf("cannot write the audit log: %v; fix it or set XDG_STATE_HOME", err)
	}
	if err := AppendAudit(path, AuditStarted(m, journal, c)); err != nil {
		return path, fmt.Errorf("cannot write the audit log at %s: %v; fix it or set XDG_STATE_HOME", path, err)
	}
	return path, nil
}

// Unfinished marks the started entries no later entry of the same run follows: runs
// killed (or still running) that have no final entry.
func Unfinished(entries []AuditEntry) map[int]bool {
	out := map[int]bool{}
	open := map[string]int{} // run ID → index of its latest unanswered started entry
	for i, e := range entries {
		if e.Outcome == OutcomeStarted {
			open[e.RunID] = i
			continue
		}
		delete(open, e.RunID)
	}
	for _, i := range open {
		out[i] = true
	}
	return out
}

// AuditDecision is the audit entry of a plan that did not run: a dry run, an empty plan,
// a declined confirmation, or a refusal after planning (outcome and reason say which).
func AuditDecision(m *Manifest, outcome Outcome, reason string, c AuditContext) AuditEntry {
	e := NewAuditEntry(m, c.Who)
	e.Account, e.Outcome, e.Reason, e.Force, e.Resumed = c.Account, outcome, auditReason(reason), c.Force, c.Resumed
	e.AllowOverlap = c.AllowOverlap
	e.Finished = c.at()
	return e
}

// Refusal is a redrive refused before anything was planned (a read-only environment).
type Refusal struct {
	Env         string
	Production  bool
	Selection   Selection
	Mode        Mode
	Rate        float64
	Concurrency int
	Reason      string
	// Journal is the run a refused --resume would have continued (nil for a new run): the
	// entry then names that run and its manifest.
	Journal *JournalState
}

// NewRefusalEntry is the audit entry of a refusal. Without a journal its run ID is
// "refused-" and the time in nanoseconds, since no run was planned.
func NewRefusalEntry(rf Refusal, c AuditContext) AuditEntry {
	at := c.at()
	e := AuditEntry{RunID: fmt.Sprintf("refused-%d", at.UnixNano()), At: at, Who: c.Who, Account: c.Account,
		Env: rf.Env, Production: rf.Production, Selection: rf.Selection.Describe(), Mode: rf.Mode,
		Rate: rf.Rate, Concurrency: rf.Concurrency, Force: c.Force, Resumed: c.Resumed || rf.Journal != nil,
		Outcome: OutcomeRefused, Reason: auditReason(rf.Reason), Finished: at}
	if j := rf.Journal; j != nil && j.Manifest != nil {
		m := j.Manifest
		e.RunID, e.Selection, e.ManifestHash, e.Count = m.RunID, m.Selection.Describe(), j.Hash, len(m.Items)
	}
	return e
}

// auditReason keeps a reason valid UTF-8: it may quote an error from outside.
func auditReason(s string) string { return strings.ToValidUTF8(s, "?") }

// AppendAudit appends one entry to the audit log at path (created 0600, directory 0700)
// and fsyncs it. One write per entry, with O_APPEND, so concurrent stowage processes do
// not interleave lines.
func AppendAudit(path string, e AuditEntry) error {
	if e.Finished.IsZero() {
		e.Finished = time.Now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	line = append(line, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("write audit log %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync audit log %s: %w", path, err)
	}
	return f.Close()
}

// ReadAudit parses the audit log, oldest first. A missing file is an empty log. A torn
// last line is ignored; other malformed lines are skipped and counted in bad.
func ReadAudit(r io.Reader) (entries []AuditEntry, bad int, err error) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return entries, bad, nil // a line without its newline was cut short
		}
		if err != nil {
			return entries, bad, fmt.Errorf("read audit log: %w", err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var e AuditEntry
		if json.Unmarshal([]byte(line), &e) != nil || e.RunID == "" {
			bad++
			continue
		}
		entries = append(entries, e)
	}
}

// LoadAudit reads the audit log at path; a missing file is an empty log.
func LoadAudit(path string) ([]AuditEntry, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	return ReadAudit(f)
}
