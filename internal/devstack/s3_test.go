package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/stowage-cli/stowage/awsclient"
)

func put(t *testing.T, c *s3.Client, bucket, key, body string, meta map[string]string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, Body: strings.NewReader(body),
		ContentType: aws.String("application/json"), Metadata: meta,
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func head(t *testing.T, c *s3.Client, bucket, key string) *s3.HeadObjectOutput {
	t.Helper()
	out, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	return out
}

func sameMeta(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// gofakes3 keeps the old user metadata on overwrite; S3 replaces it.
func TestOverwriteReplacesMetadata(t *testing.T) {
	forBackends(t, testOverwriteReplacesMetadata)
}

// forBackends runs a test on the memory and the bolt backend.
func forBackends(t *testing.T, test func(*testing.T, Options)) {
	t.Run("memory", func(t *testing.T) { test(t, Options{Requests: -1}) })
	t.Run("spill", func(t *testing.T) { test(t, Options{Requests: -1, spillBodies: true}) })
	t.Run("bolt", func(t *testing.T) { test(t, Options{Requests: -1, DataDir: t.TempDir()}) })
}

func testOverwriteReplacesMetadata(t *testing.T, opts Options) {
	st := startStack(t, opts)
	c := s3Client(st)
	put(t, c, st.Bucket, "k", `{"a":1}`, map[string]string{"old": "1", "both": "x"})
	put(t, c, st.Bucket, "k", `{"a":2}`, map[string]string{"new": "2", "both": "y"})
	got := head(t, c, st.Bucket, "k").Metadata
	if want := map[string]string{"new": "2", "both": "y"}; !sameMeta(got, want) {
		t.Errorf("metadata after overwrite %v, want %v", got, want)
	}
	put(t, c, st.Bucket, "k", `{"a":3}`, nil)
	if got := head(t, c, st.Bucket, "k").Metadata; len(got) != 0 {
		t.Errorf("metadata after overwrite without any: %v, want none", got)
	}
}

// gofakes3 merges the source's metadata into a REPLACE copy; S3 uses the request's alone.
func TestCopyReplaceUsesOnlyRequestMetadata(t *testing.T) {
	forBackends(t, testCopyReplaceUsesOnlyRequestMetadata)
}

func testCopyReplaceUsesOnlyRequestMetadata(t *testing.T, opts Options) {
	st := startStack(t, opts)
	c := s3Client(st)
	ctx := context.Background()
	put(t, c, st.Bucket, "src key+1", `{}`, map[string]string{"keep": "no", "shared": "old"})
	_, err := c.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: &st.Bucket, Key: aws.String("src key+1"), CopySource: aws.String(st.Bucket + "/src%20key%2B1"),
		MetadataDirective: s3types.MetadataDirectiveReplace, ContentType: aws.String("application/xml"),
		Metadata: map[string]string{"shared": "new", "added": "yes"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := head(t, c, st.Bucket, "src key+1")
	if want := map[string]string{"shared": "new", "added": "yes"}; !sameMeta(h.Metadata, want) {
		t.Errorf("metadata after REPLACE copy %v, want %v", h.Metadata, want)
	}
	if got := aws.ToString(h.ContentType); got != "application/xml" {
		t.Errorf("content type %q, want application/xml", got)
	}
	// COPY (the default) keeps the source's metadata.
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: &st.Bucket, Key: aws.String("copy"), CopySource: aws.String(st.Bucket + "/src%20key%2B1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := head(t, c, st.Bucket, "copy").Metadata; !sameMeta(got, map[string]string{"shared": "new", "added": "yes"}) {
		t.Errorf("metadata after COPY copy %v", got)
	}
}

func TestCopySourceIfMatchIsEnforced(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	c := s3Client(st)
	put(t, c, st.Bucket, "k", `{}`, nil)
	_, err := c.CopyObject(context.Background(), &s3.CopyObjectInput{
		Bucket: &st.Bucket, Key: aws.String("k"), CopySource: aws.String(st.Bucket + "/k"),
		CopySourceIfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`),
		MetadataDirective: s3types.MetadataDirectiveReplace,
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailed" {
		t.Fatalf("copy with a stale ETag: %v, want PreconditionFailed", err)
	}
}

// gofakes3's memory backend, given a delimiter and a small MaxKeys, returns the same
// common prefix page after page.
func TestDelimiterListingWithSmallPagesEnds(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	c := s3Client(st)
	for _, k := range []string{"a/1", "a/2", "a/3", "b", "c/1", "c/2", "d"} {
		put(t, c, st.Bucket, k, "{}", nil)
	}
	var got []string
	var token *string
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatalf("listing does not end; so far %v", got)
		}
		out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
			Bucket: &st.Bucket, Delimiter: aws.String("/"), MaxKeys: aws.Int32(1), ContinuationToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.CommonPrefixes {
			got = append(got, aws.ToString(p.Prefix))
		}
		for _, o := range out.Contents {
			got = append(got, aws.ToString(o.Key))
		}
		if !aws.ToBool(out.IsTruncated) {
			if out.NextContinuationToken != nil {
				t.Errorf("last page has a NextContinuationToken")
			}
			break
		}
		token = out.NextContinuationToken
	}
	if want := "a/ b c/ d"; strings.Join(got, " ") != want {
		t.Errorf("listed %q, want %q", strings.Join(got, " "), want)
	}
}

// Current SDKs stream unseekable bodies as aws-chunked with a checksum trailer.
func TestStreamedPutStoresTheBytes(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	c := s3Client(st)
	body := strings.Repeat("0123456789", 10000)
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: &st.Bucket, Key: aws.String("streamed"), Body: io.MultiReader(strings.NewReader(body)),
		ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String("text/plain"),
	}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &st.Bucket, Key: aws.String("streamed")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	got, _ := io.ReadAll(out.Body)
	if string(got) != body {
		t.Errorf("stored %d bytes starting %q, want the %d sent", len(got), got[:min(len(got), 40)], len(body))
	}
	if ce := aws.ToString(out.ContentEncoding); ce != "" {
		t.Errorf("content encoding %q, want none", ce)
	}
}

// The stack through stowage's own S3 client: listing, reading, and a redrive in place
// that fires the processor again.
func TestObjectStoreAgainstStack(t *testing.T) {
	st := startStack(t, Options{Seed: 11, Requests: 120, LostRatio: -1}) // a lost Put would fail the test
	ctx := context.Background()
	store := awsclient.NewObjectStore(s3Client(st), st.Bucket, awsclient.ObjectStoreOptions{PageSize: 25})
	var listed int
	if err := store.List(ctx, "", func(p awsclient.Page) error { listed += len(p.Objects); return nil }); err != nil {
		t.Fatal(err)
	}
	if listed != len(st.Seeded()) {
		t.Fatalf("listed %d objects, seeded %d", listed, len(st.Seeded()))
	}

	var transient SeedRequest
	for _, r := range st.Seeded() {
		if s, ok := st.Status(r.Key); ok && s.State == StateFailed && strings.Contains(s.Error, "inventory") {
			transient = r
			break
		}
	}
	if transient.Key == "" {
		t.Fatal("no transient failure seeded")
	}
	rc, obj, err := store.Get(ctx, transient.Key, awsclient.Pin{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if len(body) != transient.Size || obj.ContentType != transient.ContentType {
		t.Errorf("Get %s: %d bytes %q, want %d bytes %q", transient.Key, len(body), obj.ContentType, transient.Size, transient.ContentType)
	}
	part, _, err := store.GetRange(ctx, transient.Key, 5, 10)
	if err != nil || !bytes.Equal(part, body[5:15]) {
		t.Errorf("GetRange: %q, %v; want %q", part, err, body[5:15])
	}

	before, _ := st.Status(transient.Key)
	if _, err := store.CopyInPlace(ctx, transient.Key, awsclient.Pin{ETag: obj.ETag}); err != nil {
		t.Fatalf("CopyInPlace: %v", err)
	}
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	after, ok := st.Status(transient.Key)
	if !ok || after.State != StateProcessed || after.Attempts != before.Attempts+1 || after.Error != "" {
		t.Errorf("after CopyInPlace: %+v, want PROCESSED with attempts %d", after, before.Attempts+1)
	}
	h, err := store.Head(ctx, transient.Key)
	if err != nil {
		t.Fatal(err)
	}
	if h.Metadata[awsclient.RedrivenAtMeta] == "" || h.ContentType != transient.ContentType {
		t.Errorf("after CopyInPlace: metadata %v content type %q", h.Metadata, h.ContentType)
	}

	// A copy pinned to an ETag that is no longer current must not overwrite.
	if _, err := store.CopyInPlace(ctx, transient.Key, awsclient.Pin{ETag: strings.Repeat("0", 32)}); awsclient.KindOf(err) != awsclient.KindChanged {
		t.Errorf("CopyInPlace with a stale pin: %v, want KindChanged", err)
	}

	// Put, streamed.
	if _, err := store.Put(ctx, "put via awsclient.json", io.MultiReader(strings.NewReader(`{"sku":"X-1"}`)), 13, "application/json", "", map[string]string{"a": "b"}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := st.Status("put via awsclient.json"); !ok || s.State != StateProcessed {
		t.Errorf("status of a Put object: %+v %v, want PROCESSED", s, ok)
	}
	if _, err := store.Head(ctx, fmt.Sprintf("missing-%d", 1)); awsclient.KindOf(err) != awsclient.KindNotFound {
		t.Errorf("Head of a missing key: %v, want KindNotFound", err)
	}
}

// An aws-chunked body with an unsigned trailer (what SDKs send over TLS) is stored
// decoded, not verbatim.
func TestAWSChunkedBodyIsDecoded(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	chunked := "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
	req, _ := http.NewRequest(http.MethodPut, st.S3URL+"/"+st.Bucket+"/chunked", strings.NewReader(chunked))
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	req.Header.Set("X-Amz-Decoded-Content-Length", "11")
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %s", resp.Status)
	}
	obj, err := st.backend.GetObject(st.Bucket, "chunked", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj.Contents)
	if string(got) != "hello world" || obj.Metadata["Content-Encoding"] != "" {
		t.Errorf("stored %q with Content-Encoding %q, want \"hello world\" and none", got, obj.Metadata["Content-Encoding"])
	}

	req, _ = http.NewRequest(http.MethodPut, st.S3URL+"/"+st.Bucket+"/bad", strings.NewReader("zz\r\nhello"))
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed aws-chunked body: %s, want 400", resp.Status)
	}
}

// A multipart upload fires the processor once, on completion, like S3's
// ObjectCreated:CompleteMultipartUpload.
func TestMultipartUploadFiresTheProcessorOnce(t *testing.T) {
	st := startStack(t, Options{Requests: -1, LostRatio: -1, TransientRatio: -1})
	c := s3Client(st)
	ctx := context.Background()
	key := aws.String("multi part.json")
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &st.Bucket, Key: key, ContentType: aws.String("application/json")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &st.Bucket, Key: key, UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader(`{"sku":"M-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Status(*key); ok {
		t.Fatal("a part alone got a status")
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &st.Bucket, Key: key, UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := st.Status(*key); !ok || s.State != StateProcessed || s.Attempts != 1 {
		t.Errorf("after CompleteMultipartUpload: %+v %v, want PROCESSED once", s, ok)
	}
}

// Paging with and without a delimiter, over prefixes holding more keys than a page.
func TestListingPagesAreExact(t *testing.T) { forBackends(t, testListingPages) }

func testListingPages(t *testing.T, opts Options) {
	st := startStack(t, opts)
	c := s3Client(st)
	var all []string
	for _, p := range []string{"a/", "a/b/", "c/", ""} {
		for i := range 7 {
			k := fmt.Sprintf("%sk%02d", p, i)
			all = append(all, k)
			put(t, c, st.Bucket, k, "{}", nil)
		}
	}
	sort.Strings(all)
	for _, maxKeys := range []int32{1, 2, 3, 5, 1000} {
		got := listAll(t, c, st.Bucket, maxKeys)
		if strings.Join(got, " ") != strings.Join(all, " ") {
			t.Errorf("MaxKeys %d: listed %v", maxKeys, got)
		}
		for _, tc := range []struct{ prefix, want string }{
			{"", "a/ c/ k00 k01 k02 k03 k04 k05 k06"},
			{"a/", "a/b/ a/k00 a/k01 a/k02 a/k03 a/k04 a/k05 a/k06"},
		} {
			var names []string
			p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &st.Bucket, Prefix: aws.String(tc.prefix),
				Delimiter: aws.String("/"), MaxKeys: aws.Int32(maxKeys)})
			for pages := 0; p.HasMorePages(); pages++ {
				if pages > 50 {
					t.Fatalf("MaxKeys %d prefix %q: listing does not end", maxKeys, tc.prefix)
				}
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if n := len(out.Contents) + len(out.CommonPrefixes); n > int(maxKeys) {
					t.Errorf("a page of %d entries for MaxKeys %d", n, maxKeys)
				}
				for _, cp := range out.CommonPrefixes {
					names = append(names, aws.ToString(cp.Prefix))
				}
				for _, o := range out.Contents {
					names = append(names, aws.ToString(o.Key))
				}
			}
			sort.Strings(names)
			if got := strings.Join(names, " "); got != tc.want {
				t.Errorf("MaxKeys %d prefix %q delimiter /: %q, want %q", maxKeys, tc.prefix, got, tc.want)
			}
		}
	}
}

// With versioning off (the demo's bucket), S3 returns no version ID, so nothing can pin
// a read to one that this server would then refuse. A GET pinned to what HEAD returned
// must work; "null" is the one version ID such a bucket knows.
func TestNoVersionIDsWithoutVersioning(t *testing.T) { forBackends(t, testNoVersionIDs) }

func testNoVersionIDs(t *testing.T, opts Options) {
	st := startStack(t, opts)
	ctx := context.Background()
	c := s3Client(st)
	key := "versioned? no"
	putOut, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Bucket, Key: &key, Body: strings.NewReader(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if putOut.VersionId != nil {
		t.Errorf("PUT answered version ID %q", *putOut.VersionId)
	}
	if v := head(t, c, st.Bucket, key).VersionId; v != nil {
		t.Errorf("HEAD answered version ID %q", *v)
	}

	store := awsclient.NewObjectStore(c, st.Bucket, awsclient.ObjectStoreOptions{})
	h, err := store.Head(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if h.VersionID != "" {
		t.Errorf("Head: VersionID %q, want none", h.VersionID)
	}
	rc, obj, err := store.Get(ctx, key, awsclient.Pin{ETag: h.ETag, VersionID: h.VersionID})
	if err != nil {
		t.Fatalf("Get pinned to what Head returned: %v", err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != `{"a":1}` || obj.VersionID != "" {
		t.Errorf("Get: %q, version %q", body, obj.VersionID)
	}

	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &st.Bucket, Key: &key, VersionId: aws.String("null")})
	if err != nil {
		t.Fatalf("GET versionId=null: %v", err)
	}
	got.Body.Close()
	if got.VersionId != nil {
		t.Errorf("GET versionId=null answered version ID %q", *got.VersionId)
	}
	// Any other version ID does not exist in an unversioned bucket: a client error, not
	// 501 NotImplemented.
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &st.Bucket, Key: &key, VersionId: aws.String("3/ABCDEF")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidArgument" {
		t.Errorf("GET with an unknown version ID: %v, want InvalidArgument", err)
	}
}

// decodeAWSChunked reads bodies from outside: no panic, and whatever it decodes is the
// concatenation of the chunks a well-formed body carried.
func FuzzDecodeAWSChunked(f *testing.F) {
	f.Add([]byte("hello world"), uint8(5), []byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte(""), uint8(1), []byte("0\r\n\r\n"))
	f.Add([]byte("x"), uint8(0), []byte("fffffffffffffffff\r\n"))
	f.Add([]byte("abc"), uint8(2), []byte("3;chunk-signature=00\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"))
	f.Fuzz(func(t *testing.T, payload []byte, chunk uint8, raw []byte) {
		// Arbitrary bytes: an error or a body no longer than what was sent.
		r := chunkedRequest(raw)
		if err := decodeAWSChunked(r); err == nil {
			got, _ := io.ReadAll(r.Body)
			if len(got) > len(raw) || r.ContentLength != int64(len(got)) {
				t.Fatalf("decoded %d bytes (Content-Length %d) from %d", len(got), r.ContentLength, len(raw))
			}
			if r.Header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
				t.Fatalf("still marked streaming")
			}
		}
		// A body encoded like the SDK does decodes to the payload.
		size := int(chunk)%64 + 1
		var enc bytes.Buffer
		for rest := payload; len(rest) > 0; {
			n := min(size, len(rest))
			fmt.Fprintf(&enc, "%x\r\n%s\r\n", n, rest[:n])
			rest = rest[n:]
		}
		enc.WriteString("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
		r = chunkedRequest(enc.Bytes())
		if err := decodeAWSChunked(r); err != nil {
			t.Fatalf("well-formed body %q: %v", enc.Bytes(), err)
		}
		got, _ := io.ReadAll(r.Body)
		if !bytes.Equal(got, payload) {
			t.Fatalf("decoded %q, want %q", got, payload)
		}
		if r.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip (aws-chunked removed)", r.Header.Get("Content-Encoding"))
		}
	})
}

func chunkedRequest(body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1/b/k", bytes.NewReader(body))
	r.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	r.Header.Set("Content-Encoding", "aws-chunked,gzip")
	return r
}

// S3's clock never stands still, so a write always moves LastModified forward; a stack on a
// frozen clock (tests, the screenshots' demo) must too, or a copy in place looks as if it
// never happened and stowage's s3-copy verification fails it as not re-fired.
func TestWritesMoveLastModifiedForwardOnAFrozenClock(t *testing.T) {
	forBackends(t, testWritesMoveLastModifiedForward)
}

func testWritesMoveLastModifiedForward(t *testing.T, opts Options) {
	frozen := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	opts.Now = func() time.Time { return frozen }
	st := startStack(t, opts)
	c := s3Client(st)
	ctx := context.Background()
	put(t, c, st.Bucket, "k", `{}`, nil)
	first := aws.ToTime(head(t, c, st.Bucket, "k").LastModified)
	out, err := c.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: &st.Bucket, Key: aws.String("k"), CopySource: aws.String(st.Bucket + "/k"),
		MetadataDirective: s3types.MetadataDirectiveReplace,
	})
	if err != nil {
		t.Fatal(err)
	}
	copied := aws.ToTime(head(t, c, st.Bucket, "k").LastModified)
	if !copied.After(first) {
		t.Fatalf("LastModified after a copy in place %v, want after %v", copied, first)
	}
	if got := aws.ToTime(out.CopyObjectResult.LastModified); !got.Equal(copied) {
		t.Errorf("CopyObject answered LastModified %v, HEAD says %v", got, copied)
	}
	put(t, c, st.Bucket, "k", `{"a":1}`, nil)
	if again := aws.ToTime(head(t, c, st.Bucket, "k").LastModified); !again.After(copied) {
		t.Errorf("LastModified after an overwrite %v, want after %v", again, copied)
	}
}
