package devstack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The demo's EventBridge: the default bus over the AWS JSON 1.1 protocol (X-Amz-Target:
// AWSEvents.<Op>). It models PutEvents (1 to 10 entries, 256 KiB in all, per-entry
// failures counted in FailedEntryCount: InvalidArgument for a missing Source, DetailType
// or Detail, MalformedDetail for a Detail that is not a JSON object,
// NotAuthorizedForSourceException for a Source beginning "aws." as AWS answers callers)
// and DescribeEventBus (ResourceNotFoundException for an unknown bus), AccessDeniedException
// and ThrottlingException. PutEvents to a bus that does not exist succeeds and drops the
// events, as AWS's does (FailedEntryCount 0 and an EventId per entry: aws/aws-cli#9186,
// aws/aws-sdk#186); only DescribeEventBus tells. A rule on the bus delivers matching
// events to the processor (trigger.go); other events are accepted and dropped, as a bus
// without a matching rule does.

const (
	busMaxEntries = 10
	busMaxSize    = 256 << 10
)

// busEvent is an event as EventBridge delivers it to a rule's target.
type busEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// busRule delivers the events it matches on a bus.
type busRule struct {
	bus     string
	match   func(busEvent) bool
	deliver func(busEvent)
}

type eventBus struct {
	region string
	faults *eventFaults

	mu    sync.Mutex
	buses map[string]bool
	rules []busRule
	puts  int
	keys  map[string]int
}

func newEventBus(region string, faults *eventFaults) *eventBus {
	return &eventBus{region: region, faults: faults, buses: map[string]bool{"default": true}, keys: map[string]int{}}
}

func (b *eventBus) busARN(name string) string {
	return "arn:aws:events:" + b.region + ":" + sqsAccount + ":event-bus/" + name
}

// busName accepts a bus name or ARN ("" is the default bus).
func busName(s string) string {
	if s == "" {
		return "default"
	}
	if i := strings.Index(s, ":event-bus/"); strings.HasPrefix(s, "arn:") && i >= 0 {
		return s[i+len(":event-bus/"):]
	}
	return s
}

func (b *eventBus) addRule(r busRule) {
	b.mu.Lock()
	b.rules = append(b.rules, r)
	b.mu.Unlock()
}

type busErr struct {
	status int
	typ    string
	msg    string
}

func writeBusError(w http.ResponseWriter, e busErr) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", newUUID())
	w.WriteHeader(e.status)
	b, _ := json.Marshal(map[string]string{"__type": e.typ, "message": e.msg})
	w.Write(b)
}

type putEventsEntry struct {
	Source       string
	DetailType   string
	Detail       string
	EventBusName string
	Resources    []string
	Time         *float64 // epoch seconds, as the JSON protocols send timestamps
	TraceHeader  string
}

type putEventsResult struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

func (b *eventBus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSEvents.")
	if r.Method != http.MethodPost || !ok || (op != "PutEvents" && op != "DescribeEventBus") {
		writeBusError(w, busErr{400, "UnknownOperationException", "The requested operation is not supported."})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return
	}
	var in struct {
		Name    string
		Entries []putEventsEntry
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeBusError(w, busErr{400, "SerializationException", "Start of structure or map found where not expected."})
		return
	}
	resource := b.busARN(busName(in.Name))
	if op == "PutEvents" && len(in.Entries) > 0 {
		resource = b.busARN(busName(in.Entries[0].EventBusName))
	}
	if e := b.faults.before(r.Context(), "events", op, resource); e != nil {
		switch e.kind {
		case faultDenied:
			writeBusError(w, busErr{400, "AccessDeniedException", e.message})
		case faultThrottled:
			writeBusError(w, busErr{400, "ThrottlingException", "Rate exceeded."})
		}
		return
	}
	var out any
	var berr *busErr
	if op == "DescribeEventBus" {
		out, berr = b.describe(busName(in.Name))
	} else {
		out, berr = b.put(in.Entries, false)
	}
	if berr != nil {
		writeBusError(w, *berr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", newUUID())
	res, _ := json.Marshal(out)
	w.Write(res)
}

func (b *eventBus) describe(name string) (any, *busErr) {
	b.mu.Lock()
	ok := b.buses[name]
	b.mu.Unlock()
	if !ok {
		return nil, &busErr{400, "ResourceNotFoundException", "Event bus " + name + " does not exist."}
	}
	return map[string]string{"Name": name, "Arn": b.busARN(name)}, nil
}

// entrySize is how EventBridge counts an entry against the 256 KiB.
func entrySize(e putEventsEntry) int {
	n := len(e.Source) + len(e.DetailType) + len(e.Detail)
	if e.Time != nil {
		n += 14
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// put puts entries on their buses; internal puts (S3's own) may use an aws. source.
func (b *eventBus) put(entries []putEventsEntry, internal bool) (any, *busErr) {
	if len(entries) == 0 || len(entries) > busMaxEntries {
		return nil, &busErr{400, "ValidationException", fmt.Sprintf(
			"1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1", busMaxEntries)}
	}
	total := 0
	for _, e := range entries {
		total += entrySize(e)
	}
	if total > busMaxSize {
		return nil, &busErr{400, "ValidationException", "Total size of the entries in the request is over the limit."}
	}
	b.mu.Lock()
	lost := map[int]bool{} // entries for a bus that does not exist: answered, never delivered
	for i, e := range entries {
		if !b.buses[busName(e.EventBusName)] {
			lost[i] = true
		}
	}
	b.mu.Unlock()
	results := make([]putEventsResult, len(entries))
	var deliver []busEvent
	failed := 0
	for i, e := range entries {
		code, msg := "", ""
		var detail map[string]json.RawMessage
		switch {
		case e.Source == "":
			code, msg = "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
		case e.DetailType == "":
			code, msg = "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
		case e.Detail == "":
			code, msg = "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
		case json.Unmarshal([]byte(e.Detail), &detail) != nil || detail == nil:
			code, msg = "MalformedDetail", "Detail is malformed."
		case !internal && strings.HasPrefix(e.Source, "aws."):
			code, msg = "NotAuthorizedForSourceException", "Not authorized for the source."
		}
		if code != "" {
			results[i] = putEventsResult{ErrorCode: code, ErrorMessage: msg}
			failed++
			continue
		}
		at := time.Now().UTC()
		if e.Time != nil {
			sec := int64(*e.Time)
			at = time.Unix(sec, int64((*e.Time-float64(sec))*1e9)).UTC()
		}
		ev := busEvent{Version: "0", ID: newUUID(), DetailType: e.DetailType, Source: e.Source, Account: sqsAccount,
			Time: at.Format("2006-01-02T15:04:05Z"), Region: b.region, Resources: nonNil(e.Resources), Detail: json.RawMessage(e.Detail)}
		results[i] = putEventsResult{EventId: ev.ID}
		if !lost[i] {
			deliver = append(deliver, ev)
		}
	}
	if !internal {
		if n := b.faults.takeEntryFailures("events", len(deliver)); n > 0 {
			// The last n accepted entries fail instead, as throttled entries do.
			for i := len(results) - 1; i >= 0 && n > 0; i-- {
				if results[i].EventId == "" {
					continue
				}
				id := results[i].EventId
				results[i] = putEventsResult{ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded."}
				failed++
				n--
				for j := range deliver {
					if deliver[j].ID == id {
						deliver = append(deliver[:j], deliver[j+1:]...)
						break
					}
				}
			}
		}
	}
	b.mu.Lock()
	rules := append([]busRule(nil), b.rules...)
	b.puts += len(deliver)
	for _, ev := range deliver {
		for _, k := range objectKeysOf(mustJSON(ev)) {
			b.keys[k]++
		}
	}
	b.mu.Unlock()
	for _, ev := range deliver {
		name := busName("")
		for i := range entries {
			if results[i].EventId == ev.ID {
				name = busName(entries[i].EventBusName)
			}
		}
		for _, r := range rules {
			if r.bus == name && r.match(ev) {
				r.deliver(ev)
			}
		}
	}
	return map[string]any{"FailedEntryCount": failed, "Entries": results}, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (b *eventBus) stats() (int, map[string]int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := make(map[string]int, len(b.keys))
	for k, v := range b.keys {
		keys[k] = v
	}
	return b.puts, keys
}
