package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/trace"
	"github.com/stowage-cli/stowage/redrive"
)

// The timeline tab's fixtures have the shapes of internal/trace's timeline tests: a
// request that failed, was redriven and processed; a LOST one; one without logs:.
var (
	tlArrived = time.Date(2026, 3, 2, 9, 14, 7, 120_000_000, time.UTC)
	tlRedrove = time.Date(2026, 3, 2, 11, 2, 41, 500_000_000, time.UTC)
)

const (
	tlLambda = "6f1d2b7a-93c4-4e1e-8d2f-5b1a9c3e7f00"
	tlGroup  = "/aws/lambda/product-ingest"
	tlAccess = "/aws/apigateway/stowage-demo/access"
)

var tlLogsConfig = config.Logs{ProcessorGroups: []string{tlGroup}, AccessLogGroup: tlAccess,
	WindowBefore: config.Duration{Duration: time.Minute}, WindowAfter: config.Duration{Duration: 15 * time.Minute}}

func tlEvent(g string, at time.Time, msg string) awsclient.LogEvent {
	return awsclient.LogEvent{Group: g, At: at, Message: msg, EventID: fmt.Sprint(at.UnixNano())}
}

func tlFailedRedrivenProcessed(id string) trace.Inputs {
	ms := time.Millisecond
	return trace.Inputs{
		Env: "test", RequestID: id, Bucket: "stowage-demo", Key: id, LogsConfig: tlLogsConfig,
		Object: &awsclient.Object{Key: id, Size: 1834, LastModified: tlRedrove.Add(30 * ms), ContentType: "application/json"},
		Status: &awsclient.Status{RequestID: id, State: "PROCESSED", Attempts: 2, UpdatedAt: tlRedrove.Add(90 * ms),
			Item: map[string]any{"requestId": id, "status": "PROCESSED"}},
		Runs: []trace.Run{{
			HistoryRun: redrive.HistoryRun{RunID: "20260302T110241Z-7e57e57e", Env: "test", Operator: "arn:aws:iam::123456789012:user/alice",
				Mode: "inplace", Outcome: "delivered", Started: tlRedrove.Add(-20 * time.Second), At: tlRedrove.Add(45 * ms), Attempts: 1},
			PlannedLastModified: tlArrived,
			Before:              &redrive.StatusRead{Found: true, State: "FAILED", Attempts: 1, UpdatedAt: tlArrived.Add(80 * ms)},
		}},
		Logs: &awsclient.LogResult{Query: awsclient.InsightsQuery(id), Events: []awsclient.LogEvent{
			tlEvent(tlAccess, tlArrived, `{"requestId":"`+id+`","ip":"203.0.113.7","requestTime":"02/Mar/2026:09:14:07 +0000","httpMethod":"PUT","resourcePath":"/product","status":"200","responseLength":"0","key":"`+id+`"}`),
			tlEvent(tlGroup, tlArrived.Add(40*ms), `{"timestamp":"2026-03-02T09:14:07.160Z","level":"INFO","requestId":"`+id+`","awsRequestId":"`+tlLambda+`","message":"processing","bucket":"stowage-demo","key":"`+id+`","redelivery":false}`),
			tlEvent(tlGroup, tlArrived.Add(75*ms), `{"timestamp":"2026-03-02T09:14:07.195Z","level":"ERROR","requestId":"`+id+`","awsRequestId":"`+tlLambda+`","errorType":"parse","message":"malformed JSON at line 1, column 9: invalid character '}'"}`),
			tlEvent(tlAccess, tlRedrove, `{"requestId":"c0ffee00-1111-4222-8333-444455556666","ip":"198.51.100.4","requestTime":"02/Mar/2026:11:02:41 +0000","httpMethod":"PUT","resourcePath":"/product/{bucket}/{key}","status":"200","responseLength":"0","key":"`+id+`"}`),
			tlEvent(tlGroup, tlRedrove.Add(50*ms), `{"timestamp":"2026-03-02T11:02:41.550Z","level":"INFO","requestId":"`+id+`","awsRequestId":"9a8b7c6d-0000-4000-8000-000000000001","message":"processing","bucket":"stowage-demo","key":"`+id+`","redelivery":true}`),
			tlEvent(tlGroup, tlRedrove.Add(85*ms), `{"timestamp":"2026-03-02T11:02:41.585Z","level":"INFO","requestId":"`+id+`","awsRequestId":"9a8b7c6d-0000-4000-8000-000000000001","message":"processed","status":"PROCESSED"}`),
		}},
	}
}

func tlLost(id string) trace.Inputs {
	return trace.Inputs{
		Env: "test", RequestID: id, Bucket: "stowage-demo", Key: id, LogsConfig: tlLogsConfig, Lost: true,
		Object: &awsclient.Object{Key: id, Size: 912, LastModified: tlArrived, ContentType: "application/xml"},
		Logs: &awsclient.LogResult{Query: awsclient.InsightsQuery(id), Events: []awsclient.LogEvent{
			tlEvent(tlAccess, tlArrived, `{"requestId":"`+id+`","httpMethod":"PUT","resourcePath":"/product","status":"200","key":"`+id+`"}`),
		}},
	}
}

func tlNoLogs(id string) trace.Inputs {
	in := tlFailedRedrivenProcessed(id)
	in.Logs, in.LogsConfig = nil, config.Logs{}
	return in
}

// withTimeline makes the tab gather in, counting the gatherings.
func withTimeline(t *testing.T, in func(id string) trace.Inputs, calls *int) {
	t.Helper()
	old := gatherTimeline
	gatherTimeline = func(ctx context.Context, src trace.Sources, id, key string) (trace.Inputs, error) {
		if calls != nil {
			*calls++
		}
		return in(id), nil
	}
	t.Cleanup(func() { gatherTimeline = old })
}

// openTimeline opens the request full screen and tabs to the timeline.
func openTimeline(f *fixture, id string) {
	f.t.Helper()
	f.openRow(id)
	f.keys("tab", "tab", "tab")
	if f.m.detail.tab != tabTimeline {
		f.t.Fatalf("tab is %v, want the timeline", f.m.detail.tab)
	}
}

// TestTimelineTabGoldens: the timeline tab of the three stories at 80x24, 120x40, 200x50.
func TestTimelineTabGoldens(t *testing.T) {
	stories := []struct {
		name string
		in   func(string) trace.Inputs
		want []string
	}{
		{"FailedRedrivenProcessed", tlFailedRedrivenProcessed, []string{"arrived", "ERROR parse", "redrive inplace: delivered", "INFO processed"}},
		{"Lost", tlLost, []string{"LOST"}},
		{"NoLogsConfig", tlNoLogs, []string{"logs:", "processor_groups"}},
	}
	for _, s := range stories {
		for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
			t.Run(fmt.Sprintf("%s/%dx%d", s.name, size[0], size[1]), func(t *testing.T) {
				withTimeline(t, s.in, nil)
				f := newFixture(t, seedRequests)
				f.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				openTimeline(f, idJSON)
				v := plainView(f)
				if size[1] >= 40 {
					for _, w := range s.want {
						if !strings.Contains(v, w) {
							t.Errorf("%q missing:\n%s", w, v)
						}
					}
				}
				checkFrame(t, f.view(), size[0], size[1])
				requireGolden(t, f.view())
			})
		}
	}
}

// TestTimelineTabOpensALogLine: the cursor walks the entries; enter on the processor's
// error opens it whole and pretty; y offers it and the Logs Insights query; esc goes back
// to the timeline, then to the list.
func TestTimelineTabOpensALogLine(t *testing.T) {
	withTimeline(t, tlFailedRedrivenProcessed, nil)
	f := newFixture(t, seedRequests)
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	openTimeline(f, idJSON)
	tl := f.m.detail.tl
	errAt := -1
	for i, e := range tl.tl.Entries {
		if e.Error && e.Message != "" {
			errAt = i
			break
		}
	}
	if errAt < 0 {
		t.Fatal("no error log line in the fixture's timeline")
	}
	for range errAt {
		f.keys("down")
	}
	if tl.cursor != errAt {
		t.Fatalf("cursor %d, want %d", tl.cursor, errAt)
	}
	f.keys("enter")
	v := plainView(f)
	for _, want := range []string{"Log line", `"errorType": "parse"`, "esc back to the timeline"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing from the opened line:\n%s", want, v)
		}
	}
	t.Run("Opened", func(t *testing.T) { requireGolden(t, f.view()) })
	f.keys("y")
	v = plainView(f)
	if !strings.Contains(v, "log line") || !strings.Contains(v, "Logs Insights query") {
		t.Errorf("the copy menu does not offer the line and the query:\n%s", v)
	}
	f.keys("esc", "esc")
	if f.m.mode != modeDetail || f.m.detail.tl.open != -1 {
		t.Fatalf("esc did not go back to the timeline (mode %v, open %d)", f.m.mode, f.m.detail.tl.open)
	}
	f.keys("enter") // the error line again
	f.keys("esc", "esc")
	if f.m.mode != modeList {
		t.Fatalf("esc from the timeline: mode %v", f.m.mode)
	}
	if f.m.detail != nil && f.m.detail.tab == tabTimeline {
		t.Errorf("the pane kept the timeline tab")
	}
}

// TestTimelineTabGathersOnceAndDropsStale: the tab gathers when it first opens and on r,
// not on every visit; an answer for an earlier gathering or another request is dropped.
func TestTimelineTabGathersOnceAndDropsStale(t *testing.T) {
	calls := 0
	withTimeline(t, tlLost, &calls)
	f := newFixture(t, seedRequests)
	openTimeline(f, idJSON)
	f.keys("tab", "tab", "tab", "tab")
	if calls != 1 {
		t.Fatalf("gathered %d times for two visits, want 1", calls)
	}
	f.keys("r")
	if calls != 2 {
		t.Fatalf("r gathered %d times, want 2", calls)
	}
	d := f.m.detail
	before := len(d.tl.tl.Entries)
	f.send(timelineReadMsg{gen: f.m.gen, seq: d.tl.seq - 1, id: d.id, tl: trace.Timeline{}})
	f.send(timelineReadMsg{gen: f.m.gen, seq: d.tl.seq, id: "another", tl: trace.Timeline{}})
	if len(d.tl.tl.Entries) != before {
		t.Fatalf("a stale answer replaced the timeline")
	}
}

// TestTimelineTabWithoutLogs: through the real trace.Gather over the session's stores, an
// environment without logs: gets the note that says how to add one.
func TestTimelineTabWithoutLogs(t *testing.T) {
	stateHome(t)
	f := newFixture(t, seedRequests)
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	openTimeline(f, idJSON)
	v := plainView(f)
	for _, want := range []string{"no logs: section", "processor_groups:", "status"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing:\n%s", want, v)
		}
	}
}
