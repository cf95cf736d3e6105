package trace_test

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
	"github.com/stowage-cli/stowage/internal/trace"
	"github.com/stowage-cli/stowage/internal/trace/tracetest"
)

// The fixtures are tracetest's (the TUI's timeline tab tests draw the same).
const (
	id     = "0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11"
	group  = tracetest.Group
	access = tracetest.Access
)

var (
	arrived    = tracetest.Arrived
	redrove    = tracetest.Redrove
	logsConfig = tracetest.LogsConfig
	ev         = tracetest.Event
)

func failedRedrivenProcessed() trace.Inputs { return tracetest.FailedRedrivenProcessed("demo", id) }
func lost() trace.Inputs                    { return tracetest.Lost("demo", id) }
func noLogs() trace.Inputs                  { return tracetest.NoLogs("demo", id) }

// ansiPainter is the styled rendering of the goldens.
var ansiPainter = trace.Painter{
	Time:   func(s string) string { return "\x1b[2m" + s + "\x1b[0m" },
	Source: func(src trace.Source, s string) string { return "\x1b[36m" + s + "\x1b[0m" },
	Error:  func(s string) string { return "\x1b[31m" + s + "\x1b[0m" },
	Note:   func(s string) string { return "\x1b[33m" + s + "\x1b[0m" },
}

func TestTimelineGoldens(t *testing.T) {
	for name, in := range map[string]trace.Inputs{"FailedRedrivenProcessed": failedRedrivenProcessed(), "Lost": lost(), "NoLogsConfig": noLogs()} {
		for _, width := range []int{80, 120, 200} {
			t.Run(fmt.Sprintf("%s/%d", name, width), func(t *testing.T) {
				tl := trace.Build(in)
				styled := strings.Join(trace.Lines(tl, width, ansiPainter), "\n") + "\n"
				t.Run("Styled", func(t *testing.T) { golden.RequireEqual(t, styled) })
				t.Run("Plain", func(t *testing.T) { golden.RequireEqual(t, ansi.Strip(styled)) })
				for _, l := range trace.Lines(tl, width, trace.Painter{}) {
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
	tl := trace.Build(failedRedrivenProcessed())
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
	tl := trace.Build(lost())
	if !strings.Contains(strings.Join(tl.Notes, "\n"), "LOST") {
		t.Errorf("a LOST request without processor lines: %q", tl.Notes)
	}
	tl = trace.Build(noLogs())
	if !strings.Contains(strings.Join(tl.Notes, "\n"), "processor_groups: [/aws/lambda/YOUR-FUNCTION]") {
		t.Errorf("no logs: %q", tl.Notes)
	}
	in := lost()
	in.Logs.Capped, in.Logs.Bytes = true, 8<<20
	in.Logs.Errors = []error{errors.New("filter-log-events arn:aws:logs:eu-west-1:*:log-group:/x: AccessDeniedException: \x1b[31mno\x1b[0m (the credentials need logs:FilterLogEvents on arn:aws:logs:eu-west-1:*:log-group:/x)")}
	tl = trace.Build(in)
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
	tl := trace.Build(in)
	for _, l := range trace.Lines(tl, 120, trace.Painter{}) {
		if strings.ContainsAny(l, "\x1b\x07\u202e") {
			t.Errorf("unsanitized: %q", l)
		}
	}
	b, err := json.Marshal(tl)
	if err != nil || !strings.Contains(string(b), `\u001b]0;pwned`) {
		t.Errorf("JSON lost the raw message: %s %v", b, err)
	}
	last := tl.Entries[len(tl.Entries)-1]
	for _, l := range append(trace.Highlight(payload.NewHighlighter(true), last), trace.HighlightLine(nil, last, 40)) {
		if strings.ContainsAny(l, "\x07\u202e") {
			t.Errorf("highlight unsanitized: %q", l)
		}
	}
	var jsonEntry trace.Entry
	for _, e := range trace.Build(failedRedrivenProcessed()).Entries {
		if strings.HasPrefix(e.Summary, "ERROR parse") {
			jsonEntry = e
		}
	}
	if !jsonEntry.IsJSON() || len(trace.Highlight(payload.NewHighlighter(true), jsonEntry)) < 5 {
		t.Errorf("a JSON line opens pretty: %q", trace.Highlight(nil, jsonEntry))
	}
}

func TestWindowsAroundEveryStoreAndRedrive(t *testing.T) {
	ws := trace.Windows(failedRedrivenProcessed(), logsConfig)
	if len(ws) != 2 || !ws[0].Start.Equal(arrived.Add(-time.Minute)) || !ws[1].End.Equal(redrove.Add(45*time.Millisecond+15*time.Minute)) {
		t.Errorf("%+v", ws)
	}
	only := trace.Inputs{Status: &awsclient.Status{UpdatedAt: arrived}}
	if ws := trace.Windows(only, config.Logs{}); len(ws) != 1 || !ws[0].End.Equal(arrived.Add(15*time.Minute)) {
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
	for _, e := range trace.Build(in).Entries {
		if e.Source == trace.SourceS3 {
			got = append(got, e.Summary)
		}
	}
	want := []string{"arrived: stored (912 B, version v1) at s3://stowage-demo/" + id, "deleted (a delete marker)", "stored again (915 B, version v3)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ws := trace.Windows(in, logsConfig); len(ws) != 3 {
		t.Errorf("windows %+v", ws)
	}
}

// A request stored a moment ago has no status item and no processor line yet: that is not
// LOST (status.lost_after decides, in Gather), and the timeline must not say it is.
func TestTimelineDoesNotCallAFreshRequestLost(t *testing.T) {
	in := lost()
	in.Lost = false
	notes := strings.Join(trace.Build(in).Notes, "\n")
	if strings.Contains(notes, "LOST") || !strings.Contains(notes, "has not recorded this request (yet)") {
		t.Errorf("notes:\n%s", notes)
	}
	in.Lost = true
	if notes := strings.Join(trace.Build(in).Notes, "\n"); !strings.Contains(notes, "no status item: LOST (stored longer than status.lost_after ago, and no status") {
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
		in, err := trace.Gather(t.Context(), trace.Sources{Env: env, Objects: fakeObjects{obj: obj}, Statuses: fakeStatuses{},
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
	notes := strings.Join(trace.Build(in).Notes, "\n")
	want := "run this query in CloudWatch Logs Insights on " + group + ", " + access + " from 2026-03-02T09:13:07Z to 2026-03-02T11:17:42Z:\n  fields @timestamp"
	if !strings.Contains(notes, want) {
		t.Errorf("no %q in:\n%s", want, notes)
	}
}

// S3 keeps whole seconds: a store's row does not claim .000 milliseconds.
func TestStoreTimeHasNoMilliseconds(t *testing.T) {
	sec := redrove.Truncate(time.Second)
	for width, want := range map[int]string{80: "03-02 11:02:41      s3 ", 120: "2026-03-02T11:02:41       s3 "} {
		if got := trace.Line(trace.Entry{At: sec, Source: trace.SourceS3, Summary: "stored again"}, width, trace.Painter{}); !strings.HasPrefix(got, want) {
			t.Errorf("at %d: %q, want the prefix %q", width, got, want)
		}
	}
	if got := trace.Line(trace.Entry{At: sec, Source: trace.SourceProcessor, Summary: "x"}, 120, trace.Painter{}); !strings.HasPrefix(got, "2026-03-02T11:02:41.000Z  processor") {
		t.Errorf("a log line keeps its milliseconds: %q", got)
	}
}

// Notes are prose: they wrap at the width, at spaces, and keep an ARN or a query whole.
func TestNotesWrapAtTheWidth(t *testing.T) {
	in := noLogs()
	in.Errors = []error{errors.New("get-item arn:aws:dynamodb:eu-west-1:123456789012:table/stowage-demo-status-with-a-long-name: AccessDeniedException: the credentials need dynamodb:GetItem on it")}
	for _, l := range trace.Lines(trace.Build(in), 80, trace.Painter{}) {
		if ansi.StringWidth(l) > 80 && !strings.Contains(l, "arn:aws:dynamodb") {
			t.Errorf("row wider than 80: %q", l)
		}
	}
	joined := strings.Join(trace.Lines(trace.Build(in), 80, trace.Painter{}), "\n")
	if !strings.Contains(joined, "arn:aws:dynamodb:eu-west-1:123456789012:table/stowage-demo-status-with-a-long-name:") {
		t.Errorf("the ARN was broken:\n%s", joined)
	}
}
