package devstack

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
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
// GetQueueAttributes, DeleteQueue, SendMessage, SendMessageBatch (per-entry failures),
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
	if len(parts) != 2 || parts[0] != sqsAccount || !queueNameRe.MatchString(parts[1]) {
		return "", false
	}
	return parts[1], true
}

var queueNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}(\.fifo)?$`)

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
	if !queueNameRe.MatchString(name) || len(name) > 80 {
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

type sqsSendEntry struct {
	Id                     string
	MessageBody            *string
	DelaySeconds           *int
	MessageAttributes      map[string]sqsAttrValue
	MessageGroupId         string
	MessageDeduplicationId string
}

type sqsBatchFailure struct {
	Id          string
	SenderFault bool
	Code        string
	Message     string
}

type sqsSendResult struct {
	Id                     string `json:",omitempty"`
	MessageId              string
	MD5OfMessageBody       string
	MD5OfMessageAttributes string `json:",omitempty"`
	SequenceNumber         string `json:",omitempty"`
}

type sqsSendBatchOutput struct {
	Successful []sqsSendResult
	Failed     []sqsBatchFailure
}

var batchIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func checkBatchIDs(ids []string) *sqsErr {
	if len(ids) == 0 {
		return sqsErrCode("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
			"There should be at least one SendMessageBatchRequestEntry in the request.")
	}
	if len(ids) > 10 {
		return sqsErrCode("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
			fmt.Sprintf("Maximum number of entries per request are 10. You have sent %d.", len(ids)))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !batchIDRe.MatchString(id) {
			return sqsErrCode("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
				"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return sqsErrCode("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
				"Id "+id+" repeated.")
		}
		seen[id] = true
	}
	return nil
}

// validBody reports whether body has only the characters SQS accepts.
func validBody(body string) bool {
	for _, r := range body {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

func messageSize(body string, attrs map[string]sqsAttrValue) int {
	n := len(body)
	for k, v := range attrs {
		n += len(k) + len(v.DataType) + len(v.BinaryValue)
		if v.StringValue != nil {
			n += len(*v.StringValue)
		}
	}
	return n
}

// send enqueues entries; batch says whether per-entry failures are answered per entry.
func (s *sqsServer) send(name string, entries []sqsSendEntry, batch bool) (sqsSendBatchOutput, *sqsErr) {
	if batch {
		ids := make([]string, len(entries))
		total := 0
		for i, e := range entries {
			ids[i] = e.Id
			if e.MessageBody != nil {
				total += messageSize(*e.MessageBody, e.MessageAttributes)
			}
		}
		if err := checkBatchIDs(ids); err != nil {
			return sqsSendBatchOutput{}, err
		}
		if total > sqsBatchMaxSize {
			return sqsSendBatchOutput{}, sqsErrCode("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
				fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", sqsBatchMaxSize, total))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if !ok {
		return sqsSendBatchOutput{}, errNoQueue
	}
	out := sqsSendBatchOutput{Successful: []sqsSendResult{}, Failed: []sqsBatchFailure{}}
	now := s.now()
	fail := func(id, code, msg string) {
		out.Failed = append(out.Failed, sqsBatchFailure{Id: id, SenderFault: true, Code: code, Message: msg})
	}
	for _, e := range entries {
		if e.MessageBody == nil || *e.MessageBody == "" {
			fail(e.Id, "MissingParameter", "The request must contain the parameter MessageBody.")
			continue
		}
		body := *e.MessageBody
		if !validBody(body) {
			fail(e.Id, "InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
			continue
		}
		max, _ := strconv.Atoi(q.attrs["MaximumMessageSize"])
		if messageSize(body, e.MessageAttributes) > max {
			fail(e.Id, "InvalidParameterValue", fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", max))
			continue
		}
		if msg := checkMessageAttrs(e.MessageAttributes); msg != "" {
			fail(e.Id, "InvalidParameterValue", msg)
			continue
		}
		delay, _ := strconv.Atoi(q.attrs["DelaySeconds"])
		if e.DelaySeconds != nil {
			if q.fifo && *e.DelaySeconds != 0 {
				fail(e.Id, "InvalidParameterValue", fmt.Sprintf("Value %d for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.", *e.DelaySeconds))
				continue
			}
			if *e.DelaySeconds < 0 || *e.DelaySeconds > 900 {
				fail(e.Id, "InvalidParameterValue", fmt.Sprintf("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", *e.DelaySeconds))
				continue
			}
			if !q.fifo {
				delay = *e.DelaySeconds
			}
		}
		m := &sqsMessage{id: newUUID(), body: body, md5Body: md5Hex([]byte(body)), attrs: e.MessageAttributes,
			md5Attrs: md5OfAttributes(e.MessageAttributes), sent: now, visibleAt: now.Add(time.Duration(delay) * time.Second),
			keys: objectKeysOf([]byte(body))}
		if q.fifo {
			if e.MessageGroupId == "" {
				fail(e.Id, "MissingParameter", "The request must contain the parameter MessageGroupId.")
				continue
			}
			dedup := e.MessageDeduplicationId
			if dedup == "" {
				if q.attrs["ContentBasedDeduplication"] != "true" {
					fail(e.Id, "InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
					continue
				}
				sum := sha256.Sum256([]byte(body))
				dedup = hex.EncodeToString(sum[:])
			}
			m.group, m.dedupID = e.MessageGroupId, dedup
			if d, ok := q.dedup[dedup]; ok && now.Sub(d.at) < sqsDedupWindow {
				q.stats.Duplicates++
				q.stats.count(m, func(c *MessageStats) { c.Duplicates++ })
				out.Successful = append(out.Successful, sqsSendResult{Id: e.Id, MessageId: d.id, MD5OfMessageBody: m.md5Body,
					MD5OfMessageAttributes: m.md5Attrs, SequenceNumber: d.seq})
				continue
			}
			q.seq++
			m.seq = fmt.Sprintf("%020d", q.seq)
			q.dedup[dedup] = sqsDedup{id: m.id, seq: m.seq, at: now}
		}
		q.msgs = append(q.msgs, m)
		q.stats.Sent++
		q.stats.count(m, func(c *MessageStats) { c.Sent++ })
		out.Successful = append(out.Successful, sqsSendResult{Id: e.Id, MessageId: m.id, MD5OfMessageBody: m.md5Body,
			MD5OfMessageAttributes: m.md5Attrs, SequenceNumber: m.seq})
	}
	if len(out.Successful) > 0 {
		q.signal()
	}
	if batch {
		if n := s.faults.takeEntryFailures("sqs", len(out.Successful)); n > 0 {
			// The last n accepted entries failed instead (as if SQS had an internal error
			// on them): their messages are taken back.
			keep := out.Successful[:len(out.Successful)-n]
			for _, r := range out.Successful[len(out.Successful)-n:] {
				q.unsend(r.MessageId)
				out.Failed = append(out.Failed, sqsBatchFailure{Id: r.Id, SenderFault: false, Code: "InternalError",
					Message: "We encountered an internal error. Please try again."})
			}
			out.Successful = keep
		}
	}
	return out, nil
}

// compact drops deleted messages: those at the head at once (a consumer deletes in about
// the order it receives), the rest when they are half the queue, so a delete stays cheap
// on a queue of a hundred thousand messages.
func (q *sqsQueue) compact() {
	i := 0
	for i < len(q.msgs) && q.msgs[i].deleted {
		i++
	}
	if i > 0 {
		q.msgs = q.msgs[i:]
		q.deleted -= i
	}
	if q.deleted > 64 && q.deleted*2 > len(q.msgs) {
		kept := make([]*sqsMessage, 0, len(q.msgs)-q.deleted)
		for _, m := range q.msgs {
			if !m.deleted {
				kept = append(kept, m)
			}
		}
		q.msgs, q.deleted = kept, 0
	}
}

// pending is how many messages the queue holds (visible, in flight or delayed).
func (q *sqsQueue) pending() int { return len(q.msgs) - q.deleted }

// unsend takes back a message just sent (an injected per-entry failure).
func (q *sqsQueue) unsend(id string) {
	for i := len(q.msgs) - 1; i >= 0; i-- {
		m := q.msgs[i]
		if m.id != id {
			continue
		}
		q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
		q.stats.Sent--
		q.stats.count(m, func(c *MessageStats) { c.Sent-- })
		if m.dedupID != "" {
			delete(q.dedup, m.dedupID)
		}
		return
	}
}

func checkMessageAttrs(attrs map[string]sqsAttrValue) string {
	if len(attrs) > 10 {
		return "Number of message attributes [" + strconv.Itoa(len(attrs)) + "] exceeds the allowed maximum [10]."
	}
	for name, v := range attrs {
		base, _, _ := strings.Cut(v.DataType, ".")
		switch base {
		case "String", "Number":
			if v.StringValue == nil {
				return "The message attribute '" + name + "' must contain non-empty message attribute value for message attribute type '" + base + "'."
			}
		case "Binary":
			if len(v.BinaryValue) == 0 {
				return "The message attribute '" + name + "' must contain non-empty message attribute value for message attribute type 'Binary'."
			}
		default:
			return "The message attribute '" + name + "' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
		}
	}
	return ""
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes is SQS's digest of the message attributes ("" when none): per name in
// order, the length-prefixed name, data type, a transport byte and the value.
func md5OfAttributes(attrs map[string]sqsAttrValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	h := md5.New()
	put := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, k := range names {
		v := attrs[k]
		put([]byte(k))
		put([]byte(v.DataType))
		if strings.HasPrefix(v.DataType, "Binary") {
			h.Write([]byte{2})
			put(v.BinaryValue)
		} else {
			h.Write([]byte{1})
			var sv string
			if v.StringValue != nil {
				sv = *v.StringValue
			}
			put([]byte(sv))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newReceipt() string {
	var b [48]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (q *sqsQueue) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// expire returns the in-flight messages whose visibility timeout passed.
func (q *sqsQueue) expire(now time.Time) {
	for r, m := range q.inflight {
		if !m.visibleAt.After(now) {
			delete(q.inflight, r)
			m.receipt = ""
		}
	}
}

type sqsReceiveInput struct {
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
}

type sqsReceived struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string       `json:",omitempty"`
	MD5OfMessageAttributes string                  `json:",omitempty"`
	MessageAttributes      map[string]sqsAttrValue `json:",omitempty"`
}

// receive takes up to MaxNumberOfMessages visible messages, waiting up to WaitTimeSeconds
// for the first one.
func (s *sqsServer) receive(ctx context.Context, name string, in sqsReceiveInput) ([]sqsReceived, *sqsErr) {
	max := 1
	if in.MaxNumberOfMessages != nil {
		max = *in.MaxNumberOfMessages
		if max < 1 || max > 10 {
			return nil, sqsInvalid(fmt.Sprintf("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", max))
		}
	}
	if in.VisibilityTimeout != nil && (*in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200) {
		return nil, sqsInvalid(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.", *in.VisibilityTimeout))
	}
	s.mu.Lock()
	q, ok := s.queues[name]
	if !ok {
		s.mu.Unlock()
		return nil, errNoQueue
	}
	wait, _ := strconv.Atoi(q.attrs["ReceiveMessageWaitTimeSeconds"])
	s.mu.Unlock()
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
		if wait < 0 || wait > sqsMaxWait {
			return nil, sqsInvalid(fmt.Sprintf("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", wait))
		}
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		s.mu.Lock()
		q, ok := s.queues[name]
		if !ok {
			s.mu.Unlock()
			return nil, errNoQueue
		}
		msgs, next := s.take(q, max, in)
		wake := q.wake
		s.mu.Unlock()
		left := time.Until(deadline)
		if len(msgs) > 0 || left <= 0 {
			return msgs, nil
		}
		if next > 0 && next < left {
			left = next
		}
		t := time.NewTimer(left)
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil
		case <-s.closed:
			t.Stop()
			return nil, nil
		}
		t.Stop()
	}
}

// take receives up to max messages from q; when none is visible, next is how long until
// one may become visible (0 when none is waiting).
func (s *sqsServer) take(q *sqsQueue, max int, in sqsReceiveInput) (out []sqsReceived, next time.Duration) {
	now := s.now()
	q.expire(now)
	vis, _ := strconv.Atoi(q.attrs["VisibilityTimeout"])
	if in.VisibilityTimeout != nil {
		vis = *in.VisibilityTimeout
	}
	held := map[string]bool{} // FIFO groups with a message in flight
	for _, m := range q.msgs {
		if q.fifo && m.receipt != "" && !m.deleted {
			held[m.group] = true
		}
	}
	for _, m := range q.msgs {
		if len(out) == max {
			break
		}
		if m.deleted {
			continue
		}
		if m.receipt != "" || m.visibleAt.After(now) {
			if d := m.visibleAt.Sub(now); d > 0 && (next == 0 || d < next) {
				next = d
			}
			if q.fifo {
				held[m.group] = true
			}
			continue
		}
		if q.fifo && held[m.group] {
			continue
		}
		m.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.receipt = newReceipt()
		m.visibleAt = now.Add(time.Duration(vis) * time.Second)
		q.inflight[m.receipt] = m
		q.stats.Received++
		q.stats.count(m, func(c *MessageStats) { c.Received++ })
		out = append(out, s.received(m, in))
	}
	return out, next
}

func (s *sqsServer) received(m *sqsMessage, in sqsReceiveInput) sqsReceived {
	r := sqsReceived{MessageId: m.id, ReceiptHandle: m.receipt, MD5OfBody: m.md5Body, Body: m.body}
	names := append(append([]string{}, in.AttributeNames...), in.MessageSystemAttributeNames...)
	if len(names) > 0 {
		all := contains(names, "All")
		want := func(n string) bool { return all || contains(names, n) }
		a := map[string]string{}
		if want("SenderId") {
			a["SenderId"] = sqsAccount
		}
		if want("SentTimestamp") {
			a["SentTimestamp"] = strconv.FormatInt(m.sent.UnixMilli(), 10)
		}
		if want("ApproximateReceiveCount") {
			a["ApproximateReceiveCount"] = strconv.Itoa(m.receives)
		}
		if want("ApproximateFirstReceiveTimestamp") {
			a["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(m.firstReceive.UnixMilli(), 10)
		}
		if m.group != "" && want("MessageGroupId") {
			a["MessageGroupId"] = m.group
		}
		if m.dedupID != "" && want("MessageDeduplicationId") {
			a["MessageDeduplicationId"] = m.dedupID
		}
		if m.seq != "" && want("SequenceNumber") {
			a["SequenceNumber"] = m.seq
		}
		if len(a) > 0 {
			r.Attributes = a
		}
	}
	if len(m.attrs) > 0 && len(in.MessageAttributeNames) > 0 {
		picked := map[string]sqsAttrValue{}
		for k, v := range m.attrs {
			for _, n := range in.MessageAttributeNames {
				if n == "All" || n == ".*" || n == k || (strings.HasSuffix(n, ".*") && strings.HasPrefix(k, n[:len(n)-1])) {
					picked[k] = v
					break
				}
			}
		}
		if len(picked) > 0 {
			r.MessageAttributes = picked
			r.MD5OfMessageAttributes = md5OfAttributes(picked)
		}
	}
	return r
}

func (s *sqsServer) deleteMessage(name, receipt string) *sqsErr {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if !ok {
		return errNoQueue
	}
	m, ok := q.inflight[receipt]
	if !ok {
		// AWS deletes quietly with a receipt handle that is no longer current.
		return nil
	}
	delete(q.inflight, receipt)
	m.deleted = true
	q.deleted++
	q.compact()
	q.stats.Deleted++
	q.stats.count(m, func(c *MessageStats) { c.Deleted++ })
	if q.fifo {
		q.signal() // the group is free again
	}
	return nil
}

func (s *sqsServer) changeVisibility(name, receipt string, seconds int) *sqsErr {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if !ok {
		return errNoQueue
	}
	now := s.now()
	q.expire(now)
	m, ok := q.inflight[receipt]
	if !ok {
		return sqsErrCode("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight",
			"Message does not exist or is not available for visibility timeout change.")
	}
	m.visibleAt = now.Add(time.Duration(seconds) * time.Second)
	if seconds == 0 {
		delete(q.inflight, receipt)
		m.receipt = ""
		q.signal()
	}
	return nil
}

// stats is a copy of a queue's counters.
func (s *sqsServer) stats(name string) QueueStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[name]; ok {
		return q.stats.clone()
	}
	return QueueStats{}
}
