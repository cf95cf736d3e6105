package redrive

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// A copy that changes neither LastModified nor the version fires no event: the item
// fails "not re-fired", once, instead of claiming a delivery.
func TestS3CopyThatChangesNothingIsNotReFired(t *testing.T) {
	f := newFixture(t, 2)
	f.store.copyNoop = true
	m := f.plan(t, ModeS3Copy)
	r, err := New(f.deps(), m, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	rep := runToEnd(t, r)
	for _, it := range rep.Items {
		if it.State != StateFailed || it.Error != NotRefiredReason {
			t.Errorf("%s: %s %q", it.RequestID, it.State, it.Error)
		}
		if n := f.store.copies[it.Key]; n != 1 {
			t.Errorf("%s copied %d times, want once (a no-op copy stays a no-op)", it.RequestID, n)
		}
	}
}

func TestCopyTookEffect(t *testing.T) {
	planned := Item{VersionID: "v1", LastModified: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		name string
		obj  awsclient.Object
		want bool
	}{
		{"same second, same version", awsclient.Object{VersionID: "v1", LastModified: planned.LastModified.Add(900 * time.Millisecond)}, false},
		{"next second", awsclient.Object{VersionID: "v1", LastModified: planned.LastModified.Add(time.Second)}, true},
		{"new version", awsclient.Object{VersionID: "v2", LastModified: planned.LastModified}, true},
		{"no LastModified, no version", awsclient.Object{}, false},
	} {
		if got := copyTookEffect(planned, c.obj); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// An object stored in the second the copy runs would keep its LastModified through a
// real copy: the engine waits for the next second first, so the copy is not misjudged.
func TestS3CopyWaitsForTheNextSecondOfAFreshObject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 1)
		start := time.Now().UTC()
		f.store.objects[f.ids[0]].modified = start.Truncate(time.Second)
		m := f.plan(t, ModeS3Copy)
		r, err := New(f.deps(), m, f.opts())
		if err != nil {
			t.Fatal(err)
		}
		rep := runToEnd(t, r)
		if got := rep.Items[0]; got.State != StateDelivered {
			t.Fatalf("%s %q: a real copy was judged not re-fired", got.State, got.Error)
		}
		if waited := time.Since(start); waited < time.Second || waited > maxSecondWait {
			t.Errorf("waited %v, want just past the next second", waited)
		}
	})
}

// versitygw copies in place without changing LastModified or a version, like a server
// that fires no event: the run must not report that as delivered. Whatever the server
// does, the verdict must match what a HEAD shows afterwards.
func TestS3CopyAgainstVersityGWReportsWhatTheServerDid(t *testing.T) {
	s3ep, ddbep := testenv.S3(t), testenv.DynamoDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s3c := testenv.NewS3Client(t, s3ep)
	bucket := testenv.NewBucket(t, s3c)
	ddb := testenv.NewDynamoDBClient(t, ddbep)
	table := testenv.NewTable(t, ddb, "stowage-copy", "requestId")
	id := "copy-me"
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(id),
		Body: bytes.NewReader([]byte(`{"order":1}`)), ContentType: aws.String("application/json")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
		"requestId": &ddbtypes.AttributeValueMemberS{Value: id}, "status": &ddbtypes.AttributeValueMemberS{Value: "FAILED"},
	}}); err != nil {
		t.Fatal(err)
	}
	objects := awsclient.NewObjectStore(s3c, bucket, awsclient.ObjectStoreOptions{})
	statuses := awsclient.NewStatusStore(ddb, awsclient.StatusSchema{Table: table})
	m, err := Plan(ctx, PlanDeps{Source: inventory.Source{Objects: objects, Statuses: statuses}}, Selection{IDs: []string{id}},
		PlanOptions{Env: "test", Mode: ModeS3Copy, Bucket: bucket, Concurrency: 1, SuccessStates: []string{"PROCESSED"}, LostAfter: time.Minute})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	o := Options{JournalPath: t.TempDir() + "/copy.journal.jsonl", BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
	r, err := New(Deps{Objects: objects, Status: statuses}, m, o)
	if err != nil {
		t.Fatal(err)
	}
	rep := runToEnd(t, r)
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	changed := aws.ToTime(head.LastModified).Truncate(time.Second).After(m.Items[0].LastModified.Truncate(time.Second)) ||
		(aws.ToString(head.VersionId) != "" && aws.ToString(head.VersionId) != m.Items[0].VersionID)
	got := rep.Items[0]
	t.Logf("versitygw's copy changed the object: %v; the run said %s %q", changed, got.State, got.Error)
	if changed && got.State != StateDelivered {
		t.Errorf("the copy took effect, but the run said %s %q", got.State, got.Error)
	}
	if !changed && (got.State != StateFailed || !strings.HasPrefix(got.Error, "not re-fired")) {
		t.Errorf("the copy changed nothing, but the run said %s %q", got.State, got.Error)
	}
}
