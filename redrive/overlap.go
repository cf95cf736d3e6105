package redrive

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Overlap is an unfinished run that holds some of the requests about to be planned again:
// sending them now could deliver them twice, or race the run's --resume.
type Overlap struct {
	RunID   string
	Journal string
	Started time.Time
	// Count is how many of the given requests the run's manifest holds.
	Count int
	// Jobs are the S3 Batch Operations jobs of a batch-ops run (its Journal is the
	// .batch.json record); Batch says it is one, though it created no job yet.
	Jobs  []string
	Batch bool
}

// Warning says what the overlap means and what to do, for the CLI and the TUI alike.
func (o Overlap) Warning() string {
	if o.Batch {
		return fmt.Sprintf("a batch-ops run (record %s, started %s) has not finished and includes %d of these requests; %s before sending them again",
			o.Journal, o.Started.UTC().Format(time.RFC3339), o.Count, o.batchAdvice("stowage"))
	}
	return fmt.Sprintf("another run (journal %s, started %s) has not finished and includes %d of these requests; --resume it or check it before sending them again",
		o.Journal, o.Started.UTC().Format(time.RFC3339), o.Count)
}

// OverlapRefusal says why a run over requests that unfinished runs hold is refused, and
// what to do, for the CLI and the TUI alike. command is how to run stowage on the
// environment (for example "stowage --env prod").
func OverlapRefusal(overlaps []Overlap, command string) string {
	n := 0
	for _, o := range overlaps {
		n += o.Count
	}
	first := overlaps[0]
	msg := fmt.Sprintf("%d of these requests are held by %d unfinished run(s) of this environment (run %s, journal %s): sending them again could deliver them twice. ",
		n, len(overlaps), first.RunID, first.Journal)
	if first.Batch {
		advice := first.batchAdvice(command)
		return msg + strings.ToUpper(advice[:1]) + advice[1:] + ", or, if you accept duplicates, pass --allow-overlap"
	}
	return msg + fmt.Sprintf("Continue that run with %s redrive --resume %s, or check it and, if it is dead and you accept duplicates, pass --allow-overlap", command, first.Journal)
}

// batchAdvice says how to finish a batch-ops run: watch its job to the end (which reads
// its report and releases its claims).
func (o Overlap) batchAdvice(command string) string {
	if len(o.Jobs) == 0 {
		return fmt.Sprintf("it created no job yet (if its process ended, none will be: the claims it made expire within %d h); check it",
			int(BatchLeaseTTL.Hours()))
	}
	return fmt.Sprintf("let its job end with %s jobs watch %s", command, o.Jobs[0])
}

// UnfinishedOverlaps finds the runs of environment env that the audit log at auditPath
// shows as unfinished (a started entry, no final one), whose journal still exists, and
// whose manifest holds any of ids. Only those journals are read, so a long history costs
// one pass over the log. A missing log has none; a journal that cannot be read is
// skipped, as is one whose run ended though its final audit entry is missing. A batch-ops
// run's started entry names its .batch.json record: the requests it claimed (or, before
// its claims, those it is to send) overlap until the record says it finished.
func UnfinishedOverlaps(auditPath, env string, ids []string) ([]Overlap, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	entries, _, err := LoadAudit(auditPath)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	open := Unfinished(entries)
	var out []Overlap
	for i, e := range entries { // in the log's order: oldest first
		if !open[i] || e.Env != env || e.Journal == "" {
			continue
		}
		if _, err := os.Stat(e.Journal); errors.Is(err, os.ErrNotExist) {
			continue
		}
		started := e.Finished // a started entry is written as the run starts
		if started.IsZero() {
			started = e.At
		}
		if strings.HasSuffix(e.Journal, ".batch.json") {
			if o, ok := batchOverlap(e.Journal, env, want); ok {
				o.RunID, o.Started = e.RunID, started
				out = append(out, o)
			}
			continue
		}
		// Only the journal itself: what it holds matters here, not whether it may drive a
		// resume, and the audit log is already read.
		st, err := readJournalFile(e.Journal)
		if err != nil || st.Ended || st.Manifest == nil || st.Manifest.Env != env {
			continue
		}
		n := 0
		for _, it := range st.Manifest.Items {
			if want[it.RequestID] {
				n++
			}
		}
		if n == 0 {
			continue
		}
		out = append(out, Overlap{RunID: e.RunID, Journal: e.Journal, Started: started, Count: n})
	}
	return out, nil
}

// batchOverlap is the overlap of the batch-ops run recorded at path with the wanted
// requests: those it claimed once its claims are made, else all it is to send (the
// claims are being made). A finished record, one of another environment, or one that
// cannot be read has none.
func batchOverlap(path, env string, want map[string]bool) (Overlap, bool) {
	rec, err := LoadBatchRecord(path)
	if err != nil || rec.Finished || rec.Plan.Manifest.Env != env {
		return Overlap{}, false
	}
	ids := rec.Claimed
	if len(ids) == 0 && len(rec.Refused)+len(rec.Failed) == 0 {
		ids = rec.Plan.Sends
	}
	n := 0
	for _, id := range ids {
		if want[id] {
			n++
		}
	}
	if n == 0 {
		return Overlap{}, false
	}
	return Overlap{Journal: path, Count: n, Jobs: rec.JobIDs(), Batch: true}, true
}
