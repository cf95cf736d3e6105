package devstack

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/internal/config"
)

// The event targets of the stack (#18): an SQS queue (sqs.go), a Lambda Invoke endpoint
// (lambda.go) and an EventBridge PutEvents endpoint (eventbridge.go), and the trigger
// topology (Options.Trigger, trigger.go) that decides which of them carries S3's
// ObjectCreated events to the processor. Events that stowage sends arrive through the
// same paths.

// The demo's event targets.
const (
	// DemoQueue is the queue S3 notifies with --trigger sqs; DemoFIFOQueue is a FIFO queue
	// the same consumer reads (for the FIFO redrive tests).
	DemoQueue     = "stowage-demo-ingest"
	DemoFIFOQueue = "stowage-demo-ingest.fifo"
	// DemoFunction is the processor's Lambda function (its log group is ProcessorLogGroup);
	// it has version 1 and the alias "live" pointing at it.
	DemoFunction = "product-ingest"
	// DemoEventBus is the bus S3 sends to with --trigger eventbridge; its rule matches
	// Object Created events of the demo bucket from DemoEventSource or aws.s3.
	DemoEventBus    = "default"
	DemoEventSource = "stowage.s3"
)

// demoQueueMaxSize is the demo queues' MaximumMessageSize: the 256 KiB every queue had
// before 2025, so the message-size guard can be seen in the demo.
const demoQueueMaxSize = 256 << 10

// eventTargets are a stack's event servers (Stack has no field for them).
type eventTargets struct {
	faults *eventFaults
	sqs    *sqsServer
	lambda *lambdaServer
	bus    *eventBus

	stop chan struct{}
	wg   sync.WaitGroup
}

var stackEvents sync.Map // *Stack -> *eventTargets

// events is the stack's event targets, made on first use.
func (s *Stack) events() *eventTargets {
	if e, ok := stackEvents.Load(s); ok {
		return e.(*eventTargets)
	}
	f := &eventFaults{}
	e := &eventTargets{faults: f, sqs: newSQSServer(s.Region, f), stop: make(chan struct{})}
	e.lambda = newLambdaServer(s.Region, f, s.invokeProcessor)
	e.bus = newEventBus(s.Region, f)
	for _, name := range []string{DemoQueue, DemoFIFOQueue} {
		attrs := map[string]string{"MaximumMessageSize": "262144"}
		if strings.HasSuffix(name, ".fifo") {
			attrs["ContentBasedDeduplication"] = "false"
		}
		if _, err := e.sqs.createQueue("127.0.0.1", name, attrs); err != nil {
			panic(err) // fixed names and attributes: cannot fail
		}
	}
	got, _ := stackEvents.LoadOrStore(s, e)
	return got.(*eventTargets)
}

// eventServices are the event targets' servers.
func (s *Stack) eventServices() []auxService {
	e := s.events()
	s.onClose = append(s.onClose, func() {
		close(e.stop)
		e.sqs.close()
		e.wg.Wait()
		stackEvents.Delete(s)
	})
	return []auxService{
		{name: "sqs", url: &s.SQSURL, handler: e.sqs},
		{name: "lambda", url: &s.LambdaURL, handler: e.lambda},
		{name: "eventbridge", url: &s.EventBridgeURL, handler: e.bus},
	}
}

// configEvents adds the event targets to the demo environment: the endpoints always, and
// the target the trigger topology makes the processor's (the function for the direct S3
// notification and for lambda).
func (s *Stack) configEvents(env *config.Env) {
	if s.SQSURL == "" {
		return
	}
	env.Endpoints.SQS = s.SQSURL
	env.Endpoints.Lambda = s.LambdaURL
	env.Endpoints.EventBridge = s.EventBridgeURL
	switch s.opts.Trigger {
	case TriggerSQS:
		env.Events.SQSQueueURL = s.QueueURL(DemoQueue)
	case TriggerEventBridge:
		env.Events.EventBus = DemoEventBus
		env.Events.EventSource = DemoEventSource
	default:
		env.Events.LambdaFunction = DemoFunction
	}
}

// QueueURL is the URL of one of the demo's queues ("" when the stack serves no SQS).
func (s *Stack) QueueURL(name string) string {
	if s.SQSURL == "" {
		return ""
	}
	return s.SQSURL + "/" + sqsAccount + "/" + name
}

// EventStats counts what reached the event targets, for tests: "no message sent twice",
// "one invocation per request".
type EventStats struct {
	// Queues holds each queue's counters by name (DemoQueue, DemoFIFOQueue, ...).
	Queues map[string]QueueStats
	// Invocations counts Invoke calls the function accepted (S3's and stowage's), and
	// InvokedKeys the object keys their events carried.
	Invocations int
	InvokedKeys map[string]int
	// PutEvents counts the entries the buses accepted, and EventKeys the object keys of
	// the Object Created events among them.
	PutEvents int
	EventKeys map[string]int
}

// EventStats is a snapshot of the event targets' counters.
func (s *Stack) EventStats() EventStats {
	e := s.events()
	st := EventStats{Queues: map[string]QueueStats{}}
	e.sqs.mu.Lock()
	names := make([]string, 0, len(e.sqs.queues))
	for n := range e.sqs.queues {
		names = append(names, n)
	}
	e.sqs.mu.Unlock()
	for _, n := range names {
		st.Queues[n] = e.sqs.stats(n)
	}
	st.Invocations, st.InvokedKeys = e.lambda.stats()
	st.PutEvents, st.EventKeys = e.bus.stats()
	return st
}

// EventFaults make the event targets misbehave for stowage's calls (the stack's own S3
// notifications and its consumer are never affected).
type EventFaults struct {
	// Deny refuses these IAM actions with the service's access-denied answer, e.g.
	// "sqs:SendMessage" (also SendMessageBatch), "sqs:GetQueueAttributes",
	// "lambda:InvokeFunction", "lambda:GetFunction", "events:PutEvents",
	// "events:DescribeEventBus"; "sqs:*" refuses every SQS action.
	Deny []string
	// ThrottleSQS, ThrottleLambda and ThrottleEventBridge answer that many next calls of
	// the service with its throttling error (RequestThrottled, TooManyRequestsException
	// 429, ThrottlingException).
	ThrottleSQS, ThrottleLambda, ThrottleEventBridge int
	// FailSQSEntries and FailEventBridgeEntries fail that many next accepted entries of
	// SendMessageBatch (InternalError, SenderFault false) and PutEvents
	// (ThrottlingException) while the other entries of the call succeed.
	FailSQSEntries, FailEventBridgeEntries int
	// Latency delays every call (the scale benchmark's 20 ms).
	Latency time.Duration
}

// SetEventFaults replaces the event targets' fault knobs.
func (s *Stack) SetEventFaults(f EventFaults) { s.events().faults.set(f) }

type eventFaults struct {
	mu sync.Mutex
	f  EventFaults
}

func (ef *eventFaults) set(f EventFaults) {
	ef.mu.Lock()
	ef.f = f
	ef.f.Deny = append([]string(nil), f.Deny...)
	ef.mu.Unlock()
}

type faultKind int

const (
	faultDenied faultKind = iota + 1
	faultThrottled
)

type faultErr struct {
	kind    faultKind
	message string
}

// before applies the faults to one call of service ("sqs", "lambda", "events") needing
// IAM action on resource; nil lets it through.
func (ef *eventFaults) before(ctx context.Context, service, action, resource string) *faultErr {
	ef.mu.Lock()
	lat := ef.f.Latency
	denied := false
	for _, d := range ef.f.Deny {
		if strings.EqualFold(d, service+":"+action) || d == service+":*" {
			denied = true
		}
	}
	throttled := false
	if !denied {
		n := map[string]*int{"sqs": &ef.f.ThrottleSQS, "lambda": &ef.f.ThrottleLambda, "events": &ef.f.ThrottleEventBridge}[service]
		if n != nil && *n > 0 {
			*n--
			throttled = true
		}
	}
	ef.mu.Unlock()
	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	switch {
	case denied:
		// As IAM words it; SQS lower-cases the action.
		shown := service + ":" + action
		if service == "sqs" {
			shown = strings.ToLower(shown)
		}
		return &faultErr{faultDenied, "User: arn:aws:sts::" + sqsAccount + ":assumed-role/stowage-operator/demo is not authorized to perform: " +
			shown + " on resource: " + resource + " because no identity-based policy allows the " + shown + " action"}
	case throttled:
		return &faultErr{kind: faultThrottled}
	}
	return nil
}

// takeEntryFailures is how many of n accepted entries of one batch must fail.
func (ef *eventFaults) takeEntryFailures(service string, n int) int {
	ef.mu.Lock()
	defer ef.mu.Unlock()
	p := &ef.f.FailSQSEntries
	if service == "events" {
		p = &ef.f.FailEventBridgeEntries
	}
	k := min(*p, n)
	*p -= k
	return k
}
