package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// events checks the event targets (SQS GetQueueAttributes, Lambda GetFunction, EventBridge
// DescribeEventBus; #18). Doctor sends nothing: the send permission each mode needs is
// named, not tried.
func (d *doctor) events(ctx context.Context, env *config.Env, c *awsclient.Clients) {
	ev := env.Events
	if !ev.Configured() {
		return
	}
	if c.Events == nil {
		if slices.Contains(c.OffMachine, "events") {
			d.report(check{Check: "events", Result: resultSkip, Detail: offMachineDetail("events", "sqs, lambda, eventbridge")}, "")
			return
		}
		d.report(check{Check: "events", Result: resultFail, Detail: "the event clients were not built"}, "")
		return
	}
	if ev.SQSQueueURL != "" {
		d.eventQueue(ctx, ev, c.Events)
	}
	if ev.LambdaFunction != "" {
		d.eventFunction(ctx, ev, c.Events)
	}
	if ev.EventBus != "" {
		d.eventBus(ctx, env, c.Events)
	}
}

// eventErr reports a failed probe; an access denial names the probe's action and the one
// the mode sends with.
func (d *doctor) eventErr(name string, err error, send string) {
	var ae *awsclient.Error
	if errors.As(err, &ae) && ae.Kind == awsclient.KindAccessDenied {
		plain := *ae
		plain.Remedy = ""
		d.report(check{Check: name, Result: resultFail, Detail: sanitize.Line(plain.Error())},
			ae.Remedy+"; redrive also needs "+send+" on it")
		return
	}
	d.reportErr(name, err)
}

func (d *doctor) eventQueue(parent context.Context, ev config.Events, s *awsclient.EventSender) {
	ctx, cancel := d.ctx(parent)
	defer cancel()
	q, err := s.ProbeQueue(ctx, ev.SQSQueueURL)
	if err != nil {
		d.eventErr("sqs queue", err, awsclient.ActionSQSSend)
		return
	}
	kind := "standard"
	if q.FIFO {
		kind = "FIFO"
	}
	detail := fmt.Sprintf("%s (%s, about %d messages); redrive --mode sqs needs %s on it (not tried: doctor sends nothing)",
		sanitize.Line(ev.SQSQueueURL), kind, q.Messages, awsclient.ActionSQSSend)
	if q.FIFO != ev.FIFO() {
		d.report(check{Check: "sqs queue", Result: resultWarn, Detail: detail + "; the queue's FIFO setting and its name disagree"},
			"check events.sqs_queue_url: a FIFO queue's name ends in .fifo")
		return
	}
	d.report(check{Check: "sqs queue", Result: resultPass, Detail: detail}, "")
}

func (d *doctor) eventFunction(parent context.Context, ev config.Events, s *awsclient.EventSender) {
	ctx, cancel := d.ctx(parent)
	defer cancel()
	fn, q, _ := config.SplitFunction(ev.LambdaFunction)
	if q == "" {
		q = ev.LambdaQualifier
	}
	info, err := s.ProbeFunction(ctx, fn, q)
	if err != nil {
		d.eventErr("lambda", err, awsclient.ActionLambdaSend)
		return
	}
	name := fn
	if q != "" {
		name += ":" + q
	}
	detail := fmt.Sprintf("%s", sanitize.Line(name))
	if info.State != "" {
		detail += " (" + sanitize.Line(info.State) + ")"
	}
	detail += "; redrive --mode lambda needs " + awsclient.ActionLambdaSend + " on it (not tried: doctor invokes nothing)"
	if info.State != "" && info.State != "Active" {
		d.report(check{Check: "lambda", Result: resultWarn, Detail: detail}, "the function is not Active: an invoke may be refused until it is")
		return
	}
	d.report(check{Check: "lambda", Result: resultPass, Detail: detail}, "")
}

func (d *doctor) eventBus(parent context.Context, env *config.Env, s *awsclient.EventSender) {
	ctx, cancel := d.ctx(parent)
	defer cancel()
	ev := env.Events
	arn, err := s.ProbeBus(ctx, ev.EventBus)
	if err != nil {
		// Redrive describes the bus too, before its first put: PutEvents to a bus that
		// does not exist succeeds and drops the events.
		d.eventErr("event bus", err, awsclient.ActionEventsProbe+" (before its first put) and "+awsclient.ActionEventsSend)
		return
	}
	detail := fmt.Sprintf("%s; redrive --mode eventbridge needs %s on it (not tried: doctor puts nothing)",
		sanitize.Line(orDefault(arn, ev.EventBus)), awsclient.ActionEventsSend)
	if strings.HasPrefix(ev.EventSource, "aws.") && !config.IsLoopbackURL(env.Endpoints.EventBridge) {
		d.report(check{Check: "event bus", Result: resultWarn, Detail: detail + "; events.event_source is " + sanitize.Line(ev.EventSource)},
			"AWS refuses sources beginning aws. from PutEvents (NotAuthorizedForSourceException), so redrive --mode eventbridge refuses to plan: set events.event_source to your own, e.g. stowage.s3, and match it in the rule's event pattern")
		return
	}
	d.report(check{Check: "event bus", Result: resultPass, Detail: detail}, "")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// offMachineDetail says why a section of a local stack was not checked: its service has no
// endpoint on this machine, and local keys are never sent to AWS.
func offMachineDetail(section, endpoints string) string {
	return "a local stack: " + section + "' services have no endpoint on this machine (endpoints: " + endpoints +
		"), so stowage leaves " + section + " out rather than call AWS with local keys"
}
