package awsclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// oddKeys are keys that break naive escaping.
var oddKeys = []string{
	"with space.json",
	"plus+sign.xml",
	"percent%41literal",
	"hash#fragment",
	"question?mark=1&x",
	"nested/dir/key.json",
	"unicode/日本語-ключ-é.json",
	"tilde~and'quote\"",
	// Not "a//b": versitygw's posix backend folds it to "a/b", real S3 does not.
	"semi;colon,comma:colon@at",
}

func newStore(t *testing.T, opts awsclient.ObjectStoreOptions) (*awsclient.ObjectStore, *s3.Client) {
	t.Helper()
	client := testenv.NewS3Client(t, testenv.S3(t))
	bucket := testenv.NewBucket(t, client)
	return awsclient.NewObjectStore(client, bucket, opts), client
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, s *awsclient.ObjectStore, key, body string) awsclient.Object {
	t.Helper()
	obj, err := s.Put(ctxT(t), key, strings.NewReader(body), int64(len(body)), "application/json", "", nil)
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return obj
}

// putMany stores n keys "<prefix>NNNNN" a few at a time.
func putMany(t *testing.T, s *awsclient.ObjectStore, prefix string, n int) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.Put(ctxT(t), k, strings.NewReader("{}"), 2, "application/json", "", nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return keys
}

func TestListPaginatesThousandsOfKeys(t *testing.T) {
	client := testenv.NewS3Client(t, testenv.S3(t))
	bucket := testenv.NewBucket(t, client)
	mapID := func(k string) string { return strings.TrimPrefix(k, "in/") }
	store := awsclient.NewObjectStore(client, bucket, awsclient.ObjectStoreOptions{RequestID: mapID})
	want := putMany(t, store, "in/", 2500)
	put(t, store, "other/outside-prefix", "{}")

	t.Run("ListPage1000", func(t *testing.T) {
		var got []string
		token, pages := "", 0
		for {
			page, err := store.ListPage(ctxT(t), "in/", token, 1000)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.Objects) > 1000 {
				t.Fatalf("page %d has %d objects, asked for 1000", pages, len(page.Objects))
			}
			for _, o := range page.Objects {
				if o.RequestID != mapID(o.Key) || o.Size != 2 || o.ETag == "" || strings.Contains(o.ETag, `"`) || o.LastModified.IsZero() {
					t.Fatalf("object badly mapped: %+v", o)
				}
				got = append(got, o.Key)
			}
			if page.NextToken == "" {
				break
			}
			token = page.NextToken
		}
		if pages != 3 {
			t.Errorf("pages = %d, want 3", pages)
		}
		assertKeys(t, got, want)
	})

	t.Run("StreamPageSize7", func(t *testing.T) {
		small := awsclient.NewObjectStore(client, bucket, awsclient.ObjectStoreOptions{PageSize: 7})
		var got []string
		pages := 0
		err := small.List(ctxT(t), "in/", func(p awsclient.Page) error {
			pages++
			if len(p.Objects) > 7 {
				return fmt.Errorf("page of %d", len(p.Objects))
			}
			for _, o := range p.Objects {
				got = append(got, o.Key)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := (2500 + 6) / 7; pages != want {
			t.Errorf("pages = %d, want %d", pages, want)
		}
		assertKeys(t, got, want)
	})

	t.Run("StopsOnCallbackError", func(t *testing.T) {
		stop := errors.New("enough")
		pages := 0
		err := store.List(ctxT(t), "in/", func(awsclient.Page) error { pages++; return stop })
		if !errors.Is(err, stop) || pages != 1 {
			t.Fatalf("err = %v after %d pages, want the callback's error after 1", err, pages)
		}
	})

	t.Run("StopsOnCancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctxT(t))
		pages := 0
		err := store.List(ctx, "in/", func(awsclient.Page) error { pages++; cancel(); return nil })
		if awsclient.KindOf(err) != awsclient.KindCanceled || pages != 1 {
			t.Fatalf("err = %v (kind %v) after %d pages, want canceled after 1", err, awsclient.KindOf(err), pages)
		}
	})
}

func assertKeys(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d", len(got), len(want))
	}
	if !sort.StringsAreSorted(got) {
		t.Errorf("keys are not in order")
	}
	sorted := append([]string(nil), want...)
	sort.Strings(sorted)
	for i := range got {
		if got[i] != sorted[i] {
			t.Fatalf("key %d = %q, want %q", i, got[i], sorted[i])
		}
	}
}

func TestGetRange(t *testing.T) {
	store, _ := newStore(t, awsclient.ObjectStoreOptions{})
	put(t, store, "ten", "0123456789")
	put(t, store, "empty", "")

	tests := []struct {
		name           string
		key            string
		offset, length int64
		want           string
		size           int64
	}{
		{"start", "ten", 0, 4, "0123", 10},
		{"middle", "ten", 2, 3, "234", 10},
		{"whole", "ten", 0, 10, "0123456789", 10},
		{"past the end", "ten", 8, 10, "89", 10},
		{"at the end", "ten", 10, 5, "", 10},
		{"beyond the end", "ten", 100, 5, "", 10},
		{"empty object", "empty", 0, 1024, "", 0},
		{"empty object offset", "empty", 5, 1, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, obj, err := store.GetRange(ctxT(t), tt.key, tt.offset, tt.length)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || obj.Size != tt.size || obj.Key != tt.key {
				t.Fatalf("got %q size %d key %q, want %q size %d", got, obj.Size, obj.Key, tt.want, tt.size)
			}
		})
	}
	t.Run("bad range", func(t *testing.T) {
		if _, _, err := store.GetRange(ctxT(t), "ten", -1, 5); awsclient.KindOf(err) != awsclient.KindInvalid {
			t.Fatalf("err = %v, want invalid", err)
		}
	})
	t.Run("missing key", func(t *testing.T) {
		_, _, err := store.GetRange(ctxT(t), "nope", 0, 5)
		if awsclient.KindOf(err) != awsclient.KindNotFound {
			t.Fatalf("err = %v, want not found", err)
		}
	})
}

func TestGetStreamsAndHonoursPin(t *testing.T) {
	store, _ := newStore(t, awsclient.ObjectStoreOptions{})
	first := put(t, store, "req-1", `{"v":1}`)

	rc, obj, err := store.Get(ctxT(t), "req-1", awsclient.Pin{ETag: first.ETag})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(body) != `{"v":1}` || obj.ETag != first.ETag || obj.Size != 7 {
		t.Fatalf("got %q %+v %v", body, obj, err)
	}

	put(t, store, "req-1", `{"v":2}`)
	_, _, err = store.Get(ctxT(t), "req-1", awsclient.Pin{ETag: first.ETag})
	if awsclient.KindOf(err) != awsclient.KindChanged {
		t.Fatalf("stale pin: err = %v (kind %v), want changed", err, awsclient.KindOf(err))
	}

	_, _, err = store.Get(ctxT(t), "missing", awsclient.Pin{})
	var e *awsclient.Error
	if !errors.As(err, &e) || e.Kind != awsclient.KindNotFound || e.Op != "get" || e.Resource != "s3://"+store.Bucket()+"/missing" {
		t.Fatalf("missing: err = %#v", err)
	}
}

func TestCopyInPlaceKeepsMetadataAndStamps(t *testing.T) {
	store, client := newStore(t, awsclient.ObjectStoreOptions{})
	for _, key := range append([]string{"plain.json"}, oddKeys...) {
		t.Run(key, func(t *testing.T) {
			_, err := client.PutObject(ctxT(t), &s3.PutObjectInput{
				Bucket: aws.String(store.Bucket()), Key: aws.String(key),
				Body:            strings.NewReader(`<a>1</a>`),
				ContentType:     aws.String("application/xml"),
				ContentEncoding: aws.String("identity"),
				CacheControl:    aws.String("no-cache"),
				Metadata:        map[string]string{"source": "partner-7", "Trace": "abc"},
			})
			if err != nil {
				t.Fatal(err)
			}
			before, err := store.Head(ctxT(t), key)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
			copied, err := store.CopyInPlace(ctxT(t), key, awsclient.Pin{ETag: before.ETag})
			if err != nil {
				t.Fatal(err)
			}
			head, err := client.HeadObject(ctxT(t), &s3.HeadObjectInput{Bucket: aws.String(store.Bucket()), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(head.ContentType); got != "application/xml" {
				t.Errorf("content type = %q", got)
			}
			if got := aws.ToString(head.ContentEncoding); got != "identity" {
				t.Errorf("content encoding = %q", got)
			}
			if got := aws.ToString(head.CacheControl); got != "no-cache" {
				t.Errorf("cache control = %q", got)
			}
			if head.Metadata["source"] != "partner-7" || head.Metadata["trace"] != "abc" {
				t.Errorf("user metadata lost: %v", head.Metadata)
			}
			stamp, err := time.Parse(time.RFC3339, head.Metadata[awsclient.RedrivenAtMeta])
			if err != nil || stamp.Before(start) || stamp.Location() != time.UTC {
				t.Errorf("stamp %q: %v", head.Metadata[awsclient.RedrivenAtMeta], err)
			}
			if copied.Metadata[awsclient.RedrivenAtMeta] == "" || copied.ContentType != "application/xml" {
				t.Errorf("returned object: %+v", copied)
			}
			body, _, err := store.GetRange(ctxT(t), key, 0, 100)
			if err != nil || string(body) != `<a>1</a>` {
				t.Errorf("body after copy = %q, %v", body, err)
			}
		})
	}

	t.Run("StalePinRefused", func(t *testing.T) {
		old := put(t, store, "moving", "v1")
		put(t, store, "moving", "v2")
		_, err := store.CopyInPlace(ctxT(t), "moving", awsclient.Pin{ETag: old.ETag})
		if awsclient.KindOf(err) != awsclient.KindChanged {
			t.Fatalf("err = %v, want changed", err)
		}
		head, err := store.Head(ctxT(t), "moving")
		if err != nil || head.Metadata[awsclient.RedrivenAtMeta] != "" {
			t.Fatalf("object was copied anyway: %+v %v", head, err)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		_, err := store.CopyInPlace(ctxT(t), "missing", awsclient.Pin{})
		if awsclient.KindOf(err) != awsclient.KindNotFound {
			t.Fatalf("err = %v, want not found", err)
		}
	})
}

func TestOddKeysRoundTrip(t *testing.T) {
	store, _ := newStore(t, awsclient.ObjectStoreOptions{})
	for _, key := range oddKeys {
		put(t, store, key, key)
	}
	var listed []string
	if err := store.List(ctxT(t), "", func(p awsclient.Page) error {
		for _, o := range p.Objects {
			listed = append(listed, o.Key)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	assertKeys(t, listed, oddKeys)
	for _, key := range oddKeys {
		got, obj, err := store.GetRange(ctxT(t), key, 0, 1000)
		if err != nil || string(got) != key || obj.Key != key {
			t.Errorf("%q: got %q, %v", key, got, err)
		}
		if _, err := store.Head(ctxT(t), key); err != nil {
			t.Errorf("head %q: %v", key, err)
		}
	}
}

func TestPutStoresContentHeaders(t *testing.T) {
	store, _ := newStore(t, awsclient.ObjectStoreOptions{})
	body := bytes.Repeat([]byte("x"), 70<<10)
	obj, err := store.Put(ctxT(t), "big.bin", bytes.NewReader(body), int64(len(body)), "application/octet-stream", "gzip",
		map[string]string{"origin": "test"})
	if err != nil {
		t.Fatal(err)
	}
	head, err := store.Head(ctxT(t), "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if head.Size != int64(len(body)) || head.ContentType != "application/octet-stream" || head.ContentEncoding != "gzip" ||
		head.Metadata["origin"] != "test" || head.ETag != obj.ETag {
		t.Fatalf("head = %+v, put = %+v", head, obj)
	}
}

func TestMissingBucketSaysWhatToCheck(t *testing.T) {
	client := testenv.NewS3Client(t, testenv.S3(t))
	store := awsclient.NewObjectStore(client, testenv.UniqueName(t, "no-such-bucket"), awsclient.ObjectStoreOptions{})
	_, err := store.ListPage(ctxT(t), "in/", "", 10)
	var e *awsclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.Kind != awsclient.KindNotFound || e.Code != "NoSuchBucket" || !strings.Contains(e.Remedy, "storage.bucket") {
		t.Fatalf("err = %+v", e)
	}
	if want := "list s3://" + store.Bucket() + "/in/: NoSuchBucket: "; !strings.HasPrefix(e.Error(), want) {
		t.Errorf("message %q does not start with %q", e.Error(), want)
	}
}

// countingServer counts every request an SDK client sends it.
func countingServer(t *testing.T) (*atomic.Int64, string) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return &n, srv.URL
}

func TestReadOnlyStoreSendsNothing(t *testing.T) {
	requests, url := countingServer(t)
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	store := awsclient.NewObjectStore(client, "prod-bucket", awsclient.ObjectStoreOptions{ReadOnly: true})
	ctx := ctxT(t)

	_, errPut := store.Put(ctx, "k", strings.NewReader("x"), 1, "", "", nil)
	_, errCopy := store.CopyInPlace(ctx, "k", awsclient.Pin{})
	for _, err := range []error{errPut, errCopy} {
		if awsclient.KindOf(err) != awsclient.KindReadOnly || !errors.Is(err, awsclient.ErrReadOnly) {
			t.Errorf("err = %v, want read-only", err)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests sent in read-only mode", n)
	}
}

func TestPutStreamsUnseekableBody(t *testing.T) {
	store, _ := newStore(t, awsclient.ObjectStoreOptions{})
	body := io.MultiReader(strings.NewReader("hello "), strings.NewReader("world"))
	if _, err := store.Put(ctxT(t), "stream", body, 11, "text/plain", "", nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := store.GetRange(ctxT(t), "stream", 0, 100)
	if err != nil || string(got) != "hello world" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestCopyInPlaceRequest pins the CopyObject request itself against a fake S3: the escaped
// copy source, the ETag pin, REPLACE with the kept headers and the stamp; and a copy that
// loses the race to a writer (412) is reported as changed.
func TestCopyInPlaceRequest(t *testing.T) {
	const key = "dir/a b+c%#?日"
	var copyReq http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodHead:
			w.Header().Set("ETag", `"etag-1"`)
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("Content-Disposition", "inline")
			w.Header().Set("x-amz-meta-source", "partner")
			w.Header().Set("Content-Length", "5")
		case r.Method == http.MethodPut && r.Header.Get("x-amz-copy-source") != "":
			copyReq = r.Header.Clone()
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>`+
				`<Message>At least one of the pre-conditions you specified did not hold</Message></Error>`)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	store := awsclient.NewObjectStore(client, "bucket", awsclient.ObjectStoreOptions{})

	_, err := store.CopyInPlace(ctxT(t), key, awsclient.Pin{})
	if awsclient.KindOf(err) != awsclient.KindChanged {
		t.Fatalf("err = %v, want changed", err)
	}
	if copyReq == nil {
		t.Fatal("no CopyObject request")
	}
	if got, want := copyReq.Get("x-amz-copy-source"), "bucket/dir/a%20b%2Bc%25%23%3F%E6%97%A5"; got != want {
		t.Errorf("copy source = %q, want %q", got, want)
	}
	if got := copyReq.Get("x-amz-copy-source-if-match"); got != `"etag-1"` {
		t.Errorf("if-match = %q", got)
	}
	if got := copyReq.Get("x-amz-metadata-directive"); got != "REPLACE" {
		t.Errorf("metadata directive = %q", got)
	}
	if copyReq.Get("Content-Type") != "application/xml" || copyReq.Get("Content-Disposition") != "inline" ||
		copyReq.Get("x-amz-meta-source") != "partner" {
		t.Errorf("kept headers lost: %v", copyReq)
	}
	if _, err := time.Parse(time.RFC3339, copyReq.Get("x-amz-meta-"+awsclient.RedrivenAtMeta)); err != nil {
		t.Errorf("stamp: %v", err)
	}
}
