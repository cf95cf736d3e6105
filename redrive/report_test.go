package redrive

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	return &Report{RunID: "r1", Env: "e", Mode: ModeReupload, Outcome: OutcomeFailed, Items: []ItemResult{
		{RunID: "r1", RequestID: "a", Key: "k/a", Mode: ModeReupload, State: StateDelivered, Attempts: 1, HTTPStatus: 200, NewRequestID: "new-a", Duration: 12 * time.Millisecond},
		{RunID: "r1", RequestID: "b", Key: "k/b", Mode: ModeReupload, State: StateFailed, Attempts: 5, HTTPStatus: 500, Error: "gave up", MaybeDuplicated: true},
		{RunID: "r1", RequestID: "c", Key: "k/c", Mode: ModeReupload, State: StatePending, Error: "not finished"},
	}}
}

func TestReportJSONLinesRoundTripAndFeedBack(t *testing.T) {
	rep := sampleReport()
	for i := range rep.Items {
		rep.Items[i].DurationMS = ms(rep.Items[i].Duration)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSONLines(&buf); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Fatalf("%d lines", n)
	}
	items, err := ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if items[0].NewRequestID != "new-a" || items[0].Duration != 12*time.Millisecond || !items[1].MaybeDuplicated {
		t.Errorf("round trip %+v", items)
	}
	if got := SelectFromReport(items, []ItemState{StateFailed}); strings.Join(got, ",") != "b" {
		t.Errorf("only failed: %v", got)
	}
	if got := SelectFromReport(items, []ItemState{StateFailed, "unfinished"}); strings.Join(got, ",") != "b,c" {
		t.Errorf("failed+unfinished: %v", got)
	}
}

func TestReadReportNamesTheBadLine(t *testing.T) {
	_, err := ReadReport(strings.NewReader("{\"id\":\"a\",\"state\":\"failed\"}\nREQUEST ID  KEY\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "-o json") {
		t.Errorf("err %v", err)
	}
}

func TestReportTableSanitizesOutsideText(t *testing.T) {
	rep := sampleReport()
	rep.Items[1].Error = "boom\x1b[31m"
	var buf bytes.Buffer
	clean := func(s string) string { return strings.ReplaceAll(s, "\x1b", "?") }
	if err := rep.WriteTable(&buf, clean, clean); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "\x1b") {
		t.Error("an escape sequence reached the table")
	}
	for _, want := range []string{"REQUEST ID", "new-a", "failed*", "may have received it twice"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestSaveReportIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x", "run.report.jsonl")
	if err := sampleReport().SaveJSONLines(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("stat %v %v", fi, err)
	}
	if ReportPath("/s/abc.journal.jsonl") != "/s/abc.report.jsonl" || ReportPath("/s/j.jsonl") != "/s/j.report.jsonl" {
		t.Error("ReportPath")
	}
}

func TestAuditAppendsPrivateEntriesAndReadsThemBack(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	path, err := AuditPath()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, 2)
	m := f.plan(t, ModeReupload)
	e := NewAuditEntry(m, "arn:aws:sts::123:assumed-role/ops/alice")
	e.Outcome = OutcomeDryRun
	if err := AppendAudit(path, e); err != nil {
		t.Fatal(err)
	}
	e.Outcome = OutcomeDelivered
	e.Counts = Counts{Delivered: 2}
	if err := AppendAudit(path, e); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("audit mode %v", fi.Mode().Perm())
	}
	// A torn last line (a crash mid-append) is ignored.
	fh, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	fh.WriteString(`{"runId":"x`)
	fh.Close()
	entries, bad, err := LoadAudit(path)
	if err != nil || bad != 0 || len(entries) != 2 {
		t.Fatalf("entries %d, bad %d, err %v", len(entries), bad, err)
	}
	if entries[0].ManifestHash != m.Hash() || entries[0].Who != e.Who || entries[1].Counts.Delivered != 2 || entries[0].Selection != "2 IDs (req-000, req-001)" {
		t.Errorf("entries %+v", entries)
	}
	if got, _, _ := LoadAudit(filepath.Join(t.TempDir(), "none")); got != nil {
		t.Error("a missing audit log should read as empty")
	}
}

func TestStateDirFollowsXDG(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/st")
	if d, _ := StateDir(); d != "/st/stowage" {
		t.Errorf("StateDir %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "relative")
	t.Setenv("HOME", "/home/op")
	if d, _ := StateDir(); d != "/home/op/.local/state/stowage" {
		t.Errorf("StateDir ignores a relative XDG_STATE_HOME: %s", d)
	}
}

func TestParseIDList(t *testing.T) {
	in := strings.Join([]string{
		`{"id":"11111111-2222-3333-4444-555555555555","status":"FAILED"}`,
		`# a comment`,
		``,
		`2024-06-01T10:00:00Z ERROR trace=99999999-8888-7777-6666-555555555555 requestId=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE failed`,
		`s3://bucket/requests/with space.json`,
		`orders/custom-key.xml`,
		`partner uploads/acme corp/feed 17.json`,
		`11111111-2222-3333-4444-555555555555`,
	}, "\n")
	ids, err := ParseRefs(strings.NewReader(in), func(key string) string { return strings.TrimPrefix(key, "requests/") })
	if err != nil {
		t.Fatal(err)
	}
	// The labelled request ID of the log line, not the trace ID; keys mapped to IDs.
	want := "11111111-2222-3333-4444-555555555555,aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee,with space.json,orders/custom-key.xml,partner uploads/acme corp/feed 17.json"
	if strings.Join(ids, ",") != want {
		t.Errorf("ids %v", ids)
	}
	for _, bad := range []string{`{"name":"x"}`, `{"id":7}`, "https://example.com/nothing", `{broken`} {
		if _, err := ParseIDList(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
