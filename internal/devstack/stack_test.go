package devstack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-cli/stowage/internal/config"
)

// testNow is a fixed clock, so that seeded times are the same on every run.
var testNow = time.Date(2025, 6, 17, 9, 30, 0, 0, time.UTC)

func startStack(t testing.TB, opts Options) *Stack {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	if opts.Requests == 0 {
		opts.Requests = 60
	}
	st, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// Hermetic SDK clients: never the machine's AWS configuration.
func s3Client(st *Stack) *s3.Client {
	return s3.New(s3.Options{
		Region:       st.Region,
		BaseEndpoint: aws.String(st.S3URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(st.AccessKey, st.SecretKey, ""),
	})
}

func dynamoClient(url string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

func listAll(t *testing.T, c *s3.Client, bucket string, maxKeys int32) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(maxKeys)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 10000 {
			t.Fatal("listing does not end")
		}
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

func TestStartSeedsRequestsVisibleThroughS3(t *testing.T) {
	st := startStack(t, Options{Seed: 7})
	seeded := st.Seeded()
	if len(seeded) < 55 {
		t.Fatalf("seeded %d requests, want about 60", len(seeded))
	}
	keys := listAll(t, s3Client(st), st.Bucket, 7)
	want := make([]string, 0, len(seeded))
	for _, r := range seeded {
		want = append(want, r.Key)
	}
	sort.Strings(want)
	if len(keys) != len(want) {
		t.Fatalf("listed %d keys, seeded %d", len(keys), len(want))
	}
	for i := range keys {
		if keys[i] != want[i] {
			t.Fatalf("key %d: listed %q, seeded %q", i, keys[i], want[i])
		}
	}
	weekAgo := testNow.Add(-7 * 24 * time.Hour)
	for _, r := range seeded {
		if r.Created.Before(weekAgo) || r.Created.After(testNow) {
			t.Errorf("%s created %v, outside the last 7 days", r.Key, r.Created)
		}
	}
	// LastModified comes from the stack's time source.
	out, err := s3Client(st).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &st.Bucket, Key: &seeded[0].Key})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToTime(out.LastModified); got.Before(weekAgo) || got.After(testNow) {
		t.Errorf("LastModified %v, want within the week before %v", got, testNow)
	}
}

func TestSeedIsReproducible(t *testing.T) {
	type snapshot struct {
		key, etag, state, err string
		attempts              int
		size                  int
	}
	snap := func(seed int64) []snapshot {
		st := startStack(t, Options{Seed: seed, Requests: 200})
		var out []snapshot
		for _, r := range st.Seeded() {
			obj, err := st.backend.GetObject(st.Bucket, r.Key, nil)
			if err != nil {
				t.Fatal(err)
			}
			obj.Contents.Close()
			s, _ := st.Status(r.Key)
			out = append(out, snapshot{r.Key, string(obj.Hash), s.State, s.Error, s.Attempts, r.Size})
		}
		return out
	}
	a, b, c := snap(42), snap(42), snap(43)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d vs %d requests", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, request %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	if len(a) == len(c) && a[0] == c[0] {
		t.Error("different seeds gave the same first request")
	}
}

func TestSeedCoversEveryKindAndOutcome(t *testing.T) {
	st := startStack(t, Options{Seed: 3, Requests: DefaultRequests})
	kinds := map[string]int{}
	states := map[string]int{}
	var big, inplace, redriven int
	for _, r := range st.Seeded() {
		kinds[r.Kind]++
		if r.Size >= 2<<20 {
			big++
			if r.Size > 8<<20 {
				t.Errorf("%s is %d bytes, want at most 8 MiB", r.Key, r.Size)
			}
		}
		if r.Route == "inplace" {
			inplace++
		}
		if !r.Redriven.IsZero() {
			redriven++
		}
		if s, ok := st.Status(r.Key); ok {
			states[s.State]++
		} else {
			states["LOST"]++
		}
	}
	for _, k := range []string{KindProductXML, KindProfileJSON, KindLargeXML, KindLargeJSON, KindMalformedXML,
		KindMalformedJSON, KindInvalid, KindGzip, KindBinary, KindEmpty, KindEscapes} {
		if kinds[k] == 0 {
			t.Errorf("no %s request seeded", k)
		}
	}
	if big < 3 {
		t.Errorf("%d large payloads, want at least 3", big)
	}
	if inplace < 10 {
		t.Errorf("%d caller-chosen keys, want some", inplace)
	}
	if redriven == 0 {
		t.Error("no seeded redrive")
	}
	for _, s := range []string{StateProcessed, StateFailed, "LOST"} {
		if states[s] == 0 {
			t.Errorf("no %s request in %v", s, states)
		}
	}
	t.Logf("kinds %v states %v large %d inplace %d redriven %d", kinds, states, big, inplace, redriven)
}

func TestConfigIsValidAndSelectable(t *testing.T) {
	st := startStack(t, Options{Seed: 1, Requests: -1})
	path := filepath.Join(t.TempDir(), "demo.yaml")
	if err := st.WriteConfig(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600 (it holds the API key)", info.Mode().Perm())
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	problems := f.Validate()
	if errs := config.Errors(problems); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	for _, w := range config.Warnings(problems) {
		if !strings.Contains(w.String(), "gateway.api_key") {
			t.Errorf("unexpected warning: %s", w)
		}
	}
	env, err := f.Select("", config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if env.Redrive.LeaseTable != st.LeaseTable || st.LeaseTable != DefaultLeaseTable {
		t.Errorf("the demo config names lease table %q, the stack serves %q", env.Redrive.LeaseTable, st.LeaseTable)
	}
	if env.Name != EnvName || env.Endpoints.S3 != st.S3URL || env.Endpoints.DynamoDB != st.DynamoDBURL ||
		env.GatewayURL() != st.GatewayURL || env.Storage.Bucket != st.Bucket || env.Status.Table != st.Table ||
		env.Status.Index != st.Index || env.Gateway.APIKey != st.APIKey || env.LocalCredentials == nil ||
		env.LocalCredentials.AccessKeyID != st.AccessKey || env.LocalCredentials.SecretAccessKey != st.SecretKey {
		t.Errorf("selected env does not point at the stack: %+v", env.Redacted())
	}
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Seed: 5, Requests: 30, DataDir: dir, Now: func() time.Time { return testNow }}
	st, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	seeded := st.Seeded()
	statuses := map[string]StatusItem{}
	for _, r := range seeded {
		if s, ok := st.Status(r.Key); ok {
			statuses[r.Key] = s
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if n := len(again.Seeded()); n != 0 {
		t.Errorf("restart seeded %d more requests", n)
	}
	keys := listAll(t, s3Client(again), again.Bucket, 1000)
	if len(keys) != len(seeded) {
		t.Errorf("after restart %d objects, want %d", len(keys), len(seeded))
	}
	for k, want := range statuses {
		if got, ok := again.Status(k); !ok || got != want {
			t.Errorf("status of %s after restart: %+v, want %+v", k, got, want)
		}
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.168.1.10:9000", ":0", "example.com:80", "nonsense"} {
		if st, err := Start(context.Background(), Options{Addr: addr, Requests: -1}); err == nil {
			st.Close()
			t.Errorf("Start(%q) accepted a non-loopback address", addr)
		}
	}
}

// The stack must start and stop in well under a second for tests; the default seed
// (500 requests with large payloads) is what `stowage demo` pays once.
func BenchmarkStartClose(b *testing.B) {
	for _, bc := range []struct {
		name     string
		requests int
	}{{"empty", -1}, {"small-60", 60}, {"default-500", DefaultRequests}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				st, err := Start(context.Background(), Options{Seed: 1, Requests: bc.requests})
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A client that dialed but never sent a request must not hold Close up (net/http's
// Shutdown waits 5 s for such connections): Close drops it itself. Checked by what Close
// did, not by how long it took, so a loaded machine cannot fail it.
func TestCloseDoesNotWaitForUnusedConnections(t *testing.T) {
	st, err := Start(context.Background(), Options{Requests: -1})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(st.S3URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Wait for the server to accept it (a connection still in the backlog would be reset
	// with the listener, which proves nothing).
	for fresh, _ := st.conns.counts(); fresh == 0; fresh, _ = st.conns.counts() {
		time.Sleep(time.Millisecond)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, dropped := st.conns.counts(); dropped != 1 {
		t.Errorf("Close dropped %d unused connections, want 1 (Shutdown would wait 5 s for it)", dropped)
	}
	conn.SetReadDeadline(time.Now().Add(time.Minute)) // only a guard against hanging
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Errorf("the unused connection is still open after Close (read %d bytes)", n)
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(st.S3URL, "http://")); err == nil {
		t.Error("the S3 port still accepts connections after Close")
	}
}

// A connection the server accepts after Close dropped the unused ones (it was in the
// listener's backlog) is dropped on arrival, or Shutdown would wait 5 s for it.
func TestConnTrackerDropsConnectionsAcceptedAfterClose(t *testing.T) {
	var c connTracker
	early, earlyPeer := net.Pipe()
	defer earlyPeer.Close()
	c.track(early, http.StateNew)
	c.closeUnused()
	late, latePeer := net.Pipe()
	defer latePeer.Close()
	c.track(late, http.StateNew)
	for name, conn := range map[string]net.Conn{"early": early, "late": late} {
		// SetDeadline on a pipe fails only once it is closed; it never blocks.
		if err := conn.SetDeadline(time.Time{}); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("%s connection still open (%v)", name, err)
		}
	}
	if fresh, dropped := c.counts(); fresh != 0 || dropped != 2 {
		t.Errorf("counts = %d fresh, %d dropped; want 0, 2", fresh, dropped)
	}
}

// With a DataDir the status table is saved while the stack runs, not only on Close.
func TestDataDirSavesTheTableWhileRunning(t *testing.T) {
	dir := t.TempDir()
	st := startStack(t, Options{Seed: 5, Requests: 10, DataDir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		data, err := os.ReadFile(filepath.Join(dir, "status-table.snapshot"))
		if err == nil && len(data) > len(snapshotMagic)+2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the status table was never saved while running")
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = st
}

// Writes counts client write requests per service; reads, the seed and the processor
// do not count.
func TestWritesCountsWriteRequestsPerService(t *testing.T) {
	st := startStack(t, Options{Requests: 5})
	if w := st.Writes(); w != (Writes{}) {
		t.Fatalf("a fresh stack counts %+v", w)
	}
	ctx := context.Background()
	sc, dc := s3Client(st), dynamoClient(st.DynamoDBURL)
	// Reads.
	listAll(t, sc, st.Bucket, 100)
	dc.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.Table, Key: map[string]ddbtypes.AttributeValue{"requestId": &ddbtypes.AttributeValueMemberS{Value: "x"}}})
	gatewayCall{"GET", GatewayStage + "/product", st.APIKey, "", nil, nil}.do(t, st)
	if w := st.Writes(); w.Total() != 0 {
		t.Fatalf("reads counted as writes: %+v", w)
	}
	// Writes, one of each.
	if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Bucket, Key: aws.String("w1"), Body: strings.NewReader("{}")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &st.Bucket, Key: aws.String("w2"), CopySource: aws.String(st.Bucket + "/w1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &st.Bucket, Key: aws.String("w2")}); err != nil {
		t.Fatal(err)
	}
	// A refused conditional write is still an attempt.
	dc.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.LeaseTable, ConditionExpression: aws.String("attribute_exists(requestId)"),
		Item: map[string]ddbtypes.AttributeValue{"requestId": &ddbtypes.AttributeValueMemberS{Value: "x"}}})
	gatewayCall{"PUT", GatewayStage + "/product", st.APIKey, "application/json", []byte("{}"), nil}.do(t, st)
	gatewayCall{"PUT", GatewayStage + "/product", "wrong", "application/json", []byte("{}"), nil}.do(t, st)
	want := Writes{S3Puts: 1, S3Copies: 1, S3Deletes: 1, DynamoDB: 1, GatewaySends: 2, GatewayDeliveries: 1}
	if got := st.Writes(); got != want {
		t.Fatalf("writes = %+v, want %+v", got, want)
	}
}

// An interrupted seed stops within a batch and says so, naming how far it got and what
// a --data directory now holds (it seeded to the end, then answered "context canceled").
func TestSeedInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	st, err := Start(ctx, Options{Seed: 1, Requests: 200000, DataDir: dir})
	if err == nil {
		st.Close()
		t.Fatal("an interrupted seed started the stack")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "seeding interrupted after 0 of 200000 requests") ||
		!strings.Contains(err.Error(), dir+" now holds a part of the seed: delete it") {
		t.Fatalf("error: %v", err)
	}
}
