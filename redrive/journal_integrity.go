package redrive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/internal/jsonstr"
)

// A journal proves its own integrity: each record carries its line number (Seq) and a
// CRC-32C of its line (Sum), so a gap, a flipped byte or a damaged line in the middle is
// found; only a torn last line, which a kill leaves, is tolerated. A cut that happens to
// leave a clean end is found by comparing with what the run's report and audit entries
// say the journal held (VerifyJournal).

// castagnoli is built on first use: building it cost every command about 0.5 ms at start
// (cmd/stowage's TestInitAllocatesLittle), and most commands never touch a journal.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// sumSuffix is how a sealed line ends: `,"sum":"xxxxxxxx"}`.
const (
	sumPrefix = `,"sum":"`
	sumLen    = len(sumPrefix) + 8 + len(`"}`)
)

// sealRecord encodes r as one journal line whose last field is the CRC-32C of the line
// without that field. The checksum covers the exact bytes written, so reading it back needs
// no canonical re-encoding.
func sealRecord(r Record) ([]byte, error) {
	return appendSealed(nil, &r)
}

// appendSealed appends r's sealed line to b (r.Sum is ignored).
func appendSealed(b []byte, r *Record) ([]byte, error) {
	start := len(b)
	b, err := appendRecordJSON(b, r)
	if err != nil {
		return b[:start], err
	}
	sum := crc32.Checksum(b[start:], castagnoli())
	b = append(b[:len(b)-1], sumPrefix...) // in place of the closing brace
	b = appendHex8(b, sum)
	return append(b, '"', '}', '\n'), nil
}

func appendHex8(b []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[(v>>uint(shift))&0xf])
	}
	return b
}

// appendRecordJSON appends what json.Marshal makes of r without its Sum, byte for byte:
// the records a run writes for every item (sending and its outcome) are encoded by hand,
// since encoding/json's reflection was a visible part of a redrive's CPU per request. The
// header and end records (a manifest, counts), and anything the hand encoder does not
// cover exactly, go through encoding/json. FuzzRecordEncoding holds the two together.
func appendRecordJSON(b []byte, r *Record) ([]byte, error) {
	if r.Manifest != nil || r.Counts != nil || !jsonTimeOK(r.At) || (r.PreSend != nil && !jsonTimeOK(r.PreSend.UpdatedAt)) ||
		math.IsNaN(r.DurationMS) || math.IsInf(r.DurationMS, 0) {
		c := *r
		c.Sum = ""
		j, err := json.Marshal(c)
		return append(b, j...), err
	}
	b = append(b, `{"type":`...)
	b = appendJSONString(b, string(r.Type))
	if r.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, r.Seq, 10)
	}
	b = append(b, `,"at":`...)
	b = appendJSONTime(b, r.At)
	b = appendStringField(b, `,"id":`, r.ID)
	b = appendIntField(b, `,"attempt":`, r.Attempt)
	b = appendIntField(b, `,"httpStatus":`, r.HTTPStatus)
	b = appendStringField(b, `,"newRequestId":`, r.NewRequestID)
	b = appendStringField(b, `,"gatewayRequestId":`, r.GatewayRequestID)
	b = appendStringField(b, `,"reason":`, r.Reason)
	if r.DurationMS != 0 {
		b = append(b, `,"durationMs":`...)
		b = appendJSONFloat(b, r.DurationMS)
	}
	if p := r.PreSend; p != nil {
		b = append(b, `,"preSend":{"found":`...)
		b = strconv.AppendBool(b, p.Found)
		b = appendStringField(b, `,"status":`, p.State)
		b = appendIntField(b, `,"attempts":`, p.Attempts)
		if !p.UpdatedAt.IsZero() {
			b = append(b, `,"updatedAt":`...)
			b = appendJSONTime(b, p.UpdatedAt)
		}
		b = append(b, '}')
	}
	b = appendStringField(b, `,"manifestHash":`, r.ManifestHash)
	b = appendStringField(b, `,"outcome":`, string(r.Outcome))
	return append(b, '}'), nil
}

func appendStringField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(append(b, name...), v)
}

func appendIntField(b []byte, name string, v int) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), int64(v), 10)
}

// appendJSONString appends s as encoding/json quotes it (HTML escaping included): the
// bytes every journal was written with, so journals from older versions keep verifying.
func appendJSONString(b []byte, s string) []byte {
	return jsonstr.Append(b, s, jsonstr.Options{HTMLEscape: true})
}

// jsonTimeOK reports whether t encodes as time.Time.MarshalJSON does it with
// RFC3339Nano (a year of four digits, an offset within a day).
func jsonTimeOK(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	return off > -24*3600 && off < 24*3600 && off%60 == 0
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONFloat formats f as encoding/json does a float64.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
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
	if got := crc32.Checksum(signed, castagnoli()); uint64(got) != want {
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
