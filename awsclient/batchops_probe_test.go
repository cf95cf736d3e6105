package awsclient

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
)

// fakeProbeS3 is the ops bucket as doctor's probe sees it: the objects put and deleted,
// the methods answered AccessDenied, and the version ID a put returns (versioned).
type fakeProbeS3 struct {
	mu        sync.Mutex
	objects   map[string]bool
	deny      map[string]bool // HTTP method → AccessDenied
	version   string
	deletes   []string // path?query of each DELETE
	writes    int
	listCalls int
}

func (f *fakeProbeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodGet {
		f.writes++
	}
	if f.deny[r.Method] {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	switch r.Method {
	case http.MethodPut:
		f.objects[r.URL.Path] = true
		if f.version != "" {
			w.Header().Set("x-amz-version-id", f.version)
		}
	case http.MethodDelete:
		f.deletes = append(f.deletes, r.URL.Path+"?"+r.URL.RawQuery)
		delete(f.objects, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		f.listCalls++
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>ops-bucket</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`)
	}
}

func probeStore(t *testing.T, f *fakeProbeS3, readOnly bool) *JobStore {
	t.Helper()
	f.objects = map[string]bool{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(srv.URL), true })
	control := s3control.NewFromConfig(cfg, func(o *s3control.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return NewJobStore(control, s3c, "123456789012", JobStoreOptions{RoleARN: "arn:aws:iam::123456789012:role/r",
		ManifestBucket: "ops-bucket", ManifestPrefix: "m/", ReportBucket: "ops-bucket", ReportPrefix: "r/", ReadOnly: readOnly})
}

// The probe is deleted once written (the very version written, on a versioned bucket):
// doctor leaves nothing behind.
func TestCheckWriteDeletesItsProbe(t *testing.T) {
	for _, version := range []string{"", "v-1"} {
		f := &fakeProbeS3{version: version}
		s := probeStore(t, f, false)
		pc, err := s.CheckWrite(context.Background(), true)
		if err != nil || pc.LeftErr != nil {
			t.Fatalf("CheckWrite: %v, left %v", err, pc.LeftErr)
		}
		want := "/ops-bucket/r/" + ProbeName + "?x-id=DeleteObject"
		if version != "" {
			want = "/ops-bucket/r/" + ProbeName + "?versionId=" + version + "&x-id=DeleteObject"
		}
		if len(f.objects) != 0 || len(f.deletes) != 1 || f.deletes[0] != want {
			t.Fatalf("versioned %q: objects left %v, deletes %v (want %s)", version, f.objects, f.deletes, want)
		}
	}
}

// A put refused names the action and the ARN a policy must allow; for the report
// prefix, that the role writes there too.
func TestCheckWriteDeniedNamesActionAndARN(t *testing.T) {
	f := &fakeProbeS3{deny: map[string]bool{http.MethodPut: true}}
	s := probeStore(t, f, false)
	_, err := s.CheckWrite(context.Background(), true)
	e, ok := err.(*Error)
	if !ok || e.Kind != KindAccessDenied {
		t.Fatalf("CheckWrite denied: %v", err)
	}
	for _, want := range []string{"s3:PutObject on arn:aws:s3:::ops-bucket/r/*", "batch_ops.role_arn"} {
		if !strings.Contains(e.Remedy, want) {
			t.Errorf("remedy %q lacks %q", e.Remedy, want)
		}
	}
	if _, err := s.CheckWrite(context.Background(), false); err == nil || !strings.Contains(err.(*Error).Remedy, "s3:PutObject on arn:aws:s3:::ops-bucket/m/*") ||
		strings.Contains(err.(*Error).Remedy, "role") {
		t.Errorf("manifest prefix denied: %v", err)
	}
}

// A probe that could not be deleted is said, with the object, the action and its ARN.
func TestCheckWriteProbeLeft(t *testing.T) {
	f := &fakeProbeS3{deny: map[string]bool{http.MethodDelete: true}, version: "v-9"}
	s := probeStore(t, f, false)
	pc, err := s.CheckWrite(context.Background(), false)
	if err != nil || pc.LeftErr == nil {
		t.Fatalf("CheckWrite: %v, left %v", err, pc.LeftErr)
	}
	r := pc.LeftErr.(*Error).Remedy
	for _, want := range []string{"delete s3://ops-bucket/m/" + ProbeName, "s3:DeleteObjectVersion on arn:aws:s3:::ops-bucket/m/" + ProbeName} {
		if !strings.Contains(r, want) {
			t.Errorf("remedy %q lacks %q", r, want)
		}
	}
}

// Read-only writes nothing: CheckWrite refuses, CheckList only lists.
func TestCheckPrefixReadOnlyWritesNothing(t *testing.T) {
	f := &fakeProbeS3{}
	s := probeStore(t, f, true)
	if _, err := s.CheckWrite(context.Background(), true); KindOf(err) != KindReadOnly {
		t.Fatalf("CheckWrite in read-only: %v", err)
	}
	if _, err := s.CheckList(context.Background(), true); err != nil {
		t.Fatalf("CheckList: %v", err)
	}
	if f.writes != 0 || f.listCalls != 1 {
		t.Fatalf("read-only: %d writes, %d lists", f.writes, f.listCalls)
	}
	f.deny = map[string]bool{http.MethodGet: true}
	if _, err := s.CheckList(context.Background(), true); err == nil || !strings.Contains(err.(*Error).Remedy, "s3:ListBucket on arn:aws:s3:::ops-bucket") {
		t.Fatalf("CheckList denied: %v", err)
	}
}
