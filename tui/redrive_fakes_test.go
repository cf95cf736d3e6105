package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/redrive"
)

// CopyInPlace re-fires an object's event (s3-copy); the fake processor reacts to it.
func (f *fakeObjects) CopyInPlace(ctx context.Context, key string, pin awsclient.Pin) (awsclient.Object, error) {
	f.mu.Lock()
	o, ok := f.objs[key]
	f.calls = append(f.calls, "copy "+key)
	f.mu.Unlock()
	if !ok {
		return awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindNotFound, Op: "copy", Resource: "s3://bucket/" + key, Code: "NoSuchKey"}
	}
	if pin.ETag != "" && pin.ETag != o.ETag {
		return awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindChanged, Op: "copy", Resource: "s3://bucket/" + key}
	}
	return o, nil
}

// fakeGateway answers redrive sends and plays the processor: a delivered request's status
// becomes PROCESSED (attempts + 1) unless it is in failAgain.
type fakeGateway struct {
	mu        sync.Mutex
	statuses  *fakeStatuses
	sent      []string            // original request IDs, in order
	bodies    map[string][]byte   // by original request ID
	headers   map[string][]string // "name: value" by original request ID
	answer    map[string]int      // HTTP status to answer per original ID (200 when absent)
	failAgain map[string]bool     // processed into FAILED again
	block     chan struct{}       // when set, every send waits for it to close
	hold      map[string]bool     // with block: only these original IDs wait (all when nil)
	started   chan string         // when set, told each send as it starts
}

func newFakeGateway(st *fakeStatuses) *fakeGateway {
	return &fakeGateway{statuses: st, bodies: map[string][]byte{}, headers: map[string][]string{},
		answer: map[string]int{}, failAgain: map[string]bool{}}
}

func (g *fakeGateway) Send(ctx context.Context, route awsclient.Route, vars awsclient.RouteVars, p awsclient.Payload) (awsclient.GatewayResponse, error) {
	id := p.Headers[redrive.DefaultOriginalIDHeader]
	if g.started != nil {
		g.started <- id
	}
	if g.block != nil && (g.hold == nil || g.hold[id]) {
		select {
		case <-g.block:
		case <-ctx.Done():
			return awsclient.GatewayResponse{}, fmt.Errorf("%w: %v", awsclient.ErrDeliveryUnknown, ctx.Err())
		}
	}
	rc, err := p.Open()
	if err != nil {
		return awsclient.GatewayResponse{}, fmt.Errorf("%w: %v", awsclient.ErrNotSent, err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return awsclient.GatewayResponse{}, fmt.Errorf("%w: %v", awsclient.ErrNotSent, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent = append(g.sent, id)
	g.bodies[id] = body
	for k, v := range p.Headers {
		g.headers[id] = append(g.headers[id], k+": "+v)
	}
	code := 200
	if c, ok := g.answer[id]; ok {
		code = c
	}
	if code != 200 {
		return awsclient.GatewayResponse{StatusCode: code}, &awsclient.Error{Kind: awsclient.KindInvalid, Op: route.Method,
			Resource: route.Path, Code: fmt.Sprint(code), Message: "the gateway said no"}
	}
	newID := id
	if strings.HasSuffix(route.Path, "/product") {
		newID = "new-" + id
	}
	g.process(vars.RequestID, newID)
	return awsclient.GatewayResponse{StatusCode: 200, RequestID: newID}, nil
}

// process writes the status the processor would: PROCESSED, or FAILED again.
func (g *fakeGateway) process(origin, id string) {
	old, _, _ := g.statuses.Get(context.Background(), origin)
	st := awsclient.Status{RequestID: id, State: "PROCESSED", Attempts: old.Attempts + 1, UpdatedAt: testNow}
	if g.failAgain[origin] {
		st.State, st.Error = "FAILED", old.Error
	}
	g.statuses.put(st)
}

func (g *fakeGateway) sentIDs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.sent...)
}

// redriveEnv is testEnv with a gateway, so that the gateway modes work.
func redriveEnv() func(*Options) {
	return func(o *Options) {
		env := *o.Session.Env
		env.Gateway.URL = "https://gw.example.com/prod"
		o.Session.Env = &env
	}
}

// withGateway wires g (and the fixture's fakes) as the session's redrive dependencies,
// with a fast, deterministic engine.
func withGateway(g **fakeGateway) func(*Options) {
	return func(o *Options) {
		objs := o.Session.Objects.(*fakeObjects)
		sts := o.Session.Statuses.(*fakeStatuses)
		*g = newFakeGateway(sts)
		o.Session.Redrive = RedriveDeps{Run: redrive.Deps{Objects: objs, Status: sts, Sender: *g}}
		o.Session.Operator = "tester"
		n := 0
		o.Redrive = RedriveOptions{
			Run: redrive.Options{ProgressInterval: 2 * time.Millisecond, BackoffBase: time.Millisecond,
				BackoffMax: 2 * time.Millisecond, Rand: func() float64 { return 0.5 }},
			RunID: func() string {
				n++
				return fmt.Sprintf("7e57e57e-0000-4000-8000-%012d", n)
			},
			WatchInterval: time.Millisecond, WatchMaxInterval: 2 * time.Millisecond, WatchTimeout: 50 * time.Millisecond,
		}
	}
}

// stateHome points XDG_STATE_HOME at a fresh directory and returns stowage's state
// directory in it.
func stateHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	return filepath.Join(dir, "stowage")
}

// auditEntries reads the audit log under the state directory and returns each run's
// own entry. Every run that ran must have written a started entry naming its journal
// before it; a started entry left unanswered fails the test.
func auditEntries(t *testing.T, state string) []redrive.AuditEntry {
	t.Helper()
	entries, bad, err := redrive.LoadAudit(filepath.Join(state, "audit.jsonl"))
	if err != nil || bad != 0 {
		t.Fatalf("audit log: %v (%d bad lines)", err, bad)
	}
	started := map[string]bool{}
	var out []redrive.AuditEntry
	for _, e := range entries {
		if e.Outcome == redrive.OutcomeStarted {
			if e.Journal == "" {
				t.Errorf("started entry without its journal: %+v", e)
			}
			started[e.RunID] = true
			continue
		}
		if e.Journal != "" && !started[e.RunID] {
			t.Errorf("run %s ran (journal %s) without a started entry before it", e.RunID, e.Journal)
		}
		delete(started, e.RunID)
		out = append(out, e)
	}
	for id := range started {
		t.Errorf("run %s started but has no final audit entry", id)
	}
	return out
}

// onlyFile returns the one file matching pattern.
func onlyFile(t *testing.T, pattern string) string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) != 1 {
		t.Fatalf("%s: %v (%v)", pattern, m, err)
	}
	fi, err := os.Stat(m[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", m[0], fi.Mode().Perm())
	}
	return m[0]
}
