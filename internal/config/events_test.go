package config

import (
	"strings"
	"testing"
)

func TestEventsDefaultsOnlyWhenATargetIsNamed(t *testing.T) {
	f := mustParse(t, minimal)
	if ev := f.Environments["prod"].Events; ev.Configured() || ev.EventSource != "" {
		t.Errorf("an environment without events: got %+v", ev)
	}
	f = mustParse(t, minimal+"    events:\n      sqs_queue_url: https://sqs.eu-west-1.amazonaws.com/111122223333/ingest\n")
	ev := f.Environments["prod"].Events
	if !ev.Configured() || ev.EventSource != DefaultEventSource || ev.ConfigurationID != DefaultConfigurationID || ev.FIFO() {
		t.Errorf("defaults: got %+v", ev)
	}
	if ps := f.Validate(); len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
}

func TestValidateEvents(t *testing.T) {
	cases := []struct {
		name    string
		ev      Events
		field   string
		msg     string
		warning bool
	}{
		{"queue not a URL", Events{SQSQueueURL: "ingest"}, "events.sqs_queue_url", "is not a queue URL", false},
		{"queue without account", Events{SQSQueueURL: "https://sqs.eu-west-1.amazonaws.com/ingest"}, "events.sqs_queue_url", "has no ACCOUNT/NAME path", false},
		{"queue name", Events{SQSQueueURL: "https://sqs.eu-west-1.amazonaws.com/1/in gest"}, "events.sqs_queue_url", "is not valid", false},
		{"group on a standard queue", Events{SQSQueueURL: "https://sqs.eu-west-1.amazonaws.com/1/q", SQSMessageGroup: "g"}, "events.sqs_message_group", "not a FIFO queue", true},
		{"group with a space", Events{SQSQueueURL: "https://sqs.eu-west-1.amazonaws.com/1/q.fifo", SQSMessageGroup: "a b"}, "events.sqs_message_group", "not a message group ID", false},
		{"function", Events{LambdaFunction: "product ingest"}, "events.lambda_function", "is not a function", false},
		{"function ARN of another service", Events{LambdaFunction: "arn:aws:sqs:eu-west-1:111122223333:q"}, "events.lambda_function", "is not a function", false},
		{"two qualifiers", Events{LambdaFunction: "product-ingest:live", LambdaQualifier: "7"}, "events.lambda_qualifier", "contradicts", false},
		{"qualifier", Events{LambdaFunction: "p", LambdaQualifier: "a.b"}, "events.lambda_qualifier", "is not an alias or version", false},
		{"qualifier without function", Events{EventBus: "default", LambdaQualifier: "live"}, "events.lambda_qualifier", "not used", true},
		{"bus", Events{EventBus: "my bus"}, "events.event_bus", "is not an event bus", false},
		{"source", Events{EventBus: "default", EventSource: "a b"}, "events.event_source", "is not an event source", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := validFile(t)
			f.Environments["prod"].Events = c.ev
			var found bool
			for _, p := range f.Validate() {
				if p.Field == "environments.prod."+c.field && strings.Contains(p.Message, c.msg) {
					found = true
					if p.Warning != c.warning {
						t.Errorf("Warning = %v: %s", p.Warning, p)
					}
				}
			}
			if !found {
				t.Errorf("no problem on %s containing %q: %v", c.field, c.msg, f.Validate())
			}
		})
	}
}

func TestValidEventTargets(t *testing.T) {
	for _, ev := range []Events{
		{SQSQueueURL: "https://sqs.eu-west-1.amazonaws.com/111122223333/ingest.fifo", SQSMessageGroup: "redrive"},
		{SQSQueueURL: "http://127.0.0.1:9324/000000000000/ingest"},
		{LambdaFunction: "product-ingest", LambdaQualifier: "$LATEST"},
		{LambdaFunction: "arn:aws:lambda:eu-west-1:111122223333:function:product-ingest:live"},
		{LambdaFunction: "111122223333:function:product-ingest"},
		{EventBus: "default"},
		{EventBus: "arn:aws:events:eu-west-1:111122223333:event-bus/ingest", EventSource: "stowage.s3"},
	} {
		f := validFile(t)
		f.Environments["prod"].Events = ev
		for _, p := range f.Validate() {
			if strings.Contains(p.Field, "events") {
				t.Errorf("%+v: %s", ev, p)
			}
		}
	}
}

func TestSplitFunction(t *testing.T) {
	for in, want := range map[string][2]string{
		"p":         {"p", ""},
		"p:live":    {"p", "live"},
		"p:$LATEST": {"p", "$LATEST"},
		"arn:aws:lambda:eu-west-1:111122223333:function:p:3": {"arn:aws:lambda:eu-west-1:111122223333:function:p", "3"},
	} {
		fn, q, ok := SplitFunction(in)
		if !ok || fn != want[0] || q != want[1] {
			t.Errorf("SplitFunction(%s) = %s, %s, %v", in, fn, q, ok)
		}
	}
}

// FuzzCheckQueueURL: outside input never panics the checks.
func FuzzCheckQueueURL(f *testing.F) {
	for _, s := range []string{"https://sqs.eu-west-1.amazonaws.com/1/q.fifo", "http://[::1", "p:live", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = CheckQueueURL(s)
		_, _, _ = SplitFunction(s)
		_ = CheckQualifier(s)
	})
}
