package awsclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
)

// logsOn starts a devstack without seeded requests and opens its clients; wrap, when set,
// wraps every client's transport.
func logsOn(t testing.TB, edit func(*awsclient.Clients), wrap func(http.RoundTripper) http.RoundTripper) (*devstack.Stack, *awsclient.LogReader) {
	t.Helper()
	st, err := devstack.Start(context.Background(), devstack.Options{Requests: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := st.Config().Environments[devstack.EnvName]
	opts := []awsclient.OpenOption{awsclient.WithStaticCredentials(devstack.AccessKey, devstack.SecretKey)}
	if wrap != nil {
		opts = append(opts, awsclient.WithHTTPWrap(wrap))
	}
	c, err := awsclient.Open(context.Background(), env, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if c.Logs == nil {
		t.Fatal("the demo environment has logs: but Open built no LogReader")
	}
	c.Logs.Backoff = awsclient.BackoffFunc(func(int, error) (time.Duration, error) { return 0, nil })
	if edit != nil {
		edit(c)
	}
	return st, c.Logs
}

var logT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const logID = "0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11"

func window(at time.Time) awsclient.LogWindow {
	return awsclient.LogWindow{Start: at.Add(-time.Minute), End: at.Add(15 * time.Minute)}
}

func TestLogReaderFindsTheLinesOfEveryGroupAndWindowInOrder(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	redrive := logT0.Add(3 * time.Hour)
	st.PutLog(devstack.AccessLogGroup, logT0, `{"requestId":"`+logID+`","status":"200","key":"`+logID+`"}`)
	st.PutLog(devstack.ProcessorLogGroup, logT0.Add(time.Second), `{"level":"ERROR","requestId":"`+logID+`","message":"malformed"}`)
	st.PutLog(devstack.ProcessorLogGroup, logT0.Add(time.Hour), `{"level":"INFO","requestId":"`+logID+`","message":"outside every window"}`)
	st.PutLog(devstack.ProcessorLogGroup, redrive.Add(time.Second), `{"level":"INFO","requestId":"`+logID+`","message":"processed"}`)
	st.PutLog(devstack.ProcessorLogGroup, redrive.Add(2*time.Second), `{"level":"INFO","requestId":"someone-else","message":"processed"}`)

	res, err := r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0), window(redrive), window(logT0.Add(time.Minute))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Events {
		got = append(got, e.Group+" "+e.Message)
	}
	if len(got) != 3 || !strings.Contains(got[0], "access") || !strings.Contains(got[1], "malformed") || !strings.Contains(got[2], "processed") {
		t.Errorf("events:\n%s", strings.Join(got, "\n"))
	}
	if res.Insights || res.Capped || len(res.Windows) != 2 || len(res.Errors) != 0 {
		t.Errorf("result: %+v", res)
	}
	if want := `fields @timestamp, @message, @logStream, @log | filter @message like /0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11/ | sort @timestamp asc | limit 10000`; res.Query != want {
		t.Errorf("query %q", res.Query)
	}
}

// A request with 50,000 lines: the reading stops at the cap, says so and offers the query.
func TestLogReaderCapsWhatItReads(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	line := `{"level":"INFO","requestId":"` + logID + `","message":"retrying downstream call to inventory-service (POST /v2/stock/reservations): connection reset by peer; the next attempt follows the jittered backoff","attempt":%d}`
	for i := range 50000 {
		st.PutLog(devstack.ProcessorLogGroup, logT0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf(line, i))
	}
	res, err := r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, []string{devstack.ProcessorLogGroup})
	if err != nil {
		t.Fatal(err)
	}
	max := r.Config().MaxBytes
	if max == 0 {
		t.Fatal("no cap")
	}
	if !res.Capped || res.Bytes != max || len(res.Events) == 0 || len(res.Events) >= 50000 || res.Query == "" {
		t.Errorf("capped %v, bytes %d of %d, %d events", res.Capped, res.Bytes, max, len(res.Events))
	}
	if calls := st.LogsCalls("FilterLogEvents"); calls > 10 {
		t.Errorf("%d calls: the cap did not stop the paging", calls)
	}
}

func TestLogReaderNamesTheMissingPermissionAndGroup(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	st.PutLog(devstack.ProcessorLogGroup, logT0, `{"requestId":"`+logID+`"}`)
	st.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:FilterLogEvents"}, DenyGroups: []string{devstack.AccessLogGroup}})
	res, err := r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, nil)
	if err != nil {
		t.Fatalf("one group readable: %v", err)
	}
	if len(res.Events) != 1 || len(res.Errors) != 1 {
		t.Fatalf("events %d, errors %v", len(res.Events), res.Errors)
	}
	msg := res.Errors[0].Error()
	if awsclient.KindOf(res.Errors[0]) != awsclient.KindAccessDenied ||
		!strings.Contains(msg, "the credentials need logs:FilterLogEvents on arn:aws:logs:"+devstack.Region+":000000000000:log-group:"+devstack.AccessLogGroup) {
		t.Errorf("denied: %s", msg)
	}

	st.SetLogsFaults(devstack.LogsFaults{})
	_, err = r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, []string{"/aws/lambda/renamed"})
	if awsclient.KindOf(err) != awsclient.KindNotFound || !strings.Contains(err.Error(), "log group /aws/lambda/renamed does not exist") ||
		!strings.Contains(err.Error(), "check logs: in the config") {
		t.Errorf("missing group: %v", err)
	}
}

func TestLogReaderBacksOffWhenThrottled(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	st.PutLog(devstack.ProcessorLogGroup, logT0, `{"requestId":"`+logID+`"}`)
	st.SetLogsFaults(devstack.LogsFaults{Throttle: 2})
	res, err := r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, []string{devstack.ProcessorLogGroup})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("events %d, err %v", len(res.Events), err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "throttled 2 calls; stowage backed off and retried") {
		t.Errorf("notes %q", res.Notes)
	}
	st.SetLogsFaults(devstack.LogsFaults{Throttle: 100})
	_, err = r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, []string{devstack.ProcessorLogGroup})
	if awsclient.KindOf(err) != awsclient.KindThrottled || !strings.Contains(err.Error(), "wait and retry") {
		t.Errorf("throttled throughout: %v", err)
	}
}

func TestLogReaderUsesInsightsForWideWindows(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	r.QueryPoll = time.Millisecond
	st.PutLog(devstack.ProcessorLogGroup, logT0, `{"requestId":"`+logID+`","message":"first"}`)
	st.PutLog(devstack.AccessLogGroup, logT0.Add(48*time.Hour), `{"key":"`+logID+`"}`)
	wide := []awsclient.LogWindow{{Start: logT0.Add(-time.Hour), End: logT0.Add(72 * time.Hour)}}
	st.SetLogsFaults(devstack.LogsFaults{QueryPolls: 3})
	res, err := r.Find(context.Background(), logID, wide, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Insights || len(res.Events) != 2 || res.Events[0].Group != devstack.ProcessorLogGroup || !strings.Contains(res.Events[1].Message, "key") {
		t.Errorf("insights %v, events %+v", res.Insights, res.Events)
	}
	if st.LogsCalls("FilterLogEvents") != 0 || st.LogsCalls("GetQueryResults") != 4 {
		t.Errorf("calls: filter %d, results %d", st.LogsCalls("FilterLogEvents"), st.LogsCalls("GetQueryResults"))
	}

	st.SetLogsFaults(devstack.LogsFaults{QueryNeverCompletes: true})
	r.QueryWait = 20 * time.Millisecond
	_, err = r.Find(context.Background(), logID, wide, nil)
	if awsclient.KindOf(err) != awsclient.KindTimeout || !strings.Contains(err.Error(), "did not finish within 20ms") ||
		!strings.Contains(err.Error(), "filter @message like /"+logID+"/") {
		t.Errorf("timeout: %v", err)
	}
	if st.LogsCalls("StopQuery") != 1 {
		t.Errorf("the query left running was not stopped")
	}

	st.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:StartQuery"}})
	_, err = r.Find(context.Background(), logID, wide, []string{devstack.ProcessorLogGroup})
	if !strings.Contains(fmt.Sprint(err), "the credentials need logs:StartQuery on arn:aws:logs:") {
		t.Errorf("denied: %v", err)
	}
}

func TestLogReaderChecksAGroup(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	if c := r.CheckGroup(context.Background(), devstack.ProcessorLogGroup); !c.Exists || c.Err != nil {
		t.Errorf("processor group: %+v", c)
	}
	if c := r.CheckGroup(context.Background(), "/aws/lambda/product"); c.Exists || awsclient.KindOf(c.Err) != awsclient.KindNotFound {
		t.Errorf("a prefix of nothing: %+v", c)
	}
	st.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:FilterLogEvents"}})
	if c := r.CheckGroup(context.Background(), devstack.ProcessorLogGroup); !c.Exists || !awsclient.IsAccessDenied(c.Err) {
		t.Errorf("denied: %+v", c)
	}
}

func TestMergeWindows(t *testing.T) {
	at := func(m int) time.Time { return logT0.Add(time.Duration(m) * time.Minute) }
	got := awsclient.MergeWindows([]awsclient.LogWindow{{at(30), at(40)}, {at(0), at(10)}, {at(5), at(20)}, {at(20), at(25)}, {at(50), at(50)}})
	if len(got) != 2 || !got[0].Start.Equal(at(0)) || !got[0].End.Equal(at(25)) || !got[1].Start.Equal(at(30)) {
		t.Errorf("%+v", got)
	}
}

// latency delays every request by d: a region away.
type latency struct {
	d    time.Duration
	next http.RoundTripper
}

func (l latency) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(l.d)
	return l.next.RoundTrip(r)
}

// BenchmarkLogReaderFind20ms reads two groups in two windows with 20 ms added to every
// call: in parallel it takes about one round trip (the ratio metric), not four.
func BenchmarkLogReaderFind20ms(b *testing.B) {
	const rtt = 20 * time.Millisecond
	st, r := logsOn(b, nil, func(next http.RoundTripper) http.RoundTripper { return latency{rtt, next} })
	redrive := logT0.Add(3 * time.Hour)
	for i := range 20 {
		st.PutLog(devstack.ProcessorLogGroup, logT0.Add(time.Duration(i)*time.Second), `{"requestId":"`+logID+`"}`)
		st.PutLog(devstack.ProcessorLogGroup, redrive.Add(time.Duration(i)*time.Second), `{"requestId":"`+logID+`"}`)
	}
	ws := []awsclient.LogWindow{window(logT0), window(redrive)}
	// One Find's four calls fit FilterLogEvents' burst; b.N in a row would be paced to the
	// account's quota, which is not what this measures.
	r.SetFilterRate(0)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		res, err := r.Find(context.Background(), logID, ws, nil)
		if err != nil || len(res.Events) != 40 {
			b.Fatalf("%d events, %v", len(res.Events), err)
		}
	}
	b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(rtt), "roundtrips/op")
}

// Find fails only when nothing could be read: every group denied in every window is such a
// case, however many windows the same failure was counted in.
func TestLogReaderFailsWhenEveryGroupFailsInEveryWindow(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	st.PutLog(devstack.ProcessorLogGroup, logT0, `{"requestId":"`+logID+`"}`)
	st.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:FilterLogEvents"}})
	later := logT0.Add(3 * time.Hour)
	res, err := r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0), window(later)}, nil)
	if awsclient.KindOf(err) != awsclient.KindAccessDenied {
		t.Fatalf("every call denied: err %v", err)
	}
	if len(res.Errors) != 2 || len(res.Events) != 0 {
		t.Errorf("one error per group, no events: errors %v, events %d", res.Errors, len(res.Events))
	}
}

// DescribeLogGroups is denied on no one group ("log-group::log-stream:"): doctor's remedy
// names the resource its policy needs, *, not an ARN with an empty group name.
func TestLogReaderNamesTheResourceOfADeniedDescribe(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	st.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:DescribeLogGroups"}})
	c := r.CheckGroup(context.Background(), devstack.ProcessorLogGroup)
	if awsclient.KindOf(c.Err) != awsclient.KindAccessDenied {
		t.Fatalf("err %v", c.Err)
	}
	if msg := c.Err.Error(); !strings.Contains(msg, "the credentials need logs:DescribeLogGroups on *") || strings.Contains(msg, "log-group:;") {
		t.Errorf("denied describe: %s", msg)
	}
}

// A Logs Insights query CloudWatch no longer knows is not a missing log group.
func TestLogReaderQueryNotFoundIsNotAMissingGroup(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	st.PutLog(devstack.ProcessorLogGroup, logT0, `{"requestId":"`+logID+`"}`)
	r.InsightsCalls = 0 // always Logs Insights
	r.QueryPoll = time.Millisecond
	st.SetLogsFaults(devstack.LogsFaults{QueryPolls: 1, ForgetQueries: true})
	_, err := r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, nil)
	if awsclient.KindOf(err) != awsclient.KindNotFound || strings.Contains(err.Error(), "log group") {
		t.Errorf("query forgotten: %v", err)
	}
}

// startQueryRecorder answers StartQuery with an error after noting its input.
type startQueryRecorder struct {
	fakeLogsAPI
	in *cloudwatchlogs.StartQueryInput
}

type fakeLogsAPI struct{}

func (fakeLogsAPI) FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	return &cloudwatchlogs.FilterLogEventsOutput{}, nil
}
func (fakeLogsAPI) StartQuery(context.Context, *cloudwatchlogs.StartQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	return nil, errors.New("not started")
}
func (fakeLogsAPI) GetQueryResults(context.Context, *cloudwatchlogs.GetQueryResultsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	return nil, errors.New("no query")
}
func (fakeLogsAPI) StopQuery(context.Context, *cloudwatchlogs.StopQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error) {
	return &cloudwatchlogs.StopQueryOutput{}, nil
}
func (fakeLogsAPI) DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	return &cloudwatchlogs.DescribeLogGroupsOutput{}, nil
}

func (s *startQueryRecorder) StartQuery(_ context.Context, in *cloudwatchlogs.StartQueryInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	s.in = in
	return nil, errors.New("not started")
}

// StartQuery takes whole seconds: the range is widened to them, never cut (a window
// ending at .500 keeps the lines of its last second).
func TestLogReaderInsightsRangeCoversTheWindow(t *testing.T) {
	rec := &startQueryRecorder{}
	r := awsclient.NewLogReader(rec, config.Logs{ProcessorGroups: []string{devstack.ProcessorLogGroup}}, devstack.Region)
	r.InsightsCalls = 0
	w := awsclient.LogWindow{Start: logT0.Add(1500 * time.Millisecond), End: logT0.Add(15*time.Minute + 500*time.Millisecond)}
	r.Find(context.Background(), logID, []awsclient.LogWindow{w}, nil)
	if rec.in == nil {
		t.Fatal("no StartQuery")
	}
	if s, e := aws.ToInt64(rec.in.StartTime), aws.ToInt64(rec.in.EndTime); s != logT0.Unix()+1 || e != logT0.Add(15*time.Minute).Unix()+1 {
		t.Errorf("range %d..%d, want %d..%d", s, e, logT0.Unix()+1, logT0.Add(15*time.Minute).Unix()+1)
	}
}

// Logs Insights fails a whole query on one missing or denied group: that group is named
// and left out, and the others are still read, as with FilterLogEvents.
func TestLogReaderInsightsReadsTheOtherGroups(t *testing.T) {
	st, r := logsOn(t, nil, nil)
	r.InsightsCalls = 0 // always Logs Insights
	r.QueryPoll = time.Millisecond
	st.PutLog(devstack.ProcessorLogGroup, logT0, `{"requestId":"`+logID+`","message":"processed"}`)
	st.PutLog(devstack.AccessLogGroup, logT0, `{"requestId":"`+logID+`","status":"200"}`)

	res, err := r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, []string{devstack.ProcessorLogGroup, "/aws/lambda/renamed"})
	if err != nil || len(res.Events) != 1 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "log group /aws/lambda/renamed does not exist") {
		t.Errorf("missing group: err %v, events %d, errors %v", err, len(res.Events), res.Errors)
	}

	st.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:StartQuery"}, DenyGroups: []string{devstack.AccessLogGroup}})
	res, err = r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, []string{devstack.ProcessorLogGroup, devstack.AccessLogGroup})
	if err != nil || len(res.Events) != 1 || len(res.Errors) != 1 ||
		!strings.Contains(res.Errors[0].Error(), "the credentials need logs:StartQuery on arn:aws:logs:"+devstack.Region+":000000000000:log-group:"+devstack.AccessLogGroup) {
		t.Errorf("denied group: err %v, events %d, errors %v", err, len(res.Events), res.Errors)
	}

	st.SetLogsFaults(devstack.LogsFaults{Deny: []string{"logs:StartQuery"}})
	if _, err := r.Find(context.Background(), logID, []awsclient.LogWindow{window(logT0)}, []string{devstack.ProcessorLogGroup, devstack.AccessLogGroup}); awsclient.KindOf(err) != awsclient.KindAccessDenied {
		t.Errorf("every group denied: %v", err)
	}
}
