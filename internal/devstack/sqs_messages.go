package devstack

// The demo SQS's messages: send (with FIFO deduplication), receive (long polling,
// visibility, FIFO groups), delete and visibility changes. sqs.go has the service.

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

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

// batchIDRe is compiled on first use: every stowage command links the demo (#13).
var batchIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`) })

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
		if !batchIDRe().MatchString(id) {
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
