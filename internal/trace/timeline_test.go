package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/redrive"
)

var (
	arrived = time.Date(2026, 3, 2, 9, 14, 7, 120_000_000, time.UTC)
	redrove = time.Date(2026, 3, 2, 11, 2, 41, 500_000_000, time.UTC)
)

const (
	id     = "0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11"
	lambda = "6f1d2b7a-93c4-4e1e-8d2f-5b1a9c3e7f00"
	group  = "/aws/lambda/product-ingest"
	access = "/aws/apigateway/stowage-demo/access"
)

var logsConfig = config.Logs{ProcessorGroups: []string{group}, AccessLogGroup: access,
	WindowBefore: config.Duration{Duration: time.Minute}, WindowAfter: config.Duration{Duration: 15 * time.Minute}}

func ev(g string, at time.Time, msg string) awsclient.LogEvent {
	return awsclient.LogEvent{Group: g, At: at, Message: msg, EventID: fmt.Sprint(at.UnixNano())}
}

// failedRedrivenProcessed: a request that failed to parse, was redriven in place by an
// operator and then processed.
func failedRedrivenProcessed() Inputs {
	ms := time.Millisecond
	return Inputs{
		Env: "demo", RequestID: id, Bucket: "stowage-demo", Key: id, LogsConfig: logsConfig,
		Object: &awsclient.Object{Key: id, Size: 1834, LastModified: redrove.Add(30 * ms), ContentType: "application/json"},
		Status: &awsclient.Status{RequestID: id, State: "PROCESSED", Attempts: 2, UpdatedAt: redrove.Add(90 * ms),
			Item: map[string]any{"requestId": id, "status": "PROCESSED"}},
		Runs: []Run{{
			HistoryRun: redrive.HistoryRun{RunID: "20260302T110241Z-7e57e57e", Env: "demo", Operator: "arn:aws:iam::123456789012:user/alice",
				Mode: "inplace", Outcome: "delivered", Started: redrove.Add(-20 * time.Second), At: redrove.Add(45 * ms), Attempts: 1},
			PlannedLastModified: arrived,
			Before:              &redrive.StatusRead{Found: true, State: "FAILED", Attempts: 1, UpdatedAt: arrived.Add(80 * ms)},
		}},
		Logs: &awsclient.LogResult{Query: awsclient.InsightsQuery(id), Events: []awsclient.LogEvent{
			ev(access, arrived, `{"requestId":"`+id+`","ip":"203.0.113.7","requestTime":"02/Mar/2026:09:14:07 +0000","httpMethod":"PUT","resourcePath":"/product","status":"200","responseLength":"0","key":"`+id+`"}`),
			ev(group, arrived.Add(40*ms), `{"timestamp":"2026-03-02T09:14:07.160Z","level":"INFO","requestId":"`+id+`","awsRequestId":"`+lambda+`","message":"processing","bucket":"stowage-demo","key":"`+id+`","redelivery":false}`),
			ev(group, arrived.Add(75*ms), `{"timestamp":"2026-03-02T09:14:07.195Z","level":"ERROR","requestId":"`+id+`","awsRequestId":"`+lambda+`","errorType":"parse","message":"malformed JSON at line 1, column 9: invalid character '}'"}`),
			ev(access, redrove, `{"requestId":"c0ffee00-1111-4222-8333-444455556666","ip":"198.51.100.4","requestTime":"02/Mar/2026:11:02:41 +0000","httpMethod":"PUT","resourcePath":"/product/{bucket}/{key}","status":"200","responseLength":"0","key":"`+id+`"}`),
			ev(group, redrove.Add(50*ms), `{"timestamp":"2026-03-02T11:02:41.550Z","level":"INFO","requestId":"`+id+`","awsRequestId":"9a8b7c6d-0000-4000-8000-000000000001","message":"processing","bucket":"stowage-demo","key":"`+id+`","redelivery":true}`),
			ev(group, redrove.Add(85*ms), `{"timestamp":"2026-03-02T11:02:41.585Z","level":"INFO","requestId":"`+id+`","awsRequestId":"9a8b7c6d-0000-4000-8000-000000000001","message":"processed","status":"PROCESSED"}`),
		}},
	}
}

// lost: stored, never processed: no status item and no processor line.
func lost() Inputs {
	return Inputs{
		Env: "demo", RequestID: id, Bucket: "stowage-demo", Key: id, LogsConfig: logsConfig, Lost: true,
		Object: &awsclient.Object{Key: id, Size: 912, LastModified: arrived, ContentType: "application/xml"},
		Logs: &awsclient.LogResult{Query: awsclient.InsightsQuery(id), Events: []awsclient.LogEvent{
			ev(access, arrived, `{"requestId":"`+id+`","httpMethod":"PUT","resourcePath":"/product","status":"200","key":"`+id+`"}`),
		}},
	}
}

// noLogs: an environment without logs:.
func noLogs() Inputs {
	in := failedRedrivenProcessed()
	in.Logs, in.LogsConfig = nil, config.Logs{}
	return in
}

// ansiPainter is the styled rendering of the goldens.
var ansiPainter = Painter{
	Time:   func(s string) string { return "\x1b[2m" + s + "\x1b[0m" },
	Source: func(src Source, s string) string { return "\x1b[36m" + s + "\x1b[0m" },
	Error:  func(s string) string { return "\x1b[31m" + s + "\x1b[0m" },
	Note:   func(s string) string { return "\x1b[33m" + s + "\x1b[0m" },
}

func TestTimelineGoldens(t *testing.T) {
	for name, in := range map[string]Inputs{"FailedRedrivenProcessed": failedRedrivenProcessed(), "Lost": lost(), "NoLogsConfig": noLogs()} {
		for _, width := range []int{80, 120, 200} {
			t.Run(fmt.Sprintf("%s/%d", name, width), func(t *testing.T) {
				tl := Build(in)
				styled := strings.Join(Lines(tl, width, ansiPainter), "\n") + "\n"
				t.Run("Styled", func(t *testing.T) { golden.RequireEqual(t, styled) })
				t.Run("Plain", func(t *testing.T) { golden.RequireEqual(t, ansi.Strip(styled)) })
				for _, l := range Lines(tl, width, Painter{}) {
					if w := ansi.StringWidth(l); w > width && !strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "- ") {
						t.Errorf("row %d cells wide, want <= %d: %s", w, width, l)
					}
				}
			})
		}
	}
}

// The done-when of #16: arrival, the processor's error, the redrive, the success, in order.
func TestTimelineTellsTheFailedRedrivenStoryInOrder(t *testing.T) {
	tl := Build(failedRedrivenProcessed())
	var got []string
	for _, e := range tl.Entries {
		got = append(got, string(e.Source)+": "+e.Summary)
	}
	want := []string{"s3: arrived", "processor: ERROR parse:", "stowage: redrive inplace: delivered, by user/alice - run 20260302T110241Z-7e57e57e",
		"processor: INFO processed (PROCESSED)"}
	i := 0
	for _, g := range got {
		if i < len(want) && strings.HasPrefix(g, want[i]) {
			i++
		}
	}
	if i != len(want) {
		t.Errorf("missing %q in order:\n%s", want[i], strings.Join(got, "\n"))
	}
}

func TestTimelineNotes(t *testing.T) {
	tl := Build(lost())
	if !strings.Contains(strings.Join(tl.Notes, "\n"), "LOST") {
		t.Errorf("a LOST request without processor lines: %q", tl.Notes)
	}
	tl = Build(noLogs())
	if !strings.Contains(strings.Join(tl.Notes, "\n"), "processor_groups: [/aws/lambda/YOUR-FUNCTION]") {
		t.Errorf("no logs: %q", tl.Notes)
	}
	in := lost()
	in.Logs.Capped, in.Logs.Bytes = true, 8<<20
	in.Logs.Errors = []error{errors.New("filter-log-events arn:aws:logs:eu-west-1:*:log-group:/x: AccessDeniedException: \x1b[31mno\x1b[0m (the credentials need logs:FilterLogEvents on arn:aws:logs:eu-west-1:*:log-group:/x)")}
	tl = Build(in)
	notes := strings.Join(tl.Notes, "\n")
	if !strings.Contains(notes, "only the first 8.0 MiB") || !strings.Contains(notes, "filter @message like /"+id+"/") ||
		!strings.Contains(notes, "the credentials need logs:FilterLogEvents") || strings.Contains(notes, "\x1b") {
		t.Errorf("notes:\n%s", notes)
	}
	if strings.Contains(notes, "never logged it") {
		t.Errorf("a failed read must not claim the processor never logged it:\n%s", notes)
	}
}

// Log lines from outside never reach a terminal raw; JSON keeps them whole.
func TestTimelineSanitizesAndKeepsRawEvents(t *testing.T) {
	in := lost()
	evil := "\x1b]0;pwned\x07 crashed \u202e" + id
	in.Logs.Events = append(in.Logs.Events, ev(group, arrived.Add(time.Second), evil))
	tl := Build(in)
	for _, l := range Lines(tl, 120, Painter{}) {
		if strings.ContainsAny(l, "\x1b\x07\u202e") {
			t.Errorf("unsanitized: %q", l)
		}
	}
	b, err := json.Marshal(tl)
	if err != nil || !strings.Contains(string(b), `\u001b]0;pwned`) {
		t.Errorf("JSON lost the raw message: %s %v", b, err)
	}
	last := tl.Entries[len(tl.Entries)-1]
	for _, l := range append(Highlight(payload.NewHighlighter(true), last), HighlightLine(nil, last, 40)) {
		if strings.ContainsAny(l, "\x07\u202e") {
			t.Errorf("highlight unsanitized: %q", l)
		}
	}
	jsonEntry := Build(failedRedrivenProcessed()).Entries[2]
	if !jsonEntry.IsJSON() || len(Highlight(payload.NewHighlighter(true), jsonEntry)) < 5 {
		t.Errorf("a JSON line opens pretty: %q", Highlight(nil, jsonEntry))
	}
}

func TestWindowsAroundEveryStoreAndRedrive(t *testing.T) {
	ws := Windows(failedRedrivenProcessed(), logsConfig)
	if len(ws) != 2 || !ws[0].Start.Equal(arrived.Add(-time.Minute)) || !ws[1].End.Equal(redrove.Add(45*time.Millisecond+15*time.Minute)) {
		t.Errorf("%+v", ws)
	}
	only := Inputs{Status: &awsclient.Status{UpdatedAt: arrived}}
	if ws := Windows(only, config.Logs{}); len(ws) != 1 || !ws[0].End.Equal(arrived.Add(15*time.Minute)) {
		t.Errorf("status only: %+v", ws)
	}
}

// In a versioned bucket every store is an entry: the arrival, a deletion, a later store.
func TestTimelineFromVersions(t *testing.T) {
	in := lost()
	in.Versions = []awsclient.ObjectVersion{
		{VersionID: "v1", LastModified: arrived, Size: 912},
		{VersionID: "v2", LastModified: arrived.Add(time.Hour), DeleteMarker: true},
		{VersionID: "v3", LastModified: redrove, Size: 915, Latest: true},
	}
	var got []string
	for _, e := range Build(in).Entries {
		if e.Source == SourceS3 {
			got = append(got, e.Summary)
		}
	}
	want := []string{"arrived: stored (912 B, version v1) at s3://stowage-demo/" + id, "deleted (a delete marker)", "stored again (915 B, version v3)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ws := Windows(in, logsConfig); len(ws) != 3 {
		t.Errorf("windows %+v", ws)
	}
}

// S3 dates a store to the second: the redrive and the gateway line of that second come
// first, as they happened.
func TestStoreComesAfterItsSender(t *testing.T) {
	sec := redrove.Truncate(time.Second)
	es := storesAfterTheirSenders([]Entry{
		{At: sec, Source: SourceS3, Summary: "stored again"},
		{At: sec.Add(595 * time.Millisecond), Source: SourceStowage, Summary: "redrive"},
		{At: sec.Add(602 * time.Millisecond), Source: SourceGateway, Summary: "PUT"},
		{At: sec.Add(602 * time.Millisecond), Source: SourceProcessor, Summary: "processing"},
	})
	var got []string
	for _, e := range es {
		got = append(got, e.Summary)
	}
	if strings.Join(got, ",") != "redrive,PUT,stored again,processing" {
		t.Errorf("order %v", got)
	}
}

// A request stored a moment ago has no status item and no processor line yet: that is not
// LOST (status.lost_after decides, in Gather), and the timeline must not say it is.
func TestTimelineDoesNotCallAFreshRequestLost(t *testing.T) {
	in := lost()
	in.Lost = false
	notes := strings.Join(Build(in).Notes, "\n")
	if strings.Contains(notes, "LOST") || !strings.Contains(notes, "has not recorded this request (yet)") {
		t.Errorf("notes:\n%s", notes)
	}
	in.Lost = true
	if notes := strings.Join(Build(in).Notes, "\n"); !strings.Contains(notes, "no status item: LOST (stored longer than status.lost_after ago, and no status") {
		t.Errorf("notes:\n%s", notes)
	}
}

// Gather judges LOST by status.lost_after at its clock: an object older than that with
// no status item is LOST, a younger one is not.
func TestGatherJudgesLostByLostAfter(t *testing.T) {
	env := &config.Env{Name: "demo", Storage: config.Storage{Bucket: "b"}, Status: config.Status{LostAfter: config.Duration{Duration: 15 * time.Minute}}}
	obj := &awsclient.Object{Key: id, LastModified: arrived}
	for _, c := range []struct {
		now  time.Time
		lost bool
	}{{arrived.Add(time.Minute), false}, {arrived.Add(16 * time.Minute), true}} {
		in, err := Gather(t.Context(), Sources{Env: env, Objects: fakeObjects{obj}, Statuses: fakeStatuses{},
			Now: func() time.Time { return c.now }}, id, id)
		if err != nil || in.Lost != c.lost {
			t.Errorf("at %s: lost %v, want %v (%v)", c.now.Sub(arrived), in.Lost, c.lost, err)
		}
	}
}

// Past logs.max_bytes the note gives what the console needs to find the rest: the query,
// the groups and the time range.
func TestTimelineCappedNoteNamesGroupsAndRange(t *testing.T) {
	in := lost()
	in.Logs.Capped, in.Logs.Bytes = true, 64<<10
	in.Logs.Groups = []string{group, access}
	in.Logs.Windows = []awsclient.LogWindow{{Start: arrived.Add(-time.Minute), End: arrived.Add(15 * time.Minute)},
		{Start: redrove.Add(-time.Minute), End: redrove.Add(15 * time.Minute)}}
	notes := strings.Join(Build(in).Notes, "\n")
	want := "run this query in CloudWatch Logs Insights on " + group + ", " + access + " from 2026-03-02T09:13:07Z to 2026-03-02T11:17:42Z:\n  fields @timestamp"
	if !strings.Contains(notes, want) {
		t.Errorf("no %q in:\n%s", want, notes)
	}
}

// S3 keeps whole seconds: a store's row does not claim .000 milliseconds.
func TestStoreTimeHasNoMilliseconds(t *testing.T) {
	sec := redrove.Truncate(time.Second)
	for width, want := range map[int]string{80: "03-02 11:02:41      s3 ", 120: "2026-03-02T11:02:41       s3 "} {
		if got := Line(Entry{At: sec, Source: SourceS3, Summary: "stored again"}, width, Painter{}); !strings.HasPrefix(got, want) {
			t.Errorf("at %d: %q, want the prefix %q", width, got, want)
		}
	}
	if got := Line(Entry{At: sec, Source: SourceProcessor, Summary: "x"}, 120, Painter{}); !strings.HasPrefix(got, "2026-03-02T11:02:41.000Z  processor") {
		t.Errorf("a log line keeps its milliseconds: %q", got)
	}
}

// Notes are prose: they wrap at the width, at spaces, and keep an ARN or a query whole.
func TestNotesWrapAtTheWidth(t *testing.T) {
	in := noLogs()
	in.Errors = []error{errors.New("get-item arn:aws:dynamodb:eu-west-1:123456789012:table/stowage-demo-status-with-a-long-name: AccessDeniedException: the credentials need dynamodb:GetItem on it")}
	for _, l := range Lines(Build(in), 80, Painter{}) {
		if ansi.StringWidth(l) > 80 && !strings.Contains(l, "arn:aws:dynamodb") {
			t.Errorf("row wider than 80: %q", l)
		}
	}
	joined := strings.Join(Lines(Build(in), 80, Painter{}), "\n")
	if !strings.Contains(joined, "arn:aws:dynamodb:eu-west-1:123456789012:table/stowage-demo-status-with-a-long-name:") {
		t.Errorf("the ARN was broken:\n%s", joined)
	}
}

func TestShortOperator(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::123456789012:user/alice":                     "user/alice",
		"arn:aws:sts::123456789012:assumed-role/OnCall/alice@corp": "assumed-role/OnCall/alice@corp",
		"demo": "demo", "arn:broken": "arn:broken",
	} {
		if got := shortOperator(in); got != want {
			t.Errorf("shortOperator(%q) = %q, want %q", in, got, want)
		}
	}
}
