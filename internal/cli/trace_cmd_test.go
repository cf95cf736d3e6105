package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
)

// traceDemo is a small demo whose journals stay in the test.
func traceDemo(t *testing.T) *demo {
	t.Helper()
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 200 })
	return d
}

// traceOnTerminal runs trace on a terminal width cells wide.
func (d *demo) traceOnTerminal(t *testing.T, width int, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	return d.onTerminal(width, &out).runTo(t, &out, &errb, "", append([]string{"trace"}, args...)...)
}

var (
	traceUUID    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	traceGateway = regexp.MustCompile(`gateway request [0-9a-fA-FU-]+(…|UUID)?`)
	traceNowTime = regexp.MustCompile(`20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z(\x1b\[0m  \x1b\[32mstowage|  stowage)`)
)

// normalizeTrace keeps the request's ID and replaces what changes between runs: other
// UUIDs (gateway request IDs, run IDs) and the wall-clock time of a redrive run.
func normalizeTrace(s, id string) string {
	s = traceUUID.ReplaceAllStringFunc(s, func(u string) string {
		if u == id {
			return u
		}
		return "UUID"
	})
	s = traceGateway.ReplaceAllString(s, "gateway request GATEWAY-REQUEST-ID")
	return traceNowTime.ReplaceAllString(s, "RUN-TIME-XXXXXXXXXXXXX$1")
}

func requireTraceGolden(t *testing.T, styled, id string) {
	t.Helper()
	styled = normalizeTrace(styled, id)
	t.Run("Styled", func(t *testing.T) { golden.RequireEqual(t, styled) })
	t.Run("Plain", func(t *testing.T) { golden.RequireEqual(t, ansi.Strip(styled)) })
}

// The done-when of #16: a FAILED request, redriven, then processed — its access-log line
// and arrival, the invocation and the processor's error line, the redrive (and its
// access-log line), the invocation and the processor's success line, in order. The
// stack runs on the wall clock here, as the redrive's journal does.
func TestTraceFailedRedrivenProcessedInOrder(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests, o.Now = 200, nil })
	id := transientFailed(t, d, 1)[0]
	d.run(t, "", "redrive", "--yes", id).must(t, ExitOK)
	if err := d.stack.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	plain := ansi.Strip(d.traceOnTerminal(t, 120, id).must(t, ExitOK).stdout)
	at := 0
	for _, want := range []string{"gateway    PUT /product", "s3         arrived", "processor  invocation ", "processor  ERROR transient:",
		"stowage    redrive inplace: delivered", "gateway    PUT /product", "processor  invocation ", "processor  INFO processed (PROCESSED)"} {
		i := strings.Index(plain[at:], want)
		if i < 0 {
			t.Fatalf("no %q after position %d:\n%s", want, at, plain)
		}
		at += i
	}
}

// Goldens of a FAILED request before and after a redrive (fixed clock), and its JSON.
func TestTraceFailedRedrivenProcessed(t *testing.T) {
	d := traceDemo(t)
	id := transientFailed(t, d, 1)[0]

	before := d.traceOnTerminal(t, 120, id).must(t, ExitOK)
	t.Run("Failed", func(t *testing.T) { requireTraceGolden(t, before.stdout, id) })

	d.run(t, "", "redrive", "--yes", id).must(t, ExitOK)
	if err := d.stack.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := d.traceOnTerminal(t, 120, id).must(t, ExitOK)
	t.Run("Redriven", func(t *testing.T) {
		// The redrive ran on the wall clock, the stack on a fixed one: the run's row moves.
		var rows []string
		for _, l := range strings.Split(after.stdout, "\n") {
			if !strings.Contains(ansi.Strip(l), "  stowage  ") {
				rows = append(rows, l)
			}
		}
		requireTraceGolden(t, strings.Join(rows, "\n"), id)
	})

	r := d.run(t, "", "trace", id, "-o", "json").must(t, ExitOK)
	var doc struct {
		ID      string `json:"id"`
		Entries []struct {
			Source     string          `json:"source"`
			Message    string          `json:"message"`
			Invocation string          `json:"invocation"`
			Raw        json.RawMessage `json:"raw"`
		} `json:"entries"`
		Query string `json:"insightsQuery"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	// A log line keeps its event; an invocation its START, END and REPORT events.
	raw, invocations := 0, 0
	for _, e := range doc.Entries {
		if e.Source != "processor" || e.Message == "" {
			continue
		}
		if e.Invocation != "" {
			var evs []struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(e.Raw, &evs) == nil && len(evs) == 3 && strings.HasPrefix(evs[0].Message, "START RequestId: "+e.Invocation) &&
				strings.HasPrefix(evs[2].Message, "REPORT RequestId: "+e.Invocation) {
				invocations++
			}
			continue
		}
		var ev map[string]any
		if json.Unmarshal(e.Raw, &ev) == nil && ev["message"] == e.Message {
			raw++
		}
	}
	if doc.ID != id || raw < 3 || invocations < 2 || !strings.Contains(doc.Query, "filter @message like /"+id+"/") {
		t.Errorf("JSON: id %s, %d raw processor events, %d invocations, query %q", doc.ID, raw, invocations, doc.Query)
	}
}

func TestTraceLost(t *testing.T) {
	d := traceDemo(t)
	r := d.run(t, "", "lost", "-o", "json").must(t, ExitOK)
	lost := ids(t, r.stdout)
	if len(lost) == 0 {
		t.Skip("the demo has no LOST request")
	}
	out := d.traceOnTerminal(t, 120, lost[0]).must(t, ExitOK)
	if !strings.Contains(out.stdout, "no status item") {
		t.Errorf("no note of the missing status:\n%s", out.stdout)
	}
	requireTraceGolden(t, out.stdout, lost[0])
}

func TestTraceWithoutLogsConfig(t *testing.T) {
	d := traceDemo(t)
	id := transientFailed(t, d, 1)[0]
	v := d.variant(t, func(e *config.Env) { e.Logs = config.Logs{} })
	out := v.traceOnTerminal(t, 120, id).must(t, ExitOK)
	if !strings.Contains(out.stdout, "processor_groups: [/aws/lambda/YOUR-FUNCTION]") || strings.Contains(out.stdout, "processor  ") {
		t.Errorf("stdout:\n%s", out.stdout)
	}
	requireTraceGolden(t, out.stdout, id)
}

func TestTraceNamesTheMissingPermission(t *testing.T) {
	d := traceDemo(t)
	id := transientFailed(t, d, 1)[0]
	d.stack.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:FilterLogEvents"}, DenyGroups: []string{devstack.ProcessorLogGroup}})
	t.Cleanup(func() { d.stack.SetLogsFaults(devstack.LogsFaults{}) })
	r := d.run(t, "", "trace", id, "-o", "table").must(t, ExitAWS)
	arn := "arn:aws:logs:" + devstack.Region + ":000000000000:log-group:" + devstack.ProcessorLogGroup
	if !strings.Contains(r.stderr, "logs:FilterLogEvents on "+arn) {
		t.Errorf("stderr does not name the action and the group ARN:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "s3         ") || !strings.Contains(r.stdout, "logs:FilterLogEvents on "+arn) {
		t.Errorf("the timeline is printed with a note:\n%s", r.stdout)
	}
}

func TestTraceNamesAMissingGroup(t *testing.T) {
	d := traceDemo(t)
	id := transientFailed(t, d, 1)[0]
	v := d.variant(t, func(e *config.Env) { e.Logs.ProcessorGroups = []string{"/aws/lambda/product-ingest-v2"} })
	r := v.run(t, "", "trace", id, "-o", "table").must(t, ExitAWS)
	if !strings.Contains(r.stderr, "log group /aws/lambda/product-ingest-v2 does not exist") || !strings.Contains(r.stderr, "check logs: in the config") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "status FAILED") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// tracedFailure is a small demo, a FAILED request of it, and the time of the first entry of
// its timeline (to put more log lines after).
func tracedFailure(t *testing.T) (*demo, string, time.Time) {
	t.Helper()
	d := traceDemo(t)
	id := transientFailed(t, d, 1)[0]
	r := d.run(t, "", "trace", id, "-o", "json").must(t, ExitOK)
	var doc struct {
		Entries []struct {
			At time.Time `json:"time"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Entries) == 0 {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	return d, id, doc.Entries[0].At
}

// A request with 50,000 log lines: trace reads up to logs.max_bytes, says so and prints
// the Logs Insights query for the console.
func TestTraceCapsALoudRequest(t *testing.T) {
	d, id, first := tracedFailure(t)
	at := first
	for i := range 50000 {
		d.stack.PutLog(devstack.ProcessorLogGroup, at.Add(time.Duration(i)*time.Millisecond),
			fmt.Sprintf(`{"level":"INFO","requestId":"%s","message":"retrying downstream call","attempt":%d}`, id, i))
	}
	v := d.variant(t, func(e *config.Env) { e.Logs.MaxBytes = config.MinLogsMaxBytes })
	out := v.run(t, "", "trace", id, "-o", "table").must(t, ExitOK)
	if !strings.Contains(out.stdout, "only the first 64.0 KiB of log lines were read (logs.max_bytes)") ||
		!strings.Contains(out.stdout, "fields @timestamp, @message, @logStream, @log | filter @message like /"+id+"/ | sort @timestamp asc | limit 10000") {
		t.Errorf("stdout:\n%s", clip(out.stdout))
	}
	if n := strings.Count(out.stdout, "retrying downstream call"); n == 0 || n > 1000 {
		t.Errorf("%d lines printed", n)
	}
}

func TestTraceUnknownRequest(t *testing.T) {
	d := traceDemo(t)
	r := d.run(t, "", "trace", "00000000-0000-4000-8000-000000000000").must(t, ExitNotFound)
	if !strings.Contains(r.stderr, "no request 00000000-0000-4000-8000-000000000000") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	d.run(t, "", "trace").must(t, ExitUsage)
	d.run(t, "", "trace", "a", "b").must(t, ExitUsage)
}

// doctor checks each group and the permission to filter it.
func TestDoctorChecksTheLogGroups(t *testing.T) {
	d := traceDemo(t)
	r := d.run(t, "", "doctor", "-o", "table")
	if !strings.Contains(r.stdout, "logs          "+devstack.ProcessorLogGroup+": exists; logs:FilterLogEvents works") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	v := d.variant(t, func(e *config.Env) { e.Logs.AccessLogGroup = "/aws/apigateway/renamed/access" })
	d.stack.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:FilterLogEvents"}, DenyGroups: []string{devstack.ProcessorLogGroup}})
	t.Cleanup(func() { d.stack.SetLogsFaults(devstack.LogsFaults{}) })
	r = v.run(t, "", "doctor", "-o", "table").must(t, ExitAWS)
	for _, want := range []string{
		"the credentials need logs:FilterLogEvents on arn:aws:logs:" + devstack.Region + ":000000000000:log-group:" + devstack.ProcessorLogGroup,
		"log group /aws/apigateway/renamed/access does not exist",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q:\n%s", want, r.stdout)
		}
	}
}

// --messages prints each log line whole under its entry, JSON pretty-printed and coloured
// on a terminal.
func TestTraceMessages(t *testing.T) {
	d := traceDemo(t)
	id := transientFailed(t, d, 1)[0]
	out := d.traceOnTerminal(t, 120, id, "--messages").must(t, ExitOK)
	plain := ansi.Strip(out.stdout)
	if !strings.Contains(plain, "\n    {\n      \"awsRequestId\":") && !strings.Contains(plain, "\n      \"requestId\": \""+id+"\"") {
		t.Errorf("no pretty JSON under the entries:\n%s", clip(plain))
	}
	if out.stdout == plain {
		t.Error("no colour on a terminal")
	}
}

// A log line from outside reaches the terminal sanitized, in the row and whole under it
// (--messages); -o json keeps it as CloudWatch stored it.
func TestTraceSanitizesLogLines(t *testing.T) {
	d, id, first := tracedFailure(t)
	evil := "ERROR \x1b]0;pwned\x07 \x1b[2J crashed \u202e" + id + "\u202c"
	d.stack.PutLog(devstack.ProcessorLogGroup, first.Add(time.Second), evil)
	d.stack.PutLog(devstack.ProcessorLogGroup, first.Add(2*time.Second), `{"level":"ERROR","requestId":"`+id+`","message":"\u001b]0;pwned\u0007 \u202e gone"}`)
	for _, args := range [][]string{{id}, {id, "--messages"}} {
		out := d.traceOnTerminal(t, 120, args...).must(t, ExitOK).stdout
		if strings.Contains(out, "\x1b]") || strings.Contains(out, "\x1b[2J") || strings.ContainsAny(out, "\x07\u202e\u202c") {
			t.Errorf("trace %v printed a control sequence from a log line:\n%q", args, out)
		}
		if !strings.Contains(ansi.Strip(out), "crashed") {
			t.Errorf("trace %v lost the line:\n%s", args, out)
		}
	}
	raw := d.run(t, "", "trace", id, "-o", "json").must(t, ExitOK).stdout
	if !strings.Contains(raw, `\u001b]0;pwned\u0007`) {
		t.Errorf("-o json to a pipe changed the raw message:\n%s", clip(raw))
	}
}
