package redrive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// While a run runs, a viewer follows its journal to learn which requests were delivered
// (the engine's progress carries counts, not IDs) and reads their statuses as they go, so
// the rows it acts on do not stay stale. The journal is only read here, never trusted for
// a resume: VerifyJournal is for that.

// ReadJournalFrom reads the whole records appended to the journal at path from byte off,
// and the offset after the last whole line (a line still being written is left for the
// next call). Lines that do not parse are skipped: this is for display.
func ReadJournalFrom(path string, off int64) ([]Record, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, off, fmt.Errorf("follow journal: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, off, fmt.Errorf("follow journal: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, off, fmt.Errorf("follow journal: %w", err)
	}
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return nil, off, nil
	}
	var recs []Record
	for _, line := range bytes.Split(b[:end], []byte{'\n'}) {
		var r Record
		if json.Unmarshal(line, &r) == nil {
			recs = append(recs, r)
		}
	}
	return recs, off + int64(end) + 1, nil
}

// LiveTargets turns journal records into the verdict targets of the requests they say
// were delivered (or may have been). pre keeps each request's pre-send read from its
// "sending" record between calls; the caller owns it.
func LiveTargets(recs []Record, mode Mode, pre map[string]*StatusRead) []VerdictTarget {
	var out []VerdictTarget
	for _, r := range recs {
		switch r.Type {
		case RecSending:
			if r.PreSend != nil {
				pre[r.ID] = r.PreSend
			}
		case RecDelivered, RecUnknown:
			t := VerdictTarget{Origin: r.ID, ReadID: r.ID}
			if mode == ModeReupload {
				if r.NewRequestID == "" {
					continue
				}
				t.ReadID = r.NewRequestID
			} else if p := pre[r.ID]; p != nil {
				t.Base = *p
			} else {
				continue // no baseline: the run's report decides it at the end
			}
			out = append(out, t)
		}
	}
	return out
}
