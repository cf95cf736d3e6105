package devstack

import (
	"cmp"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The CloudWatch Logs emulator: the demo's processor and gateway write their lines to it
// (logSink), and stowage trace reads them with the SDK's cloudwatchlogs client. It speaks
// AWS JSON 1.1 (X-Amz-Target: Logs_20140328.<Op>) and models:
//
//   - DescribeLogGroups: logGroupNamePrefix, limit (1-50), nextToken.
//   - FilterLogEvents: logGroupName or logGroupIdentifier (name or ARN), startTime and
//     endTime (ms, both inclusive as AWS documents them), filterPattern (cwlogs_filter.go), limit
//     (1-10000, default 10000), nextToken; a page also ends at 1 MB of messages. Events come
//     oldest first; logStreamNames and interleaved are accepted and ignored.
//   - StartQuery / GetQueryResults / StopQuery (Logs Insights) for the queries stowage
//     sends (cwlogs_insights.go): fields, filter @message like /re/ or "text", sort
//     @timestamp, limit. A query answers Running for LogsFaults.QueryPolls polls, then
//     Complete with its results and statistics.
//   - Errors as AWS documents them, HTTP 400 with {"__type": ..., "message": ...}:
//     ResourceNotFoundException (a group that does not exist), InvalidParameterException
//     (a bad pattern, limit or token), MalformedQueryException, AccessDeniedException and
//     ThrottlingException (LogsFaults), UnknownOperationException.
//
// No real CloudWatch Logs server can run on this machine, so unlike the DynamoDB emulator
// there is no contract suite against a reference: the shapes follow the API reference and
// the SDK's own deserializers (the tests use the SDK client).
//
// The seeded week's lines are not stored: seeded_logs.go derives them from the seeded
// requests when a read asks (a million requests would be six million lines), and every
// read merges them, in (time, sequence) order, with the lines stored since. A filter that
// names a seeded request's ID reads that request's lines alone; any other pattern reads
// the window's lines in time order, a page's worth at a time.
//
// Memory is bounded: each group keeps its newest maxGroupEvents stored lines and at most
// maxGroupBytes of messages; older lines are dropped (counted in the group's dropped
// count), as a retention period would. DescribeLogGroups' storedBytes counts the stored
// lines only.

const (
	maxGroupEvents = 250000
	maxGroupBytes  = 32 << 20
	// maxFilterPage is FilterLogEvents' page limit (events and bytes).
	maxFilterPage      = 10000
	maxFilterPageBytes = 1 << 20
)

// LogsFaults make the CloudWatch Logs emulator misbehave, for tests and demos.
type LogsFaults struct {
	// Deny answers AccessDeniedException to these actions ("logs:FilterLogEvents",
	// "logs:StartQuery", "logs:DescribeLogGroups"), on every group or, when DenyGroups is
	// set, only on those groups.
	Deny       []string
	DenyGroups []string
	// Throttle answers ThrottlingException to the next Throttle calls.
	Throttle int
	// Latency is added before every answer.
	Latency time.Duration
	// QueryPolls is how many GetQueryResults calls answer Running before Complete.
	QueryPolls int
	// QueryNeverCompletes keeps every query Running.
	QueryNeverCompletes bool
	// ForgetQueries answers GetQueryResults as for a query CloudWatch no longer keeps.
	ForgetQueries bool
}

// cwEvent is one stored line.
type cwEvent struct {
	at     int64 // ms since the epoch
	seq    uint64
	stream string
	msg    string
}

// cwPos is a place in a group's (time, sequence) order: the last event of a page.
type cwPos struct {
	at  int64
	seq uint64
	set bool
}

// before reports whether e comes after the position (every event does when it is unset).
func (p cwPos) before(e cwEvent) bool {
	return !p.set || e.at > p.at || e.at == p.at && e.seq > p.seq
}

// cwCompare orders events by time, then sequence.
func cwCompare(a, b cwEvent) int {
	switch {
	case a.at != b.at:
		return cmp.Compare(a.at, b.at)
	default:
		return cmp.Compare(a.seq, b.seq)
	}
}

// cwGroup is one log group: a ring of its newest lines in arrival order.
type cwGroup struct {
	name    string
	created int64
	events  []cwEvent // ring of at most maxGroupEvents
	head    int       // index of the oldest when the ring is full
	bytes   int64
	dropped int64
	// day and stream cache the stream name of the last line's day.
	day    int64
	stream string
}

func (g *cwGroup) add(e cwEvent) {
	g.bytes += int64(len(e.msg))
	if len(g.events) < maxGroupEvents {
		g.events = append(g.events, e)
	} else {
		old := g.events[g.head]
		g.bytes -= int64(len(old.msg))
		g.events[g.head] = e
		g.head = (g.head + 1) % len(g.events)
		g.dropped++
	}
	for g.bytes > maxGroupBytes && len(g.events) > 0 {
		// Past the byte cap: forget the oldest (the ring becomes a slice again).
		ordered := g.ordered()
		cut := 0
		for g.bytes > maxGroupBytes*9/10 && cut < len(ordered) {
			g.bytes -= int64(len(ordered[cut].msg))
			cut++
		}
		g.dropped += int64(cut)
		g.events = append([]cwEvent(nil), ordered[cut:]...)
		g.head = 0
	}
}

// ordered is the group's lines in arrival order (shared storage when not wrapped).
func (g *cwGroup) ordered() []cwEvent {
	if g.head == 0 {
		return g.events
	}
	return append(append([]cwEvent(nil), g.events[g.head:]...), g.events[:g.head]...)
}

// cwLogs is the emulator's state.
type cwLogs struct {
	region, account string

	mu      sync.Mutex
	groups  map[string]*cwGroup
	seq     uint64
	faults  LogsFaults
	queries map[string]*cwQuery
	qorder  []string
	calls   map[string]int // by operation, for tests
	// seeded derives the seeded week's lines (seeded_logs.go); nil when not seeded. It is
	// set before the server starts and never changes.
	seeded *seededLogs
}

func newCWLogs(region string, groups ...string) *cwLogs {
	l := &cwLogs{region: region, account: "000000000000", groups: map[string]*cwGroup{},
		queries: map[string]*cwQuery{}, calls: map[string]int{}, seq: storedSeq}
	for _, g := range groups {
		l.createGroup(g, time.Time{})
	}
	return l
}

func (l *cwLogs) createGroup(name string, at time.Time) *cwGroup {
	g := l.groups[name]
	if g == nil {
		g = &cwGroup{name: name, created: at.UnixMilli()}
		if at.IsZero() {
			g.created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		}
		l.groups[name] = g
	}
	return g
}

// put stores one line (logSink).
func (l *cwLogs) put(group string, at time.Time, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.createGroup(group, at)
	l.seq++
	ms := at.UnixMilli()
	if day := ms / 86400000; g.stream == "" || day != g.day {
		g.day, g.stream = day, streamName(group, at)
	}
	g.add(cwEvent{at: ms, seq: l.seq, stream: g.stream, msg: message})
}

// streamName is a stream as Lambda and API Gateway name them: one a day per group here.
func streamName(group string, at time.Time) string {
	day := at.UTC().Format("2006/01/02")
	sum := sha1.Sum([]byte(group + day))
	if strings.HasPrefix(group, "/aws/lambda/") {
		return day + "/[$LATEST]" + hex.EncodeToString(sum[:16])
	}
	return hex.EncodeToString(sum[:16])
}

func (l *cwLogs) setFaults(f LogsFaults) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = f
}

// callCount is how many calls of op the emulator answered (tests).
func (l *cwLogs) callCount(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[op]
}

func (l *cwLogs) groupARN(name string) string {
	return "arn:aws:logs:" + l.region + ":" + l.account + ":log-group:" + name
}

// cwError is an error answer.
type cwError struct {
	code, msg string
	status    int
}

func (e *cwError) Error() string { return e.code + ": " + e.msg }

func cwErr(code, format string, args ...any) *cwError {
	return &cwError{code: code, msg: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

func (l *cwLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "Logs_20140328.")
	if r.Method != http.MethodPost || !ok {
		writeCWError(w, &cwError{code: "UnknownOperationException", msg: "Unknown operation " + target, status: http.StatusBadRequest})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeCWError(w, cwErr("SerializationException", "could not read the request"))
		return
	}
	l.mu.Lock()
	f := l.faults
	l.calls[op]++
	throttled := false
	if l.faults.Throttle > 0 {
		l.faults.Throttle--
		throttled = true
	}
	l.mu.Unlock()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if throttled {
		writeCWError(w, cwErr("ThrottlingException", "Rate exceeded"))
		return
	}
	var out any
	switch op {
	case "DescribeLogGroups":
		out, err = l.describeLogGroups(body, f)
	case "FilterLogEvents":
		out, err = l.filterLogEvents(body, f)
	case "StartQuery":
		out, err = l.startQuery(body, f)
	case "GetQueryResults":
		out, err = l.getQueryResults(body, f)
	case "StopQuery":
		out, err = l.stopQuery(body)
	default:
		err = &cwError{code: "UnknownOperationException", msg: "Operation " + op + " is not modelled by the stowage demo", status: http.StatusBadRequest}
	}
	if err != nil {
		ce, ok := err.(*cwError)
		if !ok {
			ce = cwErr("InvalidParameterException", "%v", err)
		}
		writeCWError(w, ce)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", cwUUID())
	json.NewEncoder(w).Encode(out)
}

func writeCWError(w http.ResponseWriter, e *cwError) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("x-amzn-RequestId", cwUUID())
	h.Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.msg})
}

// deny answers AccessDeniedException when the faults deny action on group.
func (l *cwLogs) deny(f LogsFaults, action, group string) error {
	hit := false
	for _, a := range f.Deny {
		hit = hit || a == action
	}
	if !hit {
		return nil
	}
	if len(f.DenyGroups) > 0 {
		on := false
		for _, g := range f.DenyGroups {
			on = on || g == group
		}
		if !on {
			return nil
		}
	}
	// An action on no one group (DescribeLogGroups) is denied on an empty group and stream,
	// as AWS words it.
	res := "arn:aws:logs:" + l.region + ":" + l.account + ":log-group::log-stream:"
	if group != "" {
		res = l.groupARN(group) + ":*"
	}
	return cwErr("AccessDeniedException", "User: arn:aws:iam::%s:user/demo is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		l.account, action, res, action)
}

// groupOf resolves a logGroupName or logGroupIdentifier (a name or an ARN).
func (l *cwLogs) groupOf(name, ident string) (string, error) {
	if name != "" && ident != "" {
		return "", cwErr("InvalidParameterException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	}
	if name == "" {
		name = ident
		if i := strings.Index(ident, ":log-group:"); strings.HasPrefix(ident, "arn:") && i >= 0 {
			name = strings.TrimSuffix(ident[i+len(":log-group:"):], ":*")
		}
	}
	if name == "" {
		return "", cwErr("InvalidParameterException", "Either LogGroupName or LogGroupIdentifier must be specified.")
	}
	return name, nil
}

type describeIn struct {
	LogGroupNamePrefix string `json:"logGroupNamePrefix"`
	Limit              *int   `json:"limit"`
	NextToken          string `json:"nextToken"`
}

type logGroupOut struct {
	LogGroupName  string `json:"logGroupName"`
	CreationTime  int64  `json:"creationTime"`
	StoredBytes   int64  `json:"storedBytes"`
	Arn           string `json:"arn"`
	LogGroupArn   string `json:"logGroupArn"`
	LogGroupClass string `json:"logGroupClass"`
}

func (l *cwLogs) describeLogGroups(body []byte, f LogsFaults) (any, error) {
	var in describeIn
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, cwErr("SerializationException", "%v", err)
	}
	if err := l.deny(f, "logs:DescribeLogGroups", ""); err != nil {
		return nil, err
	}
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, cwErr("InvalidParameterException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 50", *in.Limit)
		}
		limit = *in.Limit
	}
	l.mu.Lock()
	var names []string
	for n := range l.groups {
		if strings.HasPrefix(n, in.LogGroupNamePrefix) && n > in.NextToken {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := struct {
		LogGroups []logGroupOut `json:"logGroups"`
		NextToken string        `json:"nextToken,omitempty"`
	}{LogGroups: []logGroupOut{}}
	for i, n := range names {
		if i == limit {
			out.NextToken = names[i-1]
			break
		}
		g := l.groups[n]
		arn := l.groupARN(n)
		out.LogGroups = append(out.LogGroups, logGroupOut{LogGroupName: n, CreationTime: g.created, StoredBytes: g.bytes,
			Arn: arn + ":*", LogGroupArn: arn, LogGroupClass: "STANDARD"})
	}
	l.mu.Unlock()
	return out, nil
}

type filterIn struct {
	LogGroupName       string   `json:"logGroupName"`
	LogGroupIdentifier string   `json:"logGroupIdentifier"`
	LogStreamNames     []string `json:"logStreamNames"`
	StartTime          *int64   `json:"startTime"`
	EndTime            *int64   `json:"endTime"`
	FilterPattern      string   `json:"filterPattern"`
	NextToken          string   `json:"nextToken"`
	Limit              *int     `json:"limit"`
}

type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

// filterToken continues a FilterLogEvents after the event (at, seq) of the same query.
type filterToken struct {
	At    int64  `json:"a"`
	Seq   uint64 `json:"s"`
	Query string `json:"q"`
}

func (l *cwLogs) filterLogEvents(body []byte, f LogsFaults) (any, error) {
	var in filterIn
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, cwErr("SerializationException", "%v", err)
	}
	name, err := l.groupOf(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := l.deny(f, "logs:FilterLogEvents", name); err != nil {
		return nil, err
	}
	limit := maxFilterPage
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > maxFilterPage {
			return nil, cwErr("InvalidParameterException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", *in.Limit)
		}
		limit = *in.Limit
	}
	start, end := int64(0), int64(1)<<62
	if in.StartTime != nil {
		start = *in.StartTime
	}
	if in.EndTime != nil {
		end = *in.EndTime
	}
	if end < start {
		return nil, cwErr("InvalidParameterException", "endTime must be greater than or equal to startTime")
	}
	pat, err := parseFilterPattern(in.FilterPattern)
	if err != nil {
		return nil, cwErr("InvalidParameterException", "%v", err)
	}
	query := fmt.Sprintf("%s|%d|%d|%s", name, start, end, in.FilterPattern)
	var after cwPos
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		var tok filterToken
		if err != nil || json.Unmarshal(raw, &tok) != nil || tok.Query != hashQuery(query) {
			return nil, cwErr("InvalidParameterException", "The specified nextToken is invalid.")
		}
		after = cwPos{at: tok.At, seq: tok.Seq, set: true}
	}

	l.mu.Lock()
	g := l.groups[name]
	if g == nil {
		l.mu.Unlock()
		return nil, cwErr("ResourceNotFoundException", "The specified log group does not exist.")
	}
	var hits []cwEvent
	for _, e := range g.events {
		if e.at >= start && e.at <= end && after.before(e) && pat.match(e.msg) {
			hits = append(hits, e)
		}
	}
	l.mu.Unlock()
	if l.seeded != nil {
		// The page needs at most limit+1 of the derived lines, read in order.
		n := 0
		l.seeded.each(name, start, end, after, pat.need, pat.any, func(e cwEvent) bool {
			if pat.match(e.msg) {
				hits = append(hits, e)
				n++
			}
			return n <= limit
		})
	}
	slices.SortFunc(hits, cwCompare)
	out := struct {
		Events             []filteredEvent `json:"events"`
		SearchedLogStreams []any           `json:"searchedLogStreams"`
		NextToken          string          `json:"nextToken,omitempty"`
	}{Events: []filteredEvent{}, SearchedLogStreams: []any{}}
	size := 0
	for i, e := range hits {
		if i == limit || size+len(e.msg) > maxFilterPageBytes && i > 0 {
			last := hits[i-1]
			raw, _ := json.Marshal(filterToken{At: last.at, Seq: last.seq, Query: hashQuery(query)})
			out.NextToken = base64.RawURLEncoding.EncodeToString(raw)
			break
		}
		size += len(e.msg)
		out.Events = append(out.Events, filteredEvent{LogStreamName: e.stream, Timestamp: e.at, Message: e.msg,
			IngestionTime: e.at + 180, EventID: eventID(e)})
	}
	return out, nil
}

func hashQuery(q string) string {
	sum := sha1.Sum([]byte(q))
	return hex.EncodeToString(sum[:8])
}

// eventID is a 56-digit ID like CloudWatch's, unique per line.
func eventID(e cwEvent) string {
	s := strconv.FormatUint(uint64(e.at), 10) + fmt.Sprintf("%020d", e.seq)
	for len(s) < 56 {
		s += "0"
	}
	return s[:56]
}
