package devstack

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"mime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/stowage-cli/stowage/internal/jsonstr"
)

// The processor plays the Lambda function that an S3 ObjectCreated event triggers: it
// reads the object, parses it as XML or JSON and records the outcome in the status table.
// Every decision is a pure function of the seed, the key, the bytes and whether this is a
// redelivery, so a seeded stack always says the same thing about the same request.

// Status states the processor writes.
const (
	StateProcessed = "PROCESSED"
	StateFailed    = "FAILED"
)

// Status attribute names (the config defaults).
const (
	attrKey       = "requestId"
	attrStatus    = "status"
	attrError     = "error"
	attrAttempts  = "attempts"
	attrUpdatedAt = "updatedAt"
)

// updatedAtLayout sorts lexically in time order, as a GSI range key must.
const updatedAtLayout = "2006-01-02T15:04:05.000Z"

// Metadata the gateway and stowage put on objects; any of them marks a redelivery.
const (
	metaRedrivenAt = "X-Amz-Meta-Stowage-Redriven-At"
	metaOriginalID = "X-Amz-Meta-Original-Request-Id"
	metaRedriveID  = "X-Amz-Meta-Redrive-Id"
)

// bigDocument is the size above which the processor only validates JSON.
const bigDocument = 256 << 10

// maxProcessBytes bounds what the processor decompresses, like a Lambda's memory would.
const maxProcessBytes = 64 << 20

// Transient failures succeed when the request is delivered again. Their messages vary
// in numbers only, as a real processor's do, so that one cause is one failure class.

// trickleError is a first delivery's transient failure (Options.TransientRatio): an
// inventory-service timeout, or throttling by it.
func trickleError(seed int64, key string) string {
	sku := 10000 + int(chance(seed, key, "trickle-sku")*90000)
	if chance(seed, key, "which-transient") < 0.7 {
		return "downstream timeout: inventory-service did not answer within 3000 ms (POST /v2/stock/reservations, sku ACME-" +
			strconv.Itoa(sku) + ")"
	}
	return "throttled by inventory-service: 429 Too Many Requests (limit 50 requests/s); retry after " +
		strconv.Itoa(1+int(chance(seed, key, "retry-after")*4)) + " s"
}

// OutageService is the downstream that fails during an outage (the seeded hour and the
// live outages of demo --live).
const OutageService = "pricing-service"

// outageError is a delivery's failure during an outage.
func outageError(seed int64, key string, delivery int) string {
	what := "outage-" + strconv.Itoa(delivery)
	u := lambdaRequestID(seed, key+"\x00pricing", delivery)
	return OutageService + " unavailable: 503 Service Unavailable from GET /v1/prices/P-" +
		strconv.Itoa(10000+int(chance(seed, key, what)*90000)) + " (x-request-id " + u + "); gave up after 3 attempts"
}

// seededOutage is the hour of the seeded week in which pricing-service is down: it
// starts in busy hours (08:00 to 17:00 UTC, when there is traffic to fail) between 34 and
// 11 hours before now.
func seededOutage(seed int64, now time.Time) (time.Time, time.Time) {
	base := now.Add(-34 * time.Hour).Truncate(time.Hour)
	var starts []time.Time
	for h := base; !h.Add(time.Hour).After(now.Add(-11 * time.Hour)); h = h.Add(time.Hour) {
		if hour := h.UTC().Hour(); hour >= 8 && hour < 17 {
			starts = append(starts, h)
		}
	}
	from := starts[int(chance(seed, "", "outage-at")*float64(len(starts)))]
	from = from.Add(time.Duration(chance(seed, "", "outage-minute") * float64(time.Hour))).Truncate(time.Minute)
	return from, from.Add(time.Hour)
}

// Failure classes a live arrival can be forced into (Stack.Arrive).
const (
	FailNatural    = ""           // whatever the payload and the processor's dice say
	FailNone       = "none"       // a valid payload, processed
	FailParse      = "parse"      // a malformed payload: permanent
	FailValidation = "validation" // a well-formed payload validation rejects: permanent
	FailTransient  = "transient"  // an inventory-service timeout or throttling: succeeds when redriven
	FailOutage     = "outage"     // pricing-service 503: succeeds when redriven after the outage
	FailLost       = "lost"       // the function crashes: no status item
)

type processor struct {
	table     *statusTable
	store     *s3Backend
	bucket    string
	seed      int64
	lost      float64
	transient float64
	delay     time.Duration
	now       func() time.Time
	log       func(format string, args ...any)
	// logs receives the function's log lines, as CloudWatch Logs would (ProcessorLogGroup).
	logs logSink
	// outageFrom and outageTo are the seeded outage (zero without transient failures);
	// liveOutage is an outage demo --live turns on and off.
	outageFrom, outageTo time.Time
	liveOutage           atomic.Bool

	mu         sync.Mutex
	cond       *sync.Cond
	queue      []objectEvent
	busy       bool
	closed     bool
	deliveries map[string]int
	done       chan struct{}
	// forced holds the failure class forced on a key's next first delivery (Arrive).
	forced map[string]string
	// live makes the payloads of live arrivals (live.go).
	live *liveGen
}

// checked is the result of checkPayload.
type checked struct {
	result map[string]any
	kind   string
	err    error
}

func newProcessor(p *processor) *processor {
	p.cond = sync.NewCond(&p.mu)
	p.deliveries = map[string]int{}
	p.done = make(chan struct{})
	if p.logs == nil {
		p.logs = nopSink{}
	}
	if p.transient > 0 {
		p.outageFrom, p.outageTo = seededOutage(p.seed, p.now())
	}
	return p
}

// force makes the first delivery of key fail as class (a Fail* constant).
func (p *processor) force(key, class string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.forced == nil {
		p.forced = map[string]string{}
	}
	p.forced[key] = class
}

// inOutage says whether pricing-service is down at time at.
func (p *processor) inOutage(at time.Time) bool {
	return p.liveOutage.Load() || (!p.outageFrom.IsZero() && !at.Before(p.outageFrom) && at.Before(p.outageTo))
}

// enqueue is the S3 event notification: asynchronous, like Lambda's.
func (p *processor) enqueue(ev objectEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.queue = append(p.queue, ev)
	p.cond.Broadcast()
}

func (p *processor) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.cond.Wait()
		}
		if len(p.queue) == 0 && p.closed {
			p.mu.Unlock()
			return
		}
		ev := p.queue[0]
		p.queue = p.queue[1:]
		p.busy = true
		p.mu.Unlock()

		if p.delay > 0 {
			time.Sleep(p.delay)
		}
		p.handle(ev, p.now())

		p.mu.Lock()
		p.busy = false
		p.cond.Broadcast()
		p.mu.Unlock()
	}
}

// settle waits until every event so far has been handled.
func (p *processor) settle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) > 0 || p.busy {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.cond.Wait()
	}
	return nil
}

// close handles what is queued, then stops: an accepted request is never dropped.
func (p *processor) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	<-p.done
}

// chance is a deterministic number in [0, 1) for (seed, key, what).
func chance(seed int64, key, what string) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(what))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return float64(h.Sum64()>>11) / float64(1<<53)
}

// outcome is what processing one delivery decided.
type outcome struct {
	lost   bool
	state  string
	err    string
	kind   string         // parse, validation, unsupported, transient
	result map[string]any // what a successful run extracted
}

// decide runs the parse and the dice for delivery number delivery of key, at time at.
// forced is a Fail* class for a first delivery ("" for none). A payload that does not
// parse fails first; then an outage fails every delivery; then first deliveries fail at
// the trickle's rate.
func (p *processor) decide(key string, at time.Time, delivery int, forced string, check func() checked, redelivery bool) outcome {
	return p.decideIn(key, delivery, forced, check, redelivery, p.inOutage(at))
}

// decideIn is decide with whether pricing-service is down given: the seed's log lines are
// derived later (seeded_logs.go) with the seeded outage alone, whatever live outage is on.
func (p *processor) decideIn(key string, delivery int, forced string, check func() checked, redelivery, outage bool) outcome {
	if !redelivery && (forced == FailLost || forced == FailNatural && chance(p.seed, key, "lost") < p.lost) {
		return outcome{lost: true}
	}
	c := check()
	result, kind, err := c.result, c.kind, c.err
	if err != nil {
		return outcome{state: StateFailed, err: err.Error(), kind: kind}
	}
	if forced == FailNone {
		return outcome{state: StateProcessed, result: result}
	}
	if forced == FailOutage || outage {
		return outcome{state: StateFailed, err: outageError(p.seed, key, delivery), kind: "transient"}
	}
	if forced == FailTransient || !redelivery && forced == FailNatural && chance(p.seed, key, "transient") < p.transient {
		return outcome{state: StateFailed, err: trickleError(p.seed, key), kind: "transient"}
	}
	return outcome{state: StateProcessed, result: result}
}

// handle processes one event at time at.
func (p *processor) handle(ev objectEvent, at time.Time) {
	obj, err := p.store.GetObject(ev.Bucket, ev.Key, nil)
	if err != nil {
		p.log("processor: %s: object gone before processing: %v", ev.Key, err)
		return
	}
	body, err := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	if err != nil {
		p.log("processor: %s: read: %v", ev.Key, err)
		return
	}
	meta := obj.Metadata

	p.mu.Lock()
	before := p.deliveries[ev.Key]
	p.deliveries[ev.Key]++
	forced, isForced := p.forced[ev.Key]
	if isForced {
		delete(p.forced, ev.Key)
	}
	p.mu.Unlock()
	hasItem := p.table.has(ev.Key)
	redelivery := ev.Redrive || before > 0 || hasItem || meta[metaRedrivenAt] != "" || meta[metaOriginalID] != "" || meta[metaRedriveID] != ""
	delivery := p.deliveryNumber(ev.Key, before, hasItem)

	o := p.decide(ev.Key, at, delivery, forced, func() checked {
		var c checked
		c.result, c.kind, c.err = checkPayload(meta["Content-Type"], meta["Content-Encoding"], body)
		return c
	}, redelivery)
	if _, nop := p.logs.(nopSink); !nop {
		p.logDelivery(ev, at, delivery, redelivery, len(body), o)
	}
	if o.lost {
		p.log("processor: %s: LOST (the function crashed before writing a status)", ev.Key)
		return
	}
	if err := p.writeStatus(ev, at, obj.Hash, len(body), meta["Content-Type"], o); err != nil {
		p.log("processor: %s: write status: %v", ev.Key, err)
		return
	}
	p.log("processor: %s: %s %s", ev.Key, o.state, o.err)
}

// deliveryNumber is which delivery of key this is (1 for the first), counting those
// recorded in the status item before this process started (a stack with a DataDir).
func (p *processor) deliveryNumber(key string, before int, hasItem bool) int {
	if before > 0 || !hasItem {
		return before + 1
	}
	it, _ := p.table.get(key)
	n, _ := strconv.Atoi(it[attrAttempts].str)
	return n + 1
}

// writeStatus records outcome o of a delivery of ev at time at in the status table.
func (p *processor) writeStatus(ev objectEvent, at time.Time, hash []byte, size int, contentType string, o outcome) error {
	return p.table.update(ev.Key, func(cur item, ok bool) (item, error) {
		return deliveryItem(cur, ok, ev, at, hash, size, contentType, o), nil
	})
}

// deliveryItem is the status item a delivery of ev at time at with outcome o leaves, over
// cur (ok when there was one): the processor's and the seed's one definition of it.
func deliveryItem(cur item, ok bool, ev objectEvent, at time.Time, hash []byte, size int, contentType string, o outcome) item {
	n := item{}
	if ok {
		n = cur.clone()
	}
	setDelivery(n, ev, at, hash, size, contentType, o)
	return n
}

// setDelivery writes into n, the item before the delivery (empty for none), what the
// delivery changes. The seed fills one reused map this way rather than making a map a
// request (the maps were two fifths of seeding a million's garbage).
func setDelivery(n item, ev objectEvent, at time.Time, hash []byte, size int, contentType string, o outcome) {
	n[attrKey] = stringValue(ev.Key)
	n[attrStatus] = stringValue(o.state)
	n[attrUpdatedAt] = stringValue(at.UTC().Format(updatedAtLayout))
	attempts := 1
	if a, ok := n[attrAttempts]; ok && a.kind == "N" {
		if v, err := strconv.Atoi(a.str); err == nil {
			attempts = v + 1
		}
	}
	n[attrAttempts] = numberValue(strconv.Itoa(attempts))
	if _, ok := n["receivedAt"]; !ok {
		n["receivedAt"] = stringValue(ev.At.UTC().Format(updatedAtLayout))
	}
	n["bucket"] = stringValue(ev.Bucket)
	n["objectKey"] = stringValue(ev.Key)
	n["etag"] = stringValue(hex.EncodeToString(hash))
	n["size"] = numberValue(strconv.Itoa(size))
	n["contentType"] = stringValue(contentType)
	n["processor"] = processorAttr
	if o.state == StateFailed {
		n[attrError] = stringValue(o.err)
		n["errorKind"] = stringValue(o.kind)
		delete(n, "result")
	} else {
		delete(n, attrError)
		delete(n, "errorKind")
		n["result"] = toAttr(o.result)
	}
}

// processorAttr is the function's description every status item carries; items are
// replaced, never changed, so one value serves them all.
var processorAttr = attrValue{kind: "M", m: map[string]attrValue{
	"function": stringValue("product-ingest"),
	"version":  stringValue("2025.06.2"),
	"memoryMb": numberValue("512"),
}}

// The function's log lines, as a Node or Python Lambda with structured JSON logging
// writes them to CloudWatch Logs (ProcessorLogGroup), all at the delivery's time:
//
//	START RequestId: <awsRequestId> Version: $LATEST
//	{"timestamp":"…","level":"INFO","requestId":"<key>","awsRequestId":"…","message":"processing","bucket":"…","key":"…","redelivery":false}
//	{"timestamp":"…","level":"ERROR","requestId":"<key>","awsRequestId":"…","errorType":"parse","message":"<the status error>"}
//	  or {"timestamp":"…","level":"INFO",…,"message":"processed","status":"PROCESSED"}
//	  or, for a LOST delivery, {…,"level":"ERROR",…,"errorType":"Runtime.ExitError","message":"Runtime exited with error: signal: killed"}
//	END RequestId: <awsRequestId>
//	REPORT RequestId: <awsRequestId>\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 87 MB
//
// The awsRequestId is a UUID drawn from the seed, the key and the delivery number.

// logDelivery writes the lines of one delivery. They are built in one buffer and made
// one string.
func (p *processor) logDelivery(ev objectEvent, at time.Time, delivery int, redelivery bool, size int, o outcome) {
	at = at.Truncate(time.Millisecond) // CloudWatch Logs keeps milliseconds, as updatedAt does
	var ends [deliveryLines]int
	all := string(appendDeliveryLines(nil, &ends, p.seed, ev.Bucket, ev.Key, at, delivery, redelivery, size, o))
	from := 0
	for _, end := range ends {
		p.logs.put(ProcessorLogGroup, at, all[from:end])
		from = end
	}
}

// deliveryLines is how many lines a delivery writes.
const deliveryLines = 5

// appendDeliveryLines appends the lines of one delivery at time at (whole milliseconds)
// to b, one after another, and sets ends to where each ends: the live processor and the
// seed's derived lines (seeded_logs.go) both write them here.
func appendDeliveryLines(b []byte, ends *[deliveryLines]int, seed int64, bucket, key string, at time.Time, delivery int, redelivery bool, size int, o outcome) []byte {
	idArr, r := lambdaID(seed, key, delivery)
	id := idArr[:]
	var ts [32]byte
	stamp := at.UTC().AppendFormat(ts[:0], updatedAtLayout)
	if b == nil {
		b = make([]byte, 0, 720+3*len(key)+2*len(o.err))
	}

	b = append(append(append(b, "START RequestId: "...), id...), " Version: $LATEST"...)
	ends[0] = len(b)

	head := func(b []byte, level string) []byte {
		b = append(b, `{"timestamp":"`...)
		b = append(b, stamp...)
		b = append(b, `","level":"`...)
		b = append(b, level...)
		b = append(b, `","requestId":`...)
		b = appendJSONString(b, key)
		b = append(b, `,"awsRequestId":"`...)
		b = append(b, id...)
		return append(b, '"')
	}
	b = head(b, "INFO")
	b = append(b, `,"message":"processing","bucket":`...)
	b = appendJSONString(b, bucket)
	b = append(b, `,"key":`...)
	b = appendJSONString(b, key)
	b = append(b, `,"redelivery":`...)
	b = strconv.AppendBool(b, redelivery)
	b = append(b, '}')
	ends[1] = len(b)

	switch {
	case o.lost:
		b = head(b, "ERROR")
		b = append(b, `,"errorType":"Runtime.ExitError","message":"Runtime exited with error: signal: killed"}`...)
	case o.state == StateFailed:
		b = head(b, "ERROR")
		b = append(b, `,"errorType":`...)
		b = appendJSONString(b, o.kind)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, o.err)
		b = append(b, '}')
	default:
		b = head(b, "INFO")
		b = append(b, `,"message":"processed","status":"PROCESSED"}`...)
	}
	ends[2] = len(b)

	b = append(append(b, "END RequestId: "...), id...)
	ends[3] = len(b)

	ms, mem := cost(r, size, o)
	b = append(append(b, "REPORT RequestId: "...), id...)
	b = append(b, "\tDuration: "...)
	b = strconv.AppendFloat(b, ms, 'f', 2, 64)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, int64(math.Ceil(ms)), 10)
	b = append(b, " ms\tMemory Size: 512 MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, int64(mem), 10)
	b = append(b, " MB"...)
	ends[4] = len(b)
	return b
}

// cost is a delivery's duration in ms and its memory use in MB, as its REPORT line says,
// for a number r in [0, 1) drawn for the delivery: a parse failure is quick, a big
// document slow, a timeout waits its 3000 ms and a crashed run died at the memory limit.
func cost(r float64, size int, o outcome) (float64, int) {
	ms := 20 + 160*r + float64(size)/(8<<10)
	mem := 72 + int(30*r) + size/(96<<10)
	switch {
	case o.lost:
		return math.Round((900+1600*r)*100) / 100, 512
	case o.kind == "transient" && strings.Contains(o.err, "did not answer within 3000 ms"):
		ms = 3004 + 80*r
	case o.kind == "transient" && strings.HasPrefix(o.err, OutageService):
		ms = 410 + 500*r
	case o.state == StateFailed:
		ms = 4 + 36*r + float64(size)/(64<<10)
	}
	return math.Round(ms*100) / 100, min(mem, 511)
}

// lambdaRequestID is the awsRequestId of delivery number delivery of key: a version 4
// UUID drawn from the seed, the key and the number.
func lambdaRequestID(seed int64, key string, delivery int) string {
	id, _ := lambdaID(seed, key, delivery)
	return string(id[:])
}

// lambdaID is lambdaRequestID's text and one more number in [0, 1) drawn with it.
func lambdaID(seed int64, key string, delivery int) ([36]byte, float64) {
	var b [16]byte
	h := fnv.New64a()
	var s [16]byte
	binary.LittleEndian.PutUint64(s[:8], uint64(seed))
	binary.LittleEndian.PutUint64(s[8:], uint64(delivery))
	h.Write(s[:])
	h.Write([]byte(key))
	binary.BigEndian.PutUint64(b[:8], h.Sum64())
	h.Write([]byte{0xa5})
	binary.BigEndian.PutUint64(b[8:], h.Sum64())
	h.Write([]byte{0x5a})
	r := float64(h.Sum64()>>11) / float64(1<<53)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return out, r
}

// appendJSONString appends s as a JSON string safe in a terminal: no byte of a key or an
// error can drive the terminal that shows a log line (jsonstr.Options.Terminal).
func appendJSONString(b []byte, s string) []byte {
	return jsonstr.Append(b, s, jsonstr.Options{Terminal: true})
}

// toAttr converts plain values to an attribute value.
func toAttr(v any) attrValue {
	switch v := v.(type) {
	case string:
		return stringValue(v)
	case int:
		return numberValue(strconv.Itoa(v))
	case bool:
		return attrValue{kind: "BOOL", bool: v}
	case map[string]any:
		m := make(map[string]attrValue, len(v))
		for k, e := range v {
			m[k] = toAttr(e)
		}
		return attrValue{kind: "M", m: m}
	case []string:
		l := []attrValue{}
		for _, e := range v {
			l = append(l, stringValue(e))
		}
		return attrValue{kind: "L", list: l}
	}
	return attrValue{kind: "NULL"}
}

// payloadError is a permanent processing failure.
type payloadError struct{ msg string }

func (e *payloadError) Error() string { return e.msg }

// failf formats a failure. Parser messages quote bytes of the payload, and the message is
// stored in the status table and shown to operators, so it is made inert first.
func failf(format string, args ...any) error {
	return &payloadError{inert(fmt.Sprintf(format, args...))}
}

// inert escapes invalid UTF-8, control characters and bidirectional overrides.
func inert(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// checkPayload parses body the way the product processor would and returns what it
// extracted, or the error kind and a message an operator can act on.
func checkPayload(contentType, contentEncoding string, body []byte) (map[string]any, string, error) {
	if len(body) == 0 {
		return nil, "validation", failf("empty payload: the request body has 0 bytes; nothing to process")
	}
	if strings.EqualFold(contentEncoding, "gzip") || bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, "parse", failf("payload is not valid gzip: %v", err)
		}
		plain, err := io.ReadAll(io.LimitReader(zr, maxProcessBytes+1))
		if err != nil {
			return nil, "parse", failf("payload is not valid gzip: %v", err)
		}
		if len(plain) > maxProcessBytes {
			return nil, "validation", failf("decompressed payload exceeds %d MiB", maxProcessBytes>>20)
		}
		body = plain
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	switch {
	case strings.HasSuffix(mt, "json"):
		return checkJSON(body)
	case strings.HasSuffix(mt, "xml"):
		return checkXML(body)
	case mt == "" || mt == "text/plain" || mt == "binary/octet-stream":
		if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
			return checkJSON(body)
		}
		if len(trimmed) > 0 && trimmed[0] == '<' {
			return checkXML(body)
		}
	}
	if contentType == "" {
		return nil, "unsupported", failf("unsupported payload without a content type: the product processor reads XML or JSON")
	}
	// Quoted: the header came from the caller.
	return nil, "unsupported", failf("unsupported content type %q: the product processor reads XML or JSON", contentType)
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(body []byte, offset int64) (int, int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	before := body[:offset]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func checkJSON(body []byte) (map[string]any, string, error) {
	var raw json.RawMessage
	if json.Valid(body) {
		// fast path: no position needed
	} else if err := json.Unmarshal(body, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Offset counts the offending byte; point at it, or just past the end.
			at := se.Offset
			if at > 0 && at <= int64(len(body)) && !strings.Contains(se.Error(), "end of JSON input") {
				at--
			}
			line, col := lineCol(body, at)
			return nil, "parse", failf("malformed JSON at line %d, column %d: %s", line, col, se.Error())
		}
		return nil, "parse", failf("malformed JSON: %v", err)
	}
	if len(body) > bigDocument {
		// Decoding a big document's head would cost as much again as validating it.
		return map[string]any{"format": "json", "kind": "document", "bytes": len(body)}, "", nil
	}
	var head struct {
		ClientID    string `json:"clientId"`
		DocumentID  string `json:"documentId"`
		Holdings    []json.RawMessage
		Risk        *struct{ Score int } `json:"riskProfile"`
		SKU         string               `json:"sku"`
		Positions   []json.RawMessage    `json:"positions"`
		Transaction []json.RawMessage    `json:"transactions"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, "validation", failf("validation failed: expected a JSON object at the top level (%v)", err)
	}
	if head.Risk != nil && (head.Risk.Score < 1 || head.Risk.Score > 10) {
		return nil, "validation", failf("validation failed: $.riskProfile.score must be between 1 and 10, got %d", head.Risk.Score)
	}
	res := map[string]any{"format": "json"}
	switch {
	case head.ClientID != "":
		res["kind"], res["clientId"], res["holdings"] = "investment-profile", head.ClientID, len(head.Holdings)
	case head.SKU != "":
		res["kind"], res["sku"] = "product", head.SKU
	default:
		res["kind"] = "document"
	}
	if head.DocumentID != "" {
		res["documentId"] = head.DocumentID
	}
	if n := len(head.Positions) + len(head.Transaction); n > 0 {
		res["records"] = n
	}
	return res, "", nil
}

func checkXML(body []byte) (map[string]any, string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	depth, elements, assets := 0, 0, 0
	root, sku, inSKU := "", "", false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, col := dec.InputPos()
			msg := err.Error()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				msg = se.Msg
			}
			return nil, "parse", failf("XML syntax error at line %d, column %d: %s", line, col, msg)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root != "" {
					line, col := dec.InputPos()
					return nil, "parse", failf("XML syntax error at line %d, column %d: more than one root element", line, col)
				}
				root = t.Name.Local
			}
			depth++
			elements++
			switch t.Name.Local {
			case "AssetCrossReference":
				assets++
			case "SKU":
				inSKU = sku == ""
			}
		case xml.EndElement:
			depth--
			inSKU = false
		case xml.CharData:
			if inSKU {
				sku += string(t)
			}
		}
	}
	if root == "" {
		line, col := dec.InputPos()
		return nil, "parse", failf("XML syntax error at line %d, column %d: no root element", line, col)
	}
	switch root {
	case "Product":
		if strings.TrimSpace(sku) == "" {
			return nil, "validation", failf("validation failed: <Product> has no <SKU>")
		}
		return map[string]any{"format": "xml", "kind": "product", "sku": strings.TrimSpace(sku), "assets": assets}, "", nil
	case "Catalog", "Products":
		return map[string]any{"format": "xml", "kind": "catalog", "elements": elements, "assets": assets}, "", nil
	}
	return nil, "validation", failf("validation failed: unexpected root element <%s>; expected <Product> or <Catalog>", root)
}
