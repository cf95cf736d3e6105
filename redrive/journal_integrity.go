package redrive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
)

// A journal proves its own integrity: each record carries its line number (Seq) and a
// CRC-32C of its line (Sum), so a gap, a flipped byte or a damaged line in the middle is
// found; only a torn last line, which a kill leaves, is tolerated. A cut that happens to
// leave a clean end is found by comparing with what the run's report and audit entries
// say the journal held (VerifyJournal).

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sumSuffix is how a sealed line ends: `,"sum":"xxxxxxxx"}`.
const (
	sumPrefix = `,"sum":"`
	sumLen    = len(sumPrefix) + 8 + len(`"}`)
)

// sealRecord encodes r as one journal line whose last field is the CRC-32C of the line
// without that field. The checksum covers the exact bytes written, so reading it back needs
// no canonical re-encoding.
func sealRecord(r Record) ([]byte, error) {
	r.Sum = ""
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	sum := crc32.Checksum(b, castagnoli)
	out := make([]byte, 0, len(b)+sumLen+1)
	out = append(out, b[:len(b)-1]...)
	out = fmt.Appendf(out, `%s%08x"}`, sumPrefix, sum)
	return append(out, '\n'), nil
}

// checkSeal checks one complete line's sequence number and checksum.
func (st *JournalState) checkSeal(line []byte, rec Record, lineNo int) error {
	if rec.Seq == 0 && rec.Sum == "" {
		if lineNo == 1 {
			st.Legacy = true
			return nil
		}
		if !st.Legacy || st.LastSeq > 0 {
			return integrityf("line %d has no sequence number or checksum, unlike the records before it: the journal was altered", lineNo)
		}
		return nil
	}
	if rec.Seq == 0 || rec.Sum == "" {
		return integrityf("line %d has a sequence number or a checksum but not both: the journal was altered", lineNo)
	}
	body := bytes.TrimSuffix(line, []byte("\n"))
	if len(body) < sumLen+2 || !bytes.HasPrefix(body[len(body)-sumLen:], []byte(sumPrefix)) || !bytes.HasSuffix(body, []byte(`"}`)) {
		return integrityf("line %d: its checksum is not where stowage writes it: the journal was altered", lineNo)
	}
	hex := string(body[len(body)-sumLen+len(sumPrefix) : len(body)-2])
	want, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || hex != rec.Sum {
		return integrityf("line %d: its checksum %q is not valid: the journal was altered", lineNo, hex)
	}
	signed := append(append([]byte{}, body[:len(body)-sumLen]...), '}')
	if got := crc32.Checksum(signed, castagnoli); uint64(got) != want {
		return integrityf("line %d fails its checksum (%08x, recorded %08x): the journal was damaged or altered", lineNo, got, want)
	}
	if rec.Seq != uint64(lineNo) {
		if rec.Seq > uint64(lineNo) {
			return integrityf("line %d carries sequence number %d: %d record(s) before it are missing", lineNo, rec.Seq, rec.Seq-uint64(lineNo))
		}
		return integrityf("line %d carries sequence number %d: records were repeated or reordered", lineNo, rec.Seq)
	}
	st.LastSeq = rec.Seq
	return nil
}

// IntegrityError is a journal that cannot be trusted to drive a resend: it lost records,
// or was damaged or altered. Nothing may be sent from it; Error says how to recover.
type IntegrityError struct {
	Path   string // the journal
	Report string // the run's saved report, when it exists
	Reason string
}

func integrityf(format string, a ...any) error {
	return &IntegrityError{Reason: fmt.Sprintf(format, a...)}
}

func (e *IntegrityError) Error() string {
	msg := "journal " + e.Path + " cannot be trusted: " + e.Reason +
		". Resuming it could send requests twice or skip them, so nothing was sent"
	return msg + "; " + e.Remedy("stowage")
}

// Remedy says how to recover, with command the way to run stowage on the run's
// environment (for example "stowage --env prod").
func (e *IntegrityError) Remedy(command string) string {
	if e.Report != "" {
		unfinished, failed, ok := reportLeft(e.Report)
		switch {
		case ok && unfinished == 0 && failed == 0:
			return fmt.Sprintf("its report %s shows every request delivered or skipped: nothing is left to resume", e.Report)
		case ok && unfinished == 0:
			return fmt.Sprintf("its report %s shows every request finished; retry the %d failed with: %s redrive --from-report %s --only failed", e.Report, failed, command, e.Report)
		}
		return fmt.Sprintf("redrive what the run's report says is unfinished instead: %s redrive --from-report %s --only unfinished", command, e.Report)
	}
	return fmt.Sprintf("the run saved no report: check the requests' status (%s status ID) and plan a new run of those that need it, e.g. %s redrive --status FAILED", command, command)
}

// reportLeft counts the report's unfinished and failed items; ok is false when it cannot
// be read.
func reportLeft(path string) (unfinished, failed int, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	items, err := ReadReport(f)
	if err != nil {
		return 0, 0, false
	}
	for _, it := range items {
		switch {
		case !it.State.Final():
			unfinished++
		case it.State == StateFailed:
			failed++
		}
	}
	return unfinished, failed, true
}

// existingReport is the report saved beside the journal at path, "" when there is none.
func existingReport(journalPath string) string {
	p := ReportPath(journalPath)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// VerifyJournal checks st against what other records say the journal held: the report
// saved at reportPath and the audit log's entries for the run at auditPath (either ""
// or missing: not compared). A report item finished that the journal does not record as
// such, or a sequence number or finished count past the journal's end, proves records
// were lost; it is an *IntegrityError.
func VerifyJournal(st *JournalState, reportPath, auditPath string) error {
	lost := func(format string, a ...any) error {
		return &IntegrityError{Path: st.Path, Report: existingReport(st.Path), Reason: fmt.Sprintf(format, a...)}
	}
	if reportPath != "" {
		if f, err := os.Open(reportPath); err == nil {
			items, rerr := ReadReport(f)
			f.Close()
			if rerr != nil {
				return lost("its report %s cannot be read (%v)", reportPath, rerr)
			}
			if err := compareReport(st, items, reportPath); err != nil {
				return lost("%s", err)
			}
		}
	}
	if auditPath == "" {
		return nil
	}
	entries, _, err := LoadAudit(auditPath)
	if err != nil {
		return nil // an unreadable audit log proves nothing either way
	}
	done := st.Counts().Done()
	for _, e := range entries {
		if e.RunID != st.Manifest.RunID {
			continue
		}
		if e.JournalSeq > st.LastSeq {
			return lost("the audit log (%s) records that it reached record %d, but it ends at record %d: %d record(s) are missing",
				auditPath, e.JournalSeq, st.LastSeq, e.JournalSeq-st.LastSeq)
		}
		if n := e.Counts.Done(); n > done {
			return lost("the audit log (%s) records %d requests finished, but the journal records %d: %d outcome(s) are missing",
				auditPath, n, done, n-done)
		}
	}
	return nil
}

// compareReport finds what a saved report proves the journal lost.
func compareReport(st *JournalState, items []ItemResult, reportPath string) error {
	var missing int
	var first string
	var maxSeq uint64
	for _, it := range items {
		if it.RunID != "" && it.RunID != st.Manifest.RunID {
			return nil // the report of another run: it proves nothing about this one
		}
		maxSeq = max(maxSeq, it.JournalSeq)
		t := st.Items[it.RequestID]
		if t == nil || !it.State.Final() || t.State == it.State {
			continue
		}
		missing++
		if first == "" {
			first = fmt.Sprintf("%s is %s in the report, %s in the journal", it.RequestID, it.State, t.State)
		}
	}
	if missing > 0 {
		return fmt.Errorf("its report %s records %d finished request(s) that the journal does not (%s)", reportPath, missing, first)
	}
	if maxSeq > st.LastSeq {
		return fmt.Errorf("its report %s names record %d, but the journal ends at record %d", reportPath, maxSeq, st.LastSeq)
	}
	return nil
}
