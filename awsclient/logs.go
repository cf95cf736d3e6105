package awsclient

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/stowage-cli/stowage/internal/config"
)

// LogReader reads the processor's and the gateway's CloudWatch Logs for trace (#16): the
// lines that mention a request, in the windows around its arrival and redrives.
//
// Every group and window is read at once (FilterLogEvents in parallel, each paged to its
// end), so the answer takes about one round trip plus its pages. When the windows are wide
// (more than InsightsSpan in all) or many (more than InsightsCalls group-window pairs) one
// Logs Insights query reads them instead, with a bounded wait. What is read is capped at
// logs.max_bytes; past it the result says so and carries the Insights query to run in
// the console.
type LogReader struct {
	client  logsAPI
	logs    config.Logs
	region  string
	profile string
	sso     bool
	host    string

	// Backoff paces retries of a throttled call (NewBackoff(5s)); Attempts bounds them.
	Backoff  Backoff
	Attempts int
	// QueryWait bounds the wait for a Logs Insights query; QueryPoll is the wait between
	// GetQueryResults calls.
	QueryWait, QueryPoll time.Duration
	// InsightsSpan and InsightsCalls decide when Logs Insights reads instead.
	InsightsSpan  time.Duration
	InsightsCalls int

	// filterPace spaces FilterLogEvents calls to the account's quota (DefaultFilterRate).
	filterPace *pacer
}

// logsAPI is the part of the CloudWatch Logs client LogReader calls.
type logsAPI interface {
	FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
	StartQuery(context.Context, *cloudwatchlogs.StartQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error)
	GetQueryResults(context.Context, *cloudwatchlogs.GetQueryResultsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error)
	StopQuery(context.Context, *cloudwatchlogs.StopQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error)
	DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
}

// Defaults of a LogReader.
const (
	DefaultLogsQueryWait     = 30 * time.Second
	DefaultLogsQueryPoll     = 500 * time.Millisecond
	DefaultLogsInsightsSpan  = 6 * time.Hour
	DefaultLogsInsightsCalls = 12
	logsAttempts             = 5
	// DefaultFilterRate is FilterLogEvents' quota: 5 calls a second per account and
	// region, a hard limit. A reader starts at most that many a second (a burst of as
	// many at once), so the calls of one trace, its terms, groups, windows and pages
	// together, are not throttled by their own number.
	DefaultFilterRate = 5
	// insightsLimit is the most rows a Logs Insights query returns.
	insightsLimit = 10000
)

// openLogs builds the LogReader for env, or returns nil when env does not configure it.
func openLogs(cfg aws.Config, env *config.Env, profile string, sso bool) *LogReader {
	if !env.Logs.Configured() {
		return nil
	}
	client := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		if env.Endpoints.Logs != "" {
			o.BaseEndpoint = aws.String(env.Endpoints.Logs)
		}
		// LogReader retries throttling itself, with a note; the rest is not worth a retry.
		o.RetryMaxAttempts = 1
	})
	r := NewLogReader(client, env.Logs, cfg.Region)
	r.profile, r.sso = profile, sso
	r.host = endpointHost(client.Options().BaseEndpoint)
	return r
}

// NewLogReader reads the groups of logs with client (tests; Open builds one from the config).
func NewLogReader(client logsAPI, logs config.Logs, region string) *LogReader {
	if logs.MaxBytes <= 0 {
		logs.MaxBytes = config.DefaultLogsMaxBytes
	}
	return &LogReader{client: client, logs: logs, region: region,
		Backoff: NewBackoff(5 * time.Second), Attempts: logsAttempts,
		QueryWait: DefaultLogsQueryWait, QueryPoll: DefaultLogsQueryPoll,
		InsightsSpan: DefaultLogsInsightsSpan, InsightsCalls: DefaultLogsInsightsCalls,
		filterPace: newPacer(DefaultFilterRate, DefaultFilterRate)}
}

// SetFilterRate sets how many FilterLogEvents calls a second the reader starts (and at
// once), for an account whose quota differs; 0 does not pace them.
func (r *LogReader) SetFilterRate(perSecond float64) {
	r.filterPace = newPacer(perSecond, max(perSecond, 1))
}

// pacer hands out call slots at rate a second with a burst of burst: each call reserves
// the next slot and waits until it comes.
type pacer struct {
	mu          sync.Mutex
	rate, burst float64
	tokens      float64
	last        time.Time
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
}

func newPacer(rate, burst float64) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{rate: rate, burst: burst, tokens: burst, now: time.Now, sleep: sleepCtx}
}

// wait blocks until the caller's slot (nil: no pacing).
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	now := p.now()
	if !p.last.IsZero() {
		p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
	}
	p.last = now
	p.tokens--
	deficit := -p.tokens
	p.mu.Unlock()
	if deficit <= 0 {
		return nil
	}
	return p.sleep(ctx, time.Duration(deficit/p.rate*float64(time.Second)))
}

// Config is the logs section the reader reads.
func (r *LogReader) Config() config.Logs { return r.logs }

// LogWindow is a time range [Start, End).
type LogWindow struct{ Start, End time.Time }

// LogEvent is one log line.
type LogEvent struct {
	Group   string    `json:"group"`
	Stream  string    `json:"stream,omitempty"`
	At      time.Time `json:"timestamp"`
	Message string    `json:"message"` // from outside: sanitize before display
	EventID string    `json:"eventId,omitempty"`
}

// LogResult is what Find read.
type LogResult struct {
	// Events are the lines found, oldest first, each once.
	Events []LogEvent
	// Groups are the groups read; Windows the merged windows.
	Groups  []string
	Windows []LogWindow
	// Insights is set when a Logs Insights query read them.
	Insights bool
	// Capped is set when logs.max_bytes stopped the reading; Bytes is what was read.
	Capped bool
	Bytes  int64
	// Query is the Logs Insights query that finds the same lines, for the console.
	Query string
	// Errors are the groups that could not be read (classified *Error, with remedies);
	// the others' lines are in Events.
	Errors []error
	// Notes are things the operator should know (throttling that was retried).
	Notes []string
}

// MergeWindows sorts windows and joins those that overlap or touch.
func MergeWindows(ws []LogWindow) []LogWindow {
	ws = append([]LogWindow(nil), ws...)
	sort.Slice(ws, func(i, j int) bool { return ws[i].Start.Before(ws[j].Start) })
	var out []LogWindow
	for _, w := range ws {
		if !w.End.After(w.Start) {
			continue
		}
		if n := len(out); n > 0 && !w.Start.After(out[n-1].End) {
			if w.End.After(out[n-1].End) {
				out[n-1].End = w.End
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// InsightsQuery is the Logs Insights query that finds the lines mentioning any of terms.
func InsightsQuery(terms ...string) string {
	esc := make([]string, len(terms))
	for i, t := range terms {
		esc[i] = insightsEscape(t)
	}
	return "fields @timestamp, @message, @logStream, @log | filter @message like /" + strings.Join(esc, "|") +
		"/ | sort @timestamp asc | limit " + fmt.Sprint(insightsLimit)
}

// insightsEscape makes term a literal inside /.../.
func insightsEscape(term string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(term), "/", `\/`)
}

// filterTerm is term as a quoted filter-pattern term.
func filterTerm(term string) string {
	return `"` + strings.ReplaceAll(term, `"`, ``) + `"`
}

// Find reads the lines of groups (nil: every configured group) that mention term in the
// windows. An error is returned only when nothing could be read (a cancelled context, or
// every group failing); the failures of some groups are in LogResult.Errors.
func (r *LogReader) Find(ctx context.Context, term string, windows []LogWindow, groups []string) (*LogResult, error) {
	if groups == nil {
		groups = r.logs.Groups()
	}
	res := &LogResult{Groups: groups, Windows: MergeWindows(windows), Query: InsightsQuery(term)}
	if len(groups) == 0 || len(res.Windows) == 0 || strings.TrimSpace(term) == "" {
		return res, nil
	}
	var span time.Duration
	for _, w := range res.Windows {
		span += w.End.Sub(w.Start)
	}
	if span > r.InsightsSpan || len(groups)*len(res.Windows) > r.InsightsCalls {
		res.Insights = true
		err := r.insights(ctx, term, res)
		return res, err
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		budget atomic.Int64
		capped atomic.Bool
	)
	budget.Store(r.logs.MaxBytes)
	throttled := atomic.Int64{}
	for _, g := range groups {
		for _, w := range res.Windows {
			wg.Add(1)
			go func() {
				defer wg.Done()
				evs, err := r.filter(ctx, g, term, w, &budget, &capped, &throttled)
				mu.Lock()
				defer mu.Unlock()
				res.Events = append(res.Events, evs...)
				if err != nil {
					res.Errors = append(res.Errors, err)
				}
			}()
		}
	}
	wg.Wait()
	res.Capped = capped.Load()
	res.Bytes = r.logs.MaxBytes - budget.Load()
	if res.Bytes < 0 || res.Capped {
		res.Bytes = r.logs.MaxBytes
	}
	if n := throttled.Load(); n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("CloudWatch Logs throttled %d call%s; stowage backed off and retried", n, plural(n)))
	}
	sortEvents(res)
	// Every call failing means nothing was read: count before a group's failures in its
	// several windows become one.
	failed := len(res.Errors)
	res.Errors = dedupeErrors(res.Errors)
	if ctx.Err() != nil {
		return res, classify(ctx.Err(), call{Op: "filter-log-events", Resource: "CloudWatch Logs"})
	}
	if failed > 0 && failed == len(groups)*len(res.Windows) {
		return res, res.Errors[0]
	}
	return res, nil
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// sortEvents orders the events oldest first and drops the ones read twice.
func sortEvents(res *LogResult) {
	sort.SliceStable(res.Events, func(i, j int) bool { return res.Events[i].At.Before(res.Events[j].At) })
	seen := map[string]bool{}
	out := res.Events[:0]
	for _, e := range res.Events {
		k := e.Group + "\x00" + e.EventID
		if e.EventID == "" {
			k += e.At.String() + e.Message
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	res.Events = out
}

// dedupeErrors keeps one error per message (a group fails the same in every window).
func dedupeErrors(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

// GroupARN is the ARN of a log group in the reader's region; account "" writes *.
func (r *LogReader) GroupARN(group, account string) string {
	if account == "" {
		account = "*"
	}
	return "arn:aws:logs:" + r.region + ":" + account + ":log-group:" + group
}

// arnInMessage finds the resource ARN an AccessDenied message names.
// Compiled on first use, not at start-up (#13).
var arnInMessage = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`arn:aws[a-z-]*:logs:[^ ]+`) })

// logsCall describes a call on group for classify. group "" is a call on no one group
// (GetQueryResults, DescribeLogGroups' listing).
func (r *LogReader) logsCall(op, action, group string, err error) error {
	resource := r.GroupARN(group, "")
	if group == "" {
		resource = "CloudWatch Logs"
	}
	if m := arnInMessage().FindString(errMessage(err)); m != "" {
		resource = strings.TrimSuffix(strings.TrimSuffix(m, ":*"), ":log-stream:")
		// An action on no group (DescribeLogGroups, GetQueryResults) is denied on
		// "log-group::log-stream:": its policy's resource must be *.
		if strings.HasSuffix(resource, ":log-group:") {
			resource = "*"
		}
	}
	c := call{Op: op, Resource: resource, Action: action, Profile: r.profile, SSO: r.sso, Endpoint: r.host}
	if group != "" {
		c.NotFound = "log group " + group + " does not exist in " + r.region + ": check logs: in the config (the group's name, and the environment's region)"
	}
	e := newError(err, c)
	if e.Kind == KindNotFound && group != "" {
		e.Message = "log group " + group + " does not exist"
	}
	return e
}

func errMessage(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// retry runs f until it succeeds, fails other than by throttling, or Attempts run out.
func (r *LogReader) retry(ctx context.Context, throttled *atomic.Int64, f func() error) error {
	attempts := max(r.Attempts, 1)
	var err error
	for i := range attempts {
		if err = f(); err == nil {
			return nil
		}
		if k, _, _ := kindOf(err, r.host); k != KindThrottled || i == attempts-1 {
			return err
		}
		throttled.Add(1)
		d, derr := r.Backoff.BackoffDelay(i, err)
		if derr != nil {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return err
}

// filter reads one group in one window, page by page, while the byte budget lasts.
func (r *LogReader) filter(ctx context.Context, group, term string, w LogWindow, budget *atomic.Int64, capped *atomic.Bool, throttled *atomic.Int64) ([]LogEvent, error) {
	in := &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName:  aws.String(group),
		FilterPattern: aws.String(filterTerm(term)),
		StartTime:     aws.Int64(w.Start.UnixMilli()),
		EndTime:       aws.Int64(w.End.UnixMilli()),
	}
	var out []LogEvent
	for {
		if budget.Load() <= 0 {
			capped.Store(true)
			return out, nil
		}
		var page *cloudwatchlogs.FilterLogEventsOutput
		err := r.retry(ctx, throttled, func() error {
			if err := r.filterPace.wait(ctx); err != nil {
				return err
			}
			var err error
			page, err = r.client.FilterLogEvents(ctx, in)
			return err
		})
		if err != nil {
			return out, r.logsCall("filter-log-events", "logs:FilterLogEvents", group, err)
		}
		for _, e := range page.Events {
			msg := aws.ToString(e.Message)
			if budget.Add(-int64(len(msg))) < 0 {
				capped.Store(true)
				return out, nil
			}
			out = append(out, LogEvent{Group: group, Stream: aws.ToString(e.LogStreamName), At: time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(),
				Message: msg, EventID: aws.ToString(e.EventId)})
		}
		next := aws.ToString(page.NextToken)
		if next == "" || next == aws.ToString(in.NextToken) {
			return out, nil
		}
		in.NextToken = aws.String(next)
	}
}

// insights reads every group over the windows' whole span with one Logs Insights query.
func (r *LogReader) insights(ctx context.Context, term string, res *LogResult) error {
	start, end := res.Windows[0].Start, res.Windows[len(res.Windows)-1].End
	var throttled atomic.Int64
	defer func() {
		if n := throttled.Load(); n > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("CloudWatch Logs throttled %d call%s; stowage backed off and retried", n, plural(n)))
		}
	}()
	// A group that is missing or denied fails the whole query: it is named, left out, and
	// the others are queried again, as FilterLogEvents reads the others.
	groups := append([]string(nil), res.Groups...)
	var q *cloudwatchlogs.StartQueryOutput
	for {
		err := r.retry(ctx, &throttled, func() error {
			var err error
			q, err = r.client.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
				LogGroupNames: groups,
				StartTime:     aws.Int64(start.Unix()),
				EndTime:       aws.Int64(ceilSecond(end)),
				QueryString:   aws.String(res.Query),
				Limit:         aws.Int32(insightsLimit),
			})
			return err
		})
		if err == nil {
			break
		}
		group := ""
		if len(groups) == 1 {
			group = groups[0]
		} else {
			group = groupInMessage(errMessage(err), groups)
		}
		e := r.logsCall("start-query", "logs:StartQuery", group, err)
		res.Errors = append(res.Errors, e)
		k := KindOf(e)
		if group == "" || len(groups) == 1 || (k != KindNotFound && k != KindAccessDenied) {
			return e
		}
		groups = slices.DeleteFunc(groups, func(g string) bool { return g == group })
	}
	deadline := time.NewTimer(r.QueryWait)
	defer deadline.Stop()
	for {
		var out *cloudwatchlogs.GetQueryResultsOutput
		err := r.retry(ctx, &throttled, func() error {
			var err error
			out, err = r.client.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
			return err
		})
		if err != nil {
			e := r.logsCall("get-query-results", "logs:GetQueryResults", "", err)
			res.Errors = append(res.Errors, e)
			return e
		}
		switch out.Status {
		case cwtypes.QueryStatusComplete:
			r.absorb(res, out)
			return nil
		case cwtypes.QueryStatusFailed, cwtypes.QueryStatusCancelled, cwtypes.QueryStatusTimeout:
			e := &Error{Kind: KindServer, Op: "logs-insights", Resource: strings.Join(groups, ", "),
				Message: "the Logs Insights query ended " + string(out.Status),
				Remedy:  "run the query in the CloudWatch console (Logs Insights): " + res.Query}
			res.Errors = append(res.Errors, e)
			return e
		}
		t := time.NewTimer(r.QueryPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			r.stop(q.QueryId)
			return classify(ctx.Err(), call{Op: "logs-insights", Resource: strings.Join(groups, ", ")})
		case <-deadline.C:
			t.Stop()
			r.stop(q.QueryId)
			e := &Error{Kind: KindTimeout, Op: "logs-insights", Resource: strings.Join(groups, ", "),
				Message: fmt.Sprintf("the Logs Insights query did not finish within %s", r.QueryWait),
				Remedy:  "run the query in the CloudWatch console (Logs Insights) over " + start.UTC().Format(time.RFC3339) + " to " + time.Unix(ceilSecond(end), 0).UTC().Format(time.RFC3339) + ": " + res.Query}
			res.Errors = append(res.Errors, e)
			return e
		case <-t.C:
		}
	}
}

// ceilSecond is t in whole seconds, rounded up: StartQuery takes seconds, and a window
// ending at 12:00:05.5 must read the lines of 12:00:05.2.
func ceilSecond(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// groupInMessage is the one of groups an error message names: "Log group 'NAME' does not
// exist", or the group of a denied resource's ARN ("…:log-group:NAME:*"); "" when none.
func groupInMessage(msg string, groups []string) string {
	if m := logGroupQuoted().FindStringSubmatch(msg); m != nil && slices.Contains(groups, m[1]) {
		return m[1]
	}
	if m := arnInMessage().FindString(msg); m != "" {
		if _, g, ok := strings.Cut(m, ":log-group:"); ok {
			g = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(g, ":*"), ":log-stream:"), ":")
			if slices.Contains(groups, g) {
				return g
			}
		}
	}
	return ""
}

var logGroupQuoted = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Log group '([^']+)'`) })

// stop cancels a query left running, without waiting long for the answer.
func (r *LogReader) stop(id *string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.client.StopQuery(ctx, &cloudwatchlogs.StopQueryInput{QueryId: id})
}

// absorb reads a query's rows into res, within the byte budget.
func (r *LogReader) absorb(res *LogResult, out *cloudwatchlogs.GetQueryResultsOutput) {
	budget := r.logs.MaxBytes
	for _, row := range out.Results {
		var e LogEvent
		for _, f := range row {
			v := aws.ToString(f.Value)
			switch aws.ToString(f.Field) {
			case "@timestamp":
				if t, err := time.Parse("2006-01-02 15:04:05.000", v); err == nil {
					e.At = t.UTC()
				}
			case "@message":
				e.Message = v
			case "@logStream":
				e.Stream = v
			case "@log":
				// account:group
				if _, g, ok := strings.Cut(v, ":"); ok {
					e.Group = g
				} else {
					e.Group = v
				}
			case "@ptr":
				e.EventID = v
			}
		}
		if budget -= int64(len(e.Message)); budget < 0 {
			res.Capped = true
			break
		}
		res.Events = append(res.Events, e)
	}
	res.Bytes = r.logs.MaxBytes - max(budget, 0)
	if len(out.Results) >= insightsLimit {
		res.Capped = true
	}
	sortEvents(res)
}

// GroupCheck is what doctor learns of one log group.
type GroupCheck struct {
	Group string
	// Exists is set when DescribeLogGroups lists it; StoredBytes is its size.
	Exists      bool
	StoredBytes int64
	// Err is the failure to describe or to filter it (classified, with a remedy).
	Err error
}

// CheckGroup asks DescribeLogGroups for group and tries a one-line FilterLogEvents on it,
// which proves the permission trace needs.
func (r *LogReader) CheckGroup(ctx context.Context, group string) GroupCheck {
	c := GroupCheck{Group: group}
	out, err := r.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group), Limit: aws.Int32(50)})
	if err != nil {
		c.Err = r.logsCall("describe-log-groups", "logs:DescribeLogGroups", group, err)
		return c
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == group {
			c.Exists, c.StoredBytes = true, aws.ToInt64(g.StoredBytes)
		}
	}
	if !c.Exists {
		c.Err = &Error{Kind: KindNotFound, Op: "describe-log-groups", Resource: r.GroupARN(group, ""),
			Message: "log group " + group + " does not exist",
			Remedy:  "check logs: in the config (the group's name, and the environment's region " + r.region + ")"}
		return c
	}
	now := time.Now()
	_, err = r.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), Limit: aws.Int32(1),
		StartTime: aws.Int64(now.Add(-time.Minute).UnixMilli()), EndTime: aws.Int64(now.UnixMilli())})
	if err != nil {
		c.Err = r.logsCall("filter-log-events", "logs:FilterLogEvents", group, err)
	}
	return c
}

// IsAccessDenied reports a permission failure (doctor and trace name the action).
func IsAccessDenied(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindAccessDenied
}
