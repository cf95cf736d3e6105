package redrive

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// HistoryRun is one redrive run that held a request, as its journal tells it.
type HistoryRun struct {
	RunID    string
	Env      string
	Operator string // who ran it, from the audit log ("" when it has no entry)
	Mode     string
	// Outcome is where the request stood in the run: delivered, failed, skipped, unknown,
	// sending (the run died), pending (never sent).
	Outcome      string
	Error        string // the run's reason for a failed or skipped request
	NewRequestID string // a reupload's new request
	Journal      string
	Started      time.Time // when the run was planned
	At           time.Time // the request's last record in the run (zero: none)
	Attempts     int
}

// RequestHistory is the redrive history of one request from every journal on this
// machine: the journals in dir (the redrives state directory) and those the audit log
// beside it names elsewhere (--journal), oldest first. env "" means every environment.
// A journal that cannot be read is skipped: history informs, it does not drive a send.
func RequestHistory(dir, env, requestID string) ([]HistoryRun, error) {
	paths := map[string]bool{}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".journal.jsonl") {
			paths[filepath.Join(dir, e.Name())] = true
		}
	}
	who := map[string]string{}
	audit, _, _ := LoadAudit(filepath.Join(filepath.Dir(dir), "audit.jsonl"))
	for _, a := range audit {
		if a.Who != "" {
			who[a.RunID] = a.Who
		}
		if a.Journal != "" {
			if _, err := os.Stat(a.Journal); err == nil {
				paths[filepath.Clean(a.Journal)] = true
			}
		}
	}
	needle, _ := json.Marshal(requestID)
	needle = append([]byte(`"id":`), needle...)
	var out []HistoryRun
	for p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(data, needle) {
			continue // cheap: most journals do not hold the request
		}
		st, err := ReadJournal(bytes.NewReader(data))
		if err != nil {
			continue
		}
		m := st.Manifest
		if env != "" && m.Env != env {
			continue
		}
		tr, ok := st.Items[requestID]
		if !ok {
			continue
		}
		out = append(out, HistoryRun{
			RunID: m.RunID, Env: m.Env, Operator: who[m.RunID], Mode: string(m.Mode), Outcome: string(tr.State),
			Error: tr.Reason, NewRequestID: tr.NewRequestID, Journal: p, Started: m.PlannedAt, At: tr.At, Attempts: tr.Attempts,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].RunID < out[j].RunID
	})
	return out, nil
}
