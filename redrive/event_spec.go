package redrive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/stowage-cli/stowage/internal/config"
)

// EventBatchSize is how many items the batched event modes send in one call
// (SendMessageBatch and PutEvents take at most 10).
const EventBatchSize = 10

// EventSpec is where an event mode sends and what its events say, frozen in the manifest.
type EventSpec struct {
	// QueueURL (sqs), Function and Qualifier (lambda), Bus (eventbridge): the target.
	QueueURL  string `json:"queueUrl,omitempty"`
	Function  string `json:"function,omitempty"`
	Qualifier string `json:"qualifier,omitempty"`
	Bus       string `json:"bus,omitempty"`
	// Region is the event's awsRegion ("" = the clients' region at run time).
	Region string `json:"region,omitempty"`
	// Source is the EventBridge events' source (aws.s3 by default).
	Source string `json:"source,omitempty"`
	// ConfigurationID is the record's s3.configurationId.
	ConfigurationID string `json:"configurationId,omitempty"`
	// MessageGroup is a FIFO queue's MessageGroupId ("" = each request its own group).
	MessageGroup string `json:"messageGroup,omitempty"`
}

// FIFO reports whether the queue is a FIFO queue.
func (s *EventSpec) FIFO() bool { return strings.HasSuffix(s.QueueURL, ".fifo") }

// Target is how the plan names where the events go.
func (s *EventSpec) Target(mode Mode) Target {
	switch mode {
	case ModeSQS:
		return Target{Method: "SendMessageBatch", URL: s.QueueURL}
	case ModeLambda:
		fn := s.Function
		if s.Qualifier != "" {
			fn += ":" + s.Qualifier
		}
		return Target{Method: "Invoke (Event)", URL: "lambda://" + fn}
	case ModeEventBridge:
		return Target{Method: "PutEvents", URL: "events://" + s.Bus}
	}
	return Target{}
}

// EventSpecFor is the event target of mode in env. qualifier (redrive --qualifier)
// overrides events.lambda_qualifier.
func EventSpecFor(env *config.Env, mode Mode, qualifier string) (*EventSpec, error) {
	if ok, why := mode.Available(env); !ok {
		return nil, fmt.Errorf("%s", why)
	}
	ev := env.Events
	s := &EventSpec{Region: env.Region, Source: ev.EventSource, ConfigurationID: ev.ConfigurationID}
	if s.Source == "" {
		s.Source = config.DefaultEventSource
	}
	if s.ConfigurationID == "" {
		s.ConfigurationID = config.DefaultConfigurationID
	}
	switch mode {
	case ModeSQS:
		if msg := config.CheckQueueURL(ev.SQSQueueURL); msg != "" {
			return nil, fmt.Errorf("events.sqs_queue_url of environment %q: %s", env.Name, msg)
		}
		s.QueueURL = ev.SQSQueueURL
		for _, h := range []struct{ field, name string }{
			{"gateway.original_id_header", env.Gateway.OriginalIDHeader}, {"gateway.redrive_id_header", env.Gateway.RedriveIDHeader},
		} {
			// The headers' names become the messages' attribute names, which SQS
			// restricts more than HTTP does.
			if msg := CheckAttributeName(h.name); h.name != "" && msg != "" {
				return nil, fmt.Errorf("%s of environment %q names an SQS message attribute in mode sqs: %s", h.field, env.Name, msg)
			}
		}
		if s.FIFO() {
			s.MessageGroup = ev.SQSMessageGroup
		}
		if r := regionOfQueue(ev.SQSQueueURL); r != "" {
			s.Region = r
		}
	case ModeLambda:
		fn, q, ok := config.SplitFunction(ev.LambdaFunction)
		if !ok {
			return nil, fmt.Errorf("events.lambda_function of environment %q is not a function name or ARN", env.Name)
		}
		if q == "" {
			q = ev.LambdaQualifier
		}
		if qualifier != "" {
			if msg := config.CheckQualifier(qualifier); msg != "" {
				return nil, fmt.Errorf("--qualifier: %s", msg)
			}
			q = qualifier
		}
		s.Function, s.Qualifier = fn, q
		if r := regionOfARN(fn); r != "" {
			s.Region = r
		}
	case ModeEventBridge:
		if strings.HasPrefix(s.Source, "aws.") && !config.IsLoopbackURL(env.Endpoints.EventBridge) {
			// AWS answers every entry NotAuthorizedForSourceException: refuse before the
			// plan, the confirmation and the claims.
			return nil, fmt.Errorf("events.event_source of environment %q is %s, but EventBridge refuses sources beginning aws. from callers "+
				"(NotAuthorizedForSourceException): set events.event_source to your own (e.g. stowage.s3) and add it to the source of the rule's event pattern",
				env.Name, s.Source)
		}
		s.Bus = ev.EventBus
		if r := regionOfARN(ev.EventBus); r != "" {
			s.Region = r
		}
	default:
		return nil, fmt.Errorf("mode %s does not send events", mode)
	}
	return s, nil
}

// CheckAttributeName says what SQS would refuse in a message attribute name ("" when
// nothing): 1-256 of A-Z, a-z, 0-9, '_', '-' and '.', no leading, trailing or doubled
// '.', and no "AWS." or "Amazon." prefix in any case.
func CheckAttributeName(name string) string {
	switch {
	case name == "" || len(name) > 256:
		return fmt.Sprintf("%q must be 1 to 256 characters", name)
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
		return fmt.Sprintf("%q may not begin or end with a period, or hold two in a row", name)
	case strings.HasPrefix(strings.ToLower(name), "aws.") || strings.HasPrefix(strings.ToLower(name), "amazon."):
		return fmt.Sprintf("%q may not begin with AWS. or Amazon. (reserved)", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Sprintf("%q holds %q; SQS takes only letters, digits, '_', '-' and '.'", name, c)
		}
	}
	return ""
}

// regionOfQueue is the region in an AWS queue URL (sqs.REGION.amazonaws.com), or "".
func regionOfQueue(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) >= 4 && parts[0] == "sqs" && strings.HasPrefix(strings.Join(parts[2:], "."), "amazonaws.com") {
		return parts[1]
	}
	return ""
}

// regionOfARN is the region field of an ARN, or "".
func regionOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) == 5 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// FIFODedupResendWindow is how long after an item's first send a FIFO queue may be sent
// its event again when an outcome is unknown: SQS drops a message whose deduplication
// ID it accepted in the last five minutes, counted from when it accepted it, which is
// after the journaled send; the minute left covers the call's own time. Past it, and in
// every other event mode (a standard queue, Lambda, EventBridge deduplicate nothing), an
// item that may have been delivered is never sent again automatically.
const FIFODedupResendWindow = 4 * time.Minute

// DedupID is a FIFO queue's MessageDeduplicationId for one request of one redrive: the
// same across the run's retries and a resume, so a batch sent again within SQS's five
// minute deduplication interval is not enqueued twice; a different redrive of the same
// request gets a different one.
func DedupID(runID, requestID string) string {
	sum := sha256.Sum256([]byte(runID + "\x00" + requestID))
	return hex.EncodeToString(sum[:])
}

// PlanEvent plans a redrive in an event mode: Plan resolves the selection exactly as it
// does for s3-copy (nothing in planning depends on how the items are sent), and the
// manifest then names the event target.
func PlanEvent(ctx context.Context, deps PlanDeps, sel Selection, opts PlanOptions, spec *EventSpec) (*Manifest, error) {
	if !opts.Mode.IsEvent() || spec == nil {
		return nil, fmt.Errorf("redrive: PlanEvent needs an event mode and its target")
	}
	o := opts
	o.Mode = ModeS3Copy
	m, err := Plan(ctx, deps, sel, o)
	if err != nil {
		return nil, err
	}
	m.Mode, m.Target, m.Event = opts.Mode, spec.Target(opts.Mode), spec
	return m, nil
}
