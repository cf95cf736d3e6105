package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stowage-cli/stowage/internal/s3event"
)

// Trigger topologies: how an ObjectCreated event reaches the processor.
//
//   - "" or "s3": S3 invokes the processor directly (an S3 event notification to the
//     function), as before.
//   - "sqs": S3 sends its event notification (a Records array, the key URL-encoded as S3
//     encodes it) to DemoQueue; a consumer long-polls DemoQueue and DemoFIFOQueue, hands
//     each record's object to the processor, and deletes the message once the processor
//     has handled it.
//   - "lambda": S3 invokes DemoFunction asynchronously with its event notification.
//   - "eventbridge": S3 puts an Object Created event on the default bus; a rule matching
//     the demo bucket's Object Created events (source aws.s3 or DemoEventSource) delivers
//     it to the function.
//
// What stowage sends (redrive --mode sqs, lambda, eventbridge) arrives through the same
// servers and reaches the processor the same way, as the same object: nothing is written
// to the bucket. The processor sees a status item for the request, so a redriven event is
// a redelivery.

// The values of Options.Trigger.
const (
	TriggerS3          = "s3"
	TriggerSQS         = "sqs"
	TriggerLambda      = "lambda"
	TriggerEventBridge = "eventbridge"
)

// CheckTrigger says what is wrong with a trigger topology (nil for a known one).
func CheckTrigger(t string) error {
	switch t {
	case "", TriggerS3, TriggerSQS, TriggerLambda, TriggerEventBridge:
		return nil
	}
	return fmt.Errorf("devstack: unknown trigger %q; expected s3, sqs, lambda or eventbridge", t)
}

// trigger is what an ObjectCreated event does under the stack's topology.
func (s *Stack) trigger() func(objectEvent) {
	if err := CheckTrigger(s.opts.Trigger); err != nil {
		// Start cannot fail from here (stack.go would call CheckTrigger first); the direct
		// notification is the safe default.
		s.logf("%v; using the direct S3 notification", err)
		return s.proc.enqueue
	}
	e := s.events()
	switch s.opts.Trigger {
	case TriggerSQS:
		for _, q := range []string{DemoQueue, DemoFIFOQueue} {
			e.wg.Add(1)
			go s.consume(e, q)
		}
		return func(ev objectEvent) {
			body := string(s.notification(ev))
			if _, err := e.sqs.send(DemoQueue, []sqsSendEntry{{MessageBody: &body}}, false); err != nil {
				s.logf("s3: notify queue %s: %v", DemoQueue, err)
			}
		}
	case TriggerLambda:
		return func(ev objectEvent) { e.lambda.invoke(s.notification(ev)) }
	case TriggerEventBridge:
		e.bus.addRule(busRule{bus: DemoEventBus, match: s.matchObjectCreated, deliver: func(ev busEvent) {
			e.lambda.invoke(mustJSON(ev))
		}})
		return func(ev objectEvent) {
			detail := string(s.eventDetail(ev))
			at := float64(ev.At.Unix())
			entry := putEventsEntry{Source: s3event.EventBridgeSource, DetailType: s3event.DetailType, Detail: detail,
				Resources: []string{"arn:aws:s3:::" + ev.Bucket}, Time: &at}
			if _, err := e.bus.put([]putEventsEntry{entry}, true); err != nil {
				s.logf("s3: put event: %s", err.msg)
			}
		}
	}
	return s.proc.enqueue
}

// matchObjectCreated is the demo rule's event pattern.
func (s *Stack) matchObjectCreated(ev busEvent) bool {
	if ev.DetailType != "Object Created" || (ev.Source != "aws.s3" && ev.Source != DemoEventSource) {
		return false
	}
	var d struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
	}
	return json.Unmarshal(ev.Detail, &d) == nil && d.Bucket.Name == s.Bucket
}

// invokeProcessor is the function's handler: it hands each object of the event to the
// processor; sync waits until the processor handled them and answers their states.
func (s *Stack) invokeProcessor(ctx context.Context, payload []byte, sync bool) ([]byte, error) {
	refs, err := parseObjectEvents(payload)
	if err != nil {
		s.logf("lambda: %s: %v", DemoFunction, err)
		return nil, err
	}
	for _, r := range refs {
		if r.Redrive != nil {
			s.logf("lambda: %s: redrive %s of request %s", r.Key, r.Redrive.RedriveID, r.Redrive.OriginalRequestID)
		}
		s.proc.enqueue(objectEvent{Bucket: r.Bucket, Key: r.Key, At: s.eventTime(r.At), Redrive: r.Redrive != nil})
	}
	if !sync {
		return nil, nil
	}
	if err := s.proc.settle(ctx); err != nil {
		return nil, err
	}
	type result struct {
		Key    string `json:"key"`
		Status string `json:"status,omitempty"`
	}
	out := struct {
		Results []result `json:"results"`
	}{Results: []result{}}
	for _, r := range refs {
		st, _ := s.Status(r.Key)
		out.Results = append(out.Results, result{r.Key, st.State})
	}
	return json.Marshal(out)
}

func (s *Stack) eventTime(at time.Time) time.Time {
	if at.IsZero() {
		return s.clock.Now()
	}
	return at
}

// consume is the queue's consumer (a Lambda event source mapping with batch size 10).
func (s *Stack) consume(e *eventTargets, queue string) {
	defer e.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	ten, wait := 10, sqsMaxWait
	for ctx.Err() == nil {
		msgs, err := e.sqs.receive(ctx, queue, sqsReceiveInput{MaxNumberOfMessages: &ten, WaitTimeSeconds: &wait})
		if err != nil {
			s.logf("sqs consumer: %s: %v", queue, err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, m := range msgs {
			refs, err := parseObjectEvents([]byte(m.Body))
			if err != nil {
				// Dropped, as a function that cannot read a message returns and lets it go.
				s.logf("sqs consumer: %s: message %s: %v", queue, m.MessageId, err)
			}
			for _, r := range refs {
				s.proc.enqueue(objectEvent{Bucket: r.Bucket, Key: r.Key, At: s.eventTime(r.At), Redrive: r.Redrive != nil})
			}
		}
		if len(msgs) == 0 {
			continue
		}
		if err := s.proc.settle(ctx); err != nil {
			return // closing: the messages stay in flight, as a stopped consumer leaves them
		}
		for _, m := range msgs {
			e.sqs.deleteMessage(queue, m.ReceiptHandle)
		}
	}
}

// SettleEvents waits until the processor has handled every object created so far and,
// with --trigger sqs, every message on the demo queues: Settle does not see messages still
// waiting in a queue.
func (s *Stack) SettleEvents(ctx context.Context) error {
	if s.opts.Trigger == TriggerSQS {
		e := s.events()
		for {
			e.sqs.mu.Lock()
			n := 0
			for _, name := range []string{DemoQueue, DemoFIFOQueue} {
				if q, ok := e.sqs.queues[name]; ok {
					n += q.pending()
				}
			}
			e.sqs.mu.Unlock()
			if n == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return s.proc.settle(ctx)
}

// objectFacts are the size and ETag S3 puts in an event.
func (s *Stack) objectFacts(ev objectEvent) s3event.Object {
	o := s3event.Object{Bucket: ev.Bucket, Key: ev.Key}
	obj, err := s.backend.HeadObject(ev.Bucket, ev.Key)
	if err != nil {
		return o
	}
	obj.Contents.Close()
	o.Size, o.ETag = obj.Size, fmt.Sprintf("%x", obj.Hash)
	return o
}

func (s *Stack) eventSource(ev objectEvent) s3event.Source {
	return s3event.Source{Region: s.Region, Account: sqsAccount, Principal: "AWS:AIDAJDPLRKLG7UEXAMPLE",
		ConfigurationID: "stowage-demo-notification", At: ev.At}
}

// notification is S3's event notification for ev (s3event builds it as S3 does: one
// home for the record, shared with the redrive).
func (s *Stack) notification(ev objectEvent) []byte {
	b, _ := s3event.NotificationJSON(s.objectFacts(ev), s.eventSource(ev), nil)
	return b
}

// eventDetail is the detail of S3's Object Created event on EventBridge.
func (s *Stack) eventDetail(ev objectEvent) []byte {
	b, _ := s3event.DetailJSON(s.objectFacts(ev), s.eventSource(ev), nil)
	return b
}

// objectRef is one object an event names.
type objectRef struct {
	Bucket, Key string
	At          time.Time
	Redrive     *s3event.Marker
}

// parseObjectEvents reads the objects an event names. It accepts S3's event notification
// (the key URL-decoded), S3's Object Created event from EventBridge, an SQS event whose
// message bodies are either, and S3's test event (no object). Anything else is an error.
func parseObjectEvents(payload []byte) ([]objectRef, error) {
	return parseObjectEventsDepth(payload, 0)
}

func parseObjectEventsDepth(payload []byte, depth int) ([]objectRef, error) {
	var probe struct {
		Records    []json.RawMessage `json:"Records"`
		DetailType *string           `json:"detail-type"`
		Event      string            `json:"Event"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("event is not a JSON object: %w", err)
	}
	switch {
	case probe.Event == "s3:TestEvent":
		return nil, nil
	case probe.DetailType != nil:
		return parseBusEvent(payload)
	case probe.Records != nil:
	default:
		return nil, errors.New("event has neither Records nor detail-type: not an S3 event notification or an EventBridge event")
	}
	var out []objectRef
	for i, raw := range probe.Records {
		var rec struct {
			EventSource string `json:"eventSource"`
			EventName   string `json:"eventName"`
			EventTime   string `json:"eventTime"`
			Body        string `json:"body"`
			S3          struct {
				Bucket struct {
					Name string `json:"name"`
				} `json:"bucket"`
				Object struct {
					Key string `json:"key"`
				} `json:"object"`
			} `json:"s3"`
			Stowage *s3event.Marker `json:"stowage"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		switch rec.EventSource {
		case "aws:sqs":
			if depth > 0 {
				return nil, fmt.Errorf("record %d: an SQS message inside an SQS message", i)
			}
			refs, err := parseObjectEventsDepth([]byte(rec.Body), depth+1)
			if err != nil {
				return nil, fmt.Errorf("record %d: message body: %w", i, err)
			}
			out = append(out, refs...)
			continue
		case "aws:s3":
		default:
			return nil, fmt.Errorf("record %d: eventSource %q is not aws:s3", i, rec.EventSource)
		}
		if !strings.HasPrefix(rec.EventName, "ObjectCreated:") {
			continue // a removal or another event: nothing to process
		}
		key, err := s3event.DecodeKey(rec.S3.Object.Key)
		if err != nil {
			return nil, fmt.Errorf("record %d: object key %q is not URL-encoded as S3 encodes it: %w", i, rec.S3.Object.Key, err)
		}
		if rec.S3.Bucket.Name == "" || key == "" {
			return nil, fmt.Errorf("record %d: no bucket name or object key", i)
		}
		at, _ := time.Parse(time.RFC3339Nano, rec.EventTime)
		out = append(out, objectRef{Bucket: rec.S3.Bucket.Name, Key: key, At: at, Redrive: rec.Stowage})
	}
	return out, nil
}

func parseBusEvent(payload []byte) ([]objectRef, error) {
	var ev struct {
		DetailType string `json:"detail-type"`
		Time       string `json:"time"`
		Detail     struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
			Stowage *s3event.Marker `json:"stowage"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("EventBridge event: %w", err)
	}
	if ev.DetailType != "Object Created" {
		return nil, nil // another S3 event on the bus: nothing to process
	}
	if ev.Detail.Bucket.Name == "" || ev.Detail.Object.Key == "" {
		return nil, errors.New("Object Created event: no detail.bucket.name or detail.object.key")
	}
	at, _ := time.Parse(time.RFC3339, ev.Time)
	return []objectRef{{Bucket: ev.Detail.Bucket.Name, Key: ev.Detail.Object.Key, At: at, Redrive: ev.Detail.Stowage}}, nil
}

// objectKeysOf is the object keys an event names (none when it is not one), for counters.
func objectKeysOf(payload []byte) []string {
	refs, _ := parseObjectEvents(payload)
	keys := make([]string, 0, len(refs))
	for _, r := range refs {
		keys = append(keys, r.Key)
	}
	return keys
}
