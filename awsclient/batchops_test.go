package awsclient_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
)

// jobsOn opens the clients of a devstack's demo environment (hermetic: no machine AWS
// configuration).
func jobsOn(t *testing.T, readOnly bool) (*devstack.Stack, *awsclient.Clients) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	st, err := devstack.Start(context.Background(), devstack.Options{Requests: 30, LostRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := st.Config().Environments[devstack.EnvName]
	env.ReadOnly = readOnly
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials(st.AccessKey, st.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	if c.Jobs == nil {
		t.Fatal("no JobStore for an environment with batch_ops")
	}
	return st, c
}

func TestJobStoreCreateConfirmReport(t *testing.T) {
	st, c := jobsOn(t, false)
	ctx := context.Background()
	var b strings.Builder
	for _, r := range st.Seeded() {
		b.WriteString(st.Bucket + "," + url.QueryEscape(r.Key) + "\n")
	}
	ref, err := c.Jobs.UploadManifest(ctx, "run-1", []byte(b.String()))
	if err != nil || ref.ETag == "" {
		t.Fatalf("UploadManifest = %+v, %v", ref, err)
	}
	spec := awsclient.JobSpec{Token: "hash-1", Manifest: ref, Operation: awsclient.JobCopy, Bucket: st.Bucket,
		Description: awsclient.JobDescriptionPrefix + " run-1", Tags: map[string]string{"stowage:run-id": "run-1", "stowage:operator": "arn:aws:sts::1:assumed-role/x/y"},
		ContentType: "application/json", UserMetadata: map[string]string{awsclient.RedrivenAtMeta: "2026-12-07T14:00:00Z"}}
	id, err := c.Jobs.CreateJob(ctx, spec)
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	again, err := c.Jobs.CreateJob(ctx, spec)
	if err != nil || again != id || st.BatchJobs() != 1 {
		t.Fatalf("retried CreateJob: %q vs %q (%v), %d jobs", again, id, err, st.BatchJobs())
	}
	j := waitFor(t, c.Jobs, id, "Suspended")
	if j.Total != int64(len(st.Seeded())) || !j.IsStowage() || j.Operation != string(awsclient.JobCopy) {
		t.Fatalf("suspended job = %+v", j)
	}
	if err := c.Jobs.Confirm(ctx, id, "confirmed in stowage"); err != nil {
		t.Fatal(err)
	}
	j = waitFor(t, c.Jobs, id, "Complete")
	rep, err := c.Jobs.ReadReport(ctx, id)
	if j.Succeeded != j.Total {
		if rep != nil {
			for _, r := range rep.Tasks {
				if !r.Succeeded {
					t.Logf("failed: %+v", r)
				}
			}
		}
		t.Fatalf("job = %+v", j)
	}
	if err != nil || len(rep.Tasks) != int(j.Total) || !rep.Tasks[0].Succeeded || rep.Tasks[0].HTTPStatus != 200 {
		t.Fatalf("ReadReport = %+v, %v", rep, err)
	}
	jobs, err := c.Jobs.List(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].ID != id {
		t.Fatalf("List = %+v, %v", jobs, err)
	}
	_, err = c.Jobs.Describe(ctx, "no-such-job")
	if awsclient.KindOf(err) != awsclient.KindNotFound {
		t.Fatalf("Describe of a missing job: %v (kind %v)", err, awsclient.KindOf(err))
	}
}

func waitFor(t *testing.T, s *awsclient.JobStore, id, status string) awsclient.Job {
	t.Helper()
	for i := 0; i < 2000; i++ {
		j, err := s.Describe(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == status {
			return j
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job %s never %s", id, status)
	return awsclient.Job{}
}

func TestJobStoreReadOnlyRefusesEveryWrite(t *testing.T) {
	st, c := jobsOn(t, true)
	ctx := context.Background()
	before := st.Writes().Total() + st.BatchJobWrites()
	_, err1 := c.Jobs.UploadManifest(ctx, "run-1", []byte("b,k\n"))
	_, err2 := c.Jobs.CreateJob(ctx, awsclient.JobSpec{Token: "t", Operation: awsclient.JobCopy})
	err3 := c.Jobs.Confirm(ctx, "x", "")
	err4 := c.Jobs.Cancel(ctx, "x", "")
	_, err5 := c.Jobs.CheckWrite(ctx, true)
	for i, err := range []error{err1, err2, err3, err4, err5} {
		if !errors.Is(err, awsclient.ErrReadOnly) {
			t.Errorf("write %d in read-only: %v", i+1, err)
		}
	}
	if after := st.Writes().Total() + st.BatchJobWrites(); after != before {
		t.Fatalf("read-only sent %d writes", after-before)
	}
	if _, err := c.Jobs.List(ctx); err != nil {
		t.Fatalf("List in read-only: %v", err)
	}
}

func TestParseJobReportCSV(t *testing.T) {
	in := "b,k%2F1,,succeeded,200,,Successful\n" +
		"b,k2,,failed,400,InvalidRequest,\"bad, very\"\n" +
		"b,k3,,failed,PermanentFailure,200,Lambda said no\n"
	got, err := awsclient.ParseJobReportCSV(strings.NewReader(in))
	if err != nil || len(got) != 3 {
		t.Fatalf("ParseJobReportCSV = %+v, %v", got, err)
	}
	if got[0].Key != "k/1" || !got[0].Succeeded || got[1].ErrorCode != "InvalidRequest" || got[1].Message != "bad, very" ||
		got[2].HTTPStatus != 200 || got[2].ErrorCode != "PermanentFailure" {
		t.Fatalf("rows = %+v", got)
	}
	if _, err := awsclient.ParseJobReportCSV(strings.NewReader("b,k,,maybe,200,,x\n")); err == nil {
		t.Fatal("an unknown task status was accepted")
	}
}

func FuzzParseJobReportCSV(f *testing.F) {
	f.Add("b,k%2F1,,succeeded,200,,Successful\n")
	f.Add("b,k3,,failed,PermanentFailure,200,\"a\"\"b\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		rows, err := awsclient.ParseJobReportCSV(strings.NewReader(s))
		if err != nil && rows != nil {
			t.Fatal("rows with an error")
		}
	})
}
