package redrive

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// finishedRun runs n requests to the end and saves the report beside the journal and the
// audit entry of the run, as the CLI does; it returns the journal's path and the audit log.
func finishedRun(t *testing.T, n int) (f *fixture, journal, audit string) {
	t.Helper()
	t.Setenv("XDG_STATE_HOME", filepath.Join(t.TempDir(), "state"))
	f = newFixture(t, n)
	m := f.plan(t, ModeInplace)
	r, err := New(f.deps(), m, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	rep := runToEnd(t, r)
	if rep.Counts.Delivered != n {
		t.Fatalf("counts %+v", rep.Counts)
	}
	if err := rep.SaveJSONLines(ReportPath(r.JournalPath())); err != nil {
		t.Fatal(err)
	}
	audit, err = AuditPath()
	if err != nil {
		t.Fatal(err)
	}
	if err := AppendAudit(audit, AuditRun(m, rep, ReportPath(r.JournalPath()), AuditContext{Who: "t", At: auditAt})); err != nil {
		t.Fatal(err)
	}
	return f, r.JournalPath(), audit
}

// cutAt truncates the file at the given share of its length; the cut falls mid-line.
func cutAt(t *testing.T, path string, share float64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := int(float64(len(data)) * share)
	for data[n-1] == '\n' { // make sure the cut tears a line
		n++
	}
	if err := os.WriteFile(path, data[:n], 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantIntegrityError(t *testing.T, err error, parts ...string) {
	t.Helper()
	var ie *IntegrityError
	if !errors.As(err, &ie) {
		t.Fatalf("want an integrity refusal, got %v", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("refusal does not say %q:\n%s", p, err)
		}
	}
}

// The case: a journal cut mid-line at 60% looked like a kill's torn last line, and
// its lost outcomes were skipped or sent again. The saved report proves they existed.
func TestJournalCutMidLineIsRefusedOnResume(t *testing.T) {
	_, journal, _ := finishedRun(t, 40)
	cutAt(t, journal, 0.6)
	_, err := LoadJournal(journal)
	// Every request of the run was delivered: the report says nothing is left.
	wantIntegrityError(t, err, "report", "shows every request delivered or skipped: nothing is left to resume", "nothing was sent")

	// A run that was stopped early: the report's unfinished requests are the way on.
	rewriteReport(t, ReportPath(journal), func(it *ItemResult) {
		if it.RequestID == "req-039" {
			it.State = StatePending
		}
	})
	_, err = LoadJournal(journal)
	wantIntegrityError(t, err, "--from-report "+ReportPath(journal)+" --only unfinished")

	// Without the report, the audit log's end entry proves it.
	os.Remove(ReportPath(journal))
	_, err = LoadJournal(journal)
	wantIntegrityError(t, err, "audit log", "missing", "saved no report")
}

// A kill leaves at most one torn final record: that is tolerated, and a resume continues
// the sequence after the complete records.
func TestJournalTornFinalRecordIsTolerated(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", filepath.Join(t.TempDir(), "state"))
	f := newFixture(t, 3)
	m := f.plan(t, ModeInplace)
	path := filepath.Join(f.dir, "killed.journal.jsonl")
	journalFor(t, path, m,
		Record{Type: RecSending, ID: "req-000", Attempt: 1},
		Record{Type: RecDelivered, ID: "req-000", Attempt: 1, HTTPStatus: 200})
	appendBytes(t, path, `{"type":"sending","seq":4,"id":"req-0`)
	st, err := LoadJournal(path)
	if err != nil {
		t.Fatalf("a torn final record was refused: %v", err)
	}
	if !st.Torn || st.LastSeq != 3 || st.Legacy || st.Items["req-000"].State != StateDelivered {
		t.Errorf("state: torn %v, last seq %d, legacy %v", st.Torn, st.LastSeq, st.Legacy)
	}
	r, err := Resume(f.deps(), st, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	runToEnd(t, r)
	st, err = LoadJournal(path)
	if err != nil {
		t.Fatalf("the resumed journal does not read back: %v", err)
	}
	if st.Counts().Delivered != 3 || st.Torn {
		t.Errorf("after resume: %+v, torn %v", st.Counts(), st.Torn)
	}
}

// Damage anywhere but a torn final line is refused: a flipped byte, a lost line, a torn
// line followed by more records.
func TestJournalDamageIsRefused(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", filepath.Join(t.TempDir(), "state"))
	f := newFixture(t, 3)
	m := f.plan(t, ModeInplace)
	path := filepath.Join(f.dir, "j.journal.jsonl")
	journalFor(t, path, m,
		Record{Type: RecSending, ID: "req-000", Attempt: 1},
		Record{Type: RecDelivered, ID: "req-000", Attempt: 1, HTTPStatus: 200},
		Record{Type: RecSending, ID: "req-001", Attempt: 1},
		Record{Type: RecFailed, ID: "req-001", Attempt: 1, HTTPStatus: 400, Reason: "bad"})
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(good, []byte("\n"))
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"flipped byte", bytes.Replace(good, []byte(`"httpStatus":400`), []byte(`"httpStatus":200`), 1), "checksum"},
		{"flipped byte in the checksum", flipInLine(lines, 2, len(lines[2])-4), "checksum"},
		{"lost line", join(lines[:2], lines[3:]), "missing"},
		{"torn line not the last", join(lines[:3], [][]byte{lines[3][:20], []byte("\n")}, lines[4:]), "not a journal record"},
		{"repeated line", join(lines[:3], lines[2:]), "repeated"},
		{"checksum removed", join(lines[:2], [][]byte{append(bytes.TrimSuffix(lines[2], lines[2][len(lines[2])-19:]), "}\n"...)}, lines[3:]), "both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "j.journal.jsonl")
			os.WriteFile(p, tc.data, 0o600)
			_, err := LoadJournal(p)
			wantIntegrityError(t, err, tc.want, "nothing was sent")
		})
	}
}

// Journals written before sequence numbers are read as before; Legacy says their losses
// cannot be detected, and the CLI warns.
func TestLegacyJournalIsAcceptedAsLegacy(t *testing.T) {
	f := newFixture(t, 2)
	m := f.plan(t, ModeInplace)
	hb, _ := jsonMarshal(Record{Type: RecHeader, At: time.Now().UTC(), Manifest: m, ManifestHash: m.Hash()})
	data := string(hb) + "\n" + `{"type":"sending","at":"2024-01-01T00:00:00Z","id":"req-000","attempt":1}` + "\n" +
		`{"type":"delivered","at":"2024-01-01T00:00:00Z","id":"req-000","attempt":1}` + "\n"
	st, err := ReadJournal(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Legacy || st.Items["req-000"].State != StateDelivered {
		t.Errorf("legacy %v, state %s", st.Legacy, st.Items["req-000"].State)
	}
}

// The report and the audit entry carry the journal's sequence numbers, so a journal cut
// cleanly at a line end is refused too.
func TestJournalCutAtALineEndIsRefusedByTheAuditEntry(t *testing.T) {
	_, journal, _ := finishedRun(t, 5)
	data, _ := os.ReadFile(journal)
	lines := bytes.SplitAfter(data, []byte("\n"))
	os.WriteFile(journal, join(lines[:len(lines)-2]), 0o600) // the end record is gone
	_, err := LoadJournal(journal)
	wantIntegrityError(t, err, "record")
}

// The report beside the journal keeps each item's last sequence number.
func TestReportCarriesJournalSequence(t *testing.T) {
	_, journal, _ := finishedRun(t, 2)
	fh, _ := os.Open(ReportPath(journal))
	defer fh.Close()
	items, err := ReadReport(fh)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.JournalSeq == 0 {
			t.Errorf("%s has no journal sequence number", it.RequestID)
		}
	}
}

func appendBytes(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(s)
	fh.Close()
}

func flipInLine(lines [][]byte, line, at int) []byte {
	cp := make([][]byte, len(lines))
	for i, l := range lines {
		cp[i] = append([]byte{}, l...)
	}
	c := cp[line][at]
	if c == '0' {
		c = '1'
	} else {
		c = '0'
	}
	cp[line][at] = c
	return join(cp)
}

func join(parts ...[][]byte) []byte {
	var b []byte
	for _, p := range parts {
		for _, l := range p {
			b = append(b, l...)
		}
	}
	return b
}

func rewriteReport(t *testing.T, path string, edit func(*ItemResult)) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	items, err := ReadReport(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep := &Report{}
	for _, it := range items {
		edit(&it)
		rep.Items = append(rep.Items, it)
	}
	if err := rep.SaveJSONLines(path); err != nil {
		t.Fatal(err)
	}
}

// Each item's track keeps when its last record was written: a resume's settle wait for an
// item left sending or unknown starts there.
func TestJournalTracksWhenEachItemWasLastJournaled(t *testing.T) {
	f := newFixture(t, 2)
	m := f.plan(t, ModeInplace)
	hb, _ := jsonMarshal(Record{Type: RecHeader, At: time.Now().UTC(), Manifest: m, ManifestHash: m.Hash()})
	data := string(hb) + "\n" + `{"type":"sending","at":"2026-03-01T03:15:00Z","id":"req-000","attempt":1}` + "\n" +
		`{"type":"unknown","at":"2026-03-01T03:15:02.5Z","id":"req-000","attempt":1}` + "\n"
	st, err := ReadJournal(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Items["req-000"].At, time.Date(2026, 3, 1, 3, 15, 2, 5e8, time.UTC); !got.Equal(want) {
		t.Errorf("req-000 at %v, want %v", got, want)
	}
	if !st.Items["req-001"].At.IsZero() {
		t.Errorf("req-001 was never journaled, at %v", st.Items["req-001"].At)
	}
}

// The hand encoder of journal records writes what encoding/json writes, byte for byte,
// so that the journal's format is the same whichever encoded a line.
func FuzzRecordEncoding(f *testing.F) {
	f.Add("sending", uint64(7), int64(1765000000), int64(123456789), int32(0), "3f2a9c1e-8b7d", 1, 0, "", "", "", 12.5, true, "FAILED", 2, int64(1765000000))
	f.Add("delivered", uint64(1), int64(0), int64(0), int32(3600), "id\"<&>\u2028\x01", -3, 503, "new\xff", "gw", "reason: <b>", 1e-7, false, "", 0, int64(0))
	f.Add("failed", uint64(0), int64(-62135596800), int64(-1), int32(-19800), "", 0, 0, "", "", strings.Repeat("é", 40), 1e21, true, "ok", 0, int64(253402300800))
	f.Add("skipped", uint64(1<<63), int64(1), int64(1), int32(45), "x", 1, 1, "a", "b", "c", -0.0, true, "s", -1, int64(-1))
	f.Fuzz(func(t *testing.T, typ string, seq uint64, atSec, atNS int64, offset int32, id string, attempt, status int, newID, gwID, reason string,
		dur float64, pre bool, preState string, preAttempts int, preSec int64) {
		zone := time.FixedZone("z", int(offset))
		r := Record{Type: RecordType(typ), Seq: seq, At: time.Unix(atSec, atNS).In(zone), ID: id, Attempt: attempt, HTTPStatus: status,
			NewRequestID: newID, GatewayRequestID: gwID, Reason: reason, DurationMS: dur, Sum: "ignored"}
		if pre {
			r.PreSend = &StatusRead{Found: preState != "", State: preState, Attempts: preAttempts, Error: "never written"}
			if preSec != 0 {
				r.PreSend.UpdatedAt = time.Unix(preSec, 0).UTC()
			}
		}
		c := r
		c.Sum = ""
		want, wantErr := json.Marshal(c)
		got, err := appendRecordJSON([]byte("prefix"), &r)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, encoding/json's %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("hand encoder:\n%s\nencoding/json:\n%s", got[len("prefix"):], want)
		}
		// The sealed line reads back, its checksum checks.
		line, err := sealRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Record
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatal(err)
		}
		if back.Seq != 0 && back.Seq < 1<<31 {
			if err := (&JournalState{}).checkSeal(line, back, int(back.Seq)); err != nil {
				t.Fatalf("sealed line %s: %v", line, err)
			}
		}
	})
}
