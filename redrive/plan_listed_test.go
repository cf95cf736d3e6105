package redrive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// headCounter counts the HEADs planning makes.
type headCounter struct {
	inventory.Objects
	heads atomic.Int64
}

func (h *headCounter) Head(ctx context.Context, key string) (awsclient.Object, error) {
	h.heads.Add(1)
	return h.Objects.Head(ctx, key)
}

// A --status or --lost selection is described by the listing it came from: planning
// sends no HEAD per object. Explicitly named IDs, which nothing listed, are still HEADed.
func TestPlanFromAListingSendsNoHead(t *testing.T) {
	store, status := newFakeStore(), newFakeStatus()
	for i := range 1100 { // one status page past inventory's HEAD budget for its first rows
		id := fmt.Sprintf("f-%04d", i)
		store.put(id, []byte("body"), "application/json").modified = planNow.Add(-time.Hour)
		status.set(id, "FAILED")
	}
	for i := range 50 {
		store.put(fmt.Sprintf("lost-%02d", i), []byte("x"), "").modified = planNow.Add(-time.Hour)
	}
	for _, tc := range []struct {
		name      string
		sel       Selection
		wantItems int
		maxHeads  int64
	}{
		{"status", Selection{Status: "FAILED"}, 1100, 0},
		{"lost", Selection{Lost: true}, 50, 0},
		{"ids", Selection{IDs: []string{"f-0001", "f-0002", "nope"}}, 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := &headCounter{Objects: store}
			m, err := Plan(context.Background(), PlanDeps{Source: inventory.Source{Objects: objs, Statuses: status}}, tc.sel, planOpts(ModeInplace))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Items) != tc.wantItems {
				t.Fatalf("%d items, want %d", len(m.Items), tc.wantItems)
			}
			if n := objs.heads.Load(); n > tc.maxHeads || tc.name == "ids" && n != 3 {
				t.Errorf("%d HEADs for %d items, want at most %d", n, len(m.Items), tc.maxHeads)
			}
			for _, it := range m.Items {
				if it.ETag == "" || it.LastModified.IsZero() || it.Size == 0 || it.Planned == nil {
					t.Fatalf("item %+v is not described", it)
				}
			}
		})
	}
}

// pinRecorder records the pins of the GETs a run makes.
type pinRecorder struct {
	ObjectSource
	mu   sync.Mutex
	pins []awsclient.Pin
}

func (p *pinRecorder) Get(ctx context.Context, key string, pin awsclient.Pin) (io.ReadCloser, awsclient.Object, error) {
	p.mu.Lock()
	p.pins = append(p.pins, pin)
	p.mu.Unlock()
	return p.ObjectSource.Get(ctx, key, pin)
}

// Planned from a listing (no HEAD), the run pins each GET to the planned ETag: against
// the real S3 server an object replaced since planning answers 412, and the item ends
// failed "changed since planning" with nothing sent; an unchanged one is sent with the
// content type its GET gave (a listing does not say).
func TestChangedSincePlanningIsCaughtByIfMatchOnVersityGW(t *testing.T) {
	s3ep, ddbep := testenv.S3(t), testenv.DynamoDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s3c := testenv.NewS3Client(t, s3ep)
	bucket := testenv.NewBucket(t, s3c)
	ddb := testenv.NewDynamoDBClient(t, ddbep)
	table := testenv.NewTable(t, ddb, "stowage-ifmatch", "requestId")
	put := func(id, body string) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(id),
			Body: strings.NewReader(body), ContentType: aws.String("application/json")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"kept", "replaced"} {
		put(id, `{"v":1}`)
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
			"requestId": &ddbtypes.AttributeValueMemberS{Value: id}, "status": &ddbtypes.AttributeValueMemberS{Value: "FAILED"},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	objects := awsclient.NewObjectStore(s3c, bucket, awsclient.ObjectStoreOptions{})
	statuses := awsclient.NewStatusStore(ddb, awsclient.StatusSchema{Table: table})
	heads := &headCounter{Objects: objects}
	opts := planOpts(ModeInplace)
	opts.Bucket, opts.Now = bucket, time.Now
	m, err := Plan(ctx, PlanDeps{Source: inventory.Source{Objects: heads, Statuses: statuses}}, Selection{Status: "FAILED"}, opts)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if len(m.Items) != 2 {
		t.Fatalf("planned %d items, want 2", len(m.Items))
	}
	put("replaced", `{"v":2,"longer":true}`) // after planning: a new ETag

	src := &pinRecorder{ObjectSource: objects}
	sender := newFakeSender(nil)
	o := Options{JournalPath: t.TempDir() + "/run.journal.jsonl", BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
	r, err := New(Deps{Objects: src, Status: statuses, Sender: sender}, m, o)
	if err != nil {
		t.Fatal(err)
	}
	rep := runToEnd(t, r)
	byID := map[string]ItemResult{}
	for _, it := range rep.Items {
		byID[it.RequestID] = it
	}
	t.Logf("replaced: %s", byID["replaced"].Error)
	if got := byID["replaced"]; got.State != StateFailed || !strings.HasPrefix(got.Error, "changed since planning") {
		t.Errorf("replaced: %s %q, want failed: changed since planning", got.State, got.Error)
	}
	if strings.Contains(byID["replaced"].Error, "ETag is") {
		t.Errorf("replaced was caught by the client's own check, not by S3's 412: %q", byID["replaced"].Error)
	}
	if n := sender.attemptsOf("replaced"); n != 0 {
		t.Errorf("replaced was sent %d times, want 0", n)
	}
	if got := byID["kept"]; got.State != StateDelivered {
		t.Errorf("kept: %s %q, want delivered", got.State, got.Error)
	}
	planned := map[string]string{}
	for _, it := range m.Items {
		planned[it.RequestID] = it.ETag
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	for _, p := range src.pins {
		if p.ETag == "" || (p.ETag != planned["kept"] && p.ETag != planned["replaced"]) {
			t.Errorf("GET pinned %+v, want If-Match with a planned ETag", p)
		}
	}
	sender.mu.Lock()
	defer sender.mu.Unlock()
	if len(sender.got) != 1 || sender.got[0].ctype != "application/json" || !bytes.Equal(sender.got[0].body, []byte(`{"v":1}`)) {
		t.Errorf("sent %+v, want kept's planned body with its content type", sender.got)
	}
}

// BenchmarkPlanStatusSelection plans every FAILED request of a 20,000-object bucket (a
// tenth of them FAILED) from the in-memory fakes, and reports the HEADs planning made.
func BenchmarkPlanStatusSelection(b *testing.B) {
	store, status := newFakeStore(), newFakeStatus()
	for i := range 20_000 {
		id := fmt.Sprintf("r-%05d", i)
		store.put(id, []byte("body"), "application/json").modified = planNow.Add(-time.Hour)
		if i%10 == 0 {
			status.set(id, "FAILED")
		} else {
			status.set(id, "PROCESSED")
		}
	}
	objs := &headCounter{Objects: store}
	deps := PlanDeps{Source: inventory.Source{Objects: objs, Statuses: status}}
	b.ResetTimer()
	for b.Loop() {
		m, err := Plan(context.Background(), deps, Selection{Status: "FAILED"}, planOpts(ModeInplace))
		if err != nil || len(m.Items) != 2000 {
			b.Fatalf("%v, %d items", err, len(m.Items))
		}
	}
	b.ReportMetric(float64(objs.heads.Load())/float64(b.N), "heads/op")
}
