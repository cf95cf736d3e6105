package inventory

// Benchmarks of the speed targets, over 100,000 objects in an in-process gofakes3 (the
// devstack's S3 server) on loopback, filled through its backend so that setup takes
// seconds, not minutes:
//
//	go test ./internal/inventory -run '^$' -bench . -benchtime 1x
//
// BenchmarkList/raw lists the bucket alone; BenchmarkList/joined adds the pipelined status
// join (BatchGet with 2 ms latency): the two should be close. BenchmarkShardedListing adds
// 20 ms to every S3 request, as a far region or a VPN would, and compares one stream with
// 16. BenchmarkLost counts the DynamoDB calls of the two lost plans.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/stowage-cli/stowage/awsclient"
)

const benchObjects = 100_000

type benchBucket struct {
	url    string
	bucket string
	keys   []string
	table  *fakeTable
}

var (
	benchOnce sync.Once
	benchData *benchBucket
	benchErr  error
)

// bigBucket fills (once per process) a gofakes3 bucket with benchObjects UUID-keyed
// objects and a status table holding items for all but every 33rd (3% lost).
func bigBucket(b *testing.B) *benchBucket {
	b.Helper()
	benchOnce.Do(func() {
		backend := s3mem.New()
		const bucket = "bench"
		if benchErr = backend.CreateBucket(bucket); benchErr != nil {
			return
		}
		srv := httptest.NewServer(gofakes3.New(backend).Server())
		// The server lives for the process: benchmarks share it.
		bb := &benchBucket{url: srv.URL, bucket: bucket, table: newFakeTable()}
		r := rand.New(rand.NewPCG(42, 42))
		body := []byte(`<Product><SKU>1</SKU></Product>`)
		for i := range benchObjects {
			var u [16]byte
			for j := range u {
				u[j] = byte(r.UintN(256))
			}
			key := uuid.UUID(u).String()
			if _, benchErr = backend.PutObject(bucket, key, map[string]string{"Content-Type": "application/xml"},
				bytes.NewReader(body), int64(len(body)), nil); benchErr != nil {
				return
			}
			bb.keys = append(bb.keys, key)
			if i%33 != 0 {
				bb.table.items[key] = awsclient.Status{RequestID: key, State: "PROCESSED", Attempts: 1}
			}
		}
		benchData = bb
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchData
}

// benchSource is a Source on the big bucket whose S3 requests take delay longer.
func benchSource(bb *benchBucket, delay time.Duration, statuses Statuses) (Source, *countingTransport) {
	ct := &countingTransport{next: newLoopbackTransport(), delay: delay}
	c := s3Client(bb.url, "bench", "bench", ct)
	objs := awsclient.NewObjectStore(c, bb.bucket, awsclient.ObjectStoreOptions{})
	return Source{Objects: rangeStore{ObjectStore: objs, client: c, bucket: bb.bucket}, Statuses: statuses}, ct
}

// slowTable adds a fixed latency to every BatchGet, like a DynamoDB round trip.
type slowTable struct {
	*fakeTable
	delay time.Duration
}

func (s slowTable) BatchGet(ctx context.Context, ids []string) (map[string]awsclient.Status, error) {
	time.Sleep(s.delay)
	return s.fakeTable.BatchGet(ctx, ids)
}

func BenchmarkList(b *testing.B) {
	bb := bigBucket(b)
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		src, _ := benchSource(bb, 0, bb.table)
		for b.Loop() {
			n := 0
			if err := listObjects(ctx, src.Objects, "", 1, DefaultPageSize, func(objs []awsclient.Object) error {
				n += len(objs)
				return nil
			}); err != nil || n != benchObjects {
				b.Fatalf("%d objects, %v", n, err)
			}
		}
		b.ReportMetric(float64(benchObjects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	b.Run("joined", func(b *testing.B) {
		src, _ := benchSource(bb, 0, slowTable{bb.table, 2 * time.Millisecond})
		for b.Loop() {
			n := 0
			if err := List(ctx, src, Options{}, func(rows []Row) error {
				n += len(rows)
				return nil
			}); err != nil || n != benchObjects {
				b.Fatalf("%d rows, %v", n, err)
			}
		}
		b.ReportMetric(float64(benchObjects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}

func BenchmarkShardedListing(b *testing.B) {
	bb := bigBucket(b)
	ctx := context.Background()
	// Latency alone, without XML or HTTP: what sharding buys on any latency-bound S3.
	mem := newFakeBucket()
	for _, k := range bb.keys {
		mem.keys = append(mem.keys, k)
		mem.objects[k] = awsclient.Object{Key: k, RequestID: k}
	}
	slices.Sort(mem.keys)
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("memory/latency=20ms/parallel=%d", n), func(b *testing.B) {
			mem.lists.Store(0)
			lister := &slowLister{fakeBucket: mem, delay: 20 * time.Millisecond}
			benchListing(b, ctx, lister, n)
			b.ReportMetric(float64(lister.lists.Load())/float64(b.N), "s3-requests/op")
		})
	}
	// The devstack's S3 over loopback HTTP with 50 ms added to every request. On a
	// 2-core machine the XML work is a floor the shards share.
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("gofakes3/latency=50ms/parallel=%d", n), func(b *testing.B) {
			src, ct := benchSource(bb, 50*time.Millisecond, bb.table)
			benchListing(b, ctx, src.Objects, n)
			b.ReportMetric(float64(ct.total.Load())/float64(b.N), "s3-requests/op")
		})
	}
}

// slowLister is an in-memory bucket whose every listing call takes delay.
type slowLister struct {
	*fakeBucket
	delay time.Duration
}

func (s *slowLister) ListPage(ctx context.Context, prefix, token string, max int32) (awsclient.Page, error) {
	time.Sleep(s.delay)
	return s.fakeBucket.ListPage(ctx, prefix, token, max)
}

func (s *slowLister) ListPageAfter(ctx context.Context, prefix, after, token string, max int32) (awsclient.Page, error) {
	time.Sleep(s.delay)
	return s.fakeBucket.ListPageAfter(ctx, prefix, after, token, max)
}

func benchListing(b *testing.B, ctx context.Context, objs Objects, parallel int) {
	for b.Loop() {
		got := 0
		if err := listObjects(ctx, objs, "", parallel, DefaultPageSize, func(os []awsclient.Object) error {
			got += len(os)
			return nil
		}); err != nil || got != benchObjects {
			b.Fatalf("%d objects, %v", got, err)
		}
	}
	b.ReportMetric(float64(benchObjects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

func BenchmarkLost(b *testing.B) {
	bb := bigBucket(b)
	ctx := context.Background()
	wantLost := (benchObjects + 32) / 33
	for _, plan := range []Plan{PlanBatchGet, PlanScan} {
		b.Run(plan.String(), func(b *testing.B) {
			table := newFakeTable()
			table.items = bb.table.items
			src, _ := benchSource(bb, 0, table)
			src.Scanner = table
			for b.Loop() {
				n := 0
				err := Lost(ctx, src, LostOptions{OlderThan: 15 * time.Minute, Now: time.Now().Add(time.Hour), Plan: plan},
					func(rows []Row) error {
						n += len(rows)
						return nil
					})
				if err != nil || n != wantLost {
					b.Fatalf("%d lost, want %d: %v", n, wantLost, err)
				}
			}
			calls := float64(table.batchGets.Load()+table.scanCalls.Load()) / float64(b.N)
			// Never one call per object: at most one BatchGet per 100 candidates, plus
			// one per listing page for the remainders.
			if limit := float64(benchObjects/100 + benchObjects/DefaultPageSize + 16); calls > limit {
				b.Fatalf("%.0f DynamoDB calls for %d objects, want at most %.0f", calls, benchObjects, limit)
			}
			b.ReportMetric(calls, "dynamodb-calls/op")
			b.ReportMetric(float64(benchObjects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}
