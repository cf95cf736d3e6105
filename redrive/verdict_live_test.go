package redrive_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/redrive"
)

// A viewer follows a journal as it grows: each read returns only the new whole records,
// and the delivered ones become verdict targets with the pre-send read of their send.
func TestLiveTargetsFollowTheJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.journal.jsonl")
	m := &redrive.Manifest{Version: redrive.ManifestVersion, RunID: "r", Mode: redrive.ModeInplace,
		Items: []redrive.Item{{RequestID: "a", Key: "a"}, {RequestID: "b", Key: "b"}}}
	j, err := redrive.CreateJournal(path, m)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pre := map[string]*redrive.StatusRead{}
	recs, off, err := redrive.ReadJournalFrom(path, 0)
	if err != nil || len(recs) != 1 || len(redrive.LiveTargets(recs, m.Mode, pre)) != 0 {
		t.Fatalf("the header alone: %d records, %v", len(recs), err)
	}
	base := &redrive.StatusRead{Found: true, State: "FAILED", Attempts: 1}
	j.Append(redrive.Record{Type: redrive.RecSending, ID: "a", Attempt: 1, PreSend: base})
	j.Append(redrive.Record{Type: redrive.RecDelivered, ID: "a", HTTPStatus: 200})
	j.Append(redrive.Record{Type: redrive.RecSending, ID: "b", Attempt: 1, PreSend: base})
	// A line being written is not read yet.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"type":"delivered","id":"b"`)
	f.Close()
	recs, off, err = redrive.ReadJournalFrom(path, off)
	if err != nil {
		t.Fatal(err)
	}
	targets := redrive.LiveTargets(recs, m.Mode, pre)
	if len(recs) != 3 || len(targets) != 1 || targets[0].ReadID != "a" || targets[0].Base.State != "FAILED" {
		t.Fatalf("%d records, targets %+v", len(recs), targets)
	}
	v := redrive.NewVerdicts(nil, nil)
	v.Add(targets[0])
	v.Absorb([]string{"a"}, map[string]awsclient.Status{"a": {State: "FAILED", Attempts: 2, Error: "bad"}})
	final := redrive.NewVerdicts([]redrive.VerdictTarget{{Origin: "a", ReadID: "a", Base: redrive.StatusRead{Found: true, State: "FAILED", Attempts: 1, Error: "bad"}}}, nil)
	final.Merge(v)
	if out := final.Outcome(); out.Failed != 1 || out.SameError != 1 {
		t.Errorf("merged outcome %+v: the live verdict, judged against the report's baseline", out)
	}
	recs, _, _ = redrive.ReadJournalFrom(path, off)
	if len(recs) != 0 {
		t.Errorf("read %d records past the last whole line", len(recs))
	}
}

// FuzzReadJournalFrom: any bytes, from any offset, read without a panic; the offset moves
// only to just after a newline, and the records come from whole lines only.
func FuzzReadJournalFrom(f *testing.F) {
	f.Add([]byte("{\"type\":\"delivered\",\"id\":\"a\"}\n{\"type\":\"sen"), int64(0))
	f.Add([]byte("\n\n{}\n"), int64(1))
	f.Add([]byte("garbage\n{\"type\":\"unknown\",\"id\":\"b\",\"newRequestId\":\"c\"}\n"), int64(3))
	f.Fuzz(func(t *testing.T, data []byte, off int64) {
		if off < 0 || off > int64(len(data)) {
			return
		}
		path := filepath.Join(t.TempDir(), "j.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		recs, next, err := redrive.ReadJournalFrom(path, off)
		if err != nil {
			t.Fatal(err)
		}
		if next < off || next > int64(len(data)) || (next > off && data[next-1] != '\n') {
			t.Fatalf("offset %d → %d over %d bytes", off, next, len(data))
		}
		if next == off && len(recs) != 0 {
			t.Fatalf("%d records from no whole line", len(recs))
		}
		redrive.LiveTargets(recs, redrive.ModeReupload, map[string]*redrive.StatusRead{})
	})
}
