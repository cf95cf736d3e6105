package redrive

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// fakeObject is one stored request in fakeStore.
type fakeObject struct {
	body            []byte
	etag, version   string
	contentType     string
	contentEncoding string
	modified        time.Time
}

// fakeStore is an in-memory bucket: ObjectSource and ObjectLister.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string]*fakeObject
	copies  map[string]int // CopyInPlace calls by key
	gets    int
	// copyErr, when set, answers CopyInPlace.
	copyErr func(key string, n int) error
	// copyNoop makes CopyInPlace change nothing, as versitygw's in-place copy does;
	// otherwise a copy stamps LastModified with the second it ran in, as S3 does.
	copyNoop bool
}

func newFakeStore() *fakeStore {
	return &fakeStore{objects: map[string]*fakeObject{}, copies: map[string]int{}}
}

func (s *fakeStore) put(key string, body []byte, contentType string) *fakeObject {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := md5.Sum(body)
	o := &fakeObject{body: body, etag: hex.EncodeToString(sum[:]), contentType: contentType,
		modified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.objects[key] = o
	return o
}

func (s *fakeStore) obj(key string, o *fakeObject) awsclient.Object {
	return awsclient.Object{Key: key, RequestID: key, Size: int64(len(o.body)), ETag: o.etag, VersionID: o.version,
		ContentType: o.contentType, ContentEncoding: o.contentEncoding, LastModified: o.modified}
}

func notFound(key string) error {
	return &awsclient.Error{Kind: awsclient.KindNotFound, Op: "head", Resource: "s3://b/" + key, Code: "NotFound"}
}

func (s *fakeStore) Head(ctx context.Context, key string) (awsclient.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[key]
	if !ok {
		return awsclient.Object{}, notFound(key)
	}
	return s.obj(key, o), nil
}

// ListPage lists everything under prefix in one page.
func (s *fakeStore) ListPage(ctx context.Context, prefix, continuation string, max int32) (awsclient.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var page awsclient.Page
	for _, k := range keys {
		o := s.obj(k, s.objects[k])
		o.ContentType, o.VersionID = "", "" // a listing does not say
		page.Objects = append(page.Objects, o)
	}
	return page, nil
}

func (s *fakeStore) Get(ctx context.Context, key string, pin awsclient.Pin) (io.ReadCloser, awsclient.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	o, ok := s.objects[key]
	if !ok {
		return nil, awsclient.Object{}, notFound(key)
	}
	if pin.ETag != "" && pin.ETag != o.etag {
		return nil, awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindChanged, Op: "get", Resource: "s3://b/" + key, Code: "PreconditionFailed"}
	}
	return io.NopCloser(bytes.NewReader(o.body)), s.obj(key, o), nil
}

func (s *fakeStore) CopyInPlace(ctx context.Context, key string, pin awsclient.Pin) (awsclient.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[key]
	if !ok {
		return awsclient.Object{}, notFound(key)
	}
	if pin.ETag != "" && pin.ETag != o.etag {
		return awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindChanged, Op: "copy", Resource: "s3://b/" + key}
	}
	s.copies[key]++
	if s.copyErr != nil {
		if err := s.copyErr(key, s.copies[key]); err != nil {
			return awsclient.Object{}, err
		}
	}
	if !s.copyNoop {
		o.modified = time.Now().UTC().Truncate(time.Second)
	}
	return s.obj(key, o), nil
}

// fakeUpdatedAt is every fake status item's updatedAt: a change shows in state or attempts.
var fakeUpdatedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeStatus is an in-memory status table: StatusChecker and StatusLister.
type fakeStatus struct {
	mu     sync.Mutex
	states map[string]string
	gets   int
	getsOf map[string]int // Get calls by request ID
	tries  map[string]int // the status item's attempts
	getErr error
}

// bump counts one more processing attempt of id, as a processor does on each delivery.
func (f *fakeStatus) bump(id string) {
	f.mu.Lock()
	if f.tries == nil {
		f.tries = map[string]int{}
	}
	f.tries[id]++
	f.mu.Unlock()
}

func newFakeStatus() *fakeStatus {
	return &fakeStatus{states: map[string]string{}, getsOf: map[string]int{}}
}

func (f *fakeStatus) getsFor(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.getsOf[id]
}

func (f *fakeStatus) set(id, state string) {
	f.mu.Lock()
	f.states[id] = state
	f.mu.Unlock()
}

func (f *fakeStatus) state(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.states[id]
}

func (f *fakeStatus) Get(ctx context.Context, id string) (awsclient.Status, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	f.getsOf[id]++
	if f.getErr != nil {
		return awsclient.Status{}, false, f.getErr
	}
	st, ok := f.states[id]
	return awsclient.Status{RequestID: id, State: st, Attempts: f.tries[id], UpdatedAt: fakeUpdatedAt}, ok, nil
}

func (f *fakeStatus) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]awsclient.Status{}
	for _, id := range ids {
		if st, ok := f.states[id]; ok {
			out[id] = awsclient.Status{RequestID: id, State: st, Attempts: f.tries[id], UpdatedAt: fakeUpdatedAt}
		}
	}
	return out, nil
}

func (f *fakeStatus) ListByStatus(ctx context.Context, state, next string, limit int32) (awsclient.StatusPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, st := range f.states {
		if st == state {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var page awsclient.StatusPage
	for _, id := range ids {
		page.Items = append(page.Items, awsclient.Status{RequestID: id, State: state})
	}
	return page, nil
}

// received is one request the fake gateway got.
type received struct {
	route   awsclient.Route
	vars    awsclient.RouteVars
	body    []byte
	ctype   string
	headers map[string]string
}

// fakeSender is the gateway: it reads the body, records the request and answers with
// script(requestID, n) for the nth attempt of that request (200 when script is nil).
// A delivered request marks the status PROCESSED, as the processor would.
type fakeSender struct {
	mu       sync.Mutex
	got      []received
	attempts map[string]int // by original request ID, every attempt
	received map[string]int // by original request ID, requests the backend took
	status   *fakeStatus
	script   func(id string, n int) (int, error)
	// block, when set, is waited on before answering (for cancel tests).
	block    chan struct{}
	inFlight int
	maxInFl  int
	entered  chan string
}

func newFakeSender(status *fakeStatus) *fakeSender {
	return &fakeSender{attempts: map[string]int{}, received: map[string]int{}, status: status}
}

func (s *fakeSender) Send(ctx context.Context, route awsclient.Route, vars awsclient.RouteVars, p awsclient.Payload) (awsclient.GatewayResponse, error) {
	id := p.Headers[DefaultOriginalIDHeader]
	s.mu.Lock()
	s.attempts[id]++
	n := s.attempts[id]
	s.inFlight++
	s.maxInFl = max(s.maxInFl, s.inFlight)
	entered, block := s.entered, s.block
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if entered != nil {
		entered <- id
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return awsclient.GatewayResponse{}, &awsclient.Error{Kind: awsclient.KindCanceled, Op: "send",
				Err: fmt.Errorf("%w: %w", awsclient.ErrDeliveryUnknown, ctx.Err())}
		}
	}
	rc, err := p.Open()
	if err != nil {
		return awsclient.GatewayResponse{}, &awsclient.Error{Kind: awsclient.KindInvalid, Op: "send",
			Message: "open the body: " + err.Error(), Err: fmt.Errorf("%w: %w", awsclient.ErrNotSent, err)}
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return awsclient.GatewayResponse{}, err
	}
	code := 200
	var serr error
	if s.script != nil {
		code, serr = s.script(id, n)
	}
	took := serr == nil && code < 300 || errors.Is(serr, awsclient.ErrDeliveryUnknown)
	s.mu.Lock()
	if took {
		s.received[id]++
		s.got = append(s.got, received{route: route, vars: vars, body: body, ctype: p.ContentType, headers: p.Headers})
	}
	s.mu.Unlock()
	if took && s.status != nil {
		s.status.set(id, "PROCESSED")
	}
	if serr != nil {
		return awsclient.GatewayResponse{}, serr
	}
	resp := awsclient.GatewayResponse{StatusCode: code, RequestID: "new-" + id}
	if code >= 300 {
		kind := awsclient.KindInvalid
		switch {
		case code == 429:
			kind = awsclient.KindThrottled
		case code >= 500:
			kind = awsclient.KindServer
		}
		return resp, &awsclient.Error{Kind: kind, Op: "send", Code: fmt.Sprint(code), Message: "scripted"}
	}
	return resp, nil
}

func (s *fakeSender) attemptsOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[id]
}

func (s *fakeSender) receivedOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[id]
}

// lostConnection is what the gateway client returns when the connection dropped after
// the request was written.
func lostConnection() error {
	return &awsclient.Error{Kind: awsclient.KindNetwork, Op: "send", Message: "connection reset by peer",
		Err: fmt.Errorf("%w: connection reset", awsclient.ErrDeliveryUnknown)}
}

// memLeases is an in-memory lease table with LeaseStore's rules: a claim is granted when
// there is none, when it is the same run's, or when the old one is not live and nobody
// sent the request after RedrivenSince (an expired unfinished claim counts as sent at
// its claim time).
type memLeases struct {
	mu         sync.Mutex
	claims     map[string]awsclient.Claim
	claimErr   error // every Claim fails with it
	finErr     error // every Finish fails with it
	finishes   int
	claimCalls int
	// batched: a run is given the table as a LeaseBatcher (batch), not a Claimer alone.
	batched bool
	batch   *batchLeases
}

// claimer is the table as a run's Deps.Leases.
func (l *memLeases) claimer() Claimer {
	if !l.batched {
		return l
	}
	if l.batch == nil {
		l.batch = &batchLeases{memLeases: l}
	}
	return l.batch
}

func newMemLeases() *memLeases { return &memLeases{claims: map[string]awsclient.Claim{}} }

func (l *memLeases) Claim(ctx context.Context, req awsclient.ClaimRequest) (awsclient.ClaimResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.claimCalls++
	if l.claimErr != nil {
		return awsclient.ClaimResult{}, l.claimErr
	}
	old, found := l.claims[req.RequestID]
	grant := !found || old.RunID == req.RunID
	if !grant && !old.Live(req.Now) {
		grant = req.RedrivenSince.IsZero() ||
			(!old.LastSentAt.After(req.RedrivenSince) && (old.Outcome != "" || !old.ClaimedAt.After(req.RedrivenSince)))
	}
	if !grant {
		if old.Live(req.Now) {
			return awsclient.ClaimResult{Refused: awsclient.ClaimHeld, Holder: old}, nil
		}
		return awsclient.ClaimResult{Refused: awsclient.ClaimRedriven, Holder: old}, nil
	}
	l.claims[req.RequestID] = awsclient.Claim{RequestID: req.RequestID, RunID: req.RunID, Operator: req.Operator, Env: req.Env,
		ClaimedAt: req.Now, Expires: req.Now.Add(req.TTL), LastSentAt: old.LastSentAt, LastSentRun: old.LastSentRun}
	return awsclient.ClaimResult{Holder: old, TookOver: found && old.Outcome == "" && old.RunID != req.RunID}, nil
}

func (l *memLeases) Finish(ctx context.Context, f awsclient.ClaimFinish) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.finishes++
	if l.finErr != nil {
		return l.finErr
	}
	c, ok := l.claims[f.RequestID]
	if !ok || c.RunID != f.RunID {
		return awsclient.ErrClaimLost
	}
	c.Outcome, c.FinishedAt, c.Sent = f.Outcome, f.At, f.Sent
	if f.Sent {
		c.LastSentAt, c.LastSentRun = f.At, f.RunID
	}
	l.claims[f.RequestID] = c
	return nil
}

func (l *memLeases) get(id string) awsclient.Claim {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.claims[id]
}

// batchLeases is memLeases as a LeaseBatcher: each batch answers every item as Claim or
// Finish alone (LeaseStore's contract), and counts its calls and their sizes.
type batchLeases struct {
	*memLeases
	bmu     sync.Mutex
	claimed []int // the size of each ClaimBatch
	fins    []int // the size of each FinishBatch
	// finishGate, when set, holds every FinishBatch until it is closed.
	finishGate chan struct{}
}

func (l *batchLeases) ClaimBatch(ctx context.Context, reqs []awsclient.ClaimRequest) ([]awsclient.ClaimResult, []error) {
	l.bmu.Lock()
	l.claimed = append(l.claimed, len(reqs))
	l.bmu.Unlock()
	res, errs := make([]awsclient.ClaimResult, len(reqs)), make([]error, len(reqs))
	for i, r := range reqs {
		res[i], errs[i] = l.Claim(ctx, r)
	}
	return res, errs
}

func (l *batchLeases) FinishBatch(ctx context.Context, fs []awsclient.ClaimFinish) []error {
	if l.finishGate != nil {
		<-l.finishGate
	}
	l.bmu.Lock()
	l.fins = append(l.fins, len(fs))
	l.bmu.Unlock()
	errs := make([]error, len(fs))
	for i, f := range fs {
		errs[i] = l.Finish(ctx, f)
	}
	return errs
}

// calls is how many ClaimBatch and FinishBatch calls were made, and how many items they
// carried.
func (l *batchLeases) calls() (claims, claimed, finishes, finished int) {
	l.bmu.Lock()
	defer l.bmu.Unlock()
	for _, n := range l.claimed {
		claimed += n
	}
	for _, n := range l.fins {
		finished += n
	}
	return len(l.claimed), claimed, len(l.fins), finished
}
