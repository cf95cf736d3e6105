package inventory

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// rangeStore adds ListPageAfter (ListObjectsV2 StartAfter) to an ObjectStore, so that the
// sharded listing can be tested on real servers until awsclient offers it.
type rangeStore struct {
	*awsclient.ObjectStore
	client *s3.Client
	bucket string
}

func (r rangeStore) ListPageAfter(ctx context.Context, prefix, after, token string, max int32) (awsclient.Page, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(r.bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(max)}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	} else if after != "" {
		in.StartAfter = aws.String(after)
	}
	out, err := r.client.ListObjectsV2(ctx, in)
	if err != nil {
		return awsclient.Page{}, err
	}
	var page awsclient.Page
	for _, o := range out.Contents {
		page.Objects = append(page.Objects, awsclient.Object{Key: aws.ToString(o.Key), RequestID: aws.ToString(o.Key),
			Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified), ETag: aws.ToString(o.ETag)})
	}
	if aws.ToBool(out.IsTruncated) {
		page.NextToken = aws.ToString(out.NextContinuationToken)
	}
	return page, nil
}

// countingTransport counts requests by X-Amz-Target (DynamoDB operation) or method, and
// can add a fixed delay to every request (a latency-bound S3).
type countingTransport struct {
	next  http.RoundTripper
	delay time.Duration
	mu    sync.Mutex
	calls map[string]int
	total atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := req.Header.Get("X-Amz-Target")
	if op == "" {
		op = req.Method
	}
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	c.mu.Unlock()
	c.total.Add(1)
	if c.delay > 0 {
		t := time.NewTimer(c.delay)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		}
	}
	return c.next.RoundTrip(req)
}

func (c *countingTransport) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// newLoopbackTransport is a transport for loopback servers: no proxy, enough connections
// for the shards.
func newLoopbackTransport() *http.Transport {
	return &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0, Proxy: nil}
}

func s3Client(url, ak, sk string, rt http.RoundTripper) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:  &http.Client{Transport: rt},
		// Loopback servers need no checksum dance, and its debug note must not spam.
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

func ddbClient(url, ak, sk string, rt http.RoundTripper) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:  &http.Client{Transport: rt},
	})
}

// devstackSource starts a seeded devstack with a few extra keys that do not start with a
// hex digit, and returns a Source on it (with ListPageAfter) and the stack.
func devstackSource(t *testing.T, index string) (Source, *devstack.Stack, *countingTransport, *dynamodb.Client) {
	t.Helper()
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := devstack.Start(ctx, devstack.Options{Seed: 7, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	s3t, ddbt := newLoopbackTransport(), newLoopbackTransport()
	// Runs before st.Close: a connection dialed but never used would hold the server's
	// Shutdown for 5 s.
	t.Cleanup(func() { s3t.CloseIdleConnections(); ddbt.CloseIdleConnections() })
	s3c := s3Client(st.S3URL, st.AccessKey, st.SecretKey, s3t)
	for _, k := range oddKeys {
		if k == "" {
			continue
		}
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String("odd" + k), Body: bytes.NewReader([]byte("{}"))}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	// The stack's processor handles the extra keys too.
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	ct := &countingTransport{next: ddbt}
	ddb := ddbClient(st.DynamoDBURL, st.AccessKey, st.SecretKey, ct)
	store := awsclient.NewStatusStore(ddb, awsclient.StatusSchema{
		Table: st.Table, Index: index,
	})
	objs := awsclient.NewObjectStore(s3c, st.Bucket, awsclient.ObjectStoreOptions{})
	src := Source{Objects: rangeStore{ObjectStore: objs, client: s3c, bucket: st.Bucket}, Statuses: store, Scanner: store,
		Size: func(ctx context.Context) (TableSize, error) {
			info, err := store.Describe(ctx)
			return TableSize{Items: info.ItemCount}, err
		}}
	return src, st, ct, ddb
}

func listKeys(t *testing.T, src Source, opts Options) []string {
	t.Helper()
	rows, err := collect(func(fn func([]Row) error) error { return List(context.Background(), src, opts, fn) })
	if err != nil {
		t.Fatal(err)
	}
	return keysOf(rows)
}

func TestDevstackShardedListingEqualsSingleStream(t *testing.T) {
	src, _, _, _ := devstackSource(t, devstack.DefaultIndex)
	single := listKeys(t, src, Options{PageSize: 37})
	if len(single) < 500 || !slices.IsSorted(single) {
		t.Fatalf("single stream: %d keys, sorted %v", len(single), slices.IsSorted(single))
	}
	for _, k := range oddKeys[1:] {
		if !slices.Contains(single, "odd"+k) {
			t.Fatalf("the single stream misses %q", "odd"+k)
		}
	}
	for _, n := range []int{2, 5, 16, 64} {
		got := listKeys(t, src, Options{PageSize: 37, Parallel: n})
		if !slices.Equal(got, single) {
			t.Fatalf("--parallel %d: %d keys, single stream %d; %s", n, len(got), len(single), firstDiff(got, single))
		}
	}
}

func TestDevstackStatusFilterWithAndWithoutIndex(t *testing.T) {
	src, st, _, ddb := devstackSource(t, devstack.DefaultIndex)
	var want []string
	for _, k := range listKeys(t, src, Options{}) {
		if s, ok := st.Status(k); ok && s.State == "FAILED" {
			want = append(want, k)
		}
	}
	if len(want) < 10 {
		t.Fatalf("the seed has only %d FAILED requests", len(want))
	}
	scan := src
	scan.Statuses = awsclient.NewStatusStore(ddb, awsclient.StatusSchema{Table: st.Table})
	for name, s := range map[string]Source{"index": src, "scan": scan} {
		for _, budget := range []int{1000, 3} {
			t.Run(fmt.Sprintf("%s/headBudget=%d", name, budget), func(t *testing.T) {
				defer func(old int) { headBudget = old }(headBudget)
				headBudget = budget
				rows, err := collect(func(fn func([]Row) error) error {
					return List(context.Background(), s, Options{Status: "FAILED"}, fn)
				})
				if err != nil {
					t.Fatal(err)
				}
				got := keysOf(rows)
				sort.Strings(got)
				if !slices.Equal(got, want) {
					t.Fatalf("%d FAILED rows, want %d: %s", len(got), len(want), firstDiff(got, want))
				}
				for _, r := range rows {
					if r.Status == nil || r.Status.State != "FAILED" || r.NoObject || r.Object.Size == 0 && r.Object.LastModified.IsZero() {
						t.Fatalf("row %+v", r)
					}
				}
			})
		}
	}
}

func TestDevstackLost(t *testing.T) {
	src, st, ct, _ := devstackSource(t, devstack.DefaultIndex)
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	want := map[string]bool{}
	for _, r := range st.Seeded() {
		if _, ok := st.Status(r.Key); !ok && r.Created.Before(now.Add(-15*time.Minute)) {
			want[r.Key] = true
		}
	}
	// The odd keys were stored "now" by the stack's clock: too young to be lost.
	if len(want) == 0 {
		t.Fatal("the seed has no lost requests")
	}
	for _, plan := range []Plan{PlanBatchGet, PlanScan, PlanAuto} {
		t.Run(plan.String(), func(t *testing.T) {
			before := ct.count("DynamoDB_20120810.BatchGetItem")
			rows, err := collect(func(fn func([]Row) error) error {
				return Lost(context.Background(), src, LostOptions{OlderThan: 15 * time.Minute, Now: now, Plan: plan}, fn)
			})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, r := range rows {
				got[r.Object.Key] = true
			}
			if len(got) != len(want) {
				t.Fatalf("%d lost, want %d (%v vs %v)", len(got), len(want), got, want)
			}
			for k := range want {
				if !got[k] {
					t.Fatalf("%s is lost and was not found", k)
				}
			}
			calls := ct.count("DynamoDB_20120810.BatchGetItem") - before
			if plan == PlanBatchGet && calls > len(st.Seeded())/100+10 {
				t.Fatalf("%d BatchGetItem calls for %d objects", calls, len(st.Seeded()))
			}
			if gets := ct.count("DynamoDB_20120810.GetItem"); gets != 0 {
				t.Fatalf("%d GetItem calls: lost must never look objects up one by one", gets)
			}
		})
	}
}

// realServers fills a versitygw bucket and a dynalite table (with a status GSI) with n
// UUID-keyed requests plus the odd keys: every 7th has no status item (lost), every 5th
// FAILED, the rest PROCESSED.
func realServers(t *testing.T, n int) (Source, *dynamodb.Client, string, map[string]string) {
	t.Helper()
	s3ep, ddbep := testenv.S3(t), testenv.DynamoDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s3c := s3Client(s3ep.URL, s3ep.AccessKey, s3ep.SecretKey, newLoopbackTransport())
	bucket := testenv.NewBucket(t, testenv.NewS3Client(t, s3ep))
	ddb := ddbClient(ddbep.URL, ddbep.AccessKey, ddbep.SecretKey, newLoopbackTransport())
	table := testenv.CreateTable(t, ddb, "stowage-inv", &dynamodb.CreateTableInput{
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("requestId"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("status"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("updatedAt"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("requestId"), KeyType: ddbtypes.KeyTypeHash}},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName: aws.String("by-status"),
			KeySchema: []ddbtypes.KeySchemaElement{
				{AttributeName: aws.String("status"), KeyType: ddbtypes.KeyTypeHash},
				{AttributeName: aws.String("updatedAt"), KeyType: ddbtypes.KeyTypeRange},
			},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}},
	})

	r := rand.New(rand.NewPCG(11, 12))
	// versitygw's posix backend stores keys as paths: "10" and "10/" cannot both exist.
	keys := slices.DeleteFunc(randomKeys(r, n), func(k string) bool { return strings.Contains(k, "/") })
	states := map[string]string{} // key → state ("" for lost)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				k := keys[i]
				if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte(`{"n":` + strconv.Itoa(i) + `}`))}); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("put %q: %w", k, err))
					continue
				}
				state := "PROCESSED"
				switch {
				case i%7 == 0:
					continue
				case i%5 == 0:
					state = "FAILED"
				}
				if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
					"requestId": &ddbtypes.AttributeValueMemberS{Value: k},
					"status":    &ddbtypes.AttributeValueMemberS{Value: state},
					"updatedAt": &ddbtypes.AttributeValueMemberS{Value: time.Unix(1_700_000_000+int64(i), 0).UTC().Format(time.RFC3339)},
					"attempts":  &ddbtypes.AttributeValueMemberN{Value: "1"},
				}}); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("put item %q: %w", k, err))
				}
			}
		}()
	}
	for i := range keys {
		switch {
		case i%7 == 0:
			states[keys[i]] = ""
		case i%5 == 0:
			states[keys[i]] = "FAILED"
		default:
			states[keys[i]] = "PROCESSED"
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	store := awsclient.NewStatusStore(ddb, awsclient.StatusSchema{Table: table, Index: "by-status"})
	objs := awsclient.NewObjectStore(s3c, bucket, awsclient.ObjectStoreOptions{})
	src := Source{Objects: rangeStore{ObjectStore: objs, client: s3c, bucket: bucket}, Statuses: store, Scanner: store}
	return src, ddb, table, states
}

func TestRealServersInventory(t *testing.T) {
	src, ddb, table, states := realServers(t, 1500)
	ctx := context.Background()

	t.Run("sharded equals single", func(t *testing.T) {
		single := listKeys(t, src, Options{PageSize: 97})
		if len(single) != len(states) {
			t.Fatalf("single stream: %d keys, stored %d", len(single), len(states))
		}
		for _, n := range []int{3, 16, 64} {
			if got := listKeys(t, src, Options{PageSize: 97, Parallel: n}); !slices.Equal(got, single) {
				t.Fatalf("--parallel %d: %s", n, firstDiff(got, single))
			}
		}
	})

	var wantFailed, wantLost []string
	for k, s := range states {
		switch s {
		case "FAILED":
			wantFailed = append(wantFailed, k)
		case "":
			wantLost = append(wantLost, k)
		}
	}
	sort.Strings(wantFailed)
	sort.Strings(wantLost)

	t.Run("status filter", func(t *testing.T) {
		noIndex := src
		noIndex.Statuses = awsclient.NewStatusStore(ddb, awsclient.StatusSchema{Table: table})
		for name, s := range map[string]Source{"index": src, "scan": noIndex} {
			for _, budget := range []int{1000, 10} {
				defer func(old int) { headBudget = old }(headBudget)
				headBudget = budget
				rows, err := collect(func(fn func([]Row) error) error { return List(ctx, s, Options{Status: "FAILED"}, fn) })
				if err != nil {
					t.Fatal(err)
				}
				got := keysOf(rows)
				if name == "index" && budget == 1000 {
					// Through the index, newest first.
					if !slices.IsSortedFunc(rows, func(a, b Row) int { return b.Status.UpdatedAt.Compare(a.Status.UpdatedAt) }) {
						t.Fatalf("%s: not newest first", name)
					}
				}
				sort.Strings(got)
				if !slices.Equal(got, wantFailed) {
					t.Fatalf("%s/budget %d: %s", name, budget, firstDiff(got, wantFailed))
				}
			}
		}
	})

	t.Run("lost", func(t *testing.T) {
		for _, plan := range []Plan{PlanBatchGet, PlanScan} {
			rows, err := collect(func(fn func([]Row) error) error {
				return Lost(ctx, src, LostOptions{Options: Options{Parallel: 4}, OlderThan: 0, Now: time.Now().Add(time.Hour), Plan: plan}, fn)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(rows); !slices.Equal(got, wantLost) {
				t.Fatalf("%v: %d lost, want %d: %s", plan, len(got), len(wantLost), firstDiff(got, wantLost))
			}
		}
	})
}
