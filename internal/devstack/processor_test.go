package devstack

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCheckPayload(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	cases := []struct {
		name, contentType, encoding string
		body                        []byte
		kind                        string // "" for success
		errHas                      string
	}{
		{"product xml", "application/xml", "", []byte("<Product>\n  <SKU>A-1</SKU>\n  <AssetCrossReference Type=\"Primary Image\"/>\n</Product>"), "", ""},
		{"json profile", "application/json; charset=utf-8", "", []byte(`{"clientId":"C-1","holdings":[{},{}]}`), "", ""},
		{"sniffed json", "", "", []byte(` {"sku":"x"}`), "", ""},
		{"gzip json", "application/json", "gzip", gz(`{"clientId":"C"}`), "", ""},
		{"mismatched tag", "application/xml", "", []byte("<Product>\n  <SKU>A</SKU>\n  <Brand>x</Brnad>\n</Product>"), "parse", "line 3, column 19"},
		{"truncated xml", "text/xml", "", []byte("<Product>\n  <SKU>A"), "parse", "line 2, column 9"},
		{"trailing comma", "application/json", "", []byte("{\n  \"a\": [1,\n  ]\n}"), "parse", "line 3, column 3"},
		{"single quotes", "application/json", "", []byte("{\n 'a': 1}"), "parse", "line 2, column 2"},
		{"truncated json", "application/json", "", []byte("{\"a\": [1, 2"), "parse", "line 1, column 12"},
		{"escape bytes in xml", "application/xml", "", []byte("<Product>\n<Name>\x1b[2J</Name></Product>"), "parse", "line 2"},
		{"empty", "application/json", "", nil, "validation", "empty payload"},
		{"binary", "application/octet-stream", "", []byte{0x89, 'P', 'N', 'G', 0, 1, 2}, "unsupported", `unsupported content type "application/octet-stream"`},
		{"bad gzip", "application/json", "gzip", []byte("not gzip"), "parse", "not valid gzip"},
		{"product without sku", "application/xml", "", []byte("<Product><Name>x</Name></Product>"), "validation", "no <SKU>"},
		{"risk score out of range", "application/json", "", []byte(`{"clientId":"C","riskProfile":{"score":14}}`), "validation", "between 1 and 10, got 14"},
		{"two roots", "application/xml", "", []byte("<Product><SKU>a</SKU></Product><Product/>"), "parse", "more than one root"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, kind, err := checkPayload(tc.contentType, tc.encoding, tc.body)
			if tc.kind == "" {
				if err != nil || res == nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if err == nil || kind != tc.kind || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("got kind %q error %v; want kind %q with %q", kind, err, tc.kind, tc.errHas)
			}
			if strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("error message carries a raw escape byte: %q", err)
			}
		})
	}
}

func FuzzCheckPayload(f *testing.F) {
	g := &payloads{rng: newTestRand(1)}
	for _, k := range []string{KindProductXML, KindProfileJSON, KindMalformedXML, KindMalformedJSON, KindGzip, KindEscapes} {
		b, ct, ce := g.make(k)
		f.Add(ct, ce, b)
	}
	f.Fuzz(func(t *testing.T, contentType, encoding string, body []byte) {
		_, kind, err := checkPayload(contentType, encoding, body)
		if err != nil {
			if kind == "" {
				t.Fatalf("error without a kind: %v", err)
			}
			// Errors end up in the status table and on operators' screens.
			msg := err.Error()
			if !utf8.ValidString(msg) {
				t.Fatalf("invalid UTF-8 in a %s error: %q", kind, msg)
			}
			for _, r := range msg {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Fatalf("control character %U in a %s error: %q", r, kind, msg)
				}
			}
			if kind == "parse" && strings.Contains(err.Error(), "syntax error at") && !strings.Contains(err.Error(), "line ") {
				t.Fatalf("parse error without a position: %v", err)
			}
		}
	})
}

// findSeeded returns a seeded request whose status matches.
func findSeeded(t *testing.T, st *Stack, match func(SeedRequest, StatusItem, bool) bool) SeedRequest {
	t.Helper()
	for _, r := range st.Seeded() {
		s, ok := st.Status(r.Key)
		if match(r, s, ok) {
			return r
		}
	}
	t.Fatal("no seeded request matches")
	return SeedRequest{}
}

// redriveInPlace sends the stored body again on the in-place route, like stowage does.
func redriveInPlace(t *testing.T, st *Stack, r SeedRequest) {
	t.Helper()
	obj, err := st.backend.GetObject(st.Bucket, r.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(obj.Contents)
	call := gatewayCall{"PUT", GatewayStage + "/product/" + st.Bucket + "/" + escapeSegment(r.Key), st.APIKey, r.ContentType, body.Bytes(),
		map[string]string{HeaderRedriveID: "redrive-1", "Content-Encoding": r.ContentEncoding}}
	if resp, b := call.do(t, st); resp.StatusCode != 200 {
		t.Fatalf("redrive %s: %d %s", r.Key, resp.StatusCode, b)
	}
	if err := st.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

func TestRedriveMarksTransientFailuresProcessed(t *testing.T) {
	st := startStack(t, Options{Seed: 21, Requests: 200})
	r := findSeeded(t, st, func(r SeedRequest, s StatusItem, ok bool) bool {
		return ok && s.State == StateFailed && s.Attempts == 1 && strings.Contains(s.Error, "inventory")
	})
	redriveInPlace(t, st, r)
	s, ok := st.Status(r.Key)
	if !ok || s.State != StateProcessed || s.Attempts != 2 || s.Error != "" {
		t.Errorf("after redrive: %+v, want PROCESSED with 2 attempts and no error", s)
	}
	if !s.UpdatedAt.Equal(testNow) {
		t.Errorf("updatedAt %v, want the stack's clock %v", s.UpdatedAt, testNow)
	}
}

func TestRedriveFailsParseErrorsAgain(t *testing.T) {
	st := startStack(t, Options{Seed: 21, Requests: 200})
	r := findSeeded(t, st, func(r SeedRequest, s StatusItem, ok bool) bool {
		return ok && s.State == StateFailed && strings.Contains(s.Error, "line ")
	})
	first, _ := st.Status(r.Key)
	for i := 1; i <= 2; i++ {
		redriveInPlace(t, st, r)
		s, _ := st.Status(r.Key)
		if s.State != StateFailed || s.Error != first.Error || s.Attempts != first.Attempts+i {
			t.Errorf("redrive %d: %+v, want FAILED %q with attempts %d", i, s, first.Error, first.Attempts+i)
		}
	}
}

func TestLostRequestsGetAStatusWhenRedriven(t *testing.T) {
	st := startStack(t, Options{Seed: 21, Requests: 200})
	r := findSeeded(t, st, func(r SeedRequest, s StatusItem, ok bool) bool {
		return !ok && (r.Kind == KindProductXML || r.Kind == KindProfileJSON)
	})
	redriveInPlace(t, st, r)
	if s, ok := st.Status(r.Key); !ok || s.State != StateProcessed || s.Attempts != 1 {
		t.Errorf("lost request after redrive: %+v %v, want PROCESSED", s, ok)
	}
}

func TestSeededStatusesMatchTheLiveProcessor(t *testing.T) {
	// Every seeded status must be what the processor says about the stored bytes.
	st := startStack(t, Options{Seed: 9, Requests: 150})
	for _, r := range st.Seeded() {
		s, ok := st.Status(r.Key)
		if !ok {
			if chance(st.opts.Seed, r.Key, "lost") >= st.opts.LostRatio {
				t.Errorf("%s has no status but was not lost", r.Key)
			}
			continue
		}
		obj, err := st.backend.GetObject(st.Bucket, r.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(obj.Contents)
		_, _, err = checkPayload(obj.Metadata["Content-Type"], obj.Metadata["Content-Encoding"], body.Bytes())
		from, to := st.SeededOutage()
		inOutage := !s.UpdatedAt.Before(from) && s.UpdatedAt.Before(to)
		switch {
		case err != nil && (s.State != StateFailed || s.Error != err.Error()):
			t.Errorf("%s: status %+v, processor says %v", r.Key, s, err)
		case err == nil && inOutage && (s.State != StateFailed || !strings.HasPrefix(s.Error, OutageService+" unavailable: 503")):
			t.Errorf("%s: status %+v for a valid payload during the outage", r.Key, s)
		case err == nil && !inOutage && s.State == StateFailed && !strings.Contains(s.Error, "inventory-service"):
			t.Errorf("%s: status %+v for a valid payload", r.Key, s)
		}
	}
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// KindInvalid payloads are well-formed: they fail validation, not parsing.
func TestInvalidSeedsFailValidation(t *testing.T) {
	g := &payloads{rng: newTestRand(2)}
	for i := range 20 {
		body, ct, ce := g.make(KindInvalid)
		if _, kind, err := checkPayload(ct, ce, body); kind != "validation" {
			t.Fatalf("invalid payload %d: kind %q (%v), want a validation failure", i, kind, err)
		}
	}
}

// captureSink keeps every log line written to it.
type captureSink struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	group string
	at    time.Time
	msg   string
}

func (c *captureSink) put(group string, at time.Time, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, logLine{group, at, msg})
}

var (
	awsIDRE     = regexp.MustCompile(`RequestId: ([0-9a-f-]{36})|"awsRequestId":"([0-9a-f-]{36})"`)
	uuidV4RE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reportRE    = regexp.MustCompile(`^REPORT RequestId: ([0-9a-f-]{36})\tDuration: ([0-9]+\.[0-9]{2}) ms\tBilled Duration: ([0-9]+) ms\tMemory Size: 512 MB\tMax Memory Used: ([0-9]+) MB$`)
	requestIDRE = regexp.MustCompile(`"requestId":("(?:[^"\\]|\\.)*")`)
)

// invocations groups the processor's lines about request key by Lambda invocation, in
// order.
func (c *captureSink) invocations(t *testing.T, key string) [][]logLine {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	byID := map[string][]logLine{}
	var order []string
	var mine = map[string]bool{}
	for _, l := range c.lines {
		if l.group != ProcessorLogGroup {
			t.Fatalf("line in group %q: %s", l.group, l.msg)
		}
		m := awsIDRE.FindStringSubmatch(l.msg)
		if m == nil {
			t.Fatalf("line without an awsRequestId: %s", l.msg)
		}
		id := m[1] + m[2]
		if _, ok := byID[id]; !ok {
			order = append(order, id)
		}
		byID[id] = append(byID[id], l)
		if r := requestIDRE.FindStringSubmatch(l.msg); r != nil {
			var got string
			if err := json.Unmarshal([]byte(r[1]), &got); err != nil {
				t.Fatalf("requestId of %s: %v", l.msg, err)
			}
			if got == key {
				mine[id] = true
			}
		}
	}
	var out [][]logLine
	for _, id := range order {
		if mine[id] {
			out = append(out, byID[id])
		}
	}
	return out
}

// checkInvocation checks the shape of one invocation's lines and returns its JSON lines
// after the "processing" one: the result line.
func checkInvocation(t *testing.T, ls []logLine, key string, at time.Time, redelivery bool) map[string]any {
	t.Helper()
	if len(ls) != 5 {
		var msgs []string
		for _, l := range ls {
			msgs = append(msgs, l.msg)
		}
		t.Fatalf("%d lines, want START, processing, the result, END and REPORT:\n%s", len(ls), strings.Join(msgs, "\n"))
	}
	id := awsIDRE.FindStringSubmatch(ls[0].msg)[1]
	if !uuidV4RE.MatchString(id) {
		t.Errorf("awsRequestId %q is not a version 4 UUID", id)
	}
	if ls[0].msg != "START RequestId: "+id+" Version: $LATEST" || ls[3].msg != "END RequestId: "+id {
		t.Errorf("START/END lines:\n%s\n%s", ls[0].msg, ls[3].msg)
	}
	m := reportRE.FindStringSubmatch(ls[4].msg)
	if m == nil {
		t.Fatalf("REPORT line %q", ls[4].msg)
	}
	ms, _ := strconv.ParseFloat(m[2], 64)
	billed, _ := strconv.Atoi(m[3])
	if billed != int(math.Ceil(ms)) || ms <= 0 {
		t.Errorf("REPORT %q: billed %d for %.2f ms", ls[4].msg, billed, ms)
	}
	for _, l := range ls {
		if !l.at.Equal(at) {
			t.Errorf("line at %v, want the delivery's time %v: %s", l.at, at, l.msg)
		}
	}
	stamp := at.UTC().Format("2006-01-02T15:04:05.000Z")
	var proc map[string]any
	if err := json.Unmarshal([]byte(ls[1].msg), &proc); err != nil {
		t.Fatalf("processing line %q: %v", ls[1].msg, err)
	}
	want := map[string]any{"timestamp": stamp, "level": "INFO", "requestId": key, "awsRequestId": id,
		"message": "processing", "bucket": DefaultBucket, "key": key, "redelivery": redelivery}
	if fmt.Sprint(proc) != fmt.Sprint(want) {
		t.Errorf("processing line %v, want %v", proc, want)
	}
	if !strings.HasPrefix(ls[1].msg, `{"timestamp":"`+stamp+`","level":"INFO","requestId":`) ||
		!strings.HasPrefix(ls[2].msg, `{"timestamp":"`+stamp+`","level":`) {
		t.Errorf("field order: %s\n%s", ls[1].msg, ls[2].msg)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(ls[2].msg), &res); err != nil {
		t.Fatalf("result line %q: %v", ls[2].msg, err)
	}
	if res["requestId"] != key || res["awsRequestId"] != id || res["timestamp"] != stamp {
		t.Errorf("result line %v", res)
	}
	return res
}

// The processor logs each delivery as a Lambda with structured JSON logging would, in
// the agreed format, at the delivery's time.
func TestProcessorLogLines(t *testing.T) {
	st := startStack(t, Options{Seed: 3, Requests: -1})
	sink := &captureSink{}
	st.proc.logs = sink
	arrive := func(fail string) SeedRequest {
		rs, err := st.Arrive(context.Background(), 1, fail)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0]
	}
	ok, bad, lost := arrive(FailNone), arrive(FailParse), arrive(FailLost)
	settle(t, st)

	inv := sink.invocations(t, ok.Key)
	if len(inv) != 1 {
		t.Fatalf("%d invocations for one delivery", len(inv))
	}
	res := checkInvocation(t, inv[0], ok.Key, testNow, false)
	if res["level"] != "INFO" || res["message"] != "processed" || res["status"] != StateProcessed {
		t.Errorf("success line %v", res)
	}

	failed, _ := st.Status(bad.Key)
	res = checkInvocation(t, sink.invocations(t, bad.Key)[0], bad.Key, testNow, false)
	if res["level"] != "ERROR" || res["errorType"] != "parse" || res["message"] != failed.Error {
		t.Errorf("failure line %v, want the status error %q", res, failed.Error)
	}
	redriveInPlace(t, st, bad)
	inv = sink.invocations(t, bad.Key)
	if len(inv) != 2 {
		t.Fatalf("%d invocations after a redrive, want 2", len(inv))
	}
	res = checkInvocation(t, inv[1], bad.Key, testNow, true)
	if res["errorType"] != "parse" || res["message"] != failed.Error {
		t.Errorf("redelivery's failure line %v", res)
	}
	first, second := awsIDRE.FindStringSubmatch(inv[0][0].msg)[1], awsIDRE.FindStringSubmatch(inv[1][0].msg)[1]
	if first == second || first != lambdaRequestID(3, bad.Key, 1) || second != lambdaRequestID(3, bad.Key, 2) {
		t.Errorf("awsRequestIds %s and %s, want one per delivery from the seed", first, second)
	}

	res = checkInvocation(t, sink.invocations(t, lost.Key)[0], lost.Key, testNow, false)
	if res["level"] != "ERROR" || res["message"] != "Runtime exited with error: signal: killed" {
		t.Errorf("crash line %v", res)
	}

	if err := st.InjectFailure(ok.Key, "downstream timeout: tax-service did not answer within 5000 ms"); err != nil {
		t.Fatal(err)
	}
	inv = sink.invocations(t, ok.Key)
	res = checkInvocation(t, inv[len(inv)-1], ok.Key, testNow, true)
	if res["errorType"] != "injected" || res["message"] != "downstream timeout: tax-service did not answer within 5000 ms" {
		t.Errorf("injected failure line %v", res)
	}
}

// derivedLines is the seeded week's processor lines, as CloudWatch Logs derives them.
func derivedLines(st *Stack) *captureSink {
	sink := &captureSink{}
	st.logs().seeded.each(ProcessorLogGroup, 0, 1<<62, cwPos{}, nil, nil, func(e cwEvent) bool {
		sink.put(ProcessorLogGroup, time.UnixMilli(e.at), e.msg)
		return true
	})
	return sink
}

// Seeded deliveries log at their seeded times: the last one of a request at its status's
// updatedAt.
func TestSeededDeliveriesLogAtTheirTimes(t *testing.T) {
	st := startStack(t, Options{Seed: 4, Requests: 120})
	sink := derivedLines(st)
	for _, r := range st.Seeded() {
		inv := sink.invocations(t, r.Key)
		s, ok := st.Status(r.Key)
		want := 1
		if !r.Redriven.IsZero() {
			want = 2
		}
		if len(inv) != want {
			t.Errorf("%s: %d invocations, want %d", r.Key, len(inv), want)
			continue
		}
		for _, ls := range inv {
			if ls[0].at.Before(r.Created) || ls[0].at.After(testNow) {
				t.Errorf("%s created %v logged at %v", r.Key, r.Created, ls[0].at)
			}
		}
		last := inv[len(inv)-1]
		res := checkInvocation(t, last, r.Key, last[0].at, want == 2)
		switch {
		case !ok && res["message"] != "Runtime exited with error: signal: killed":
			t.Errorf("%s has no status but logged %v", r.Key, res)
		case ok && !last[0].at.Equal(s.UpdatedAt):
			t.Errorf("%s logged at %v, its status says %v", r.Key, last[0].at, s.UpdatedAt)
		case ok && s.State == StateFailed && res["message"] != s.Error:
			t.Errorf("%s logged %v, its status says %q", r.Key, res, s.Error)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "café/crème brûlée.xml", "\x1b[2J\x07\u202e\u2028\x85", "\xff\xfe", `"quoted" \ back`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q encodes as %s: %v", s, out, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q round-trips as %q", s, back)
		}
		for _, r := range string(out) {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("%q encodes with a raw %U: %s", s, r, out)
			}
		}
	})
}

// discardSink is a real sink that keeps nothing: what formatting the lines costs.
type discardSink struct{ n int }

func (d *discardSink) put(_ string, _ time.Time, msg string) { d.n += len(msg) }

func BenchmarkLogDelivery(b *testing.B) {
	p := &processor{seed: 1, logs: &discardSink{}}
	ev := objectEvent{Bucket: DefaultBucket, Key: "9b2f0c4e-5d1a-4c8e-9f3b-2a7d6e1c0b9a"}
	o := outcome{state: StateFailed, kind: "parse", err: "XML syntax error at line 11, column 7: unexpected EOF"}
	for b.Loop() {
		p.logDelivery(ev, testNow, 1, false, 1200, o)
	}
}
