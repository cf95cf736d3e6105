package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// loopbackControl drops the account host label the endpoint rules put before a custom
// endpoint (awsclient does the same).
type loopbackControl struct{ s3control.EndpointResolverV2 }

func (l loopbackControl) ResolveEndpoint(ctx context.Context, p s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	e, err := l.EndpointResolverV2.ResolveEndpoint(ctx, p)
	if err == nil && p.AccountId != nil {
		e.URI.Host = strings.TrimPrefix(e.URI.Host, *p.AccountId+".")
	}
	return e, err
}

func controlClient(st *Stack) *s3control.Client {
	return s3control.New(s3control.Options{
		Region: st.Region, BaseEndpoint: aws.String(st.S3ControlURL),
		Credentials:        credentials.NewStaticCredentialsProvider(st.AccessKey, st.SecretKey, ""),
		EndpointResolverV2: loopbackControl{s3control.NewDefaultEndpointResolverV2()},
	})
}

// putManifest uploads a CSV manifest of keys and returns its ETag.
func putManifest(t *testing.T, st *Stack, key string, keys []string) string {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(st.Bucket + "," + url.QueryEscape(k) + "\n")
	}
	out, err := s3Client(st).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(BatchOpsBucket), Key: aws.String(key),
		Body: strings.NewReader(b.String())})
	if err != nil {
		t.Fatalf("put manifest: %v", err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

func copyJob(st *Stack, token, manifestKey, etag string) *s3control.CreateJobInput {
	return &s3control.CreateJobInput{
		AccountId: aws.String(DemoAccountID), ClientRequestToken: aws.String(token), ConfirmationRequired: aws.Bool(true),
		Description: aws.String("stowage redrive test"), Priority: aws.Int32(10), RoleArn: aws.String("arn:aws:iam::000000000000:role/r"),
		Manifest: &types.JobManifest{Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::" + BatchOpsBucket + "/" + manifestKey), ETag: aws.String(etag)},
			Spec: &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: []types.JobManifestFieldName{"Bucket", "Key"}}},
		Operation: &types.JobOperation{S3PutObjectCopy: &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::" + st.Bucket),
			MetadataDirective: types.S3MetadataDirectiveReplace,
			NewObjectMetadata: &types.S3ObjectMetadata{ContentType: aws.String("application/json"), UserMetadata: map[string]string{"stowage-redriven-at": "2026-01-01T00:00:00Z"}}}},
		Report: &types.JobReport{Bucket: aws.String("arn:aws:s3:::" + BatchOpsBucket), Enabled: true, Format: types.JobReportFormatReportCsv20180820,
			Prefix: aws.String("reports"), ReportScope: types.JobReportScopeAllTasks},
	}
}

func waitJob(t *testing.T, c *s3control.Client, id string, want ...types.JobStatus) *types.JobDescriptor {
	t.Helper()
	for i := 0; i < 2000; i++ {
		out, err := c.DescribeJob(context.Background(), &s3control.DescribeJobInput{AccountId: aws.String(DemoAccountID), JobId: aws.String(id)})
		if err != nil {
			t.Fatalf("DescribeJob: %v", err)
		}
		for _, w := range want {
			if out.Job.Status == w {
				return out.Job
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job %s never reached %v", id, want)
	return nil
}

func TestBatchJobCopyConfirmReport(t *testing.T) {
	st := startStack(t, Options{Requests: 40, LostRatio: -1})
	ctx := context.Background()
	var keys []string
	for _, r := range st.Seeded() {
		keys = append(keys, r.Key)
	}
	etag := putManifest(t, st, "manifests/m1.csv", keys)
	c := controlClient(st)
	in := copyJob(st, "token-1", "manifests/m1.csv", etag)
	out, err := c.CreateJob(ctx, in)
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	again, err := c.CreateJob(ctx, in)
	if err != nil || aws.ToString(again.JobId) != aws.ToString(out.JobId) || st.BatchJobs() != 1 {
		t.Fatalf("a retried CreateJob with the same token: %v, job %s vs %s, %d jobs", err, aws.ToString(again.JobId), aws.ToString(out.JobId), st.BatchJobs())
	}
	id := aws.ToString(out.JobId)
	j := waitJob(t, c, id, types.JobStatusSuspended)
	if j.ProgressSummary.NumberOfTasksSucceeded != nil && *j.ProgressSummary.NumberOfTasksSucceeded != 0 {
		t.Fatal("a suspended job ran tasks")
	}
	copies := st.Writes().S3Copies
	time.Sleep(20 * time.Millisecond)
	if st.Writes().S3Copies != copies {
		t.Fatal("the job copied before it was confirmed")
	}
	if _, err := c.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(DemoAccountID), JobId: aws.String(id),
		RequestedJobStatus: types.RequestedJobStatusReady}); err != nil {
		t.Fatalf("UpdateJobStatus Ready: %v", err)
	}
	j = waitJob(t, c, id, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete || aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != int64(len(keys)) {
		t.Fatalf("job %s: %d succeeded of %d", j.Status, aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded), len(keys))
	}
	obj, err := s3Client(st).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(BatchOpsBucket), Key: aws.String("reports/job-" + id + "/manifest.json")})
	if err != nil {
		t.Fatalf("report manifest: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	var m struct {
		Format  string
		Results []struct{ TaskExecutionStatus, Key string }
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Format != "Report_CSV_20180820" || len(m.Results) != 1 || m.Results[0].TaskExecutionStatus != "succeeded" {
		t.Fatalf("report manifest.json = %s (%v)", body, err)
	}
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Seeded() {
		if s, ok := st.Status(r.Key); ok && s.State == StateFailed && strings.Contains(s.Error, "timed out") {
			t.Errorf("%s still failed with a transient error after the copy", r.Key)
		}
	}
	list, err := c.ListJobs(ctx, &s3control.ListJobsInput{AccountId: aws.String(DemoAccountID)})
	if err != nil || len(list.Jobs) != 1 || aws.ToString(list.Jobs[0].JobId) != id || list.Jobs[0].Operation != types.OperationNameS3PutObjectCopy {
		t.Fatalf("ListJobs = %+v, %v", list, err)
	}
}

func TestBatchJobCancelMidJob(t *testing.T) {
	st := startStack(t, Options{Requests: 200, LostRatio: -1})
	st.SetBatchTaskDelay(5 * time.Millisecond)
	ctx := context.Background()
	var keys []string
	for _, r := range st.Seeded() {
		keys = append(keys, r.Key)
	}
	etag := putManifest(t, st, "manifests/m2.csv", keys)
	c := controlClient(st)
	out, err := c.CreateJob(ctx, copyJob(st, "token-2", "manifests/m2.csv", etag))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.JobId)
	waitJob(t, c, id, types.JobStatusSuspended)
	if _, err := c.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(DemoAccountID), JobId: aws.String(id), RequestedJobStatus: types.RequestedJobStatusReady}); err != nil {
		t.Fatal(err)
	}
	for {
		j := waitJob(t, c, id, types.JobStatusActive, types.JobStatusComplete)
		if aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) > 0 || j.Status == types.JobStatusComplete {
			break
		}
	}
	if _, err := c.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(DemoAccountID), JobId: aws.String(id), RequestedJobStatus: types.RequestedJobStatusCancelled}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	j := waitJob(t, c, id, types.JobStatusCancelled)
	if n := aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded); n == 0 || n >= int64(len(keys)) {
		t.Fatalf("cancelled mid-job after %d of %d tasks", n, len(keys))
	}
	if _, err := c.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(DemoAccountID), JobId: aws.String(id), RequestedJobStatus: types.RequestedJobStatusReady}); err == nil {
		t.Fatal("a cancelled job was made Ready")
	}
}

func TestBatchJobLambdaSchema20(t *testing.T) {
	st := startStack(t, Options{Requests: 30, LostRatio: -1})
	ctx := context.Background()
	var keys []string
	for _, r := range st.Seeded() {
		keys = append(keys, r.Key)
	}
	etag := putManifest(t, st, "manifests/m3.csv", keys)
	c := controlClient(st)
	in := copyJob(st, "token-3", "manifests/m3.csv", etag)
	in.Operation = &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:product-ingest"),
		InvocationSchemaVersion: aws.String("2.0")}}
	in.ConfirmationRequired = aws.Bool(false)
	out, err := c.CreateJob(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, c, aws.ToString(out.JobId), types.JobStatusComplete, types.JobStatusFailed)
	ok, failed := aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded), aws.ToInt64(j.ProgressSummary.NumberOfTasksFailed)
	if ok+failed != int64(len(keys)) || ok == 0 {
		t.Fatalf("lambda job: %d succeeded, %d failed of %d", ok, failed, len(keys))
	}
	for _, k := range keys {
		if _, found := st.Status(k); !found {
			t.Errorf("%s has no status after the lambda job", k)
		}
	}
}

func FuzzParseBatchManifest(f *testing.F) {
	f.Add([]byte("b,k%2Fa\nb,x\n"))
	f.Add([]byte("b,\"k,1\"\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		tasks, err := ParseBatchManifest(body, []string{"Bucket", "Key"})
		if err == nil && len(tasks) == 0 {
			t.Fatal("no error and no tasks")
		}
	})
}

// The service's failure threshold: a job fails once more than half of at least 1,000
// attempted tasks failed.
func TestBatchJobFailureThreshold(t *testing.T) {
	st := startStack(t, Options{Requests: 10, LostRatio: -1})
	ctx := context.Background()
	keys := make([]string, 1500)
	for i := range keys {
		keys[i] = "missing/" + strconv.Itoa(i)
	}
	etag := putManifest(t, st, "manifests/m4.csv", keys)
	c := controlClient(st)
	in := copyJob(st, "token-4", "manifests/m4.csv", etag)
	in.ConfirmationRequired = aws.Bool(false)
	out, err := c.CreateJob(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, c, aws.ToString(out.JobId), types.JobStatusFailed, types.JobStatusComplete)
	failed := aws.ToInt64(j.ProgressSummary.NumberOfTasksFailed)
	if j.Status != types.JobStatusFailed || failed < 1000 || failed >= 1500 || len(j.FailureReasons) == 0 {
		t.Fatalf("job %s after %d failed tasks (reasons %v)", j.Status, failed, j.FailureReasons)
	}
}
