package cli

import (
	"strings"
	"testing"

	"github.com/stowage-cli/stowage/internal/devstack"
)

func TestRedriveQualifierGoesWithLambda(t *testing.T) {
	d := startDemo(t, func(o *devstack.Options) { o.Requests = 20 })
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"redrive", "--mode", "sqs", "--qualifier", "live", "x"}, "it goes with --mode lambda"},
		{[]string{"redrive", "--mode", "lambda", "--qualifier", "a.b", "x"}, "is not an alias or version"},
		{[]string{"redrive", "--resume", "j.jsonl", "--qualifier", "live"}, "--qualifier cannot change it"},
		{[]string{"redrive", "--mode", "sns", "x"}, "expected reupload, inplace, s3-copy, sqs, lambda, eventbridge"},
	} {
		r := d.run(t, "", c.args...).must(t, ExitUsage)
		if !strings.Contains(r.stderr, c.says) {
			t.Errorf("%v: stderr %q, want %q", c.args, r.stderr, c.says)
		}
	}
}

// doctor checks each configured event target, and a refusal names the IAM action the
// probe needs and the one redrive sends with.
func TestDoctorEventTargets(t *testing.T) {
	d := startDemo(t, func(o *devstack.Options) { o.Requests = 20; o.Trigger = devstack.TriggerSQS })
	r := d.run(t, "", "doctor", "-o", "table")
	if !strings.Contains(r.stdout, "PASS  sqs queue") || !strings.Contains(r.stdout, "needs sqs:SendMessage") {
		t.Fatalf("doctor:\n%s", r.stdout)
	}
	d.stack.SetEventFaults(devstack.EventFaults{Deny: []string{"sqs:GetQueueAttributes"}})
	r = d.run(t, "", "doctor", "-o", "table").must(t, ExitAWS)
	if !strings.Contains(r.stdout, "FAIL  sqs queue") || !strings.Contains(r.stdout, "the credentials need sqs:GetQueueAttributes on") ||
		!strings.Contains(r.stdout, "redrive also needs sqs:SendMessage on it") {
		t.Errorf("doctor with GetQueueAttributes denied:\n%s", r.stdout)
	}
	// A redrive to a bus describes it first: doctor says so when it may not.
	b := startDemo(t, func(o *devstack.Options) { o.Requests = 20; o.Trigger = devstack.TriggerEventBridge })
	b.stack.SetEventFaults(devstack.EventFaults{Deny: []string{"events:DescribeEventBus"}})
	r = b.run(t, "", "doctor", "-o", "table").must(t, ExitAWS)
	if !strings.Contains(r.stdout, "FAIL  event bus") || !strings.Contains(r.stdout, "redrive also needs events:DescribeEventBus (before its first put) and events:PutEvents") {
		t.Errorf("doctor with DescribeEventBus denied:\n%s", r.stdout)
	}
}
