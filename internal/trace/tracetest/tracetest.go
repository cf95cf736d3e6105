// Package tracetest holds the timelines internal/trace's tests and the TUI's timeline tab
// tests draw: a request that failed, was redriven and then processed; a LOST one; one
// without a logs: section. Tests only.
package tracetest

import (
	"fmt"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/trace"
	"github.com/stowage-cli/stowage/redrive"
)

var (
	// Arrived is when the request arrived; Redrove when an operator redrove it.
	Arrived = time.Date(2026, 3, 2, 9, 14, 7, 120_000_000, time.UTC)
	Redrove = time.Date(2026, 3, 2, 11, 2, 41, 500_000_000, time.UTC)
)

const (
	// Lambda and Relambda are the awsRequestIds of the first delivery and the redrive's.
	Lambda   = "6f1d2b7a-93c4-4e1e-8d2f-5b1a9c3e7f00"
	Relambda = "9a8b7c6d-0000-4000-8000-000000000001"
	Group    = "/aws/lambda/product-ingest"
	Access   = "/aws/apigateway/stowage-demo/access"
	RunID    = "20260302T110241Z-7e57e57e"
)

// LogsConfig reads the processor's group and the access log, 1m before and 15m after.
var LogsConfig = config.Logs{ProcessorGroups: []string{Group}, AccessLogGroup: Access,
	WindowBefore: config.Duration{Duration: time.Minute}, WindowAfter: config.Duration{Duration: 15 * time.Minute}}

// Event is a log line of group g at at.
func Event(g string, at time.Time, msg string) awsclient.LogEvent {
	return awsclient.LogEvent{Group: g, At: at, Message: msg, EventID: fmt.Sprint(at.UnixNano())}
}

// Invocation is one Lambda invocation's lines, as a function with structured logging
// writes them: START at at, the function's lines (each with its offset in ms), END and
// REPORT after the last.
func Invocation(at time.Time, lambda, report string, lines ...Line) []awsclient.LogEvent {
	evs := []awsclient.LogEvent{Event(Group, at, "START RequestId: "+lambda+" Version: $LATEST")}
	last := at
	for _, l := range lines {
		last = at.Add(time.Duration(l.Ms) * time.Millisecond)
		evs = append(evs, Event(Group, last, l.Msg))
	}
	end := last.Add(time.Millisecond)
	return append(evs, Event(Group, end, "END RequestId: "+lambda), Event(Group, end, "REPORT RequestId: "+lambda+"\t"+report))
}

// Line is a function's log line Ms after its invocation's START.
type Line struct {
	Ms  int
	Msg string
}

// FailedRedrivenProcessed: request id of environment env failed to parse, was redriven in
// place by an operator and then processed.
func FailedRedrivenProcessed(env, id string) trace.Inputs {
	ms := time.Millisecond
	events := []awsclient.LogEvent{
		Event(Access, Arrived, `{"requestId":"`+id+`","ip":"203.0.113.7","requestTime":"02/Mar/2026:09:14:07 +0000","httpMethod":"PUT","resourcePath":"/product","status":"200","responseLength":"0","key":"`+id+`"}`),
	}
	events = append(events, Invocation(Arrived.Add(38*ms), Lambda, "Duration: 37.52 ms\tBilled Duration: 38 ms\tMemory Size: 512 MB\tMax Memory Used: 87 MB\tInit Duration: 212.09 ms",
		Line{2, `{"timestamp":"2026-03-02T09:14:07.160Z","level":"INFO","requestId":"` + id + `","awsRequestId":"` + Lambda + `","message":"processing","bucket":"stowage-demo","key":"` + id + `","redelivery":false}`},
		Line{37, `{"timestamp":"2026-03-02T09:14:07.195Z","level":"ERROR","requestId":"` + id + `","awsRequestId":"` + Lambda + `","errorType":"parse","message":"malformed JSON at line 1, column 9: invalid character '}'"}`},
	)...)
	events = append(events, Event(Access, Redrove, `{"requestId":"c0ffee00-1111-4222-8333-444455556666","ip":"198.51.100.4","requestTime":"02/Mar/2026:11:02:41 +0000","httpMethod":"PUT","resourcePath":"/product/{bucket}/{key}","status":"200","responseLength":"0","key":"`+id+`"}`))
	events = append(events, Invocation(Redrove.Add(48*ms), Relambda, "Duration: 36.80 ms\tBilled Duration: 37 ms\tMemory Size: 512 MB\tMax Memory Used: 91 MB",
		Line{2, `{"timestamp":"2026-03-02T11:02:41.550Z","level":"INFO","requestId":"` + id + `","awsRequestId":"` + Relambda + `","message":"processing","bucket":"stowage-demo","key":"` + id + `","redelivery":true}`},
		Line{37, `{"timestamp":"2026-03-02T11:02:41.585Z","level":"INFO","requestId":"` + id + `","awsRequestId":"` + Relambda + `","message":"processed","status":"PROCESSED"}`},
	)...)
	return trace.Inputs{
		Env: env, RequestID: id, Bucket: "stowage-demo", Key: id, LogsConfig: LogsConfig,
		Object: &awsclient.Object{Key: id, Size: 1834, LastModified: Redrove.Add(30 * ms), ContentType: "application/json"},
		Status: &awsclient.Status{RequestID: id, State: "PROCESSED", Attempts: 2, UpdatedAt: Redrove.Add(90 * ms),
			Item: map[string]any{"requestId": id, "status": "PROCESSED"}},
		Runs: []trace.Run{{
			HistoryRun: redrive.HistoryRun{RunID: RunID, Env: env, Operator: "arn:aws:iam::123456789012:user/alice",
				Mode: "inplace", Outcome: "delivered", Started: Redrove.Add(-20 * time.Second), At: Redrove.Add(45 * ms), Attempts: 1},
			PlannedLastModified: Arrived,
			Before:              &redrive.StatusRead{Found: true, State: "FAILED", Attempts: 1, UpdatedAt: Arrived.Add(80 * ms)},
		}},
		Logs: &awsclient.LogResult{Query: awsclient.InsightsQuery(id), Events: events},
	}
}

// Lost: stored, never processed: no status item and no processor line.
func Lost(env, id string) trace.Inputs {
	return trace.Inputs{
		Env: env, RequestID: id, Bucket: "stowage-demo", Key: id, LogsConfig: LogsConfig, Lost: true,
		Object: &awsclient.Object{Key: id, Size: 912, LastModified: Arrived, ContentType: "application/xml"},
		Logs: &awsclient.LogResult{Query: awsclient.InsightsQuery(id), Events: []awsclient.LogEvent{
			Event(Access, Arrived, `{"requestId":"`+id+`","httpMethod":"PUT","resourcePath":"/product","status":"200","key":"`+id+`"}`),
		}},
	}
}

// NoLogs: FailedRedrivenProcessed in an environment without logs:.
func NoLogs(env, id string) trace.Inputs {
	in := FailedRedrivenProcessed(env, id)
	in.Logs, in.LogsConfig = nil, config.Logs{}
	return in
}
