package awsclient

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/stowage-cli/stowage/internal/config"
)

// JobStore creates, confirms, tracks and cancels S3 Batch Operations jobs through S3 Control (#15).
// It also uploads a job's CSV manifest and reads its completion report, under the
// environment's batch_ops prefixes. Every write is refused in read-only mode.
type JobStore struct {
	control  *s3control.Client
	s3       *s3.Client
	account  func(context.Context) (string, error)
	opts     JobStoreOptions
	endpoint string
	// iam and caller are doctor's role check (nil on a local stack, which has no IAM:
	// noIAM says why).
	iam    *iam.Client
	caller func(context.Context) (string, error)
	noIAM  string
}

// JobStoreOptions are an environment's batch_ops settings.
type JobStoreOptions struct {
	RoleARN                        string
	ManifestBucket, ManifestPrefix string
	ReportBucket, ReportPrefix     string
	Priority                       int
	ReadOnly                       bool
	Profile                        string
	SSO                            bool
}

// JobDescriptionPrefix starts the description of every job stowage creates: ListJobs
// has no tags, so stowage's jobs are told apart by it.
const JobDescriptionPrefix = "stowage redrive"

// The IAM actions a batch-ops redrive needs, for remedies and doctor.
const (
	ActionCreateJob = "s3:CreateJob"
	ActionPassRole  = "iam:PassRole"
)

// openJobs builds the JobStore for env, or returns nil when env does not configure it.
func openJobs(cfg aws.Config, env *config.Env, profile string, sso bool) *JobStore {
	b := env.BatchOps
	if !b.Configured() {
		return nil
	}
	mb, mp, _ := config.SplitS3URI(b.ManifestPrefix)
	rb, rp, _ := config.SplitS3URI(b.ReportPrefix)
	control := s3control.NewFromConfig(cfg, func(o *s3control.Options) {
		if env.Endpoints.S3Control != "" {
			o.BaseEndpoint = aws.String(env.Endpoints.S3Control)
			if config.IsLoopbackURL(env.Endpoints.S3Control) {
				// The endpoint rules put the account ID before the host
				// (ACCOUNT.127.0.0.1), which no resolver knows: a local stack is asked
				// at the address it listens on.
				o.EndpointResolverV2 = loopbackControl{o.EndpointResolverV2}
			}
		}
	})
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if env.Endpoints.S3 != "" {
			o.BaseEndpoint = aws.String(env.Endpoints.S3)
		}
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})
	j := &JobStore{control: control, s3: s3c, endpoint: endpointHost(control.Options().BaseEndpoint),
		opts: JobStoreOptions{RoleARN: b.RoleARN, ManifestBucket: mb, ManifestPrefix: mp, ReportBucket: rb, ReportPrefix: rp,
			Priority: b.Priority, ReadOnly: env.ReadOnly, Profile: profile, SSO: sso}}
	stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if env.Endpoints.STS != "" {
			o.BaseEndpoint = aws.String(env.Endpoints.STS)
		}
	})
	var mu sync.Mutex
	var cached *sts.GetCallerIdentityOutput
	identity := func(ctx context.Context) (*sts.GetCallerIdentityOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != nil {
			return cached, nil
		}
		out, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, classify(err, call{Op: "identity", Resource: "sts", Profile: profile, SSO: sso, Action: "sts:GetCallerIdentity"})
		}
		cached = out
		return out, nil
	}
	if b.AccountID != "" {
		id := b.AccountID
		j.account = func(context.Context) (string, error) { return id, nil }
	} else {
		j.account = func(ctx context.Context) (string, error) {
			out, err := identity(ctx)
			if err != nil {
				return "", err
			}
			if aws.ToString(out.Account) == "" {
				return "", invalid("identity", "sts", "no account ID: set batch_ops.account_id")
			}
			return aws.ToString(out.Account), nil
		}
	}
	j.caller = func(ctx context.Context) (string, error) {
		out, err := identity(ctx)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Arn), nil
	}
	if config.IsLoopbackURL(env.Endpoints.S3Control) {
		// No endpoint is configured for IAM, so a local stack's doctor would ask AWS.
		j.noIAM = "a local S3 Control endpoint has no IAM: the role's existence and iam:PassRole are not checked"
	} else {
		j.iam = iam.NewFromConfig(cfg)
	}
	return j
}

// loopbackControl drops the account label the endpoint rules add before a local host.
type loopbackControl struct{ next s3control.EndpointResolverV2 }

func (l loopbackControl) ResolveEndpoint(ctx context.Context, p s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	e, err := l.next.ResolveEndpoint(ctx, p)
	if err == nil && p.AccountId != nil {
		e.URI.Host = strings.TrimPrefix(e.URI.Host, *p.AccountId+".")
	}
	return e, err
}

// NewJobStore builds a JobStore on given clients (tests).
func NewJobStore(control *s3control.Client, s3c *s3.Client, account string, o JobStoreOptions) *JobStore {
	return &JobStore{control: control, s3: s3c, opts: o, endpoint: endpointHost(control.Options().BaseEndpoint),
		account: func(context.Context) (string, error) { return account, nil }}
}

// ReadOnly reports whether writes are refused.
func (s *JobStore) ReadOnly() bool { return s.opts.ReadOnly }

// Options are the store's settings.
func (s *JobStore) Options() JobStoreOptions { return s.opts }

// ReportLocation is where a job's completion report goes: s3://bucket/prefix.
func (s *JobStore) ReportLocation() string {
	return "s3://" + s.opts.ReportBucket + "/" + s.opts.ReportPrefix
}

// ReportURI is where job id's report manifest is written.
func (s *JobStore) ReportURI(id string) string {
	return "s3://" + s.opts.ReportBucket + "/" + s.reportBase(id) + "manifest.json"
}

func (s *JobStore) reportBase(id string) string {
	base := strings.TrimSuffix(s.opts.ReportPrefix, "/")
	if base != "" {
		base += "/"
	}
	return base + "job-" + id + "/"
}

// ManifestRef is an uploaded job manifest.
type ManifestRef struct {
	Bucket, Key, ETag string
	// Versioned says the rows carry a version ID (a third column).
	Versioned bool
}

// ObjectARN is the manifest's S3 object ARN, as CreateJob takes it.
func (m ManifestRef) ObjectARN() string { return "arn:aws:s3:::" + m.Bucket + "/" + m.Key }

func (m ManifestRef) String() string { return "s3://" + m.Bucket + "/" + m.Key }

// ManifestKey is where run runID's manifest is uploaded.
func (s *JobStore) ManifestKey(runID string) string {
	return s.opts.ManifestPrefix + runID + ".csv"
}

// UploadManifest stores a CSV manifest under the manifest prefix and returns its ETag.
func (s *JobStore) UploadManifest(ctx context.Context, runID string, body []byte) (ManifestRef, error) {
	ref := ManifestRef{Bucket: s.opts.ManifestBucket, Key: s.ManifestKey(runID)}
	if s.opts.ReadOnly {
		return ref, readOnlyError("put", ref.String())
	}
	out, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key),
		Body: bytes.NewReader(body), ContentType: aws.String("text/csv")})
	if err != nil {
		return ref, classify(err, call{Op: "put", Resource: ref.String(), Action: "s3:PutObject", Profile: s.opts.Profile, SSO: s.opts.SSO,
			NotFound: "check batch_ops.manifest_prefix: its bucket must exist"})
	}
	ref.ETag = unquote(aws.ToString(out.ETag))
	return ref, nil
}

// JobOperation is what a job does to each object.
type JobOperation string

const (
	// JobCopy copies each object onto itself with REPLACE metadata (re-fires ObjectCreated).
	JobCopy JobOperation = "S3PutObjectCopy"
	// JobLambda invokes a function with Batch Operations' schema 2.0 event.
	JobLambda JobOperation = "LambdaInvoke"
)

// JobSpec is a job to create.
type JobSpec struct {
	// Token is the client request token (stowage passes the manifest hash): a retry
	// with the same token returns the job already created.
	Token       string
	Manifest    ManifestRef
	Operation   JobOperation
	Bucket      string // the copy's target bucket (the objects' own)
	Description string
	Tags        map[string]string
	// Copy: the content headers and user metadata every copy gets (REPLACE).
	ContentType, ContentEncoding string
	UserMetadata                 map[string]string
	// Lambda: the function and its user arguments.
	FunctionARN   string
	UserArguments map[string]string
}

// CreateJob creates the job with ConfirmationRequired: it waits, Suspended, until Confirm.
// Its report covers all tasks, under the report prefix.
func (s *JobStore) CreateJob(ctx context.Context, spec JobSpec) (string, error) {
	res := "s3control job " + spec.Token
	if s.opts.ReadOnly {
		return "", readOnlyError("create-job", res)
	}
	account, err := s.account(ctx)
	if err != nil {
		return "", err
	}
	in := &s3control.CreateJobInput{
		AccountId: aws.String(account), ClientRequestToken: aws.String(spec.Token), ConfirmationRequired: aws.Bool(true),
		Description: aws.String(clip(spec.Description, 256)), Priority: aws.Int32(int32(s.opts.Priority)), RoleArn: aws.String(s.opts.RoleARN),
		Manifest: &s3ctypes.JobManifest{
			Location: &s3ctypes.JobManifestLocation{ObjectArn: aws.String(spec.Manifest.ObjectARN()), ETag: aws.String(spec.Manifest.ETag)},
			Spec: &s3ctypes.JobManifestSpec{Format: s3ctypes.JobManifestFormatS3BatchOperationsCsv20180820,
				Fields: []s3ctypes.JobManifestFieldName{s3ctypes.JobManifestFieldNameBucket, s3ctypes.JobManifestFieldNameKey}},
		},
		Report: &s3ctypes.JobReport{Bucket: aws.String("arn:aws:s3:::" + s.opts.ReportBucket), Enabled: true,
			Format: s3ctypes.JobReportFormatReportCsv20180820, Prefix: aws.String(strings.TrimSuffix(s.opts.ReportPrefix, "/")),
			ReportScope: s3ctypes.JobReportScopeAllTasks},
	}
	if spec.Manifest.Versioned {
		in.Manifest.Spec.Fields = append(in.Manifest.Spec.Fields, s3ctypes.JobManifestFieldNameVersionId)
	}
	switch spec.Operation {
	case JobCopy:
		md := &s3ctypes.S3ObjectMetadata{UserMetadata: spec.UserMetadata}
		if spec.ContentType != "" {
			md.ContentType = aws.String(spec.ContentType)
		}
		if spec.ContentEncoding != "" {
			md.ContentEncoding = aws.String(spec.ContentEncoding)
		}
		in.Operation = &s3ctypes.JobOperation{S3PutObjectCopy: &s3ctypes.S3CopyObjectOperation{
			TargetResource: aws.String("arn:aws:s3:::" + spec.Bucket), MetadataDirective: s3ctypes.S3MetadataDirectiveReplace,
			NewObjectMetadata: md}}
	case JobLambda:
		in.Operation = &s3ctypes.JobOperation{LambdaInvoke: &s3ctypes.LambdaInvokeOperation{FunctionArn: aws.String(spec.FunctionARN),
			InvocationSchemaVersion: aws.String(config.BatchLambdaSchema), UserArguments: spec.UserArguments}}
	default:
		return "", invalid("create-job", res, "unknown operation "+string(spec.Operation))
	}
	for k, v := range spec.Tags {
		in.Tags = append(in.Tags, s3ctypes.S3Tag{Key: aws.String(tagText(k, 128)), Value: aws.String(tagText(v, 256))})
	}
	out, err := s.control.CreateJob(ctx, in)
	if err != nil {
		return "", s.classifyJob(err, "create-job", res, ActionCreateJob)
	}
	return aws.ToString(out.JobId), nil
}

// Confirm makes a Suspended job Ready: the second confirmation, after stowage's own.
func (s *JobStore) Confirm(ctx context.Context, id, reason string) error {
	return s.setStatus(ctx, id, s3ctypes.RequestedJobStatusReady, reason)
}

// Cancel asks the job to stop. Tasks already done are not undone.
func (s *JobStore) Cancel(ctx context.Context, id, reason string) error {
	return s.setStatus(ctx, id, s3ctypes.RequestedJobStatusCancelled, reason)
}

func (s *JobStore) setStatus(ctx context.Context, id string, want s3ctypes.RequestedJobStatus, reason string) error {
	res := "s3control job " + id
	if s.opts.ReadOnly {
		return readOnlyError("update-job-status", res)
	}
	account, err := s.account(ctx)
	if err != nil {
		return err
	}
	in := &s3control.UpdateJobStatusInput{AccountId: aws.String(account), JobId: aws.String(id), RequestedJobStatus: want}
	if reason != "" {
		in.StatusUpdateReason = aws.String(clip(reason, 256))
	}
	if _, err := s.control.UpdateJobStatus(ctx, in); err != nil {
		return s.classifyJob(err, "update-job-status", res, "s3:UpdateJobStatus")
	}
	return nil
}

// Job is a Batch Operations job as stowage shows it.
type Job struct {
	ID          string
	Status      string // New, Preparing, Suspended, Ready, Active, Completing, Complete, Cancelling, Cancelled, Failing, Failed, Pausing, Paused
	Description string
	Operation   string
	Total       int64
	Succeeded   int64
	Failed      int64
	// Elapsed is the time the job has been Active.
	Elapsed        time.Duration
	Created        time.Time
	Terminated     time.Time
	StatusReason   string
	FailureReasons []string
	ManifestARN    string
	ReportEnabled  bool
}

// Terminal reports whether the job has ended (Complete, Cancelled or Failed).
func (j Job) Terminal() bool {
	return j.Status == "Complete" || j.Status == "Cancelled" || j.Status == "Failed"
}

// Done is how many tasks have ended.
func (j Job) Done() int64 { return j.Succeeded + j.Failed }

// IsStowage reports whether stowage created the job (by its description).
func (j Job) IsStowage() bool { return strings.HasPrefix(j.Description, JobDescriptionPrefix) }

// Describe reads the job.
func (s *JobStore) Describe(ctx context.Context, id string) (Job, error) {
	res := "s3control job " + id
	account, err := s.account(ctx)
	if err != nil {
		return Job{}, err
	}
	out, err := s.control.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(account), JobId: aws.String(id)})
	if err != nil {
		return Job{}, s.classifyJob(err, "describe-job", res, "s3:DescribeJob")
	}
	d := out.Job
	if d == nil {
		return Job{}, invalid("describe-job", res, "the answer has no job")
	}
	j := Job{ID: aws.ToString(d.JobId), Status: string(d.Status), Description: aws.ToString(d.Description),
		Created: aws.ToTime(d.CreationTime), Terminated: aws.ToTime(d.TerminationDate), StatusReason: aws.ToString(d.StatusUpdateReason)}
	j.progress(d.ProgressSummary)
	for _, f := range d.FailureReasons {
		j.FailureReasons = append(j.FailureReasons, aws.ToString(f.FailureReason))
	}
	if d.Manifest != nil && d.Manifest.Location != nil {
		j.ManifestARN = aws.ToString(d.Manifest.Location.ObjectArn)
	}
	if d.Report != nil {
		j.ReportEnabled = d.Report.Enabled
	}
	if d.Operation != nil {
		switch {
		case d.Operation.S3PutObjectCopy != nil:
			j.Operation = string(JobCopy)
		case d.Operation.LambdaInvoke != nil:
			j.Operation = string(JobLambda)
		}
	}
	return j, nil
}

func (j *Job) progress(p *s3ctypes.JobProgressSummary) {
	if p == nil {
		return
	}
	j.Total, j.Succeeded, j.Failed = aws.ToInt64(p.TotalNumberOfTasks), aws.ToInt64(p.NumberOfTasksSucceeded), aws.ToInt64(p.NumberOfTasksFailed)
	if p.Timers != nil {
		j.Elapsed = time.Duration(aws.ToInt64(p.Timers.ElapsedTimeInActiveSeconds)) * time.Second
	}
}

// List returns stowage's jobs (by description), newest first as S3 Control lists them.
// It reads at most maxPages pages of 1,000.
func (s *JobStore) List(ctx context.Context) ([]Job, error) {
	account, err := s.account(ctx)
	if err != nil {
		return nil, err
	}
	var out []Job
	p := s3control.NewListJobsPaginator(s.control, &s3control.ListJobsInput{AccountId: aws.String(account), MaxResults: aws.Int32(1000)})
	for page := 0; p.HasMorePages() && page < maxJobPages; page++ {
		o, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.classifyJob(err, "list-jobs", "s3control jobs", "s3:ListJobs")
		}
		for _, d := range o.Jobs {
			j := Job{ID: aws.ToString(d.JobId), Status: string(d.Status), Description: aws.ToString(d.Description),
				Operation: string(d.Operation), Created: aws.ToTime(d.CreationTime), Terminated: aws.ToTime(d.TerminationDate)}
			j.progress(d.ProgressSummary)
			if j.IsStowage() {
				out = append(out, j)
			}
		}
	}
	return out, nil
}

const maxJobPages = 10

// CheckAccess lists one job: doctor's check of s3:ListJobs through S3 Control.
func (s *JobStore) CheckAccess(ctx context.Context) error {
	account, err := s.account(ctx)
	if err != nil {
		return err
	}
	_, err = s.control.ListJobs(ctx, &s3control.ListJobsInput{AccountId: aws.String(account), MaxResults: aws.Int32(1)})
	return s.classifyJob(err, "list-jobs", "s3control jobs", "s3:ListJobs")
}

// PrefixCheck is doctor's look at the manifest or the report prefix.
type PrefixCheck struct {
	// Probe is the probe object (s3://…) and ARN its object ARN, as IAM names it.
	Probe, ARN string
	// Resource is what a policy must allow: the prefix's objects (arn:aws:s3:::bucket/prefix*).
	Resource string
	// LeftErr says the probe was written but could not be deleted: it stays there.
	LeftErr error
}

// ProbeName is the object doctor's write check puts under a prefix, then deletes.
const ProbeName = ".stowage-doctor-probe"

// prefixCheck names the probe of the manifest (or report) prefix.
func (s *JobStore) prefixCheck(report bool) (pc PrefixCheck, bucket, prefix string) {
	bucket, prefix = s.opts.ManifestBucket, s.opts.ManifestPrefix
	if report {
		bucket, prefix = s.opts.ReportBucket, s.opts.ReportPrefix
	}
	return PrefixCheck{Probe: "s3://" + bucket + "/" + prefix + ProbeName, ARN: "arn:aws:s3:::" + bucket + "/" + prefix + ProbeName,
		Resource: "arn:aws:s3:::" + bucket + "/" + prefix + "*"}, bucket, prefix
}

// CheckWrite puts a small probe object under the prefix (manifest or report), then
// deletes it (the version it wrote, on a versioned bucket): doctor's check that the
// operator's credentials take writes there. A put refused names s3:PutObject and the
// ARN a policy must allow; a probe that could not be deleted is LeftErr (it stays).
// Read-only refuses it: CheckList looks without writing.
func (s *JobStore) CheckWrite(ctx context.Context, report bool) (PrefixCheck, error) {
	pc, bucket, prefix := s.prefixCheck(report)
	key := prefix + ProbeName
	if s.opts.ReadOnly {
		return pc, readOnlyError("put", pc.Probe)
	}
	out, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("stowage doctor\n")})
	if err != nil {
		err = classify(err, call{Op: "put", Resource: pc.Probe, Action: "s3:PutObject", Profile: s.opts.Profile, SSO: s.opts.SSO,
			NotFound: "check batch_ops.manifest_prefix and batch_ops.report_prefix: their buckets must exist"})
		if e, ok := err.(*Error); ok && e.Kind == KindAccessDenied {
			e.Remedy = "the credentials need s3:PutObject on " + pc.Resource
			if report {
				e.Remedy += " (S3 writes the completion reports there with the role batch_ops.role_arn, which needs it too)"
			}
		}
		return pc, err
	}
	del := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	action := "s3:DeleteObject"
	if v := aws.ToString(out.VersionId); v != "" && v != "null" {
		// A versioned bucket keeps a deleted object's versions: the one written goes.
		del.VersionId, action = out.VersionId, "s3:DeleteObjectVersion"
	}
	if _, err := s.s3.DeleteObject(ctx, del); err != nil {
		err = classify(err, call{Op: "delete", Resource: pc.Probe, Action: action, Profile: s.opts.Profile, SSO: s.opts.SSO})
		if e, ok := err.(*Error); ok {
			e.Remedy = "delete " + pc.Probe + " yourself"
			if e.Kind == KindAccessDenied {
				e.Remedy += ", and allow " + action + " on " + pc.ARN + " for doctor to clean up after itself"
			}
		}
		pc.LeftErr = err
	}
	return pc, nil
}

// CheckList lists one object under the prefix (s3:ListBucket): read-only doctor's check
// that the bucket exists and answers, without writing.
func (s *JobStore) CheckList(ctx context.Context, report bool) (PrefixCheck, error) {
	pc, bucket, prefix := s.prefixCheck(report)
	_, err := s.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)})
	if err != nil {
		err = classify(err, call{Op: "list", Resource: "s3://" + bucket + "/" + prefix, Action: "s3:ListBucket on arn:aws:s3:::" + bucket,
			Profile: s.opts.Profile, SSO: s.opts.SSO, NotFound: "check batch_ops.manifest_prefix and batch_ops.report_prefix: their buckets must exist"})
		if e, ok := err.(*Error); ok && e.Kind == KindAccessDenied {
			e.Remedy = "the credentials need s3:ListBucket on arn:aws:s3:::" + bucket
		}
	}
	return pc, err
}

// classifyJob classifies an S3 Control failure with the remedies of this API.
func (s *JobStore) classifyJob(err error, op, res, action string) error {
	if err == nil {
		return nil
	}
	e := newError(err, call{Op: op, Resource: res, Action: action, Profile: s.opts.Profile, SSO: s.opts.SSO, Endpoint: s.endpoint,
		NotFound: "no such job in this account and region: check the job ID, the region, and that it finished less than 90 days ago"})
	switch {
	case e.Kind == KindAccessDenied && strings.Contains(e.Message, "PassRole"):
		e.Remedy = "the credentials need " + ActionPassRole + " on " + s.opts.RoleARN + " (batch_ops.role_arn)"
	case e.Kind == KindAccessDenied && op == "create-job":
		e.Remedy = "the credentials need " + ActionCreateJob + " and " + ActionPassRole + " on " + s.opts.RoleARN
	case e.Code == "NotFoundException" || e.Code == "NoSuchJob":
		e.Kind = KindNotFound
	case e.Code == "JobStatusException":
		e.Kind, e.Remedy = KindInvalid, "the job is not in a state that allows this: see stowage jobs"
	case e.Code == "IdempotencyException":
		e.Kind, e.Remedy = KindInvalid, "a job with this client request token but other settings exists: see stowage jobs"
	}
	return e
}

// JobTaskResult is one row of a completion report.
type JobTaskResult struct {
	Bucket, Key, VersionID string
	Succeeded              bool
	HTTPStatus             int
	ErrorCode              string
	Message                string
}

// JobReport is a job's completion report.
type JobReport struct {
	Location string // s3://… of manifest.json
	Tasks    []JobTaskResult
}

// ReadReport reads job id's completion report: manifest.json, then every CSV it names.
func (s *JobStore) ReadReport(ctx context.Context, id string) (*JobReport, error) {
	key := s.reportBase(id) + "manifest.json"
	rep := &JobReport{Location: "s3://" + s.opts.ReportBucket + "/" + key}
	body, err := s.get(ctx, s.opts.ReportBucket, key)
	if err != nil {
		return nil, err
	}
	var m struct {
		Format  string
		Results []struct {
			TaskExecutionStatus, Bucket, Key string
		}
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, invalid("get", rep.Location, "not a completion report manifest: "+err.Error())
	}
	if m.Format != "Report_CSV_20180820" {
		return nil, invalid("get", rep.Location, "report format "+strconv.Quote(m.Format)+", expected Report_CSV_20180820")
	}
	for _, r := range m.Results {
		csvBody, err := s.get(ctx, r.Bucket, r.Key)
		if err != nil {
			return nil, err
		}
		tasks, err := ParseJobReportCSV(bytes.NewReader(csvBody))
		if err != nil {
			return nil, invalid("get", "s3://"+r.Bucket+"/"+r.Key, err.Error())
		}
		rep.Tasks = append(rep.Tasks, tasks...)
	}
	return rep, nil
}

func (s *JobStore) get(ctx context.Context, bucket, key string) ([]byte, error) {
	res := "s3://" + bucket + "/" + key
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, classify(err, call{Op: "get", Resource: res, Action: "s3:GetObject", Profile: s.opts.Profile, SSO: s.opts.SSO,
			NotFound: "the completion report is not there (yet): a job writes it when it ends, if at least one task ran"})
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxReportFile))
	if err != nil {
		return nil, classify(err, call{Op: "get", Resource: res})
	}
	return b, nil
}

// maxReportFile bounds one report file read into memory (a 4-million-task report is
// about 400 MB spread over several files).
const maxReportFile = 1 << 30

// ParseJobReportCSV reads the rows of a Report_CSV_20180820 result file: Bucket, Key
// (URL-encoded), VersionId, TaskStatus, then the HTTP status and the error code (the
// service writes them in the other order than ReportSchema names them, so the numeric one
// is the status), and ResultMessage.
func ParseJobReportCSV(r io.Reader) ([]JobTaskResult, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var out []JobTaskResult
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("report line %d: %v", line, err)
		}
		if len(rec) < 4 {
			return nil, fmt.Errorf("report line %d has %d fields, expected 7", line, len(rec))
		}
		key, err := url.QueryUnescape(rec[1])
		if err != nil {
			key = rec[1]
		}
		t := JobTaskResult{Bucket: rec[0], Key: key, VersionID: rec[2]}
		switch strings.ToLower(rec[3]) {
		case "succeeded":
			t.Succeeded = true
		case "failed":
		default:
			return nil, fmt.Errorf("report line %d: task status %q is neither succeeded nor failed", line, rec[3])
		}
		for _, f := range rec[4:min(len(rec), 6)] {
			if n, err := strconv.Atoi(f); err == nil && t.HTTPStatus == 0 {
				t.HTTPStatus = n
			} else if f != "" {
				t.ErrorCode = f
			}
		}
		if len(rec) > 6 {
			t.Message = strings.Join(rec[6:], ",")
		}
		out = append(out, t)
	}
}

// clip cuts s to n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// tagText keeps what an S3 tag accepts (letters, digits, spaces and + - = . _ : / @).
func tagText(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" +-=._:/@", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return clip(b.String(), n)
}

// RoleCheck is what doctor learnt of the batch-ops role through IAM.
type RoleCheck struct {
	// Skipped says why nothing was checked (a local stack).
	Skipped string
	// Exists: iam:GetRole found the role; ExistsErr says why that is not known (or
	// KindNotFound: it does not exist).
	Exists    bool
	ExistsErr error
	// Trusted says the role's trust policy names S3 Batch Operations' service principal
	// (TrustRead: the policy was read).
	Trusted, TrustRead bool
	// Caller is the IAM principal whose policies were simulated.
	Caller string
	// PassRole is the simulator's decision on iam:PassRole for the role: "allowed",
	// "implicitDeny" or "explicitDeny"; "" with PassRoleErr saying why it is not known.
	PassRole    string
	PassRoleErr error
}

// BatchServicePrincipal is the service that assumes a batch-ops role.
const BatchServicePrincipal = "batchoperations.s3.amazonaws.com"

// ActionSimulate is the IAM action doctor's iam:PassRole check needs.
const ActionSimulate = "iam:SimulatePrincipalPolicy"

// CheckRole asks IAM whether the role exists and trusts S3 Batch Operations
// (iam:GetRole), and whether the caller may pass it (iam:SimulatePrincipalPolicy on the
// caller's user or role). Each part that cannot be asked says why, and the rest is
// still asked. Nothing is written.
func (s *JobStore) CheckRole(ctx context.Context) RoleCheck {
	var rc RoleCheck
	if s.iam == nil {
		rc.Skipped = s.noIAM
		if rc.Skipped == "" {
			rc.Skipped = "no IAM client"
		}
		return rc
	}
	role := s.opts.RoleARN
	name := roleName(role)
	if name == "" {
		rc.ExistsErr = invalid("get-role", role, "not an IAM role ARN")
		rc.PassRoleErr = rc.ExistsErr
		return rc
	}
	out, err := s.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		rc.ExistsErr = classify(err, call{Op: "get-role", Resource: role, Action: "iam:GetRole", Profile: s.opts.Profile, SSO: s.opts.SSO,
			NotFound: "create the role (trusting " + BatchServicePrincipal + ") or fix batch_ops.role_arn"})
		if e := (*Error)(nil); errors.As(rc.ExistsErr, &e) && e.Code == "NoSuchEntity" {
			e.Kind = KindNotFound
		}
	} else if out.Role != nil {
		rc.Exists = true
		if doc := aws.ToString(out.Role.AssumeRolePolicyDocument); doc != "" {
			if d, err := url.QueryUnescape(doc); err == nil {
				doc = d
			}
			rc.TrustRead, rc.Trusted = true, strings.Contains(doc, BatchServicePrincipal)
		}
	}
	caller, err := s.caller(ctx)
	if err != nil {
		rc.PassRoleErr = err
		return rc
	}
	source, err := s.policySource(ctx, caller)
	if err != nil {
		rc.PassRoleErr = err
		return rc
	}
	rc.Caller = source
	sim, err := s.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(source),
		ActionNames: []string{ActionPassRole}, ResourceArns: []string{role}})
	if err != nil {
		rc.PassRoleErr = classify(err, call{Op: "simulate-principal-policy", Resource: source, Action: ActionSimulate, Profile: s.opts.Profile, SSO: s.opts.SSO})
		return rc
	}
	for _, r := range sim.EvaluationResults {
		if aws.ToString(r.EvalActionName) == ActionPassRole {
			rc.PassRole = string(r.EvalDecision)
		}
	}
	if rc.PassRole == "" {
		rc.PassRoleErr = invalid("simulate-principal-policy", source, "the answer has no decision for "+ActionPassRole)
	}
	return rc
}

// policySource is the IAM user or role whose policies the simulator reads for caller:
// an assumed role's session is its role (whose ARN, with its path, GetRole gives).
// Root, federated users and other principals cannot be simulated.
func (s *JobStore) policySource(ctx context.Context, caller string) (string, error) {
	parts := strings.SplitN(caller, ":", 6)
	if len(parts) != 6 {
		return "", invalid("simulate-principal-policy", caller, "not an ARN")
	}
	switch svc, res := parts[2], parts[5]; {
	case svc == "iam" && (strings.HasPrefix(res, "user/") || strings.HasPrefix(res, "role/")):
		return caller, nil
	case svc == "sts" && strings.HasPrefix(res, "assumed-role/"):
		name, _, _ := strings.Cut(strings.TrimPrefix(res, "assumed-role/"), "/")
		out, err := s.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return "", classify(err, call{Op: "get-role", Resource: "role " + name + " (the caller's)", Action: "iam:GetRole", Profile: s.opts.Profile, SSO: s.opts.SSO})
		}
		if out.Role == nil || aws.ToString(out.Role.Arn) == "" {
			return "", invalid("get-role", name, "the answer has no role ARN")
		}
		return aws.ToString(out.Role.Arn), nil
	}
	return "", invalid("simulate-principal-policy", caller, "the policy simulator takes an IAM user or role, and the caller is neither")
}

// roleName is the name in a role ARN (the last path segment), "" when it is not one.
func roleName(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return ""
	}
	res := parts[5]
	return res[strings.LastIndexByte(res, '/')+1:]
}

// WithIAM gives the store an IAM client and a fixed caller ARN (tests).
func (s *JobStore) WithIAM(c *iam.Client, caller string) *JobStore {
	s.iam, s.noIAM = c, ""
	s.caller = func(context.Context) (string, error) { return caller, nil }
	return s
}
