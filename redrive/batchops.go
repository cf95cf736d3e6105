package redrive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/atomicfile"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// The batch-ops engine (#15): the frozen manifest handed to S3 Batch Operations (one job,
// or one per set of content headers for s3-copy), tracked to its end, and the completion
// reports read back into stowage's report and audit format. Plan → PrepareBatch → (the operator confirms) → StartBatch (claims, upload,
// CreateJob, confirm) → Watch → Finish.

// ModeBatchLambda is the batch-ops mode that invokes the processor with Batch Operations'
// own event (invocation schema 2.0). The other batch-ops mode is ModeS3Copy.
const ModeBatchLambda Mode = "lambda"

// BatchTargetMethods name a batch-ops manifest's target, so that its hash (the job's
// client request token) differs from a local run's of the same selection.
const (
	BatchCopyMethod   = "S3BatchOperations:S3PutObjectCopy"
	BatchLambdaMethod = "S3BatchOperations:LambdaInvoke"
)

// BatchLeaseTTL is how long a batch-ops claim holds: a job's tasks run for hours, and no
// renewal is possible while S3 runs them.
const BatchLeaseTTL = config.MaxLeaseTTL

// JobAPI is what the engine calls in S3 Control and S3. awsclient's JobStore implements it.
type JobAPI interface {
	UploadManifest(ctx context.Context, runID string, body []byte) (awsclient.ManifestRef, error)
	CreateJob(ctx context.Context, spec awsclient.JobSpec) (string, error)
	Confirm(ctx context.Context, id, reason string) error
	Cancel(ctx context.Context, id, reason string) error
	Describe(ctx context.Context, id string) (awsclient.Job, error)
	ReadReport(ctx context.Context, id string) (*awsclient.JobReport, error)
	ReportURI(id string) string
	ReadOnly() bool
}

var _ JobAPI = (*awsclient.JobStore)(nil)

// BatchDeps are what a batch-ops run calls.
type BatchDeps struct {
	Jobs   JobAPI
	Leases Claimer // nil without a lease table
}

// BatchDepsFor is what a batch-ops run calls in an environment.
func BatchDepsFor(c *awsclient.Clients) BatchDeps {
	d := BatchDeps{}
	if c.Jobs != nil {
		d.Jobs = c.Jobs
	}
	if c.Leases != nil {
		d.Leases = c.Leases
	}
	return d
}

// BatchPlanOptions say how a manifest is handed to Batch Operations.
type BatchPlanOptions struct {
	Lambda      bool
	FunctionARN string
	// Force sends requests already in a success state at planning (else they are skipped).
	Force bool
	Cost  config.BatchOpsCost
	// ReportLocation is where the completion report goes (s3://bucket/prefix).
	ReportLocation string
	// MaxFailureRatio cancels the job once more than this share of its finished tasks
	// failed, after BreakerMinItems (S3's own threshold, 50% after 1,000, applies too).
	MaxFailureRatio float64
}

// BatchPlan is a manifest ready to be handed over: what the job will run, what it leaves
// out and why, and what it costs.
type BatchPlan struct {
	Manifest *Manifest `json:"manifest"`
	// Op is the job's operation.
	Op awsclient.JobOperation `json:"op"`
	// Sends are the request IDs the job is to run (before claims).
	Sends []string `json:"sends"`
	// Left are the requests left out, with why (already processed at planning).
	Left map[string]string `json:"left,omitempty"`
	// Done are the IDs left out as already processed (Left says so too).
	Done []string `json:"done,omitempty"`
	// Groups are the jobs: a copy job gives every object one metadata set, so s3-copy
	// makes one job per set of content headers; lambda makes one.
	Groups          []BatchGroup `json:"groups"`
	FunctionARN     string       `json:"function,omitempty"`
	Cost            float64      `json:"cost"`
	Currency        string       `json:"currency"`
	ReportLocation  string       `json:"reportLocation"`
	MaxFailureRatio float64      `json:"maxFailureRatio"`
}

// BatchGroup is the requests of one job, and the content headers its copies get.
type BatchGroup struct {
	ContentType     string   `json:"contentType,omitempty"`
	ContentEncoding string   `json:"contentEncoding,omitempty"`
	IDs             []string `json:"ids"`
}

// Headers describes the group's content headers.
func (g BatchGroup) Headers() string { return describeHeaders(g.ContentType, g.ContentEncoding) }

// PrepareBatch turns a planned manifest (planned as s3-copy) into a batch-ops plan. It
// fixes the manifest's mode and target first, so its hash names the batch-ops run.
func PrepareBatch(m *Manifest, o BatchPlanOptions) (*BatchPlan, error) {
	p := &BatchPlan{Manifest: m, Op: awsclient.JobCopy, Left: map[string]string{}, Currency: o.Cost.Currency,
		ReportLocation: o.ReportLocation, MaxFailureRatio: o.MaxFailureRatio}
	if o.Lambda {
		if o.FunctionARN == "" {
			return nil, errors.New("--mode lambda needs the processor's function: set batch_ops.lambda_function (or events.lambda_function)")
		}
		p.Op, p.FunctionARN = awsclient.JobLambda, o.FunctionARN
		m.Mode, m.Target = ModeBatchLambda, Target{Method: BatchLambdaMethod, URL: o.FunctionARN}
	} else {
		m.Mode, m.Target = ModeS3Copy, Target{Method: BatchCopyMethod, URL: "s3://" + m.Bucket}
	}
	var sends []Item
	for _, it := range m.Items {
		if !o.Force && m.IsSuccess(it.Status) {
			p.Left[it.RequestID] = "already " + it.Status + " at planning (--force sends it)"
			p.Done = append(p.Done, it.RequestID)
			continue
		}
		sends = append(sends, it)
	}
	for _, it := range sends {
		p.Sends = append(p.Sends, it.RequestID)
	}
	if o.Lambda {
		if len(sends) > 0 {
			p.Groups = []BatchGroup{{IDs: p.Sends}}
		}
	} else {
		// A copy job gives every object the same metadata (REPLACE): one job for each
		// set of content headers, the largest first.
		type headers struct{ ct, ce string }
		index := map[headers]int{}
		for _, it := range sends {
			if it.ContentType == "" {
				return nil, fmt.Errorf("request %s: its Content-Type is not known (a listing does not give it), and a copy job would reset it: describe the items first (DescribeForCopy)", sanitize.Line(it.RequestID))
			}
			h := headers{it.ContentType, it.ContentEncoding}
			i, ok := index[h]
			if !ok {
				i = len(p.Groups)
				index[h] = i
				p.Groups = append(p.Groups, BatchGroup{ContentType: h.ct, ContentEncoding: h.ce})
			}
			p.Groups[i].IDs = append(p.Groups[i].IDs, it.RequestID)
		}
		sort.SliceStable(p.Groups, func(a, b int) bool {
			if len(p.Groups[a].IDs) != len(p.Groups[b].IDs) {
				return len(p.Groups[a].IDs) > len(p.Groups[b].IDs)
			}
			return p.Groups[a].Headers() < p.Groups[b].Headers()
		})
	}
	p.Cost = o.Cost.Estimate(len(p.Sends), o.Lambda) + float64(max(0, len(p.Groups)-1))*o.Cost.PerJob
	return p, nil
}

// DescribeForCopy HEADs the items whose content headers the plan does not know (a
// listing describes an object without them) and fills them in. A copy job sets every
// object's Content-Type and Content-Encoding (REPLACE, one set per job): an object
// copied without them would become binary/octet-stream and lose its encoding. An object
// with no Content-Type is given S3's own default; one that is gone is left as it is (its
// task fails: the key does not exist). It returns how many it HEADed.
func DescribeForCopy(ctx context.Context, h ObjectHeader, m *Manifest, concurrency int) (int, error) {
	var todo []int
	for i, it := range m.Items {
		if it.ContentType == "" {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	if concurrency <= 0 {
		concurrency = 16
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := 0; w < min(concurrency, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				it := &m.Items[i]
				o, err := h.Head(ctx, it.Key)
				switch {
				case err == nil:
					it.ContentType, it.ContentEncoding = o.ContentType, o.ContentEncoding
					if it.ContentType == "" {
						it.ContentType = DefaultContentType
					}
				case awsclient.KindOf(err) == awsclient.KindNotFound:
				default:
					mu.Lock()
					if first == nil && ctx.Err() == nil {
						first = fmt.Errorf("describe request %s for the copy job: %w", sanitize.Line(it.RequestID), err)
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return len(todo), first
}

// DefaultContentType is what S3 reports for an object stored without a Content-Type.
const DefaultContentType = "binary/octet-stream"

func describeHeaders(ct, ce string) string {
	if ct == "" {
		ct = "(no Content-Type)"
	}
	if ce != "" {
		return ct + " + " + ce
	}
	return ct
}

// CostText is the estimate in words: "0.28 USD estimated (1 job, 5000 objects)", the
// request fees only (not data transfer, KMS or Lambda duration).
func (p *BatchPlan) CostText() string {
	jobs := "1 job"
	if len(p.Groups) != 1 {
		jobs = fmt.Sprintf("%d jobs", len(p.Groups))
	}
	return fmt.Sprintf("%.2f %s estimated (%s, %d objects)", p.Cost, p.Currency, jobs, len(p.Sends))
}

// Token is job i's client request token: the manifest's hash for the first job, and a
// hash of it and i for the others (one token per job, the same on every retry).
func (p *BatchPlan) Token(i int) string {
	h := p.Manifest.Hash()
	if i == 0 {
		return h
	}
	sum := sha256.Sum256([]byte(h + "/" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

// BatchCSV writes items as a Batch Operations CSV manifest: bucket, URL-encoded key, and
// the version ID when every item has one (a versioned bucket).
func BatchCSV(bucket string, items []Item) (body []byte, versioned bool) {
	versioned = len(items) > 0
	for _, it := range items {
		versioned = versioned && it.VersionID != ""
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for _, it := range items {
		rec := []string{bucket, EscapeManifestKey(it.Key)}
		if versioned {
			rec = append(rec, it.VersionID)
		}
		w.Write(rec)
	}
	w.Flush()
	return b.Bytes(), versioned
}

// EscapeManifestKey URL-encodes a key for a manifest: every byte but the unreserved ones
// and '/' as %XX (so '+' and ' ' are never ambiguous).
func EscapeManifestKey(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// BatchRecord is a batch-ops run on this machine: the plan, the claims, the job. It is
// saved beside the journals (StateDir()/redrives/…batch.json) as each step happens, so
// that stowage jobs watch can finish a run whose process ended.
type BatchRecord struct {
	Version  int        `json:"version"`
	Plan     *BatchPlan `json:"plan"`
	Operator string     `json:"operator"`
	// Claimed are the IDs claimed in the lease table (all of Sends without a table);
	// Refused says why the others were not.
	Claimed []string          `json:"claimed"`
	Refused map[string]string `json:"refused,omitempty"`
	Failed  map[string]string `json:"failed,omitempty"` // claims that errored
	// Interrupted are the claims in flight when the start was interrupted: each may or
	// may not have been made, so Finish releases them too (none is sent).
	Interrupted []string `json:"interrupted,omitempty"`
	// Jobs are the jobs created, in the plan's group order.
	Jobs    []BatchJobRef `json:"jobs,omitempty"`
	Tripped string        `json:"tripped,omitempty"` // why stowage cancelled the job
	// ClaimsUntil is when the claims lapse unless renewed (a watch renews them);
	// Lost are the claims another run took after they lapsed, with who holds them.
	ClaimsUntil time.Time `json:"claimsUntil,omitzero"`
	// Started is when the confirmed start began (the report's start; a record
	// without it starts at the plan).
	Started  time.Time         `json:"started,omitzero"`
	Lost     map[string]string `json:"lostClaims,omitempty"`
	Finished bool              `json:"finished,omitempty"`
	Force    bool              `json:"force,omitempty"`
	NoLease  bool              `json:"noLeaseTable,omitempty"`
	path     string
	mu       sync.Mutex
	saveMu   sync.Mutex // one save at a time (save)
}

// BatchJobRef is one job of a run.
type BatchJobRef struct {
	ID       string                `json:"id,omitempty"`
	Group    int                   `json:"group"`
	Manifest awsclient.ManifestRef `json:"manifest"`
}

// JobIDs are the run's jobs.
func (r *BatchRecord) JobIDs() []string {
	var ids []string
	for _, j := range r.Jobs {
		if j.ID != "" {
			ids = append(ids, j.ID)
		}
	}
	return ids
}

// BatchRecordPath is where a plan's record is kept.
func BatchRecordPath(m *Manifest) (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "redrives", m.PlannedAt.UTC().Format("20060102T150405Z")+"-"+m.RunID+".batch.json"), nil
}

// Path is where the record is saved.
func (r *BatchRecord) Path() string { return r.path }

// save writes the record. It is encoded under mu and written after mu is released, so
// that readers of the record (the TUI's frame asks ClaimsUntil) never wait for the disk;
// saveMu keeps the writes in the order of their snapshots.
func (r *BatchRecord) save() error {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	b, err := json.MarshalIndent(r, "", " ")
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save the batch-ops record: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return fmt.Errorf("save the batch-ops record: %w", err)
	}
	return atomicfile.Write(r.path, atomicfile.Options{Perm: 0o600}, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// LoadBatchRecord reads a saved record.
func LoadBatchRecord(path string) (*BatchRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r BatchRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Plan == nil || r.Plan.Manifest == nil {
		return nil, fmt.Errorf("%s is not a batch-ops record: %v", path, err)
	}
	r.path = path
	return &r, nil
}

// FindBatchRecord finds this machine's record of job id ("" and no error when none).
func FindBatchRecord(jobID string) (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "redrives", "*.batch.json"))
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		if r, err := LoadBatchRecord(p); err == nil && containsID(r.JobIDs(), jobID) {
			return p, nil
		}
	}
	return "", nil
}

// BatchSession is one batch-ops run: StartBatch or AttachBatch, then Watch and Finish.
type BatchSession struct {
	deps BatchDeps
	rec  *BatchRecord
	cfg  SessionConfig
	// Poll is how often Watch describes the job (2 s when zero).
	Poll time.Duration
	// BreakerMinItems is how many tasks must have ended before the failure ratio can
	// cancel the job (DefaultBreakerMinItems when zero).
	BreakerMinItems int
	job             awsclient.Job
	// jobs is the last description of each job; Watch writes it while Cancel (another
	// goroutine: the TUI's c, the CLI's Ctrl-C) reads it.
	jobsMu sync.Mutex
	jobs   map[string]awsclient.Job
	// RenewRate paces the renewal of the claims, in claims a second
	// (DefaultBatchRenewRate when zero); renewing is a round in flight, renewAfter
	// when the next may start after a round that failed (batchops_renew.go).
	RenewRate  int
	renewing   atomic.Bool
	renewAfter time.Time
}

// jobState is the last description of job id read.
func (s *BatchSession) jobState(id string) (awsclient.Job, bool) {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	j, ok := s.jobs[id]
	return j, ok
}

// setJobState records job id's description.
func (s *BatchSession) setJobState(id string, j awsclient.Job) {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if s.jobs == nil {
		s.jobs = map[string]awsclient.Job{}
	}
	s.jobs[id] = j
}

// Record is the run's saved record.
func (s *BatchSession) Record() *BatchRecord { return s.rec }

// JobIDs are the run's jobs (none before CreateJob).
func (s *BatchSession) JobIDs() []string { return s.rec.JobIDs() }

// BatchStartOptions are a start's choices beyond the plan.
type BatchStartOptions struct {
	Force bool
	// ClaimConcurrency bounds the claims in flight (64 when zero): a million claims at
	// DynamoDB's usual 5-10 ms each.
	ClaimConcurrency int
	// Poll is how often the job is described while it prepares (2 s when zero).
	Poll time.Duration
	// RecordPath overrides BatchRecordPath (tests).
	RecordPath string
}

// StartBatch runs a confirmed plan up to a running job: the started audit entry, a claim
// of every request in the lease table, the CSV manifest of those claimed, CreateJob
// (ConfirmationRequired, the manifest hash as token), the wait until S3 has prepared it,
// and UpdateJobStatus Ready. Nothing runs without both confirmations: the operator's,
// before this call, and this call's. A failure leaves the claims to expire (or to Finish).
// When ctx ends during it (Ctrl+C), the record holds every job created, confirmed or not:
// the first ones may already run, so an interrupted start is ended as a cancel mid-job is
// (Cancel with a fresh context, Watch until the jobs have stopped, Finish).
func StartBatch(ctx context.Context, deps BatchDeps, p *BatchPlan, o BatchStartOptions, sc SessionConfig) (*BatchSession, error) {
	m := p.Manifest
	if deps.Jobs == nil {
		return nil, refuse(m, errors.New("the environment has no batch_ops section: S3 Batch Operations is not configured"), sc, o.Force, false)
	}
	if deps.Jobs.ReadOnly() {
		return nil, refuse(m, &awsclient.Error{Kind: awsclient.KindReadOnly, Op: "create-job", Resource: "s3control", Err: awsclient.ErrReadOnly,
			Remedy: "the environment is read-only (read_only in the config or --read-only)"}, sc, o.Force, false)
	}
	path := o.RecordPath
	if path == "" {
		var err error
		if path, err = BatchRecordPath(m); err != nil {
			return nil, refuse(m, err, sc, o.Force, false)
		}
	}
	rec := &BatchRecord{Version: 1, Plan: p, Operator: sc.Who, Refused: map[string]string{}, Failed: map[string]string{},
		Force: o.Force, NoLease: deps.Leases == nil, Started: now(sc).UTC(), path: path}
	if rec.Operator == "" {
		rec.Operator = "unknown"
	}
	if err := rec.save(); err != nil {
		return nil, refuse(m, err, sc, o.Force, false)
	}
	if _, err := AppendStarted(m, path, sc.auditContext(o.Force, false)); err != nil {
		return nil, fmt.Errorf("%w; nothing was sent", err)
	}
	s := &BatchSession{deps: deps, rec: rec, cfg: sc, Poll: o.Poll}
	claimedAt := now(sc)
	if err := s.claimAll(ctx, o); err != nil {
		rec.save()
		return s, err
	}
	if err := rec.save(); err != nil {
		return s, err
	}
	if len(rec.Claimed) == 0 {
		return s, nil // nothing to hand over: Finish reports why
	}
	if deps.Leases != nil {
		rec.ClaimsUntil = claimedAt.Add(BatchLeaseTTL) // the first claim's expiry: the earliest
	}
	claimed := map[string]bool{}
	for _, id := range rec.Claimed {
		claimed[id] = true
	}
	byID := map[string]Item{}
	for _, it := range m.Items {
		byID[it.RequestID] = it
	}
	for gi, g := range p.Groups {
		var items []Item
		for _, id := range g.IDs {
			if claimed[id] {
				items = append(items, byID[id])
			}
		}
		if len(items) == 0 {
			continue
		}
		name := m.RunID
		if len(p.Groups) > 1 {
			name += fmt.Sprintf("-%d", gi+1)
		}
		body, versioned := BatchCSV(m.Bucket, items)
		ref, err := deps.Jobs.UploadManifest(ctx, name, body)
		if err != nil {
			return s, fmt.Errorf("upload the job manifest: %w", err)
		}
		ref.Versioned = versioned
		jr := BatchJobRef{Group: gi, Manifest: ref}
		desc := fmt.Sprintf("%s run %s on %s by %s", awsclient.JobDescriptionPrefix, m.RunID, m.Env, rec.Operator)
		if len(p.Groups) > 1 {
			desc += fmt.Sprintf(" (job %d of %d: %s)", gi+1, len(p.Groups), g.Headers())
		}
		spec := awsclient.JobSpec{Token: p.Token(gi), Manifest: ref, Operation: p.Op, Bucket: m.Bucket, Description: desc,
			Tags:        map[string]string{"stowage": "redrive", "stowage:run-id": m.RunID, "stowage:env": m.Env, "stowage:operator": rec.Operator},
			FunctionARN: p.FunctionARN, ContentType: g.ContentType, ContentEncoding: g.ContentEncoding,
			UserMetadata: map[string]string{awsclient.RedrivenAtMeta: now(sc).UTC().Format(time.RFC3339)}}
		if p.Op == awsclient.JobLambda {
			spec.UserArguments = map[string]string{"stowageRunId": m.RunID}
			spec.UserMetadata = nil
		}
		id, err := deps.Jobs.CreateJob(ctx, spec)
		if err != nil {
			return s, fmt.Errorf("create the job: %w", err)
		}
		jr.ID = id
		rec.Jobs = append(rec.Jobs, jr)
		if err := rec.save(); err != nil {
			return s, err
		}
	}
	// S3 reads each manifest first (Preparing); only a Suspended job can be confirmed.
	for _, id := range rec.JobIDs() {
		for {
			j, err := deps.Jobs.Describe(ctx, id)
			if err != nil {
				return s, err
			}
			if j.Status == "Suspended" {
				break
			}
			if j.Terminal() {
				return s, fmt.Errorf("job %s ended %s before it was confirmed: %s", id, j.Status, sanitize.Line(strings.Join(j.FailureReasons, "; ")))
			}
			if j.Status != "New" && j.Status != "Preparing" {
				break // confirmed already: a retry of a start that got this far
			}
			if !sleepCtx(ctx, s.poll()) {
				return s, ctx.Err()
			}
		}
	}
	for _, id := range rec.JobIDs() {
		if err := deps.Jobs.Confirm(ctx, id, "confirmed in stowage by "+clipText(rec.Operator, 200)); err != nil && awsclient.KindOf(err) != awsclient.KindInvalid {
			return s, fmt.Errorf("confirm job %s: %w", id, err)
		}
	}
	return s, nil
}

func now(sc SessionConfig) time.Time {
	if sc.Now != nil {
		return sc.Now()
	}
	return time.Now()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (s *BatchSession) poll() time.Duration {
	if s.Poll > 0 {
		return s.Poll
	}
	return 2 * time.Second
}

// claimRequest is the run's claim of request id, at the start and at each renewal: held
// BatchLeaseTTL, and refused when another run sent it since planning (without --force).
func (s *BatchSession) claimRequest(id string) awsclient.ClaimRequest {
	rec, m := s.rec, s.rec.Plan.Manifest
	req := awsclient.ClaimRequest{RequestID: id, RunID: m.RunID, Operator: rec.Operator, Env: m.Env, Now: now(s.cfg), TTL: BatchLeaseTTL}
	if !rec.Force {
		req.RedrivenSince = m.PlannedAt
	}
	return req
}

// claimAll claims every request to send, in parallel, before the job exists.
func (s *BatchSession) claimAll(ctx context.Context, o BatchStartOptions) error {
	rec := s.rec
	if s.deps.Leases == nil {
		rec.Claimed = append([]string(nil), rec.Plan.Sends...)
		return nil
	}
	n := o.ClaimConcurrency
	if n <= 0 {
		n = 64
	}
	ids := make(chan string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	granted := map[string]bool{}
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				req := s.claimRequest(id)
				var res awsclient.ClaimResult
				var err error
				for try := 1; try <= claimTries; try++ {
					res, err = s.deps.Leases.Claim(ctx, req)
					if err == nil || ctx.Err() != nil || !awsclient.KindOf(err).Retryable() {
						break
					}
					sleepCtx(ctx, time.Duration(try)*200*time.Millisecond)
				}
				mu.Lock()
				switch {
				case err != nil && ctx.Err() != nil:
					rec.Interrupted = append(rec.Interrupted, id)
				case err != nil:
					rec.Failed[id] = "could not claim the request in the lease table, so it was left out of the job: " + reasonOf(err)
				case res.Refused == awsclient.ClaimHeld:
					rec.Refused[id] = "claimed by " + res.Holder.String()
				case res.Refused == awsclient.ClaimRedriven:
					rec.Refused[id] = "already redriven by run " + sanitize.Line(res.Holder.LastSentRun) + " since planning (use --force to send it again)"
				default:
					granted[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range rec.Plan.Sends {
		if ctx.Err() != nil {
			break
		}
		ids <- id
	}
	close(ids)
	wg.Wait()
	for _, id := range rec.Plan.Sends {
		if granted[id] {
			rec.Claimed = append(rec.Claimed, id)
		}
	}
	return ctx.Err()
}

// AttachBatch takes over the run of a saved record (stowage jobs watch): its job is
// watched and finished here.
func AttachBatch(deps BatchDeps, path string, sc SessionConfig) (*BatchSession, error) {
	rec, err := LoadBatchRecord(path)
	if err != nil {
		return nil, err
	}
	if sc.Who == "" {
		sc.Who = rec.Operator
	}
	return &BatchSession{deps: deps, rec: rec, cfg: sc}, nil
}

// ConfirmSuspended confirms the run's jobs still Suspended: the operator confirmed the
// plan (the record exists only after that), and the process that created the jobs ended
// before it confirmed them all. It returns the IDs it confirmed.
func (s *BatchSession) ConfirmSuspended(ctx context.Context) ([]string, error) {
	var done []string
	for _, id := range s.rec.JobIDs() {
		j, err := s.deps.Jobs.Describe(ctx, id)
		if err != nil {
			return done, err
		}
		if j.Status != "Suspended" {
			continue
		}
		if err := s.deps.Jobs.Confirm(ctx, id, "confirmed in stowage by "+clipText(s.rec.Operator, 200)); err != nil {
			return done, fmt.Errorf("confirm job %s: %w", id, err)
		}
		done = append(done, id)
	}
	return done, nil
}

// BatchProgress is one look at a running job.
type BatchProgress struct {
	Job awsclient.Job
	// Rate is tasks per second over the last looks; RateMeasured says there were two.
	Rate         float64
	RateMeasured bool
	ETA          time.Duration
	// Stopping says stowage asked the job to cancel, and why.
	Stopping string
}

// Fraction is the share of tasks ended.
func (p BatchProgress) Fraction() float64 {
	if p.Job.Total == 0 {
		return 0
	}
	return float64(p.Job.Done()) / float64(p.Job.Total)
}

// ErrNoJob is Watch's answer for a run that created no job (nothing was claimed).
var ErrNoJob = errors.New("no job was created")

// describeAll reads every job of the run and sums them into one: the counts added, the
// status the least advanced one's (Complete only when all are; Cancelled or Failed when
// one ended so and all have ended).
func (s *BatchSession) describeAll(ctx context.Context) (awsclient.Job, error) {
	var sum awsclient.Job
	ended := true
	worst := ""
	for i, id := range s.rec.JobIDs() {
		j, ok := s.jobState(id)
		if !ok || !j.Terminal() {
			var err error
			if j, err = s.deps.Jobs.Describe(ctx, id); err != nil {
				return s.job, err
			}
			s.setJobState(id, j)
		}
		if i == 0 {
			sum = j
			sum.FailureReasons = nil
		} else {
			sum.Total += j.Total
			sum.Succeeded += j.Succeeded
			sum.Failed += j.Failed
			if j.Elapsed > sum.Elapsed {
				sum.Elapsed = j.Elapsed
			}
			if j.Terminated.After(sum.Terminated) {
				sum.Terminated = j.Terminated
			}
		}
		sum.FailureReasons = append(sum.FailureReasons, j.FailureReasons...)
		if !j.Terminal() {
			if ended || jobRank(j.Status) < jobRank(worst) {
				worst = j.Status
			}
			ended = false
		} else if ended && jobRank(j.Status) > jobRank(worst) {
			worst = j.Status
		}
	}
	sum.Status = worst
	if len(s.rec.JobIDs()) > 1 {
		sum.ID = strings.Join(s.rec.JobIDs(), ",")
	}
	s.job = sum
	return sum, nil
}

// jobRank orders statuses: running ones by progress, ended ones by how badly they ended.
func jobRank(status string) int {
	switch status {
	case "New":
		return 1
	case "Preparing":
		return 2
	case "Suspended":
		return 3
	case "Ready":
		return 4
	case "Active", "Pausing", "Paused":
		return 5
	case "Completing", "Cancelling", "Failing":
		return 6
	case "Complete":
		return 10
	case "Cancelled":
		return 11
	case "Failed":
		return 12
	}
	return 0
}

// Watch describes the jobs every Poll until all have ended, calling progress after each
// look with their sum. It cancels them when the failure ratio is crossed (once). It
// returns ctx's error when ctx ends first: the jobs keep running; the caller decides
// whether to Cancel.
func (s *BatchSession) Watch(ctx context.Context, progress func(BatchProgress)) (awsclient.Job, error) {
	if len(s.rec.JobIDs()) == 0 {
		return awsclient.Job{}, ErrNoJob
	}
	minItems := s.BreakerMinItems
	if minItems <= 0 {
		minItems = DefaultBreakerMinItems
	}
	type look struct {
		at   time.Time
		done int64
	}
	var first *look
	// The claims are renewed in the background while the jobs run; Watch waits for a
	// round to stop before it returns.
	rctx, stopRenew := context.WithCancel(ctx)
	var renewals sync.WaitGroup
	defer renewals.Wait()
	defer stopRenew()
	for {
		j, err := s.describeAll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return s.job, ctx.Err()
			}
			return s.job, err
		}
		p := BatchProgress{Job: j, Stopping: s.rec.Tripped}
		at := time.Now()
		if j.Status == "Active" || j.Status == "Completing" {
			if first == nil || j.Done() < first.done {
				first = &look{at, j.Done()}
			} else if el := at.Sub(first.at).Seconds(); el > 0 && j.Done() > first.done {
				p.Rate, p.RateMeasured = float64(j.Done()-first.done)/el, true
				p.ETA = time.Duration(float64(j.Total-j.Done()) / p.Rate * float64(time.Second))
			}
		}
		ratio := s.rec.Plan.MaxFailureRatio
		if s.rec.Tripped == "" && !j.Terminal() && ratio > 0 && ratio < 1 && j.Done() >= int64(minItems) &&
			float64(j.Failed) > ratio*float64(j.Done()) {
			reason := fmt.Sprintf("%d of %d tasks failed, over --max-failure-ratio %g%%", j.Failed, j.Done(), ratio*100)
			s.rec.mu.Lock() // a renewal round may be saving the record
			s.rec.Tripped = reason
			s.rec.mu.Unlock()
			s.rec.save()
			p.Stopping = reason
			if err := s.Cancel(ctx, "stowage: "+reason); err != nil {
				return j, fmt.Errorf("cancel the job after %s: %w", reason, err)
			}
		}
		if progress != nil {
			progress(p)
		}
		if j.Terminal() {
			return j, nil
		}
		s.startRenewal(rctx, &renewals)
		if !sleepCtx(ctx, s.poll()) {
			return j, ctx.Err()
		}
	}
}

// Cancel asks S3 to cancel every job of the run that has not ended: running, or created
// and not yet confirmed (New, Preparing, Suspended: an interrupted start). Tasks already
// done are not undone (BatchCancelNote).
func (s *BatchSession) Cancel(ctx context.Context, reason string) error {
	ids := s.rec.JobIDs()
	if len(ids) == 0 {
		return ErrNoJob
	}
	var errs []error
	for _, id := range ids {
		if j, ok := s.jobState(id); ok && j.Terminal() {
			continue
		}
		if err := s.deps.Jobs.Cancel(ctx, id, reason); err != nil && awsclient.KindOf(err) != awsclient.KindInvalid {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// BatchCancelTimeout bounds the cancel requests of a run whose own context has ended
// (Ctrl+C, the TUI closing): they get a fresh context of their own.
const BatchCancelTimeout = 30 * time.Second

// CancelInterrupted cancels every job an interrupted start created (its ctx ended during
// StartBatch), confirmed or still Suspended: the first ones may already run, and the
// others would wait for a confirmation no one gives. The requests get a fresh context
// (ctx has ended), bounded by BatchCancelTimeout; a job that had ended is no error.
func (s *BatchSession) CancelInterrupted(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), BatchCancelTimeout)
	defer cancel()
	err := s.Cancel(cctx, "cancelled in stowage by the operator: the start was interrupted")
	if errors.Is(err, ErrNoJob) || awsclient.KindOf(err) == awsclient.KindInvalid {
		return nil
	}
	return err
}

// BatchCancelNote is what an operator is told when a job is cancelled.
const BatchCancelNote = "tasks S3 has already run are not undone: those requests were redriven"

// Finish reads the ended jobs' completion reports into stowage's report (saved beside the
// record as .report.jsonl), releases every claim with its outcome, and appends the final
// audit entry.
func (s *BatchSession) Finish(ctx context.Context) (*Report, FinishResult, error) {
	rec, m := s.rec, s.rec.Plan.Manifest
	var tasks map[string]awsclient.JobTaskResult
	var readErr error
	if len(rec.JobIDs()) > 0 {
		j, err := s.describeAll(ctx)
		if err != nil {
			return nil, FinishResult{}, err
		}
		if !j.Terminal() {
			return nil, FinishResult{}, fmt.Errorf("job %s is %s: it has not ended", j.ID, j.Status)
		}
		tasks = map[string]awsclient.JobTaskResult{}
		for _, id := range rec.JobIDs() {
			if j, _ := s.jobState(id); j.Done() == 0 {
				continue // S3 writes no report for a job that ran no task
			}
			r, err := s.deps.Jobs.ReadReport(ctx, id)
			if err != nil {
				readErr = err
				continue
			}
			for _, t := range r.Tasks {
				if t.Bucket == m.Bucket {
					tasks[t.Key] = t
				}
			}
		}
	}
	rep := s.buildReport(tasks, readErr)
	fin := FinishResult{ReportPath: ReportPath(strings.TrimSuffix(rec.path, ".batch.json") + ".journal.jsonl")}
	if err := rep.SaveJSONLines(fin.ReportPath); err != nil {
		fin.ReportPath, fin.ReportErr = "", err
	}
	s.release(rep)
	e := AuditRun(m, rep, fin.ReportPath, s.cfg.auditContext(rec.Force, false))
	fin.AuditPath, fin.AuditErr = AuditPath()
	if fin.AuditErr == nil {
		fin.AuditErr = AppendAudit(fin.AuditPath, e)
	}
	rec.Finished = true
	rec.save()
	var err error
	if fin.AuditErr != nil {
		err = fmt.Errorf("the job ended but its audit entry could not be written (%v); the record %s keeps the run", fin.AuditErr, rec.path)
	}
	return rep, fin, err
}

// finishedAt is when a batch-ops run ended: the jobs' last termination time, unless it
// is not after the start (S3 may give it to the second, which a run shorter than a
// second falls before its start: the report said it took 0 s or less), then read.
func finishedAt(started, terminated, read time.Time) time.Time {
	if terminated.After(started) {
		return terminated
	}
	return read
}

// buildReport makes one line per manifest item from the jobs' tasks and the plan.
func (s *BatchSession) buildReport(tasks map[string]awsclient.JobTaskResult, readErr error) *Report {
	rec, m, j := s.rec, s.rec.Plan.Manifest, s.job
	rep := &Report{RunID: m.RunID, Env: m.Env, Mode: m.Mode, Target: m.Target.String(), ManifestHash: m.Hash(),
		JournalPath: rec.path, Started: m.PlannedAt, Finished: now(s.cfg).UTC(), NoLeaseTable: rec.NoLease}
	if !rec.Started.IsZero() {
		rep.Started = rec.Started // the plan may have waited on the operator's confirmation
	}
	rep.Finished = finishedAt(rep.Started, j.Terminated, rep.Finished)
	claimed := map[string]bool{}
	for _, id := range rec.Claimed {
		claimed[id] = true
	}
	interrupted := map[string]bool{}
	for _, id := range rec.Interrupted {
		interrupted[id] = true
	}
	jobOf := map[string]string{}
	for _, jr := range rec.Jobs {
		for _, id := range rec.Plan.Groups[jr.Group].IDs {
			jobOf[id] = jr.ID
		}
	}
	unsent := "not finished: the job ended before this task ran"
	switch {
	case len(rec.JobIDs()) == 0:
		unsent = "not sent: no job was created"
	case readErr != nil:
		unsent = "unknown: a completion report could not be read (" + reasonOf(readErr) + ")"
	case j.Status == "Cancelled":
		unsent = "not finished: the job was cancelled before this task ran"
	case j.Status == "Failed":
		unsent = "not finished: the job failed before this task ran (" + strings.Join(j.FailureReasons, "; ") + ")"
	}
	unfinished := 0
	for _, it := range m.Items {
		res := ItemResult{RunID: m.RunID, RequestID: it.RequestID, Key: it.Key, Mode: m.Mode, State: StatePending, PreSend: it.Planned}
		switch {
		case rec.Refused[it.RequestID] != "":
			res.State, res.Note = StateSkipped, rec.Refused[it.RequestID]
		case rec.Failed[it.RequestID] != "":
			res.State, res.Error = StateFailed, rec.Failed[it.RequestID]
		case rec.Plan.Left[it.RequestID] != "":
			res.State, res.Note = StateSkipped, rec.Plan.Left[it.RequestID]
		case interrupted[it.RequestID]:
			res.Error = "not sent: the start was interrupted while it was being claimed"
		case !claimed[it.RequestID]:
			res.Error = "not sent: not claimed"
		case jobOf[it.RequestID] == "":
			res.Error = "not sent: its job was not created"
		default:
			t, ok := tasks[it.Key]
			switch {
			case ok && t.Succeeded:
				res.State, res.Attempts, res.HTTPStatus = StateDelivered, 1, t.HTTPStatus
				res.Note = "S3 Batch Operations job " + jobOf[it.RequestID]
				if t.Message != "" && t.Message != "Successful" {
					res.Note += ": " + sanitize.Line(t.Message)
				}
			case ok:
				res.State, res.Attempts, res.HTTPStatus = StateFailed, 1, t.HTTPStatus
				res.Error = strings.TrimSpace(sanitize.Line(t.ErrorCode + " " + t.Message))
				if res.Error == "" {
					res.Error = "the task failed"
				}
			case readErr != nil:
				res.State, res.Error = StateUnknown, unsent
			default:
				res.Error = unsent
			}
		}
		rep.Counts.add(res.State, 1)
		if claimed[it.RequestID] && !res.State.Final() {
			unfinished++
		}
		rep.Items = append(rep.Items, res)
	}
	c := rep.Counts
	switch {
	case rec.Tripped != "":
		rep.Outcome, rep.StopReason = OutcomeTripped, rec.Tripped
	case j.Status == "Cancelled":
		rep.Outcome, rep.StopReason = OutcomeCanceled, "the job was cancelled"
	case j.Status == "Failed":
		rep.Outcome, rep.StopReason = OutcomeError, "the job failed: "+sanitize.Line(strings.Join(j.FailureReasons, "; "))
	case c.Failed > 0:
		rep.Outcome = OutcomeFailed
	case unfinished > 0:
		rep.Outcome, rep.StopReason = OutcomeError, strings.TrimPrefix(unsent, "not finished: ")
	default:
		rep.Outcome = OutcomeDelivered
	}
	return rep
}

func containsID(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// release finishes every claim of the run with its item's outcome, best effort (a
// failure leaves the claim to expire, noted in the report).
func (s *BatchSession) release(rep *Report) {
	if s.deps.Leases == nil || len(s.rec.Claimed)+len(s.rec.Interrupted) == 0 {
		return
	}
	claimed := map[string]bool{}
	for _, id := range s.rec.Claimed {
		claimed[id] = true
	}
	interrupted := map[string]bool{}
	for _, id := range s.rec.Interrupted {
		claimed[id], interrupted[id] = true, true
	}
	ch := make(chan ItemResult)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				f := awsclient.ClaimFinish{RequestID: it.RequestID, RunID: s.rec.Plan.Manifest.RunID, At: now(s.cfg),
					Sent: it.Attempts > 0, Outcome: claimOutcome(it.State, it.Attempts > 0)}
				ctx, cancel := context.WithTimeout(context.Background(), finishClaimTimeout)
				err := s.deps.Leases.Finish(ctx, f)
				cancel()
				if interrupted[it.RequestID] && errors.Is(err, awsclient.ErrClaimLost) {
					err = nil // the interrupted claim was never made
				}
				if err != nil {
					mu.Lock()
					rep.LeaseWarnings = append(rep.LeaseWarnings, fmt.Sprintf("request %s: the lease table was not told it ended %s: %s",
						sanitize.Line(it.RequestID), f.Outcome, reasonOf(err)))
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range rep.Items {
		if claimed[it.RequestID] {
			ch <- it
		}
	}
	close(ch)
	wg.Wait()
}
