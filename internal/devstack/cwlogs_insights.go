package devstack

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The Logs Insights subset the emulator runs: commands joined by |, each one of
//
//	fields @timestamp, @message, @logStream, @log   (other fields come back empty)
//	filter @message like /regexp/                   (also like "text", or several joined by or)
//	sort @timestamp asc|desc
//	limit N                                         (1-10000)
//
// which is what stowage trace sends:
//
//	fields @timestamp, @message, @logStream, @log | filter @message like /ID/ | sort @timestamp asc | limit 10000
//
// Anything else is a MalformedQueryException, as CloudWatch answers a query it cannot
// compile. Results hold @ptr as CloudWatch's do.

func cwUUID() string { return uuid.NewString() }

// insightsQuery is a compiled query.
type insightsQuery struct {
	fields []string
	likes  []*regexp.Regexp // any matches
	desc   bool
	limit  int
}

// cwQuery is a started query.
type cwQuery struct {
	status  string
	polls   int
	results [][]map[string]string
	scanned int
	bytes   int64
	matched int
}

const maxInsightsLimit = 10000

// maxQueries bounds the queries remembered for GetQueryResults.
const maxQueries = 1000

// Compiled on first use: every stowage command links the demo (#13).
var (
	likeRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^@message\s+like\s+(/(?:[^/\\]|\\.)*/|"[^"]*"|'[^']*')$`)
	})
	fieldRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^@?[A-Za-z_][A-Za-z0-9_.]*$`) })
)

func parseInsights(q string) (*insightsQuery, error) {
	out := &insightsQuery{limit: maxInsightsLimit}
	bad := func(why string) error {
		return cwErr("MalformedQueryException", "%s", why)
	}
	if strings.TrimSpace(q) == "" {
		return nil, bad("the query is empty")
	}
	for _, part := range splitPipes(q) {
		cmd := strings.TrimSpace(part)
		word, rest, _ := strings.Cut(cmd, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(word) {
		case "fields":
			for _, f := range strings.Split(rest, ",") {
				f = strings.TrimSpace(f)
				if !fieldRe().MatchString(f) {
					return nil, bad("unexpected field " + strconv.Quote(f) + " in fields")
				}
				out.fields = append(out.fields, f)
			}
		case "filter":
			for _, alt := range strings.Split(rest, " or ") {
				m := likeRe().FindStringSubmatch(strings.TrimSpace(alt))
				if m == nil {
					return nil, bad("this emulator understands only filter @message like /regexp/ or \"text\"")
				}
				pat := m[1]
				var re *regexp.Regexp
				var err error
				if pat[0] == '/' {
					re, err = regexp.Compile(pat[1 : len(pat)-1])
				} else {
					re, err = regexp.Compile(regexp.QuoteMeta(pat[1 : len(pat)-1]))
				}
				if err != nil {
					return nil, bad("invalid regular expression: " + err.Error())
				}
				out.likes = append(out.likes, re)
			}
		case "sort":
			switch strings.Join(strings.Fields(rest), " ") {
			case "@timestamp", "@timestamp desc":
				out.desc = true // CloudWatch's default order is descending
			case "@timestamp asc":
				out.desc = false
			default:
				return nil, bad("this emulator sorts by @timestamp only")
			}
		case "limit":
			n, err := strconv.Atoi(rest)
			if err != nil || n < 1 || n > maxInsightsLimit {
				return nil, bad("limit must be a number from 1 to 10000")
			}
			out.limit = n
		default:
			return nil, bad("unexpected command " + strconv.Quote(word))
		}
	}
	if len(out.fields) == 0 {
		out.fields = []string{"@timestamp", "@message"}
	}
	return out, nil
}

// literals is the texts one of which every line the query matches contains, when its
// filters are plain texts (like "text", or /a|b/ with no other special character); nil
// otherwise.
func (q *insightsQuery) literals() []string {
	var out []string
	for _, re := range q.likes {
		for _, alt := range strings.Split(re.String(), "|") {
			re, err := regexp.Compile(alt) // a | inside (...) or escaped splits wrongly: no literal
			if err != nil {
				return nil
			}
			lit, complete := re.LiteralPrefix()
			if !complete || lit == "" {
				return nil
			}
			out = append(out, lit)
		}
	}
	return out
}

// splitPipes splits on | outside /regexp/ and quotes.
func splitPipes(q string) []string {
	var parts []string
	var quote byte
	start := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '/' || c == '"' || c == '\''):
			quote = c
		case quote == 0 && c == '|':
			parts = append(parts, q[start:i])
			start = i + 1
		}
	}
	return append(parts, q[start:])
}

type startQueryIn struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupNames       []string `json:"logGroupNames"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	QueryString         string   `json:"queryString"`
	Limit               *int     `json:"limit"`
}

func (l *cwLogs) startQuery(body []byte, f LogsFaults) (any, error) {
	var in startQueryIn
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, cwErr("SerializationException", "%v", err)
	}
	var names []string
	if in.LogGroupName != "" {
		names = append(names, in.LogGroupName)
	}
	names = append(names, in.LogGroupNames...)
	for _, id := range in.LogGroupIdentifiers {
		n, _ := l.groupOf("", id)
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, cwErr("InvalidParameterException", "Log group names or identifiers must be specified.")
	}
	if len(names) > 50 {
		return nil, cwErr("InvalidParameterException", "A query can search at most 50 log groups.")
	}
	if in.StartTime == nil || in.EndTime == nil || *in.EndTime < *in.StartTime {
		return nil, cwErr("InvalidParameterException", "startTime and endTime are required, and endTime must not be before startTime.")
	}
	q, err := parseInsights(in.QueryString)
	if err != nil {
		return nil, err
	}
	if in.Limit != nil && *in.Limit >= 1 && *in.Limit <= maxInsightsLimit {
		q.limit = min(q.limit, *in.Limit)
	}
	for _, n := range names {
		if err := l.deny(f, "logs:StartQuery", n); err != nil {
			return nil, err
		}
	}
	start, end := *in.StartTime*1000, (*in.EndTime+1)*1000 // seconds, end inclusive
	type hit struct {
		e     cwEvent
		group string
	}
	var hits []hit
	cq := &cwQuery{status: "Running"}
	match := func(msg string) bool {
		ok := len(q.likes) == 0
		for _, re := range q.likes {
			ok = ok || re.MatchString(msg)
		}
		return ok
	}
	l.mu.Lock()
	for _, n := range names {
		if l.groups[n] == nil {
			l.mu.Unlock()
			return nil, cwErr("ResourceNotFoundException", "Log group '%s' does not exist for account ID '%s'", n, l.account)
		}
	}
	for _, n := range names {
		for _, e := range l.groups[n].events {
			if e.at < start || e.at >= end {
				continue
			}
			cq.scanned++
			cq.bytes += int64(len(e.msg))
			if match(e.msg) {
				hits = append(hits, hit{e, n})
			}
		}
	}
	l.mu.Unlock()
	cq.matched = len(hits)
	if l.seeded != nil {
		// Derived lines come in time order: a group needs its first limit matches (its
		// last when sorted descending), counting the rest.
		anyOf := q.literals()
		for _, n := range names {
			var kept []hit
			l.seeded.each(n, start, end-1, cwPos{}, nil, anyOf, func(e cwEvent) bool {
				cq.scanned++
				cq.bytes += int64(len(e.msg))
				if !match(e.msg) {
					return true
				}
				cq.matched++
				switch {
				case len(kept) < q.limit:
					kept = append(kept, hit{e, n})
				case q.desc:
					kept = append(kept[1:], hit{e, n})
				}
				return true
			})
			hits = append(hits, kept...)
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i].e, hits[j].e
		if a.at != b.at {
			return (a.at < b.at) != q.desc
		}
		return (a.seq < b.seq) != q.desc
	})

	for i, h := range hits {
		if i == q.limit {
			break
		}
		var row []map[string]string
		for _, f := range q.fields {
			v := ""
			switch f {
			case "@timestamp":
				v = time.UnixMilli(h.e.at).UTC().Format("2006-01-02 15:04:05.000")
			case "@message":
				v = h.e.msg
			case "@logStream":
				v = h.e.stream
			case "@log":
				v = l.account + ":" + h.group
			}
			row = append(row, map[string]string{"field": f, "value": v})
		}
		row = append(row, map[string]string{"field": "@ptr", "value": eventID(h.e)})
		cq.results = append(cq.results, row)
	}
	id := cwUUID()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries[id] = cq
	l.qorder = append(l.qorder, id)
	if len(l.qorder) > maxQueries { // CloudWatch forgets old queries too
		delete(l.queries, l.qorder[0])
		l.qorder = l.qorder[1:]
	}
	return map[string]string{"queryId": id}, nil
}

func (l *cwLogs) getQueryResults(body []byte, f LogsFaults) (any, error) {
	var in struct {
		QueryID string `json:"queryId"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, cwErr("SerializationException", "%v", err)
	}
	if err := l.deny(f, "logs:GetQueryResults", ""); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queries[in.QueryID]
	if q == nil || f.ForgetQueries {
		return nil, cwErr("ResourceNotFoundException", "Query does not exist.")
	}
	if q.status == "Running" && !f.QueryNeverCompletes {
		if q.polls >= f.QueryPolls {
			q.status = "Complete"
		}
		q.polls++
	}
	out := map[string]any{
		"status":  q.status,
		"results": [][]map[string]string{},
		"statistics": map[string]float64{
			"recordsMatched": float64(q.matched), "recordsScanned": float64(q.scanned), "bytesScanned": float64(q.bytes),
		},
	}
	if q.status == "Complete" {
		out["results"] = q.results
	}
	return out, nil
}

func (l *cwLogs) stopQuery(body []byte) (any, error) {
	var in struct {
		QueryID string `json:"queryId"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, cwErr("SerializationException", "%v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queries[in.QueryID]
	if q == nil {
		return nil, cwErr("ResourceNotFoundException", "Query does not exist.")
	}
	ok := q.status == "Running"
	if ok {
		q.status = "Cancelled"
	}
	return map[string]bool{"success": ok}, nil
}
