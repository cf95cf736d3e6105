package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// demoNow is the fixed clock of the CLI tests: the devstack seeds the week before it and
// the commands measure ages against it, so every golden file is reproducible.
var demoNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// demo is a running devstack with its config written for the CLI, and the seams its runs
// get.
type demo struct {
	stack  *devstack.Stack
	config string
	seams  seams
}

// startDemo starts a seeded devstack (seed 1, fixed clock), waits for the processor and
// makes the CLI see only it: its config file, its credentials, no AWS profile or CA bundle
// from the machine, and the fixed clock.
func startDemo(t *testing.T, opts ...func(*devstack.Options)) *demo {
	t.Helper()
	hermeticAWS(t)
	o := devstack.Options{Seed: 1, Now: func() time.Time { return demoNow }}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := devstack.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := st.WriteConfig(path); err != nil {
		t.Fatal(err)
	}
	return &demo{stack: st, config: path, seams: seams{now: fixedClock(demoNow)}}
}

// hermeticAWS keeps the machine's AWS configuration out of a test.
func hermeticAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           devstack.AccessKey,
		"AWS_SECRET_ACCESS_KEY":       devstack.SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_CA_BUNDLE":               "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"XDG_STATE_HOME":              filepath.Join(dir, "state"), // audit and journals stay in the test
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_ENDPOINT_URL_DYNAMODB":   "",
		"NO_COLOR":                    "",
		"COLORFGBG":                   "",
	} {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
}

// fixedClock is a clock stopped at now.
func fixedClock(now time.Time) func() time.Time { return func() time.Time { return now } }

// fakeTerminal is a terminal on stdout (and stdin/stderr when asked), width cells wide.
func fakeTerminal(width int, stdout io.Writer, others ...any) (isTerminal func(any) bool, terminalWidth func(io.Writer) int) {
	isTerminal = func(v any) bool {
		if w, ok := v.(io.Writer); ok && w == stdout {
			return true
		}
		for _, o := range others {
			if v == o {
				return true
			}
		}
		return false
	}
	terminalWidth = func(w io.Writer) int {
		if w == stdout {
			return width
		}
		return 0
	}
	return isTerminal, terminalWidth
}

// onTerminal returns s with stdout (and others) a terminal width cells wide.
func (s seams) onTerminal(width int, stdout io.Writer, others ...any) seams {
	s.isTerminal, s.terminalWidth = fakeTerminal(width, stdout, others...)
	return s
}

// at returns s with the clock stopped at now.
func (s seams) at(now time.Time) seams {
	s.now = fixedClock(now)
	return s
}

// onTerminal returns the demo whose runs see stdout (and others) as a terminal width
// cells wide.
func (d *demo) onTerminal(width int, stdout io.Writer, others ...any) *demo {
	c := *d
	c.seams = c.seams.onTerminal(width, stdout, others...)
	return &c
}

// result is one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// run runs stowage with the demo's config.
func (d *demo) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	return d.runTo(t, &out, &errb, stdin, args...)
}

func (d *demo) runTo(t *testing.T, out, errb *bytes.Buffer, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := d.runIn(ctx, strings.NewReader(stdin), out, errb, args...)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// runIn runs stowage with the demo's config and seams under ctx, as Run does.
func (d *demo) runIn(ctx context.Context, stdin io.Reader, out, errb io.Writer, args ...string) int {
	g := &Globals{Stdin: stdin, Stdout: out, Stderr: errb, seams: d.seams}
	return run(ctx, g, append([]string{"--config", d.config}, args...))
}

func (r result) must(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, clip(r.stdout), r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Fatalf("a stack trace reached stderr:\n%s", r.stderr)
	}
	return r
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "\n…"
	}
	return s
}

var (
	loopbackPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	tempDir      = regexp.MustCompile(`/[^ ]*/config\.yaml`)
)

// normalize removes what changes between runs: ephemeral ports and temp paths.
func normalize(s string) string {
	s = loopbackPort.ReplaceAllString(s, "127.0.0.1:PORT")
	return tempDir.ReplaceAllString(s, "CONFIG")
}

// jsonLines decodes JSON Lines output, failing on anything else.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		out = append(out, m)
	}
	return out
}

// contractFields are the JSON Lines fields, in order.
var contractFields = []string{"id", "key", "size", "lastModified", "receivedAt", "contentType", "status", "attempts", "error", "updatedAt"}

func TestOutputJSONRowHasExactlyTheContractFields(t *testing.T) {
	t.Parallel()
	st := &awsclient.Status{RequestID: "a", State: "FAILED", Attempts: 2, Error: "line 3: <bad>", UpdatedAt: demoNow}
	for _, r := range []inventory.Row{
		{Object: awsclient.Object{Key: "k/a", RequestID: "a", Size: 5, LastModified: demoNow, ContentType: "application/xml"}, Status: st},
		{Object: awsclient.Object{Key: "b", RequestID: "b", Size: 0, LastModified: demoNow}},
		{Object: awsclient.Object{Key: "c", RequestID: "c"}, Status: st, NoObject: true},
	} {
		var buf bytes.Buffer
		w := (&Globals{}).newRowWriter(outputJSON, &buf, nil, time.Minute)
		if err := w.Write([]inventory.Row{r}); err != nil {
			t.Fatal(err)
		}
		line := buf.String()
		// Field order is part of the contract: check it on the raw text.
		pos := -1
		for _, f := range contractFields {
			i := strings.Index(line, `"`+f+`":`)
			if i < pos {
				t.Fatalf("field %s out of order in %s", f, line)
			}
			pos = i
		}
		m := jsonLines(t, line)[0]
		if len(m) != len(contractFields) {
			t.Fatalf("%d fields, want %d: %s", len(m), len(contractFields), line)
		}
		if r.Status == nil && (m["status"] != nil || m["attempts"] != nil || m["error"] != nil || m["updatedAt"] != nil) {
			t.Fatalf("a row without status item must have null status fields: %s", line)
		}
		if r.NoObject && (m["size"] != nil || m["lastModified"] != nil) {
			t.Fatalf("a row without object must have null object fields: %s", line)
		}
		if !strings.Contains(line, "<bad>") && r.Status != nil {
			t.Fatalf("HTML escaping must be off for jq users: %s", line)
		}
	}
}

func TestOutputTableSanitizesOutsideBytesAndFitsTheTerminal(t *testing.T) {
	t.Parallel()
	hostile := "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\u202eevil"
	rows := []inventory.Row{{
		Object: awsclient.Object{Key: "k", RequestID: "id-" + hostile, Size: 2048, LastModified: demoNow.Add(-90 * time.Minute)},
		Status: &awsclient.Status{State: "FAILED", Attempts: 3, Error: strings.Repeat("downstream timeout "+hostile, 10)},
	}, {
		Object: awsclient.Object{Key: "k2", RequestID: "b", Size: 1, LastModified: demoNow.Add(-time.Minute)},
		Status: &awsclient.Status{State: "WEIRD" + hostile},
	}}
	var buf bytes.Buffer
	g := &Globals{seams: seams{}.onTerminal(120, &buf).at(demoNow)}
	w := g.newRowWriter(outputTable, &buf, nil, 15*time.Minute)
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"\x1b]", "\x07", "\x1b[2J", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Fatalf("hostile sequence %q reached the terminal:\n%q", bad, out)
		}
	}
	if !strings.Contains(out, "\x1b[31m") {
		t.Fatalf("a FAILED state on a terminal is red: %q", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if w := ansi.StringWidth(line); w > 120 {
			t.Fatalf("line is %d cells wide on a 120-cell terminal: %q", w, line)
		}
	}
	golden.RequireEqual(t, out)
}

func TestOutputColorRules(t *testing.T) {
	var buf bytes.Buffer
	g := &Globals{seams: seams{}.onTerminal(80, &buf)}
	if !g.color(&buf) {
		t.Fatal("a terminal gets colour")
	}
	t.Setenv("NO_COLOR", "1")
	if g.color(&buf) {
		t.Fatal("NO_COLOR turns colour off")
	}
	os.Unsetenv("NO_COLOR")
	g.NoColor = true
	if g.color(&buf) {
		t.Fatal("--no-color turns colour off")
	}
	if (&Globals{}).color(&bytes.Buffer{}) {
		t.Fatal("a pipe gets no colour")
	}
}

func TestOutputFormatDefaults(t *testing.T) {
	t.Parallel()
	var tty, pipe bytes.Buffer
	terminal := seams{}.onTerminal(80, &tty)
	for _, c := range []struct {
		out    io.Writer
		flag   string
		want   string
		broken bool
	}{
		{&tty, "", outputTable, false}, {&pipe, "", outputJSON, false},
		{&tty, "json", outputJSON, false}, {&pipe, "table", outputTable, false},
		{&pipe, "yaml", "", true},
	} {
		got, err := (&Globals{Stdout: c.out, Output: c.flag, seams: terminal}).outputFormat()
		if c.broken {
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != ExitUsage {
				t.Fatalf("-o %s: want a usage error, got %v", c.flag, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Fatalf("-o %q: %q, %v; want %q", c.flag, got, err, c.want)
		}
	}
}

func TestOutputExitForAWS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		code int
	}{
		{&awsclient.Error{Kind: awsclient.KindNotFound, Op: "head", Code: "NotFound", Resource: "s3://b/k"}, ExitNotFound},
		{&awsclient.Error{Kind: awsclient.KindNotFound, Op: "get", Code: "NoSuchKey", Resource: "s3://b/k"}, ExitNotFound},
		{&awsclient.Error{Kind: awsclient.KindNotFound, Op: "list", Code: "NoSuchBucket", Resource: "s3://b/"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindNotFound, Op: "get", Code: "NoSuchBucket", Resource: "s3://b/k"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindNotFound, Op: "batch-get", Code: "ResourceNotFoundException", Resource: "dynamodb://t"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindAccessDenied, Op: "list"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindExpiredCredentials, Op: "list", Remedy: "run aws sso login --profile prod"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindThrottled, Op: "batch-get"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindNetwork, Op: "list"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindTimeout, Op: "list"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindServer, Op: "list"}, ExitAWS},
		{&awsclient.Error{Kind: awsclient.KindInvalid, Op: "query"}, ExitUsage},
		{&awsclient.Error{Kind: awsclient.KindReadOnly, Op: "copy"}, ExitUsage},
		{&awsclient.Error{Kind: awsclient.KindNotFound, Op: "api-key", Resource: "env:X"}, ExitUsage},
		{&awsclient.Error{Kind: awsclient.KindCanceled, Op: "list"}, ExitCancelled},
		{fmt.Errorf("wrapped: %w", &awsclient.Error{Kind: awsclient.KindAccessDenied, Op: "list"}), ExitAWS},
		{context.Canceled, ExitCancelled},
	}
	for _, c := range cases {
		err := exitForAWS(c.err)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != c.code {
			t.Errorf("%v: got %v, want exit %d", c.err, err, c.code)
		}
	}
	if exitForAWS(nil) != nil {
		t.Fatal("nil stays nil")
	}
	e := exitForAWS(&awsclient.Error{Kind: awsclient.KindExpiredCredentials, Op: "list", Resource: "s3://b/",
		Message: "token expired\x1b[2J", Remedy: "run aws sso login --profile prod"})
	if msg := e.Error(); !strings.Contains(msg, "\n  to fix: run aws sso login --profile prod") || strings.Contains(msg, "\x1b") {
		t.Fatalf("the message must be sanitized and end with the remedy: %q", msg)
	}
	if awsclient.KindOf(e) != awsclient.KindExpiredCredentials {
		t.Fatal("the classified error must stay reachable with errors.As")
	}
}

func TestOutputShortAge(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 12 * time.Minute: "12m", 192 * time.Minute: "3h12m", 52 * time.Hour: "2d4h",
	} {
		if got := shortAge(d); got != want {
			t.Errorf("shortAge(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestOutputAttemptsAbsentIsNullNotZero: the contract's absent-is-null holds for attempts:
// a status item without the attempts attribute (status.attempts_attr) is not 0 attempts.
func TestOutputAttemptsAbsentIsNullNotZero(t *testing.T) {
	t.Parallel()
	obj := awsclient.Object{Key: "a", RequestID: "a", Size: 1, LastModified: demoNow}
	for _, c := range []struct {
		name  string
		st    awsclient.Status
		attr  string
		want  string // in the JSON line
		tries string // in the table's TRIES column, "" for blank
	}{
		{"no attribute", awsclient.Status{State: "RECEIVED", Item: map[string]any{"requestId": "a", "status": "RECEIVED"}}, "", `"attempts":null`, ""},
		{"null attribute", awsclient.Status{State: "RECEIVED", Item: map[string]any{"attempts": nil}}, "", `"attempts":null`, ""},
		{"zero attempts", awsclient.Status{State: "RECEIVED", Item: map[string]any{"attempts": json.Number("0")}}, "", `"attempts":0`, "0"},
		{"configured attribute", awsclient.Status{State: "FAILED", Attempts: 3, Item: map[string]any{"tries": json.Number("3")}}, "tries", `"attempts":3`, "3"},
		{"default attribute is not the configured one", awsclient.Status{State: "FAILED", Attempts: 0, Item: map[string]any{"attempts": json.Number("3")}}, "tries", `"attempts":null`, ""},
		{"built without its item", awsclient.Status{State: "FAILED", Attempts: 2}, "", `"attempts":2`, "2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			row := []inventory.Row{{Object: obj, Status: &c.st}}
			var js, tbl bytes.Buffer
			if err := (&Globals{}).newRowWriter(outputJSON, &js, &config.Env{Status: config.Status{AttemptsAttr: c.attr}}, time.Minute).Write(row); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(js.String(), c.want) {
				t.Errorf("JSON %s, want %s", js.String(), c.want)
			}
			// Ages against a fixed clock: against the wall clock the AGE column grew past its
			// width as demoNow receded, and TRIES moved.
			g := &Globals{seams: seams{now: func() time.Time { return demoNow.Add(time.Hour) }}}
			if err := g.newRowWriter(outputTable, &tbl, &config.Env{Status: config.Status{AttemptsAttr: c.attr}}, time.Minute).Write(row); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(tbl.String(), "\n")
			col := strings.Index(lines[0], "TRIES")
			if got := strings.TrimSpace(lines[1][col : col+len("TRIES")]); got != c.tries {
				t.Errorf("TRIES %q, want %q\n%s", got, c.tries, tbl.String())
			}
		})
	}
}

func TestClipOutside(t *testing.T) {
	t.Parallel()
	long := "boom: " + strings.Repeat("x", 300_000)
	got := clipOutside(long, maxTableText)
	if w := ansi.StringWidth(got); w > maxTableText || w < maxTableText-10 {
		t.Errorf("width %d, want about %d", w, maxTableText)
	}
	kept := got[:strings.Index(got, "…")]
	if want := fmt.Sprintf("…[%d more chars -o json]", len(long)-len(kept)); !strings.HasSuffix(got, want) || !strings.HasPrefix(got, "boom: xxx") {
		t.Errorf("clipped to %q…%q, want the start and %q", got[:12], got[len(got)-40:], want)
	}
	if got := clipOutside("short\x1b[31m red\nline", 300); got != sanitize.Line("short\x1b[31m red\nline") {
		t.Errorf("a short value is only sanitized: %q", got)
	}
	if got := clipOutside(long, 12); ansi.StringWidth(got) > 12 || !strings.HasSuffix(got, "…") {
		t.Errorf("too narrow for a hint: %q", got)
	}
	if got := clipEchoed(strings.Repeat("é", 5000), maxEchoed); ansi.StringWidth(got) > maxEchoed || !strings.HasSuffix(got, " more chars]") {
		t.Errorf("echoed: %q", got)
	}
	// Wide runes are measured in cells, never cut in half.
	if got := clipOutside(strings.Repeat("界", 1000), 60); ansi.StringWidth(got) > 60 || !strings.Contains(got, "界…[") {
		t.Errorf("wide: %q", got)
	}
}

// A 300 KB error attribute and a 5,000-character ID are cut in tables and messages, with a
// hint; -o json keeps the attribute whole.
func TestLongOutsideValuesAreCutInTables(t *testing.T) {
	d := startDemo(t)
	id := ids(t, d.run(t, "", "lost", "--limit", "1").must(t, ExitOK).stdout)[0]
	huge := "ValidationError: " + strings.Repeat("field x is wrong; ", 300_000/18)
	db := testenv.NewDynamoDBClient(t, testenv.Endpoint{URL: d.stack.DynamoDBURL, AccessKey: d.stack.AccessKey, SecretKey: d.stack.SecretKey, Region: d.stack.Region})
	if _, err := db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(d.stack.Table), Item: map[string]ddbtypes.AttributeValue{
		"requestId": &ddbtypes.AttributeValueMemberS{Value: id},
		"status":    &ddbtypes.AttributeValueMemberS{Value: "FAILED"},
		"error":     &ddbtypes.AttributeValueMemberS{Value: huge},
		"attempts":  &ddbtypes.AttributeValueMemberN{Value: "1"},
		"updatedAt": &ddbtypes.AttributeValueMemberS{Value: demoNow.Add(-time.Minute).UTC().Format(time.RFC3339)},
	}}); err != nil {
		t.Fatal(err)
	}
	longest := func(s string) int {
		n := 0
		for _, l := range strings.Split(s, "\n") {
			n = max(n, ansi.StringWidth(l))
		}
		return n
	}
	for _, args := range [][]string{{"status", "-o", "table", id}, {"ls", "-o", "table", "--status", "FAILED"}} {
		r := d.run(t, "", args...).must(t, ExitOK)
		if n := longest(r.stdout); n > 200+maxTableText || !strings.Contains(r.stdout, "more chars -o json]") {
			t.Errorf("%v: longest line %d cells, or no hint:\n%.500s", args, n, r.stdout)
		}
	}
	var out, errb bytes.Buffer
	r := d.onTerminal(160, &out).runTo(t, &out, &errb, "", "status", id).must(t, ExitOK)
	if n := longest(r.stdout); n > 160 || !strings.Contains(r.stdout, "-o json]") {
		t.Errorf("on a terminal 160 wide: longest line %d cells, or no hint:\n%s", n, r.stdout)
	}
	rows := jsonLines(t, d.run(t, "", "status", "-o", "json", id).must(t, ExitOK).stdout)
	if len(rows) != 1 || rows[0]["error"] != huge {
		t.Errorf("-o json does not keep the error whole (%d rows)", len(rows))
	}

	// Past any S3 key's length reqid refuses the input, quoting its start; an ID of a
	// possible length is echoed, cut, twice (as the ID and in the URI).
	for _, longID := range []string{strings.Repeat("a", 5000), strings.Repeat("b", 1000)} {
		for _, cmd := range []string{"status", "show"} {
			r := d.run(t, "", cmd, longID)
			if r.code == ExitOK || strings.Contains(r.stderr, longID[:300]) || longest(r.stderr) > 2*maxEchoed+200 {
				t.Errorf("%s of a %d-character ID: exit %d, longest stderr line %d cells:\n%.600s", cmd, len(longID), r.code, longest(r.stderr), r.stderr)
			}
			if len(longID) == 1000 && !strings.Contains(r.stderr, "more chars]") {
				t.Errorf("%s of a %d-character ID: no hint that it was cut:\n%.600s", cmd, len(longID), r.stderr)
			}
		}
	}
}

// encoderJSON is what json.Encoder (no HTML escaping) writes for r: the reference
// appendJSON must match byte for byte.
func encoderJSON(t testing.TB, r jsonRow) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestJSONRowAppendIsTheEncoders(t *testing.T) {
	str := func(s string) *string { return &s }
	size, attempts := int64(-12), 3
	rows := []jsonRow{
		{},
		{ID: "3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b", Key: "in/3f2a.json", Size: &size, LastModified: str("2026-12-01T10:11:12Z"),
			ReceivedAt: str("2026-12-01T10:11:12Z"), ContentType: str("application/json"), Status: str("FAILED"), Attempts: &attempts,
			Error: str(`a "quoted" <b> & \ back`), UpdatedAt: str("2026-12-01T10:11:13Z")},
		{ID: "ctl\x00\x01\b\f\n\r\t\x1f\x7f", Key: "bad utf-8 \xff\xfe\xc3 end", Error: str("line\u2028para\u2029 é 日本 \U0001F600")},
	}
	for _, r := range rows {
		if got, want := string(r.appendJSON(nil)), encoderJSON(t, r); got != want {
			t.Errorf("appendJSON:\n%q\nencoding/json:\n%q", got, want)
		}
	}
}

// go test ./internal/cli -run '^$' -fuzz FuzzJSONRowAppend
func FuzzJSONRowAppend(f *testing.F) {
	f.Add("id", "key \xff\u2028\x00", "err \"<&>\" \\", int64(5), true)
	f.Fuzz(func(t *testing.T, id, key, errText string, size int64, withNulls bool) {
		r := jsonRow{ID: id, Key: key, Size: &size, Error: &errText, Status: &key}
		if withNulls {
			r.Size, r.Error = nil, nil
		}
		if got, want := string(r.appendJSON(nil)), encoderJSON(t, r); got != want {
			t.Fatalf("appendJSON:\n%q\nencoding/json:\n%q", got, want)
		}
	})
}

// BenchmarkJSONRow compares appendJSON with the encoder it replaced, per row.
func BenchmarkJSONRow(b *testing.B) {
	str := func(s string) *string { return &s }
	size, attempts := int64(812), 1
	r := jsonRow{ID: "3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b", Key: "3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b", Size: &size,
		LastModified: str("2026-12-01T10:11:12Z"), ReceivedAt: str("2026-12-01T10:11:12Z"), Status: str("FAILED"), Attempts: &attempts,
		Error: str("downstream timeout: inventory-service did not answer within 3000 ms"), UpdatedAt: str("2026-12-01T10:11:13Z")}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = r.appendJSON(buf[:0])
		}
	})
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		enc := json.NewEncoder(io.Discard)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			enc.Encode(r)
		}
	})
}
