package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The demo's SQS: an in-memory queue service speaking the AWS JSON 1.0 protocol that the
// current SDK's sqs client sends (POST /, X-Amz-Target: AmazonSQS.<Op>, Content-Type
// application/x-amz-json-1.0), with the query-compatible error header
// (x-amzn-query-error: CODE;Sender) the SDK reads error codes from.
//
// It models: CreateQueue (idempotent; QueueAlreadyExists on other attributes), GetQueueUrl,
// ListQueues, GetQueueAttributes, DeleteQueue, SendMessage, SendMessageBatch (per-entry failures),
// ReceiveMessage (long polling up to 20 s, visibility timeout, ApproximateReceiveCount and
// the other system attributes, message attributes and their MD5), DeleteMessage(Batch),
// ChangeMessageVisibility, PurgeQueue (once per 60 s), per-message and queue delays, FIFO
// queues (MessageGroupId required, a group is held while one of its messages is in
// flight, MessageDeduplicationId or ContentBasedDeduplication, a 5-minute deduplication
// window, sequence numbers), MaximumMessageSize (default 1 MiB; the demo's queues keep
// 256 KiB) and the 1 MiB batch limit, and AWS's error answers: QueueDoesNotExist
// (AWS.SimpleQueueService.NonExistentQueue), AccessDenied (403), RequestThrottled and the
// batch errors. It does not model retention, dead-letter queues, KMS, tags or policies.
// sqs_contract_test.go runs the same cases against fauxqs 1.9.2 and compares them.

const (
	sqsAccount        = "000000000000"
	sqsDefaultMaxSize = 1 << 20 // MaximumMessageSize of a new queue (1 MiB since 2025)
	sqsBatchMaxSize   = 1 << 20 // all entries of a batch together
	sqsDedupWindow    = 5 * time.Minute
	sqsPurgeInterval  = 60 * time.Second
	sqsMaxWait        = 20 // seconds of long polling
)

// sqsServer is the SQS service: its queues by name.
type sqsServer struct {
	region string
	now    func() time.Time
	faults *eventFaults

	mu     sync.Mutex
	queues map[string]*sqsQueue
	closed chan struct{} // closed by close: long polls end
	once   sync.Once
}

func newSQSServer(region string, faults *eventFaults) *sqsServer {
	return &sqsServer{region: region, now: time.Now, faults: faults, queues: map[string]*sqsQueue{}, closed: make(chan struct{})}
}

func (s *sqsServer) close() { s.once.Do(func() { close(s.closed) }) }

// sqsQueue is one queue. Its fields are guarded by sqsServer.mu.
type sqsQueue struct {
	name     string
	attrs    map[string]string // the settable attributes
	created  time.Time
	modified time.Time
	fifo     bool
	msgs     []*sqsMessage // in send order
	inflight map[string]*sqsMessage
	dedup    map[string]sqsDedup
	seq      uint64
	deleted  int // deleted messages still in msgs
	purged   time.Time
	wake     chan struct{} // closed and replaced when a message may have become visible
	stats    QueueStats
}

type sqsDedup struct {
	id, seq string
	at      time.Time
}

type sqsMessage struct {
	id, body, md5Body, md5Attrs string
	attrs                       map[string]sqsAttrValue
	sent                        time.Time
	visibleAt                   time.Time
	receipt                     string // "" unless in flight
	receives                    int
	firstReceive                time.Time
	group, dedupID, seq         string
	keys                        []string // object keys of the S3 records the body carries
	deleted                     bool     // deleted, not yet compacted away
}

// sqsAttrValue is a message attribute as the JSON protocol carries it (BinaryValue in
// base64, which encoding/json does for []byte).
type sqsAttrValue struct {
	DataType    string  `json:"DataType"`
	StringValue *string `json:"StringValue,omitempty"`
	BinaryValue []byte  `json:"BinaryValue,omitempty"`
}

// QueueStats counts what happened on a queue, for tests: "no message sent twice" is
// ByKey[key].Sent == 1 (or ByDedupID on a FIFO queue).
type QueueStats struct {
	Sent       int // messages accepted (SendMessage and batch entries)
	Duplicates int // FIFO sends dropped inside the deduplication window
	Received   int // deliveries: a message received twice counts twice
	Deleted    int
	// ByDedupID counts per MessageDeduplicationId (FIFO queues).
	ByDedupID map[string]MessageStats
	// ByKey counts per object key of the S3 records (or EventBridge events) the
	// messages carried, decoded.
	ByKey map[string]MessageStats
}

// MessageStats counts the messages of one deduplication ID or one object key.
type MessageStats struct{ Sent, Duplicates, Received, Deleted int }

func (st *QueueStats) count(m *sqsMessage, f func(*MessageStats)) {
	if m.dedupID != "" {
		if st.ByDedupID == nil {
			st.ByDedupID = map[string]MessageStats{}
		}
		v := st.ByDedupID[m.dedupID]
		f(&v)
		st.ByDedupID[m.dedupID] = v
	}
	for _, k := range m.keys {
		if st.ByKey == nil {
			st.ByKey = map[string]MessageStats{}
		}
		v := st.ByKey[k]
		f(&v)
		st.ByKey[k] = v
	}
}

func (st QueueStats) clone() QueueStats {
	c := st
	c.ByDedupID, c.ByKey = nil, nil
	if st.ByDedupID != nil {
		c.ByDedupID = make(map[string]MessageStats, len(st.ByDedupID))
		for k, v := range st.ByDedupID {
			c.ByDedupID[k] = v
		}
	}
	if st.ByKey != nil {
		c.ByKey = make(map[string]MessageStats, len(st.ByKey))
		for k, v := range st.ByKey {
			c.ByKey[k] = v
		}
	}
	return c
}

// sqsErr is an SQS error answer.
type sqsErr struct {
	status    int
	typ       string // the JSON __type
	queryCode string // x-amzn-query-error code
	msg       string
}

func (e *sqsErr) Error() string { return e.queryCode + ": " + e.msg }

func sqsClientErr(code, msg string) *sqsErr {
	return &sqsErr{400, "com.amazonaws.sqs#" + code, code, msg}
}

func sqsErrCode(shape, query, msg string) *sqsErr {
	return &sqsErr{400, "com.amazonaws.sqs#" + shape, query, msg}
}

var (
	errNoQueue = sqsErrCode("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
		"The specified queue does not exist.")
	errSQSThrottled = sqsErrCode("RequestThrottled", "RequestThrottled",
		"Request is throttled.")
)

func sqsInvalid(msg string) *sqsErr { return sqsClientErr("InvalidParameterValue", msg) }
func sqsMissing(param string) *sqsErr {
	return sqsClientErr("MissingParameter", "The request must contain the parameter "+param+".")
}

// The IAM action each operation needs (batches need the action of their single form).
var sqsActions = map[string]string{
	"CreateQueue": "CreateQueue", "GetQueueUrl": "GetQueueUrl", "GetQueueAttributes": "GetQueueAttributes",
	"DeleteQueue": "DeleteQueue", "SendMessage": "SendMessage", "SendMessageBatch": "SendMessage",
	"ReceiveMessage": "ReceiveMessage", "DeleteMessage": "DeleteMessage", "DeleteMessageBatch": "DeleteMessage",
	"ChangeMessageVisibility": "ChangeMessageVisibility", "PurgeQueue": "PurgeQueue", "ListQueues": "ListQueues",
}

// sqsMaxRequest bounds a request body: ten 1 MiB entries could not pass anyway.
const sqsMaxRequest = 4 << 20

func (s *sqsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost || !ok {
		writeSQSError(w, sqsClientErr("InvalidAction", "The action or operation requested is invalid. Verify that the action is typed correctly."))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, sqsMaxRequest+1))
	if err != nil {
		return // the client went away
	}
	if len(body) > sqsMaxRequest {
		writeSQSError(w, sqsErrCode("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
			"Batch requests cannot be longer than 1048576 bytes."))
		return
	}
	action, known := sqsActions[op]
	if !known {
		writeSQSError(w, sqsClientErr("InvalidAction", "The action "+op+" is not valid for this endpoint."))
		return
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		writeSQSError(w, sqsClientErr("InvalidParameterValue", "The request body is not valid JSON."))
		return
	}
	queueName := ""
	if u := jsonString(in["QueueUrl"]); u != "" {
		queueName, _ = parseQueueURL(u)
	} else {
		queueName = jsonString(in["QueueName"])
	}
	if e := s.faults.before(r.Context(), "sqs", action, s.arn(queueName)); e != nil {
		switch e.kind {
		case faultDenied:
			writeSQSError(w, &sqsErr{http.StatusForbidden, "com.amazon.coral.service#AccessDeniedException", "AccessDenied", e.message})
		case faultThrottled:
			writeSQSError(w, errSQSThrottled)
		}
		return
	}
	out, serr := s.call(r.Context(), op, body, hostOf(r))
	if serr != nil {
		writeSQSError(w, serr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	b, _ := json.Marshal(out)
	w.Write(b)
}

func hostOf(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return "127.0.0.1"
}

func writeSQSError(w http.ResponseWriter, e *sqsErr) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", e.queryCode+";Sender")
	w.Header().Set("X-Amzn-Requestid", newUUID())
	w.WriteHeader(e.status)
	b, _ := json.Marshal(map[string]string{"__type": e.typ, "message": e.msg})
	w.Write(b)
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func (s *sqsServer) arn(name string) string {
	if name == "" {
		name = "*"
	}
	return "arn:aws:sqs:" + s.region + ":" + sqsAccount + ":" + name
}

// queueURL is the URL of a queue as served on host.
func queueURL(host, name string) string { return "http://" + host + "/" + sqsAccount + "/" + name }

// parseQueueURL finds the queue name in a queue URL (any host: ACCOUNT/NAME is the path).
func parseQueueURL(u string) (name string, ok bool) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", false
	}
	rest := u[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return "", false
	}
	parts := strings.Split(strings.Trim(rest[j:], "/"), "/")
	if len(parts) != 2 || parts[0] != sqsAccount || !queueNameRe().MatchString(parts[1]) {
		return "", false
	}
	return parts[1], true
}

// queueNameRe is compiled on first use: every stowage command links the demo (#13).
var queueNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}(\.fifo)?$`) })

// call runs one operation.
func (s *sqsServer) call(ctx context.Context, op string, body []byte, host string) (any, *sqsErr) {
	switch op {
	case "CreateQueue":
		var in struct {
			QueueName  string
			Attributes map[string]string
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, sqsInvalid("The request body is not valid JSON.")
		}
		url, err := s.createQueue(host, in.QueueName, in.Attributes)
		if err != nil {
			return nil, err
		}
		return map[string]string{"QueueUrl": url}, nil
	case "GetQueueUrl":
		var in struct{ QueueName string }
		json.Unmarshal(body, &in)
		if in.QueueName == "" {
			return nil, sqsMissing("QueueName")
		}
		s.mu.Lock()
		_, ok := s.queues[in.QueueName]
		s.mu.Unlock()
		if !ok {
			return nil, errNoQueue
		}
		return map[string]string{"QueueUrl": queueURL(host, in.QueueName)}, nil
	case "ListQueues":
		var in struct{ QueueNamePrefix string }
		json.Unmarshal(body, &in)
		s.mu.Lock()
		var urls []string
		for name := range s.queues {
			if strings.HasPrefix(name, in.QueueNamePrefix) {
				urls = append(urls, queueURL(host, name))
			}
		}
		s.mu.Unlock()
		sort.Strings(urls)
		if len(urls) == 0 {
			return struct{}{}, nil
		}
		return map[string][]string{"QueueUrls": urls}, nil
	}

	var common struct{ QueueUrl string }
	json.Unmarshal(body, &common)
	if common.QueueUrl == "" {
		return nil, sqsMissing("QueueUrl")
	}
	name, ok := parseQueueURL(common.QueueUrl)
	if !ok {
		return nil, errNoQueue
	}
	switch op {
	case "GetQueueAttributes":
		var in struct{ AttributeNames []string }
		json.Unmarshal(body, &in)
		return s.getAttributes(name, in.AttributeNames)
	case "DeleteQueue":
		s.mu.Lock()
		defer s.mu.Unlock()
		q, ok := s.queues[name]
		if !ok {
			return nil, errNoQueue
		}
		close(q.wake)
		delete(s.queues, name)
		return struct{}{}, nil
	case "SendMessage":
		var in sqsSendEntry
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, sqsInvalid("The request body is not valid JSON.")
		}
		res, err := s.send(name, []sqsSendEntry{in}, false)
		if err != nil {
			return nil, err
		}
		if f := res.Failed; len(f) > 0 {
			return nil, &sqsErr{400, "com.amazonaws.sqs#" + f[0].Code, f[0].Code, f[0].Message}
		}
		r := res.Successful[0]
		r.Id = ""
		return r, nil
	case "SendMessageBatch":
		var in struct{ Entries []sqsSendEntry }
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, sqsInvalid("The request body is not valid JSON.")
		}
		return s.send(name, in.Entries, true)
	case "ReceiveMessage":
		var in sqsReceiveInput
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, sqsInvalid("The request body is not valid JSON.")
		}
		msgs, err := s.receive(ctx, name, in)
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			return struct{}{}, nil
		}
		return map[string]any{"Messages": msgs}, nil
	case "DeleteMessage":
		var in struct{ ReceiptHandle string }
		json.Unmarshal(body, &in)
		if in.ReceiptHandle == "" {
			return nil, sqsMissing("ReceiptHandle")
		}
		if err := s.deleteMessage(name, in.ReceiptHandle); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	case "DeleteMessageBatch":
		var in struct {
			Entries []struct{ Id, ReceiptHandle string }
		}
		json.Unmarshal(body, &in)
		ids := make([]string, len(in.Entries))
		for i, e := range in.Entries {
			ids[i] = e.Id
		}
		if err := checkBatchIDs(ids); err != nil {
			return nil, err
		}
		var ok []map[string]string
		var failed []sqsBatchFailure
		for _, e := range in.Entries {
			if err := s.deleteMessage(name, e.ReceiptHandle); err != nil {
				if err == errNoQueue {
					return nil, err
				}
				failed = append(failed, sqsBatchFailure{Id: e.Id, SenderFault: true, Code: err.queryCode, Message: err.msg})
				continue
			}
			ok = append(ok, map[string]string{"Id": e.Id})
		}
		return map[string]any{"Successful": nonNil(ok), "Failed": nonNil(failed)}, nil
	case "ChangeMessageVisibility":
		var in struct {
			ReceiptHandle     string
			VisibilityTimeout *int
		}
		json.Unmarshal(body, &in)
		if in.ReceiptHandle == "" {
			return nil, sqsMissing("ReceiptHandle")
		}
		if in.VisibilityTimeout == nil {
			return nil, sqsMissing("VisibilityTimeout")
		}
		if v := *in.VisibilityTimeout; v < 0 || v > 43200 {
			return nil, sqsInvalid(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.", v))
		}
		return struct{}{}, s.changeVisibility(name, in.ReceiptHandle, *in.VisibilityTimeout)
	case "PurgeQueue":
		s.mu.Lock()
		defer s.mu.Unlock()
		q, ok := s.queues[name]
		if !ok {
			return nil, errNoQueue
		}
		now := s.now()
		if !q.purged.IsZero() && now.Sub(q.purged) < sqsPurgeInterval {
			return nil, sqsErrCode("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress",
				"Only one PurgeQueue operation on "+name+" is allowed every 60 seconds.")
		}
		q.purged = now
		q.msgs, q.deleted = nil, 0
		q.inflight = map[string]*sqsMessage{}
		return struct{}{}, nil
	}
	return nil, sqsClientErr("InvalidAction", "The action "+op+" is not valid for this endpoint.")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// The queue attributes a client may set, with their ranges.
var sqsAttrRanges = map[string][2]int{
	"VisibilityTimeout":             {0, 43200},
	"DelaySeconds":                  {0, 900},
	"ReceiveMessageWaitTimeSeconds": {0, 20},
	"MaximumMessageSize":            {1024, 1 << 20},
	"MessageRetentionPeriod":        {60, 1209600},
}

var sqsOtherAttrs = map[string]bool{"FifoQueue": true, "ContentBasedDeduplication": true, "RedrivePolicy": true,
	"Policy": true, "KmsMasterKeyId": true, "KmsDataKeyReusePeriodSeconds": true, "DeduplicationScope": true,
	"FifoThroughputLimit": true, "SqsManagedSseEnabled": true}

func (s *sqsServer) createQueue(host, name string, attrs map[string]string) (string, *sqsErr) {
	if name == "" {
		return "", sqsMissing("QueueName")
	}
	fifo := strings.HasSuffix(name, ".fifo")
	if !queueNameRe().MatchString(name) || len(name) > 80 {
		return "", sqsInvalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	a := map[string]string{"VisibilityTimeout": "30", "DelaySeconds": "0", "MaximumMessageSize": strconv.Itoa(sqsDefaultMaxSize),
		"MessageRetentionPeriod": "345600", "ReceiveMessageWaitTimeSeconds": "0"}
	for k, v := range attrs {
		if r, ok := sqsAttrRanges[k]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < r[0] || n > r[1] {
				return "", sqsClientErr("InvalidAttributeValue", fmt.Sprintf("Invalid value for the parameter %s. Reason: Must be between %d and %d.", k, r[0], r[1]))
			}
		} else if !sqsOtherAttrs[k] {
			return "", sqsClientErr("InvalidAttributeName", "Unknown Attribute "+k+".")
		}
		a[k] = v
	}
	if a["FifoQueue"] == "true" && !fifo {
		return "", sqsInvalid("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix.")
	}
	if fifo {
		a["FifoQueue"] = "true"
		if a["ContentBasedDeduplication"] == "" {
			a["ContentBasedDeduplication"] = "false"
		}
		if a["DeduplicationScope"] == "" {
			a["DeduplicationScope"] = "queue"
		}
		if a["FifoThroughputLimit"] == "" {
			a["FifoThroughputLimit"] = "perQueue"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[name]; ok {
		for k, v := range attrs {
			if q.attrs[k] != v {
				return "", sqsErrCode("QueueNameExists", "QueueAlreadyExists",
					"A queue already exists with the same name and a different value for attribute "+k)
			}
		}
		return queueURL(host, name), nil
	}
	now := s.now()
	s.queues[name] = &sqsQueue{name: name, attrs: a, created: now, modified: now, fifo: fifo,
		inflight: map[string]*sqsMessage{}, dedup: map[string]sqsDedup{}, wake: make(chan struct{})}
	return queueURL(host, name), nil
}

var sqsAllAttrs = []string{"QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "VisibilityTimeout",
	"MaximumMessageSize", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
	"SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
	"RedrivePolicy", "Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds"}

func (s *sqsServer) getAttributes(name string, names []string) (any, *sqsErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if !ok {
		return nil, errNoQueue
	}
	if len(names) == 0 {
		return struct{}{}, nil // AWS returns no attributes when none are asked for
	}
	for _, n := range names {
		if n == "All" {
			names = sqsAllAttrs
			break
		}
	}
	now := s.now()
	q.expire(now)
	out := map[string]string{}
	for _, n := range names {
		switch n {
		case "QueueArn":
			out[n] = s.arn(name)
		case "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed":
			var visible, inflight, delayed int
			for _, m := range q.msgs {
				switch {
				case m.deleted:
				case m.receipt != "":
					inflight++
				case m.visibleAt.After(now):
					delayed++
				default:
					visible++
				}
			}
			out["ApproximateNumberOfMessages"] = strconv.Itoa(visible)
			out["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(inflight)
			out["ApproximateNumberOfMessagesDelayed"] = strconv.Itoa(delayed)
			for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"} {
				if !contains(names, k) {
					delete(out, k)
				}
			}
		case "CreatedTimestamp":
			out[n] = strconv.FormatInt(q.created.Unix(), 10)
		case "LastModifiedTimestamp":
			out[n] = strconv.FormatInt(q.modified.Unix(), 10)
		case "SqsManagedSseEnabled":
			out[n] = "true"
		default:
			if _, ok := sqsAttrRanges[n]; !ok && !sqsOtherAttrs[n] {
				return nil, sqsClientErr("InvalidAttributeName", "Unknown Attribute "+n+".")
			}
			if v, ok := q.attrs[n]; ok {
				out[n] = v
			}
		}
	}
	return map[string]any{"Attributes": out}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
