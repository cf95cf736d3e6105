package config

import (
	"net/url"
	"strings"
)

// Events names the processor's trigger targets, for redrive --mode sqs, lambda and
// eventbridge (#18). Each mode needs only its own target.
type Events struct {
	// SQSQueueURL is the queue S3 notifies (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME).
	SQSQueueURL string `yaml:"sqs_queue_url,omitempty"`
	// SQSMessageGroup is the MessageGroupId on a FIFO queue; "" puts each request in a
	// group of its own (its request ID), so requests are not held behind one another.
	SQSMessageGroup string `yaml:"sqs_message_group,omitempty"`
	// LambdaFunction is the processor's function: a name, a partial or a full ARN.
	LambdaFunction string `yaml:"lambda_function,omitempty"`
	// LambdaQualifier is the alias or version to invoke ("" = unqualified, $LATEST);
	// redrive --qualifier overrides it.
	LambdaQualifier string `yaml:"lambda_qualifier,omitempty"`
	// EventBus is the EventBridge bus S3 sends to: a name ("default") or an ARN.
	EventBus string `yaml:"event_bus,omitempty"`
	// EventSource is the Source of the events put on the bus (default aws.s3, what S3
	// sends, which only the demo's loopback bus takes). AWS refuses sources beginning
	// "aws." from PutEvents (NotAuthorizedForSourceException), so redrive --mode
	// eventbridge refuses to plan with one on AWS: give your own, e.g. stowage.s3, and
	// match it in the rule's event pattern.
	EventSource string `yaml:"event_source,omitempty"`
	// ConfigurationID is s3.configurationId in the synthesized record (default
	// stowage-redrive).
	ConfigurationID string `yaml:"configuration_id,omitempty"`
}

// Defaults of the events section.
const (
	DefaultEventSource     = "aws.s3"
	DefaultConfigurationID = "stowage-redrive"
)

// Configured reports whether any event target is named.
func (ev Events) Configured() bool {
	return ev.SQSQueueURL != "" || ev.LambdaFunction != "" || ev.EventBus != ""
}

// FIFO reports whether the queue is a FIFO queue (its name ends in .fifo).
func (ev Events) FIFO() bool { return strings.HasSuffix(ev.SQSQueueURL, ".fifo") }

var (
	queueNameRe = boundedLast(`^([A-Za-z0-9_-]+)$`, 1, 80)
	// AWS's pattern for Invoke's FunctionName, with the qualifier split off; SplitFunction
	// checks the name's 1 to 64 bytes and the qualifier's 1 to 128 (counted, they made
	// the costliest program of every start's validation: #13).
	functionRe  = lazy(`^(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?(-iso[a-z]*)?-[a-z]+-\d:\d{12}:function:|\d{12}:function:)?([a-zA-Z0-9_-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$`)
	qualifierRe = boundedLast(`^(\$LATEST|[a-zA-Z0-9_-]+)$`, 1, 128)
	busNameRe   = boundedLast(`^([/.\-_A-Za-z0-9]+)$`, 1, 256)
	busARNRe    = boundedLast(`^arn:aws[a-zA-Z-]*:events:[a-z0-9-]+:\d{12}:event-bus/([/.\-_A-Za-z0-9]+)$`, 1, 256)
	groupRe     = boundedLast("^([!-~]+)$", 1, 128) // alphanumeric and punctuation
	sourceRe    = boundedLast("^([!-~]+)$", 1, 256)
)

// CheckQueueURL says what is wrong with an SQS queue URL ("" when nothing).
func CheckQueueURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return quote(s) + " is not a queue URL; expected https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (aws sqs get-queue-url --queue-name NAME prints it)"
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || u.RawQuery != "" {
		return quote(s) + " has no ACCOUNT/NAME path; expected https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"
	}
	name := strings.TrimSuffix(parts[1], ".fifo")
	if !queueNameRe.MatchString(name) {
		return "queue name " + quote(parts[1]) + " is not valid; expected 1-80 letters, digits, - and _ (and .fifo for a FIFO queue)"
	}
	return ""
}

// SplitFunction splits a function (name or ARN) from a qualifier it carries.
func SplitFunction(fn string) (function, qualifier string, ok bool) {
	m := functionRe.FindStringSubmatch(fn)
	if m == nil || len(m[4]) > 64 || len(m[6]) > 128 {
		return "", "", false
	}
	return strings.TrimSuffix(fn, m[5]), m[6], true
}

// CheckQualifier says what is wrong with a Lambda alias or version ("" when nothing).
func CheckQualifier(q string) string {
	if qualifierRe.MatchString(q) {
		return ""
	}
	return quote(q) + " is not an alias or version; expected $LATEST, a version number or an alias name (letters, digits, - and _)"
}

// checkEvents validates the events section.
func checkEvents(e *Env, errf, warnf problemf) {
	ev := e.Events
	if ev.SQSQueueURL != "" {
		if msg := CheckQueueURL(ev.SQSQueueURL); msg != "" {
			errf("events.sqs_queue_url", "%s", msg)
		}
	}
	if ev.SQSMessageGroup != "" {
		if !groupRe.MatchString(ev.SQSMessageGroup) {
			errf("events.sqs_message_group", "%s is not a message group ID; expected 1-128 letters, digits and punctuation", quote(ev.SQSMessageGroup))
		} else if ev.SQSQueueURL != "" && !ev.FIFO() {
			warnf("events.sqs_message_group", "the queue is not a FIFO queue (its name does not end in .fifo), so the message group is not used")
		}
	}
	if ev.LambdaFunction != "" {
		_, q, ok := SplitFunction(ev.LambdaFunction)
		switch {
		case !ok:
			errf("events.lambda_function", "%s is not a function; expected a name (product-ingest), a partial ARN (ACCOUNT:function:NAME) or an ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME), optionally with :ALIAS or :VERSION", quote(ev.LambdaFunction))
		case q != "" && ev.LambdaQualifier != "" && q != ev.LambdaQualifier:
			errf("events.lambda_qualifier", "%s contradicts the qualifier %s in events.lambda_function; give it in one place", quote(ev.LambdaQualifier), quote(q))
		}
	}
	if ev.LambdaQualifier != "" {
		if msg := CheckQualifier(ev.LambdaQualifier); msg != "" {
			errf("events.lambda_qualifier", "%s", msg)
		} else if ev.LambdaFunction == "" {
			warnf("events.lambda_qualifier", "no events.lambda_function is named, so the qualifier is not used")
		}
	}
	if ev.EventBus != "" && !busNameRe.MatchString(ev.EventBus) && !busARNRe.MatchString(ev.EventBus) {
		errf("events.event_bus", "%s is not an event bus; expected its name (default) or its ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)", quote(ev.EventBus))
	}
	if ev.EventSource != "" && !sourceRe.MatchString(ev.EventSource) {
		errf("events.event_source", "%s is not an event source; expected 1-256 printable characters without spaces, e.g. stowage.s3", quote(ev.EventSource))
	}
	if ev.ConfigurationID != "" && len(ev.ConfigurationID) > 1024 {
		errf("events.configuration_id", "is %d characters; S3 allows at most 1024", len(ev.ConfigurationID))
	}
}

// defaultEvents fills the events settings the file left empty, for a section that names
// a target (an environment without one stays without an events section).
func defaultEvents(e *Env, explicit func(field string) bool) {
	ev := &e.Events
	if !ev.Configured() {
		return
	}
	if ev.EventSource == "" && !explicit("events.event_source") {
		ev.EventSource = DefaultEventSource
	}
	if ev.ConfigurationID == "" && !explicit("events.configuration_id") {
		ev.ConfigurationID = DefaultConfigurationID
	}
}
