package redrive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"time"
)

// journaledAt is when the journal last said anything about an item: its settle wait
// starts there. The journal file's modification time bounds every record's time from
// above, so waiting from it never re-checks too early (it may wait a little longer).
func journaledAt(st *JournalState, now time.Time) time.Time {
	fi, err := os.Stat(st.Path)
	if err != nil || fi.ModTime().After(now) {
		return now // unknown, or a clock ahead of ours: wait the whole settle from now
	}
	return fi.ModTime().UTC()
}

// settleResumed waits, on a resume, until an item journaled sending or unknown has had
// UnknownSettle since its journaled time: a processor needs that long to write the
// verdict the re-check looks for, and a kill during the first wait must not skip it.
// ok is false when the run stopped.
func (r *Run) settleResumed(ctx context.Context, it Item) bool {
	if r.resumed == nil {
		return true
	}
	t := r.resumed.Items[it.RequestID]
	if t == nil || (t.State != StateSending && t.State != StateUnknown) {
		return true
	}
	from := r.settleFrom // the journal file's time: never too early, maybe too late
	if !t.At.IsZero() && !t.At.After(r.now()) {
		from = t.At // the item's own last record
	}
	return sleepCtx(ctx, from.Add(r.opts.UnknownSettle).Sub(r.now()))
}

// firstSendings reads when the journal at path first recorded each item sending. It is
// read only for a FIFO queue's resend window; an unreadable journal gives none, and
// then nothing that may have been delivered is sent again.
func firstSendings(path string) map[string]time.Time {
	out := map[string]time.Time{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return out // the end, or a torn last line
		}
		if !bytes.Contains(line, []byte(`"type":"sending"`)) {
			continue // the header (the whole manifest) and outcomes
		}
		var rec struct {
			Type RecordType `json:"type"`
			ID   string     `json:"id"`
			At   time.Time  `json:"at"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Type != RecSending || rec.ID == "" {
			continue
		}
		if t, ok := out[rec.ID]; !ok || rec.At.Before(t) {
			out[rec.ID] = rec.At
		}
	}
}
