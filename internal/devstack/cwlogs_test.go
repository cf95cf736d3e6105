package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
)

// cwClient is the SDK's client against url, hermetic: static keys, no retries.
func cwClient(url string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		HTTPClient:       &http.Client{Timeout: 10 * time.Second},
		RetryMaxAttempts: 1,
	})
}

func startCWLogs(t *testing.T) (*cwLogs, *cloudwatchlogs.Client) {
	t.Helper()
	l := newCWLogs(Region, ProcessorLogGroup, AccessLogGroup)
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	return l, cwClient(srv.URL)
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("err = %v, want an API error", err)
	}
	return api.ErrorCode()
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestCWLogsFilterLogEventsWithTheSDK(t *testing.T) {
	l, c := startCWLogs(t)
	ctx := context.Background()
	id := "0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11"
	l.put(ProcessorLogGroup, t0, "START RequestId: 11111111-2222-3333-4444-555555555555 Version: $LATEST")
	l.put(ProcessorLogGroup, t0.Add(time.Millisecond), `{"level":"INFO","requestId":"`+id+`","message":"processing"}`)
	l.put(ProcessorLogGroup, t0.Add(2*time.Millisecond), `{"level":"ERROR","requestId":"`+id+`","errorType":"parse","message":"malformed"}`)
	l.put(ProcessorLogGroup, t0.Add(3*time.Millisecond), `{"level":"INFO","requestId":"other","message":"processing"}`)
	l.put(ProcessorLogGroup, t0.Add(time.Hour), `{"level":"INFO","requestId":"`+id+`","message":"processed"}`)

	filter := func(pattern string, start, end time.Time) []string {
		t.Helper()
		out, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(ProcessorLogGroup),
			FilterPattern: aws.String(pattern), StartTime: aws.Int64(start.UnixMilli()), EndTime: aws.Int64(end.UnixMilli())})
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		var msgs []string
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
			if aws.ToString(e.LogStreamName) == "" || aws.ToString(e.EventId) == "" || aws.ToInt64(e.IngestionTime) == 0 {
				t.Errorf("event without stream, ID or ingestion time: %+v", e)
			}
		}
		return msgs
	}
	if got := filter(`"`+id+`"`, t0, t0.Add(15*time.Minute)); len(got) != 2 || !strings.Contains(got[1], "ERROR") {
		t.Errorf("quoted term in the window: %q", got)
	}
	if got := filter(`{ $.requestId = "`+id+`" && $.level = "ERROR" }`, t0, t0.Add(2*time.Hour)); len(got) != 1 || !strings.Contains(got[0], "parse") {
		t.Errorf("JSON pattern: %q", got)
	}
	if got := filter(`{ $.requestId = "0b7c*" }`, t0, t0.Add(2*time.Hour)); len(got) != 3 {
		t.Errorf("JSON prefix pattern: %q", got)
	}
	if got := filter(`START`, t0, t0.Add(time.Hour)); len(got) != 1 {
		t.Errorf("plain term: %q", got)
	}
	if got := filter(`?ERROR ?processed`, t0, t0.Add(2*time.Hour)); len(got) != 2 {
		t.Errorf("?terms: %q", got)
	}
	if got := filter(`processing -other`, t0, t0.Add(2*time.Hour)); len(got) != 1 {
		t.Errorf("-term: %q", got)
	}
	// endTime is inclusive, as AWS documents it ("events with a timestamp later than this
	// time are not returned"); startTime too.
	if got := filter("", t0, t0.Add(time.Hour)); len(got) != 5 {
		t.Errorf("window ending at the last event: %d events, want 5", len(got))
	}
	if got := filter("", t0.Add(time.Millisecond), t0.Add(time.Hour-time.Millisecond)); len(got) != 3 {
		t.Errorf("window inside: %d events, want 3", len(got))
	}
}

func TestCWLogsFilterLogEventsPages(t *testing.T) {
	l, c := startCWLogs(t)
	for i := range 25 {
		l.put(ProcessorLogGroup, t0.Add(time.Duration(i%5)*time.Second), fmt.Sprintf("line %02d req-1", i))
	}
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(ProcessorLogGroup),
		FilterPattern: aws.String(`"req-1"`), Limit: aws.Int32(10)})
	var n, pages int
	var last int64
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range out.Events {
			if *e.Timestamp < last {
				t.Errorf("out of order: %d after %d", *e.Timestamp, last)
			}
			last = *e.Timestamp
			n++
		}
	}
	if n != 25 || pages != 3 {
		t.Errorf("%d events in %d pages, want 25 in 3", n, pages)
	}
	_, err := c.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(ProcessorLogGroup), NextToken: aws.String("bogus")})
	if apiCode(t, err) != "InvalidParameterException" {
		t.Errorf("a bad token: %v", err)
	}
}

func TestCWLogsErrorsAsAWSDocumentsThem(t *testing.T) {
	l, c := startCWLogs(t)
	ctx := context.Background()
	_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/nope")})
	var nf *cwtypes.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "The specified log group does not exist.") {
		t.Errorf("missing group: %v", err)
	}
	_, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(ProcessorLogGroup), FilterPattern: aws.String(`"unbalanced`)})
	var ip *cwtypes.InvalidParameterException
	if !errors.As(err, &ip) {
		t.Errorf("bad pattern: %v", err)
	}
	_, err = c.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupNames: []string{ProcessorLogGroup}, StartTime: aws.Int64(0), EndTime: aws.Int64(1),
		QueryString: aws.String("stats count(*) by bin(5m)")})
	var mq *cwtypes.MalformedQueryException
	if !errors.As(err, &mq) {
		t.Errorf("malformed query: %v", err)
	}

	l.setFaults(LogsFaults{Deny: []string{"logs:FilterLogEvents"}, DenyGroups: []string{AccessLogGroup}})
	if _, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(ProcessorLogGroup)}); err != nil {
		t.Errorf("another group denied: %v", err)
	}
	_, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(AccessLogGroup)})
	if apiCode(t, err) != "AccessDeniedException" || !strings.Contains(err.Error(), "logs:FilterLogEvents on resource: arn:aws:logs:") {
		t.Errorf("denied: %v", err)
	}
	l.setFaults(LogsFaults{Throttle: 1})
	_, err = c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if apiCode(t, err) != "ThrottlingException" {
		t.Errorf("throttled: %v", err)
	}
	if _, err = c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		t.Errorf("after the throttle: %v", err)
	}
}

func TestCWLogsDescribeLogGroups(t *testing.T) {
	_, c := startCWLogs(t)
	out, err := c.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != ProcessorLogGroup ||
		aws.ToString(out.LogGroups[0].Arn) != "arn:aws:logs:"+Region+":000000000000:log-group:"+ProcessorLogGroup+":*" {
		t.Errorf("groups: %+v", out.LogGroups)
	}
}

func TestCWLogsInsightsQuery(t *testing.T) {
	l, c := startCWLogs(t)
	ctx := context.Background()
	for i := range 5 {
		l.put(ProcessorLogGroup, t0.Add(time.Duration(i)*time.Second), fmt.Sprintf(`{"requestId":"req-%d","n":%d}`, i%2, i))
	}
	l.put(AccessLogGroup, t0.Add(500*time.Millisecond), `{"requestId":"gw","key":"req-1"}`)
	l.setFaults(LogsFaults{QueryPolls: 2})
	q, err := c.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupNames: []string{ProcessorLogGroup, AccessLogGroup},
		StartTime: aws.Int64(t0.Unix()), EndTime: aws.Int64(t0.Add(time.Minute).Unix()),
		QueryString: aws.String(`fields @timestamp, @message, @logStream, @log | filter @message like /req-1/ | sort @timestamp asc | limit 100`)})
	if err != nil {
		t.Fatal(err)
	}
	var res *cloudwatchlogs.GetQueryResultsOutput
	for polls := 0; ; polls++ {
		res, err = c.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == cwtypes.QueryStatusComplete {
			if polls != 2 {
				t.Errorf("complete after %d polls, want 2", polls)
			}
			break
		}
		if polls > 5 {
			t.Fatal("never complete")
		}
	}
	if len(res.Results) != 3 || res.Statistics == nil || res.Statistics.RecordsMatched != 3 {
		t.Fatalf("results %d, stats %+v", len(res.Results), res.Statistics)
	}
	var msgs []string
	for _, row := range res.Results {
		for _, f := range row {
			if aws.ToString(f.Field) == "@message" {
				msgs = append(msgs, aws.ToString(f.Value))
			}
		}
	}
	if !strings.Contains(msgs[0], `"key":"req-1"`) || !strings.Contains(msgs[1], `"n":1`) || !strings.Contains(msgs[2], `"n":3`) {
		t.Errorf("order: %q", msgs)
	}
}

// The store keeps the newest lines of a group and counts what it dropped.
func TestCWLogsMemoryIsBounded(t *testing.T) {
	l := newCWLogs(Region)
	for i := range maxGroupEvents + 10 {
		l.put("/g", t0.Add(time.Duration(i)*time.Millisecond), "x")
	}
	g := l.groups["/g"]
	if len(g.events) != maxGroupEvents || g.dropped != 10 || g.ordered()[0].at != t0.Add(10*time.Millisecond).UnixMilli() {
		t.Errorf("kept %d, dropped %d", len(g.events), g.dropped)
	}
	big := strings.Repeat("y", 1<<20)
	for range 70 {
		l.put("/big", t0, big)
	}
	if g := l.groups["/big"]; g.bytes > maxGroupBytes || g.dropped == 0 {
		t.Errorf("bytes %d, dropped %d", g.bytes, g.dropped)
	}
}

// The gateway writes one access-log line per request, on the stack's clock, and the
// demo's environment names both groups and the endpoint.
func TestStackServesCloudWatchLogs(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	req, _ := http.NewRequest(http.MethodPut, st.GatewayURL+"/product", strings.NewReader(`{"a":1}`))
	req.Header.Set("X-Api-Key", st.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("x-amzn-RequestId")
	out, err := cwClient(st.LogsURL).FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(AccessLogGroup), FilterPattern: aws.String(`{ $.key = "` + id + `" }`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 || *out.Events[0].Timestamp != testNow.UnixMilli() ||
		!strings.Contains(*out.Events[0].Message, `"httpMethod":"PUT","resourcePath":"/product","status":"200"`) {
		t.Errorf("access log: %+v", out.Events)
	}
	env := st.Config().Environments[EnvName]
	if env.Endpoints.Logs != st.LogsURL || env.Logs.AccessLogGroup != AccessLogGroup || env.Logs.ProcessorGroups[0] != ProcessorLogGroup {
		t.Errorf("config: %+v %+v", env.Endpoints, env.Logs)
	}
}

// BenchmarkCWLogsPut is the cost of one line as the processor writes it while seeding.
func BenchmarkCWLogsPut(b *testing.B) {
	l := newCWLogs(Region)
	msg := `{"timestamp":"2026-03-02T09:14:07.160Z","level":"INFO","requestId":"0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11","message":"processing"}`
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.put(ProcessorLogGroup, t0.Add(time.Duration(i)*time.Millisecond), msg)
	}
}
