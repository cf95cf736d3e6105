package devstack

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// The stack's S3 Control endpoint: S3 Batch Operations' CreateJob, DescribeJob,
// UpdateJobStatus and ListJobs, in REST-XML as the SDK's s3control client sends them, with
// the jobs run in process.
//
// What it models of the real service:
//   - the job lifecycle New → Preparing → Suspended (ConfirmationRequired) → Ready → Active
//     → Complete, and Cancelling → Cancelled, Failing → Failed; UpdateJobStatus to Ready
//     only from Suspended, to Cancelled from any state that is not terminal;
//   - the client request token: CreateJob with a token already used returns that job;
//   - the CSV manifest (S3BatchOperations_CSV_20180820: Bucket, Key[, VersionId], the key
//     URL-encoded), read from the stack's S3 and checked against the manifest ETag;
//   - S3PutObjectCopy (copy onto the same bucket and key; REPLACE takes NewObjectMetadata)
//     through the stack's own S3 handler, so it re-fires ObjectCreated like any copy;
//   - LambdaInvoke with invocation schema 2.0, answered by the stack's processor;
//   - the failure threshold: a job fails once more than half of at least 1,000 attempted
//     tasks have failed (the service's documented rule; it has no per-job threshold);
//   - the completion report (Report_CSV_20180820): job-ID/manifest.json and CSV results
//     under job-ID/results/ in the report bucket, for all tasks or failed ones.
//
// What it does not model: IAM (the role is recorded, never assumed), job priorities and
// queueing (jobs start at once), task retries, S3 Inventory and generated manifests, every
// other operation, tags beyond CreateJob's, the 90-day expiry of finished jobs, and
// account IDs (any is accepted, and the SDK's account host prefix is not needed: stowage's
// client leaves it out on loopback).

// BatchOpsBucket is the demo's bucket for Batch Operations manifests and reports.
const BatchOpsBucket = "stowage-demo-batch-ops"

// DemoAccountID is the account the demo's jobs belong to.
const DemoAccountID = "000000000000"

// batchFailMin and batchFailRatio are the service's failure threshold.
const (
	batchFailMin   = 1000
	batchFailRatio = 0.5
)

// jobServer is the S3 Control handler.
type jobServer struct {
	s *Stack
	// workers run a job's tasks in parallel; taskDelay paces each (tests that cancel).
	workers   int
	taskDelay atomic.Int64 // nanoseconds

	mu     sync.Mutex
	jobs   map[string]*batchJob
	order  []string
	tokens map[string]string
	seq    int
	closed bool
	wg     sync.WaitGroup
	writes atomic.Int64
	// confirmed counts the jobs made Ready; onConfirm, when set, is called with each
	// one's ID before UpdateJobStatus answers (tests that act during confirmation).
	confirmed atomic.Int64
	onConfirm atomic.Pointer[func(id string)]
	// fault, when set, fails the tasks whose key it names (tests of failed tasks).
	fault atomic.Pointer[func(key string) (code string, fail bool)]
}

type batchJob struct {
	id, token, desc, role string
	confirm               bool
	priority              int
	status, reason        string
	failures              []string
	created, terminated   time.Time
	manifest              manifestSpec
	op                    jobOperation
	report                reportSpec
	tags                  []xmlTag
	total                 int64
	succeeded, failed     atomic.Int64
	ready                 chan struct{} // closed by UpdateJobStatus Ready
	cancel                chan struct{} // closed by UpdateJobStatus Cancelled
	cancelOnce, readyOnce sync.Once
	startedAt             time.Time
	elapsed               time.Duration
}

// The request shapes, as the SDK serializes them.
type createJobRequest struct {
	ClientRequestToken   string
	ConfirmationRequired bool
	Description          string
	Manifest             manifestSpec
	Operation            jobOperation
	Priority             int
	Report               reportSpec
	RoleArn              string
	Tags                 []xmlTag `xml:"Tags>member"`
}

type manifestSpec struct {
	Location struct {
		ObjectArn       string
		ObjectVersionId string `xml:",omitempty"`
		ETag            string
	}
	Spec struct {
		Format string
		Fields []string `xml:"Fields>member"`
	}
}

type jobOperation struct {
	S3PutObjectCopy *copyOperation `xml:",omitempty"`
	LambdaInvoke    *lambdaOperation
}

type copyOperation struct {
	TargetResource    string
	MetadataDirective string
	NewObjectMetadata *struct {
		ContentType     string
		ContentEncoding string
		CacheControl    string
		UserMetadata    []xmlEntry `xml:"UserMetadata>entry"`
	}
}

type lambdaOperation struct {
	FunctionArn             string
	InvocationSchemaVersion string     `xml:",omitempty"`
	UserArguments           []xmlEntry `xml:"UserArguments>entry,omitempty"`
}

type xmlEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type reportSpec struct {
	Bucket      string
	Enabled     bool
	Format      string `xml:",omitempty"`
	Prefix      string `xml:",omitempty"`
	ReportScope string `xml:",omitempty"`
}

type xmlTag struct {
	Key   string
	Value string
}

// The answers.
type progressXML struct {
	TotalNumberOfTasks     int64
	NumberOfTasksSucceeded int64
	NumberOfTasksFailed    int64
	Timers                 struct{ ElapsedTimeInActiveSeconds int64 }
}

type jobDescriptorXML struct {
	JobId                string
	ConfirmationRequired bool
	Description          string `xml:",omitempty"`
	JobArn               string
	Status               string
	Manifest             manifestSpec
	Operation            jobOperation
	Priority             int
	ProgressSummary      progressXML
	StatusUpdateReason   string `xml:",omitempty"`
	FailureReasons       []struct {
		FailureCode, FailureReason string
	} `xml:"FailureReasons>member,omitempty"`
	Report          reportSpec
	CreationTime    string
	TerminationDate string `xml:",omitempty"`
	RoleArn         string
}

type jobListXML struct {
	JobId           string
	Description     string `xml:",omitempty"`
	Operation       string
	Priority        int
	Status          string
	CreationTime    string
	TerminationDate string `xml:",omitempty"`
	ProgressSummary progressXML
}

// controlServices are the S3 Control server.
func (s *Stack) controlServices() []auxService {
	js := &jobServer{s: s, workers: 8, jobs: map[string]*batchJob{}, tokens: map[string]string{}}
	stackJobs.Store(s, js)
	if err := s.backend.Backend.CreateBucket(BatchOpsBucket); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
		s.logf("s3control: create %s: %v", BatchOpsBucket, err)
	}
	// A real bucket notification fires for the requests bucket only: manifests and
	// reports must not reach the processor as requests.
	if next := s.backend.onCreate; next != nil {
		s.backend.onCreate = func(ev objectEvent) {
			if ev.Bucket != BatchOpsBucket {
				next(ev)
			}
		}
	}
	s.onClose = append(s.onClose, func() { js.close(); stackJobs.Delete(s) })
	return []auxService{{name: "s3control", url: &s.S3ControlURL, handler: js}}
}

// stackJobs holds each stack's jobServer (a field of Stack belongs in stack.go).
var stackJobs sync.Map // *Stack → *jobServer

func (s *Stack) jobServer() *jobServer {
	v, ok := stackJobs.Load(s)
	if !ok {
		return nil
	}
	return v.(*jobServer)
}

// SetBatchTaskDelay paces every Batch Operations task (tests that act mid-job).
func (s *Stack) SetBatchTaskDelay(d time.Duration) {
	if js := s.jobServer(); js != nil {
		js.taskDelay.Store(int64(d))
	}
}

// BatchJobWrites counts the S3 Control writes (CreateJob, UpdateJobStatus) received.
func (s *Stack) BatchJobWrites() int64 {
	if js := s.jobServer(); js != nil {
		return js.writes.Load()
	}
	return 0
}

// BatchJobsConfirmed is how many jobs UpdateJobStatus Ready has confirmed.
func (s *Stack) BatchJobsConfirmed() int {
	if js := s.jobServer(); js != nil {
		return int(js.confirmed.Load())
	}
	return 0
}

// BatchJobStatuses are the status of every job the stack holds, in creation order.
func (s *Stack) BatchJobStatuses() []string {
	js := s.jobServer()
	if js == nil {
		return nil
	}
	js.mu.Lock()
	defer js.mu.Unlock()
	out := make([]string, 0, len(js.order))
	for _, id := range js.order {
		out = append(out, js.jobs[id].status)
	}
	return out
}

// SetBatchConfirmHook has f called with a job's ID each time UpdateJobStatus Ready
// confirms one, after the job is Ready and before the caller is answered (tests that
// interrupt a run during confirmation); nil removes it.
func (s *Stack) SetBatchConfirmHook(f func(id string)) {
	if js := s.jobServer(); js != nil {
		if f == nil {
			js.onConfirm.Store(nil)
			return
		}
		js.onConfirm.Store(&f)
	}
}

// SetBatchTaskFault has every task whose key f names fail as S3 answers a throttled
// request (code, HTTP 503), without running it: a retry of those tasks succeeds once f
// is removed (nil).
func (s *Stack) SetBatchTaskFault(f func(key string) (code string, fail bool)) {
	if js := s.jobServer(); js != nil {
		if f == nil {
			js.fault.Store(nil)
			return
		}
		js.fault.Store(&f)
	}
}

// BatchJobs is how many jobs the stack holds.
func (s *Stack) BatchJobs() int {
	js := s.jobServer()
	if js == nil {
		return 0
	}
	js.mu.Lock()
	defer js.mu.Unlock()
	return len(js.order)
}

func (js *jobServer) close() {
	js.mu.Lock()
	js.closed = true
	for _, j := range js.jobs {
		j.cancelOnce.Do(func() { close(j.cancel) })
	}
	js.mu.Unlock()
	js.wg.Wait()
}

func (js *jobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	rest, ok := strings.CutPrefix(path, "/v20180820/jobs")
	if !ok {
		controlError(w, http.StatusNotFound, "NotImplemented", "the demo's S3 Control serves Batch Operations jobs only")
		return
	}
	switch {
	case rest == "" && r.Method == http.MethodPost:
		js.writes.Add(1)
		js.createJob(w, r)
	case rest == "" && r.Method == http.MethodGet:
		js.listJobs(w, r)
	case strings.HasSuffix(rest, "/status") && r.Method == http.MethodPost:
		js.writes.Add(1)
		js.updateStatus(w, r, strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "/status"))
	case strings.Count(rest, "/") == 1 && r.Method == http.MethodGet:
		js.describeJob(w, strings.TrimPrefix(rest, "/"))
	default:
		controlError(w, http.StatusNotFound, "NotImplemented", "operation not served by the demo's S3 Control")
	}
}

func controlError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%s<ErrorResponse><Error><Code>%s</Code><Message>", xml.Header, code)
	xml.EscapeText(w, []byte(msg))
	fmt.Fprint(w, "</Message></Error><RequestId>demo</RequestId></ErrorResponse>")
}

func writeXML(w http.ResponseWriter, root string, v any) {
	w.Header().Set("Content-Type", "application/xml")
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: root}}); err != nil {
		controlError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Write(b.Bytes())
}

func (js *jobServer) createJob(w http.ResponseWriter, r *http.Request) {
	var req createJobRequest
	if err := xml.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		controlError(w, http.StatusBadRequest, "MalformedXML", err.Error())
		return
	}
	switch {
	case req.RoleArn == "":
		controlError(w, http.StatusBadRequest, "InvalidRequest", "RoleArn is required")
		return
	case req.ClientRequestToken == "":
		controlError(w, http.StatusBadRequest, "InvalidRequest", "ClientRequestToken is required")
		return
	case (req.Operation.S3PutObjectCopy == nil) == (req.Operation.LambdaInvoke == nil):
		controlError(w, http.StatusBadRequest, "InvalidRequest", "exactly one operation is required (the demo serves S3PutObjectCopy and LambdaInvoke)")
		return
	case req.Manifest.Spec.Format != "S3BatchOperations_CSV_20180820":
		controlError(w, http.StatusBadRequest, "InvalidRequest", "the demo reads S3BatchOperations_CSV_20180820 manifests only")
		return
	}
	if li := req.Operation.LambdaInvoke; li != nil && li.InvocationSchemaVersion != "2.0" {
		controlError(w, http.StatusBadRequest, "InvalidRequest", "the demo's processor accepts invocation schema 2.0 only")
		return
	}
	js.mu.Lock()
	defer js.mu.Unlock()
	if id, ok := js.tokens[req.ClientRequestToken]; ok {
		writeXML(w, "CreateJobResult", struct{ JobId string }{id})
		return
	}
	if js.closed {
		controlError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the stack is closing")
		return
	}
	js.seq++
	sum := sha1.Sum([]byte(req.ClientRequestToken + strconv.Itoa(js.seq)))
	id := hex.EncodeToString(sum[:])[:8] + "-" + hex.EncodeToString(sum[4:6]) + "-" + hex.EncodeToString(sum[6:8]) + "-" +
		hex.EncodeToString(sum[8:10]) + "-" + hex.EncodeToString(sum[10:16])
	j := &batchJob{id: id, token: req.ClientRequestToken, desc: req.Description, role: req.RoleArn,
		confirm: req.ConfirmationRequired, priority: req.Priority, status: "New", created: js.s.clock.Now(),
		manifest: req.Manifest, op: req.Operation, report: req.Report, tags: req.Tags,
		ready: make(chan struct{}), cancel: make(chan struct{})}
	js.jobs[id] = j
	js.order = append(js.order, id)
	js.tokens[req.ClientRequestToken] = id
	js.wg.Add(1)
	go js.run(j)
	writeXML(w, "CreateJobResult", struct{ JobId string }{id})
}

func (js *jobServer) job(id string) *batchJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.jobs[id]
}

func (js *jobServer) setStatus(j *batchJob, status, reason string) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j.status = status
	if reason != "" {
		j.reason = reason
	}
	switch status {
	case "Complete", "Cancelled", "Failed":
		j.terminated = js.s.clock.Now()
		if !j.startedAt.IsZero() {
			j.elapsed = time.Since(j.startedAt)
		}
	case "Active":
		j.startedAt = time.Now()
	}
}

func terminal(status string) bool {
	return status == "Complete" || status == "Cancelled" || status == "Failed"
}

func (js *jobServer) updateStatus(w http.ResponseWriter, r *http.Request, id string) {
	j := js.job(id)
	if j == nil {
		controlError(w, http.StatusNotFound, "NotFoundException", "No such job: "+id)
		return
	}
	want := r.URL.Query().Get("requestedJobStatus")
	reason := r.URL.Query().Get("statusUpdateReason")
	js.mu.Lock()
	status := j.status
	js.mu.Unlock()
	switch want {
	case "Ready":
		if status != "Suspended" {
			controlError(w, http.StatusBadRequest, "JobStatusException", "job "+id+" is "+status+": only a Suspended job can be made Ready")
			return
		}
		js.setStatus(j, "Ready", reason)
		j.readyOnce.Do(func() { close(j.ready) })
		js.confirmed.Add(1)
		if f := js.onConfirm.Load(); f != nil {
			(*f)(id)
		}
	case "Cancelled":
		if terminal(status) {
			controlError(w, http.StatusBadRequest, "JobStatusException", "job "+id+" is "+status+" already")
			return
		}
		js.setStatus(j, "Cancelling", reason)
		j.cancelOnce.Do(func() { close(j.cancel) })
	default:
		controlError(w, http.StatusBadRequest, "InvalidRequest", "requestedJobStatus must be Ready or Cancelled")
		return
	}
	js.mu.Lock()
	out := struct{ JobId, Status, StatusUpdateReason string }{j.id, j.status, j.reason}
	js.mu.Unlock()
	writeXML(w, "UpdateJobStatusResult", out)
}

func (js *jobServer) progress(j *batchJob) progressXML {
	p := progressXML{TotalNumberOfTasks: j.total, NumberOfTasksSucceeded: j.succeeded.Load(), NumberOfTasksFailed: j.failed.Load()}
	el := j.elapsed
	if el == 0 && !j.startedAt.IsZero() {
		el = time.Since(j.startedAt)
	}
	p.Timers.ElapsedTimeInActiveSeconds = int64(el / time.Second)
	return p
}

func (js *jobServer) describeJob(w http.ResponseWriter, id string) {
	js.mu.Lock()
	j := js.jobs[id]
	if j == nil {
		js.mu.Unlock()
		controlError(w, http.StatusNotFound, "NotFoundException", "No such job: "+id)
		return
	}
	d := jobDescriptorXML{JobId: j.id, ConfirmationRequired: j.confirm, Description: j.desc,
		JobArn: "arn:aws:s3:" + Region + ":" + DemoAccountID + ":job/" + j.id, Status: j.status,
		Manifest: j.manifest, Operation: j.op, Priority: j.priority, ProgressSummary: js.progress(j),
		StatusUpdateReason: j.reason, Report: j.report, CreationTime: j.created.UTC().Format(time.RFC3339), RoleArn: j.role}
	for _, f := range j.failures {
		d.FailureReasons = append(d.FailureReasons, struct{ FailureCode, FailureReason string }{"Failed", f})
	}
	if !j.terminated.IsZero() {
		d.TerminationDate = j.terminated.UTC().Format(time.RFC3339)
	}
	js.mu.Unlock()
	writeXML(w, "DescribeJobResult", struct{ Job jobDescriptorXML }{d})
}

func (js *jobServer) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	want := map[string]bool{}
	for _, s := range q["jobStatuses"] {
		want[s] = true
	}
	max := 1000
	if n, err := strconv.Atoi(q.Get("maxResults")); err == nil && n > 0 && n < max {
		max = n
	}
	start := 0
	if t := q.Get("nextToken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			controlError(w, http.StatusBadRequest, "InvalidNextTokenException", "bad nextToken")
			return
		}
		start = n
	}
	js.mu.Lock()
	// Newest first, as the console lists them.
	ids := make([]string, 0, len(js.order))
	for i := len(js.order) - 1; i >= 0; i-- {
		ids = append(ids, js.order[i])
	}
	var out struct {
		NextToken string       `xml:",omitempty"`
		Jobs      []jobListXML `xml:"Jobs>member"`
	}
	matched := 0
	for _, id := range ids {
		j := js.jobs[id]
		if len(want) > 0 && !want[j.status] {
			continue
		}
		if matched < start {
			matched++
			continue
		}
		if len(out.Jobs) == max {
			out.NextToken = strconv.Itoa(matched)
			break
		}
		matched++
		op := "S3PutObjectCopy"
		if j.op.LambdaInvoke != nil {
			op = "LambdaInvoke"
		}
		l := jobListXML{JobId: j.id, Description: j.desc, Operation: op, Priority: j.priority, Status: j.status,
			CreationTime: j.created.UTC().Format(time.RFC3339), ProgressSummary: js.progress(j)}
		if !j.terminated.IsZero() {
			l.TerminationDate = j.terminated.UTC().Format(time.RFC3339)
		}
		out.Jobs = append(out.Jobs, l)
	}
	js.mu.Unlock()
	writeXML(w, "ListJobsResult", out)
}

// batchTask is one manifest row.
type batchTask struct {
	bucket, key, version string
}

// taskResult is one row of the completion report.
type taskResult struct {
	task              batchTask
	ok                bool
	code, msg         string
	httpStatus        int
	lambdaResultCodes string
}

// run prepares the job, waits for confirmation, runs its tasks and writes its report.
func (js *jobServer) run(j *batchJob) {
	defer js.wg.Done()
	js.setStatus(j, "Preparing", "")
	tasks, err := js.readManifest(j)
	if err != nil {
		js.mu.Lock()
		j.failures = append(j.failures, err.Error())
		js.mu.Unlock()
		js.setStatus(j, "Failed", "")
		return
	}
	js.mu.Lock()
	j.total = int64(len(tasks))
	js.mu.Unlock()
	if j.confirm {
		js.setStatus(j, "Suspended", "")
		select {
		case <-j.ready:
		case <-j.cancel:
			js.setStatus(j, "Cancelled", "")
			return
		}
	} else {
		js.setStatus(j, "Ready", "")
	}
	js.setStatus(j, "Active", "")
	results := make([]*taskResult, len(tasks))
	next := atomic.Int64{}
	failing := atomic.Bool{}
	var wg sync.WaitGroup
	for w := 0; w < js.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-j.cancel:
					return
				default:
				}
				if failing.Load() {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= len(tasks) {
					return
				}
				if d := time.Duration(js.taskDelay.Load()); d > 0 {
					select {
					case <-time.After(d):
					case <-j.cancel:
						return
					}
				}
				res := js.runTask(j, tasks[i])
				results[i] = &res
				if res.ok {
					j.succeeded.Add(1)
				} else if f := j.failed.Add(1); f+j.succeeded.Load() >= batchFailMin && float64(f) > batchFailRatio*float64(f+j.succeeded.Load()) {
					failing.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	final, reason := "Complete", ""
	select {
	case <-j.cancel:
		final = "Cancelled"
	default:
		if failing.Load() {
			final, reason = "Failed", "the job's task failure rate exceeded 50% after 1,000 tasks"
			js.mu.Lock()
			j.failures = append(j.failures, reason)
			js.mu.Unlock()
		}
	}
	if j.report.Enabled && j.succeeded.Load()+j.failed.Load() > 0 {
		if err := js.writeReport(j, results); err != nil {
			js.s.logf("s3control: job %s: report: %v", j.id, err)
		}
	}
	js.setStatus(j, final, reason)
}

// bucketOfARN is the bucket of arn:aws:s3:::bucket[/key].
func bucketOfARN(arn string) (bucket, key string, ok bool) {
	rest, found := strings.CutPrefix(arn, "arn:aws:s3:::")
	if !found {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key, bucket != ""
}

// readManifest reads the CSV manifest from the stack's S3.
func (js *jobServer) readManifest(j *batchJob) ([]batchTask, error) {
	bucket, key, ok := bucketOfARN(j.manifest.Location.ObjectArn)
	if !ok || key == "" {
		return nil, fmt.Errorf("manifest ObjectArn %q is not an S3 object ARN", j.manifest.Location.ObjectArn)
	}
	obj, err := js.s.backend.GetObject(bucket, key, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest s3://%s/%s: %v", bucket, key, err)
	}
	defer obj.Contents.Close()
	body, err := io.ReadAll(obj.Contents)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %v", err)
	}
	if etag := strings.Trim(j.manifest.Location.ETag, `"`); etag != "" && etag != hex.EncodeToString(obj.Hash) {
		return nil, fmt.Errorf("the manifest's ETag is %s, not %s: it changed after the job was created", hex.EncodeToString(obj.Hash), etag)
	}
	return ParseBatchManifest(body, j.manifest.Spec.Fields)
}

// ParseBatchManifest reads a Batch Operations CSV manifest of fields (Bucket, Key and
// optionally VersionId; keys URL-encoded).
func ParseBatchManifest(body []byte, fields []string) ([]batchTask, error) {
	if len(fields) < 2 || fields[0] != "Bucket" || fields[1] != "Key" || len(fields) > 3 || (len(fields) == 3 && fields[2] != "VersionId") {
		return nil, fmt.Errorf("manifest fields %v: the demo reads Bucket, Key[, VersionId]", fields)
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	var out []batchTask
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: %v", line, err)
		}
		if len(rec) != len(fields) {
			return nil, fmt.Errorf("manifest line %d has %d fields, want %d", line, len(rec), len(fields))
		}
		key, err := url.QueryUnescape(rec[1])
		if err != nil || rec[0] == "" || key == "" {
			return nil, fmt.Errorf("manifest line %d: bad bucket or key", line)
		}
		t := batchTask{bucket: rec[0], key: key}
		if len(rec) == 3 {
			t.version = rec[2]
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the manifest is empty")
	}
	return out, nil
}

// runTask runs the job's operation on one object.
func (js *jobServer) runTask(j *batchJob, t batchTask) taskResult {
	if f := js.fault.Load(); f != nil {
		if code, fail := (*f)(t.key); fail {
			return taskResult{task: t, code: code, msg: "Please reduce your request rate.", httpStatus: http.StatusServiceUnavailable}
		}
	}
	if c := j.op.S3PutObjectCopy; c != nil {
		return js.copyTask(c, t)
	}
	return js.lambdaTask(j, t)
}

// copyTask copies the object onto itself through the stack's S3 handler, as Batch
// Operations' S3PutObjectCopy does with no TargetKeyPrefix.
func (js *jobServer) copyTask(c *copyOperation, t batchTask) taskResult {
	res := taskResult{task: t}
	target, _, ok := bucketOfARN(c.TargetResource)
	if !ok {
		target = t.bucket
	}
	// '+' escaped too: gofakes3, like S3, reads the header as a query-escaped string.
	src := "/" + t.bucket + "/" + strings.ReplaceAll(url.PathEscape(t.key), "+", "%2B")
	if t.version != "" {
		src += "?versionId=" + url.QueryEscape(t.version)
	}
	req := httptest.NewRequest(http.MethodPut, "/"+target+"/"+url.PathEscape(t.key), nil)
	req.URL.RawPath = "/" + target + "/" + url.PathEscape(t.key)
	req.Header.Set("X-Amz-Copy-Source", src)
	if c.MetadataDirective != "" {
		req.Header.Set("X-Amz-Metadata-Directive", c.MetadataDirective)
	}
	if m := c.NewObjectMetadata; m != nil {
		if m.ContentType != "" {
			req.Header.Set("Content-Type", m.ContentType)
		}
		if m.ContentEncoding != "" {
			req.Header.Set("Content-Encoding", m.ContentEncoding)
		}
		if m.CacheControl != "" {
			req.Header.Set("Cache-Control", m.CacheControl)
		}
		for _, e := range m.UserMetadata {
			req.Header.Set("X-Amz-Meta-"+e.Key, e.Value)
		}
	}
	rec := httptest.NewRecorder()
	js.s.s3.ServeHTTP(rec, req)
	res.httpStatus = rec.Code
	if rec.Code == http.StatusOK {
		res.ok, res.msg = true, "Successful"
		return res
	}
	var e struct{ Code, Message string }
	xml.Unmarshal(rec.Body.Bytes(), &e)
	res.code, res.msg = e.Code, e.Message
	if res.code == "" {
		res.code = http.StatusText(rec.Code)
	}
	return res
}

// The invocation schema 2.0 event and answer.
type lambdaEvent struct {
	InvocationSchemaVersion string `json:"invocationSchemaVersion"`
	InvocationID            string `json:"invocationId"`
	Job                     struct {
		ID            string            `json:"id"`
		UserArguments map[string]string `json:"userArguments,omitempty"`
	} `json:"job"`
	Tasks []lambdaTaskEvent `json:"tasks"`
}

type lambdaTaskEvent struct {
	TaskID       string  `json:"taskId"`
	S3Key        string  `json:"s3Key"`
	S3VersionID  *string `json:"s3VersionId"`
	S3BucketName string  `json:"s3BucketName"`
	S3BucketARN  string  `json:"s3BucketArn,omitempty"`
}

type lambdaTaskResult struct {
	TaskID     string `json:"taskId"`
	ResultCode string `json:"resultCode"`
	ResultStr  string `json:"resultString"`
}

type lambdaResponse struct {
	InvocationSchemaVersion string             `json:"invocationSchemaVersion"`
	TreatMissingKeysAs      string             `json:"treatMissingKeysAs"`
	InvocationID            string             `json:"invocationId"`
	Results                 []lambdaTaskResult `json:"results"`
}

// lambdaTask invokes the processor with a schema 2.0 event of one task, as Batch
// Operations invokes a function: the event goes through JSON both ways.
func (js *jobServer) lambdaTask(j *batchJob, t batchTask) taskResult {
	res := taskResult{task: t, httpStatus: http.StatusOK}
	var ev lambdaEvent
	ev.InvocationSchemaVersion, ev.InvocationID = "2.0", j.id+"/"+t.key
	ev.Job.ID = j.id
	for _, e := range j.op.LambdaInvoke.UserArguments {
		if ev.Job.UserArguments == nil {
			ev.Job.UserArguments = map[string]string{}
		}
		ev.Job.UserArguments[e.Key] = e.Value
	}
	ev.Tasks = append(ev.Tasks, lambdaTaskEvent{TaskID: "t-" + t.key, S3Key: url.QueryEscape(t.key), S3BucketName: t.bucket, S3BucketARN: "arn:aws:s3:::" + t.bucket})
	payload, _ := json.Marshal(ev)
	out := js.s.invokeBatchProcessor(payload)
	var resp lambdaResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Results) != 1 {
		res.code, res.msg = "PermanentFailure", "the function's answer is not a schema 2.0 response"
		return res
	}
	r := resp.Results[0]
	res.lambdaResultCodes = r.ResultCode
	switch r.ResultCode {
	case "Succeeded":
		res.ok, res.msg = true, r.ResultStr
	default:
		res.code, res.msg = r.ResultCode, r.ResultStr
	}
	return res
}

// invokeBatchProcessor is the processor function invoked by Batch Operations with a
// schema 2.0 event: for each task it reads the object and processes it as for an S3
// event, and answers Succeeded when the request ended PROCESSED, PermanentFailure when the
// processor failed it (a redrive of the same bytes will not fix it), TemporaryFailure when
// it wrote no status.
func (s *Stack) invokeBatchProcessor(payload []byte) []byte {
	var ev lambdaEvent
	var resp lambdaResponse
	resp.InvocationSchemaVersion, resp.TreatMissingKeysAs = "2.0", "PermanentFailure"
	if err := json.Unmarshal(payload, &ev); err != nil || ev.InvocationSchemaVersion != "2.0" {
		out, _ := json.Marshal(resp)
		return out
	}
	resp.InvocationID = ev.InvocationID
	for _, t := range ev.Tasks {
		key, err := url.QueryUnescape(t.S3Key)
		r := lambdaTaskResult{TaskID: t.TaskID}
		if err != nil {
			r.ResultCode, r.ResultStr = "PermanentFailure", "bad s3Key"
			resp.Results = append(resp.Results, r)
			continue
		}
		if _, err := s.backend.HeadObject(t.S3BucketName, key); err != nil {
			r.ResultCode, r.ResultStr = "PermanentFailure", "NoSuchKey"
			resp.Results = append(resp.Results, r)
			continue
		}
		s.proc.handle(objectEvent{Bucket: t.S3BucketName, Key: key, At: s.clock.Now()}, s.clock.Now())
		st, ok := s.Status(key)
		switch {
		case !ok:
			r.ResultCode, r.ResultStr = "TemporaryFailure", "no status written"
		case st.State == StateProcessed:
			r.ResultCode, r.ResultStr = "Succeeded", StateProcessed
		default:
			r.ResultCode, r.ResultStr = "PermanentFailure", st.State+": "+st.Error
		}
		resp.Results = append(resp.Results, r)
	}
	out, _ := json.Marshal(resp)
	return out
}

// writeReport writes the completion report: CSV results (succeeded and failed files) and
// job-ID/manifest.json, as Report_CSV_20180820.
func (js *jobServer) writeReport(j *batchJob, results []*taskResult) error {
	bucket, _, ok := bucketOfARN(j.report.Bucket)
	if !ok {
		return fmt.Errorf("report bucket %q is not an S3 bucket ARN", j.report.Bucket)
	}
	base := strings.TrimSuffix(j.report.Prefix, "/")
	if base != "" {
		base += "/"
	}
	base += "job-" + j.id + "/"
	type resultFile struct {
		TaskExecutionStatus string
		Bucket              string
		MD5Checksum         string
		Key                 string
	}
	var files []resultFile
	for _, status := range []string{"succeeded", "failed"} {
		if status == "succeeded" && j.report.ReportScope == "FailedTasksOnly" {
			continue
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		n := 0
		for _, r := range results {
			if r == nil || r.ok != (status == "succeeded") {
				continue
			}
			n++
			// The service writes HTTPStatusCode before ErrorCode, whatever ReportSchema says.
			w.Write([]string{r.task.bucket, url.QueryEscape(r.task.key), r.task.version, status,
				strconv.Itoa(r.httpStatus), r.code, r.msg})
		}
		w.Flush()
		if n == 0 {
			continue
		}
		sum := sha1.Sum(b.Bytes())
		key := base + "results/" + hex.EncodeToString(sum[:]) + ".csv"
		if err := js.put(bucket, key, b.Bytes(), "text/csv"); err != nil {
			return err
		}
		md := md5.Sum(b.Bytes())
		files = append(files, resultFile{status, bucket, hex.EncodeToString(md[:]), key})
	}
	m := struct {
		Format             string
		ReportCreationDate string
		Results            []resultFile
		ReportSchema       string
	}{"Report_CSV_20180820", js.s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"), files,
		"Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"}
	body, _ := json.Marshal(m)
	return js.put(bucket, base+"manifest.json", body, "application/json")
}

func (js *jobServer) put(bucket, key string, body []byte, contentType string) error {
	_, err := js.s.backend.PutObject(bucket, key, map[string]string{"Content-Type": contentType}, bytes.NewReader(body), int64(len(body)), nil)
	return err
}
