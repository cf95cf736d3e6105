package redrive

import (
	"errors"
	"fmt"
	"os"
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
}

// Warning says what the overlap means and what to do, for the CLI and the TUI alike.
func (o Overlap) Warning() string {
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
	return msg + fmt.Sprintf("Continue that run with %s redrive --resume %s, or check it and, if it is dead and you accept duplicates, pass --allow-overlap", command, first.Journal)
}

// UnfinishedOverlaps finds the runs of environment env that the audit log at auditPath
// shows as unfinished (a started entry, no final one), whose journal still exists, and
// whose manifest holds any of ids. Only those journals are read, so a long history costs
// one pass over the log. A missing log has none; a journal that cannot be read is
// skipped, as is one whose run ended though its final audit entry is missing.
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
		started := e.Finished // a started entry is written as the run starts
		if started.IsZero() {
			started = e.At
		}
		out = append(out, Overlap{RunID: e.RunID, Journal: e.Journal, Started: started, Count: n})
	}
	return out, nil
}
