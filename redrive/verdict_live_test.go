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
