package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/redrive"
)

// A 300 KB reason and a 5,000-character ID are cut in the audit table, with a hint; the
// JSON output keeps them whole.
func TestAuditTableCutsLongOutsideValues(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	longID := strings.Repeat("7", 5000)
	reason := "gateway said: " + strings.Repeat("x", 300<<10)
	e := redrive.AuditEntry{RunID: "run-1", At: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), Who: "demo", Env: "demo",
		Selection: "1 ID (" + longID + ")", Mode: redrive.ModeInplace, Outcome: redrive.OutcomeRefused, Reason: reason}
	if err := redrive.AppendAudit(filepath.Join(state, "stowage", "audit.jsonl"), e); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"audit", "-o", "table"}, strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and a row:\n%.2000s", out.String())
	}
	if w := ansi.StringWidth(lines[1]); w > 2*maxTableText+300 {
		t.Errorf("the row is %d cells wide", w)
	}
	if !strings.Contains(lines[1], "more chars -o json]") {
		t.Errorf("no cut with its hint in %.800s", lines[1])
	}
	out.Reset()
	if code := Run(context.Background(), []string{"audit", "-o", "json"}, strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), longID) || !strings.Contains(out.String(), reason) {
		t.Error("the JSON output does not keep the long values whole")
	}
}

// The redrive report table cuts a 300 KB error and a 5,000-character ID the same way;
// its JSON Lines keep them whole.
func TestRedriveReportTableCutsLongOutsideValues(t *testing.T) {
	longID := strings.Repeat("a", 5000)
	huge := strings.Repeat("e", 300<<10)
	rep := &redrive.Report{Items: []redrive.ItemResult{
		{RequestID: longID, Key: longID, Mode: redrive.ModeInplace, State: redrive.StateFailed, Attempts: 1, Error: huge},
		{RequestID: "short", Key: "short", Mode: redrive.ModeInplace, State: redrive.StateDelivered, Attempts: 1},
	}}
	var out bytes.Buffer
	r := &redriveRun{g: &Globals{Stdout: &out}, format: outputTable}
	if err := r.writeReport(rep); err != nil {
		t.Fatal(err)
	}
	if out.Len() > 3*(2*maxTableID+maxTableText+200) || !strings.Contains(out.String(), "more chars -o json]") {
		t.Errorf("report table of %d bytes:\n%.1500s", out.Len(), out.String())
	}
	out.Reset()
	r.format = outputJSON
	if err := r.writeReport(rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), huge) || !strings.Contains(out.String(), longID) {
		t.Error("the JSON report does not keep the long values whole")
	}
}

// The audit table names the account a run wrote to, beside its operator.
func TestAuditTableShowsTheAccount(t *testing.T) {
	e := redrive.AuditEntry{Who: "arn:aws:sts::123456789012:assumed-role/ops/alice", Account: "123456789012"}
	if got := whoCell(e); got != "assumed-role/ops/alice (account 123456789012)" {
		t.Errorf("who cell %q", got)
	}
	if got := whoCell(redrive.AuditEntry{Who: "demo"}); got != "demo" {
		t.Errorf("who cell without an account %q", got)
	}
}
