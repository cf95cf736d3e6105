package devstack

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// seededStack is a seeded stack with a request of each story: one that failed
// transiently, was redriven and then processed; one that failed to parse; a LOST one; and
// one sent on the in-place route.
func seededStack(t *testing.T) (st *Stack, redriven, parse, lost, inplace SeedRequest) {
	t.Helper()
	st = startStack(t, Options{Seed: 5, Requests: 400})
	for _, r := range st.Seeded() {
		s, ok := st.Status(r.Key)
		switch {
		case !ok && lost.Key == "":
			lost = r
		case ok && !r.Redriven.IsZero() && s.State == StateProcessed && redriven.Key == "":
			redriven = r
		case ok && r.Redriven.IsZero() && s.State == StateFailed && strings.Contains(s.Error, "syntax") && parse.Key == "":
			parse = r
		case ok && r.Route == "inplace" && !strings.Contains(r.Key, `"`) && inplace.Key == "":
			inplace = r
		}
	}
	if redriven.Key == "" || parse.Key == "" || lost.Key == "" || inplace.Key == "" {
		t.Fatalf("the seed lacks a story: %q %q %q %q", redriven.Key, parse.Key, lost.Key, inplace.Key)
	}
	return st, redriven, parse, lost, inplace
}

// filterAll reads every page of a FilterLogEvents.
func filterAll(t *testing.T, c *cloudwatchlogs.Client, in *cloudwatchlogs.FilterLogEventsInput) []cwtypes.FilteredLogEvent {
	t.Helper()
	var out []cwtypes.FilteredLogEvent
	for {
		page, err := c.FilterLogEvents(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Events...)
		if page.NextToken == nil {
			return out
		}
		in.NextToken = page.NextToken
	}
}

func messages(evs []cwtypes.FilteredLogEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

// Every seeded request, of any seed size, has its gateway access-log line and its
// processor lines, as the live path writes them: a filter for its ID finds its arrival,
// its error, its redelivery and its success, in order (#16).
func TestSeededRequestsHaveTheirLogLines(t *testing.T) {
	st, redriven, parse, lost, inplace := seededStack(t)
	c := cwClient(st.LogsURL)
	week := func(group, pattern string) *cloudwatchlogs.FilterLogEventsInput {
		return &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(pattern),
			StartTime: aws.Int64(testNow.Add(-8 * 24 * time.Hour).UnixMilli()), EndTime: aws.Int64(testNow.UnixMilli())}
	}

	got := messages(filterAll(t, c, week(ProcessorLogGroup, `"`+redriven.Key+`"`)))
	if len(got) != 4 || !strings.Contains(got[1], `"level":"ERROR"`) || !strings.Contains(got[1], `"errorType":"transient"`) ||
		!strings.Contains(got[2], `"redelivery":true`) || !strings.Contains(got[3], `"message":"processed"`) {
		t.Errorf("redriven request's lines:\n%s", strings.Join(got, "\n"))
	}
	access := messages(filterAll(t, c, week(AccessLogGroup, `"`+redriven.Key+`"`)))
	var line accessLine
	if len(access) != 1 || json.Unmarshal([]byte(access[0]), &line) != nil || line.RequestID != redriven.Key ||
		line.Key != redriven.Key || line.Status != "200" || line.HTTPMethod != "PUT" || line.ResourcePath != "/product" ||
		line.RequestTime != redriven.Created.UTC().Format("02/Jan/2006:15:04:05 -0700") {
		t.Errorf("access-log lines of %s: %q", redriven.Key, access)
	}
	access = messages(filterAll(t, c, week(AccessLogGroup, `{ $.key = "`+inplace.Key+`" }`)))
	if len(access) != 1 || json.Unmarshal([]byte(access[0]), &line) != nil || line.Key != inplace.Key ||
		line.ResourcePath != "/product/{bucket}/{key}" || len(line.RequestID) != 36 || line.RequestID == inplace.Key {
		t.Errorf("access-log line of the in-place %q: %q", inplace.Key, access)
	}
	// API Gateway's own request ID of an in-place request finds its line too.
	if again := messages(filterAll(t, c, week(AccessLogGroup, `"`+line.RequestID+`"`))); !slices.Equal(again, access) {
		t.Errorf("by the gateway's request ID: %q", again)
	}

	s, _ := st.Status(parse.Key)
	got = messages(filterAll(t, c, week(ProcessorLogGroup, `{ $.requestId = "`+parse.Key+`" && $.level = "ERROR" }`)))
	if len(got) != 1 || !strings.Contains(got[0], `"errorType":"parse"`) || !strings.Contains(got[0], jsonQuote(s.Error)) {
		t.Errorf("parse failure's error line %q, status error %q", got, s.Error)
	}
	got = messages(filterAll(t, c, week(ProcessorLogGroup, `"`+lost.Key+`" ERROR`)))
	if len(got) != 1 || !strings.Contains(got[0], "Runtime exited with error: signal: killed") {
		t.Errorf("LOST request's crash line %q", got)
	}

	// The same lines each time, with the same event IDs.
	a := filterAll(t, c, week(ProcessorLogGroup, `"`+redriven.Key+`"`))
	b := filterAll(t, c, week(ProcessorLogGroup, `"`+redriven.Key+`"`))
	for i := range a {
		if aws.ToString(a[i].EventId) != aws.ToString(b[i].EventId) || aws.ToString(a[i].Message) != aws.ToString(b[i].Message) {
			t.Errorf("line %d differs between two reads", i)
		}
	}

	// Logs Insights finds them as stowage trace asks for them.
	q, err := c.StartQuery(context.Background(), &cloudwatchlogs.StartQueryInput{
		LogGroupNames: []string{ProcessorLogGroup, AccessLogGroup},
		StartTime:     aws.Int64(testNow.Add(-8 * 24 * time.Hour).Unix()), EndTime: aws.Int64(testNow.Unix()),
		QueryString: aws.String(`fields @timestamp, @message, @logStream, @log | filter @message like /` + redriven.Key + `/ | sort @timestamp asc | limit 10000`),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 5 { // its access line, and the two lines of each delivery that name it
		t.Errorf("Logs Insights: %d lines of %s, want 5", len(res.Results), redriven.Key)
	}
}

func jsonQuote(s string) string { return strings.Trim(string(appendJSONString(nil, s)), `"`) }

// A pattern that names no request reads the window's derived lines in time order with
// the lines stored since, page by page: the pages together are every matching line, once,
// in order, as one unbounded read would see them.
func TestSeededLinesPageWithStoredLines(t *testing.T) {
	st, _, _, _, _ := seededStack(t)
	l := st.logs()
	// A live line in the middle of the seeded week, at the same millisecond as a seeded one.
	var mid cwEvent
	l.seeded.each(ProcessorLogGroup, 0, 1<<62, cwPos{}, nil, nil, func(e cwEvent) bool {
		mid = e
		return e.at < testNow.Add(-3*24*time.Hour).UnixMilli()
	})
	st.PutLog(ProcessorLogGroup, time.UnixMilli(mid.at), `{"level":"ERROR","requestId":"live-one","message":"stored"}`)

	// It comes after the seeded lines of its millisecond.
	var want []string
	stored := false
	l.seeded.each(ProcessorLogGroup, 0, 1<<62, cwPos{}, nil, nil, func(e cwEvent) bool {
		if e.at > mid.at && !stored {
			want, stored = append(want, `{"level":"ERROR","requestId":"live-one","message":"stored"}`), true
		}
		if strings.Contains(e.msg, "ERROR") {
			want = append(want, e.msg)
		}
		return true
	})
	c := cwClient(st.LogsURL)
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(ProcessorLogGroup), FilterPattern: aws.String("ERROR"), Limit: aws.Int32(7)}
	got := messages(filterAll(t, c, in))
	if !slices.Equal(got, want) || len(want) < 20 {
		t.Errorf("%d lines in pages of 7, want %d", len(got), len(want))
	}
}
