package devstack

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// clock is the time source shared by gofakes3, its backend and the processor. Seeding
// pins it to each seeded request's time, so that seeded objects carry LastModified times
// spread over the past week; afterwards it follows Options.Now.
type clock struct {
	now func() time.Time

	mu     sync.Mutex
	pinned time.Time
}

var gmt = time.FixedZone("GMT", 0)

func (c *clock) Now() time.Time {
	c.mu.Lock()
	p := c.pinned
	c.mu.Unlock()
	if !p.IsZero() {
		return p.In(gmt)
	}
	return c.now().In(gmt)
}

func (c *clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *clock) pin(t time.Time) {
	c.mu.Lock()
	c.pinned = t
	c.mu.Unlock()
}

// tombstone marks a metadata entry as deleted. gofakes3 merges the old object's metadata
// into every overwrite and every REPLACE copy (unlike S3); naming each old entry with this
// value keeps the merge from resurrecting it, and reads drop it. A NUL byte can never
// arrive in a real header value, so it cannot collide with user metadata.
const tombstone = "\x00"

// storedHeaders are the request headers S3 keeps as object metadata; gofakes3 keeps every
// X-Amz-* request header (dates, signatures, checksums), which S3 never echoes back.
func storedHeader(k string) bool {
	switch k {
	case "Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language",
		"Cache-Control", "Expires", "Last-Modified", "X-Amz-Storage-Class", "X-Amz-Website-Redirect-Location":
		return true
	}
	return strings.HasPrefix(k, "X-Amz-Meta-")
}

// objectEvent is an S3 ObjectCreated notification.
type objectEvent struct {
	Bucket string
	Key    string
	At     time.Time
	// Redrive marks an event that stowage sent (an event redrive): the processor treats it
	// as a redelivery even when it has no memory of the first one (a restarted --data demo).
	Redrive bool
}

// s3Backend wraps a gofakes3 backend so that it behaves like S3 where stowage can tell
// the difference (metadata on overwrite and copy, listing pages) and announces every
// created object, like an S3 event notification.
type s3Backend struct {
	gofakes3.Backend
	clock    *clock
	onCreate func(objectEvent)

	writeMu sync.Mutex // serializes the read-modify-write of metadata
}

func cleanMetadata(meta map[string]string) map[string]string {
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		if v != tombstone && storedHeader(k) {
			out[k] = v
		}
	}
	return out
}

func (b *s3Backend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	clean := cleanMetadata(meta)
	if clean["Content-Type"] == "" {
		clean["Content-Type"] = "binary/octet-stream" // what S3 stores when none is sent
	}
	if _, ok := clean["Last-Modified"]; !ok {
		clean["Last-Modified"] = b.clock.Now().Format(http.TimeFormat)
	}
	b.writeMu.Lock()
	if old, err := b.Backend.HeadObject(bucket, key); err == nil {
		for k := range old.Metadata {
			if _, ok := clean[k]; !ok {
				clean[k] = tombstone
			}
		}
		// A write always moves LastModified forward, as on S3, whose clock never stands
		// still: with a frozen demo clock (tests, screenshots) an overwrite or a copy in
		// place would otherwise look as if it had not happened.
		prev, perr := http.ParseTime(old.Metadata["Last-Modified"])
		if next, nerr := http.ParseTime(clean["Last-Modified"]); perr == nil && nerr == nil && !next.After(prev) {
			clean["Last-Modified"] = prev.Add(time.Second).In(gmt).Format(http.TimeFormat)
		}
		old.Contents.Close()
	}
	res, err := b.Backend.PutObject(bucket, key, clean, input, size, cond)
	b.writeMu.Unlock()
	res.VersionID = "" // versioning is off
	if err == nil && b.onCreate != nil {
		b.onCreate(objectEvent{Bucket: bucket, Key: key, At: b.clock.Now()})
	}
	return res, err
}

// CopyObject goes through PutObject so that a copy fires the created event (S3 sends
// ObjectCreated:Copy) and gets the same metadata treatment.
func (b *s3Backend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	src, err := b.GetObject(srcBucket, srcKey, nil)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer src.Contents.Close()
	// Read first: the source may be the destination (CopyObject onto itself).
	body, err := io.ReadAll(src.Contents)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	delete(meta, "Last-Modified")
	if _, err := b.PutObject(dstBucket, dstKey, meta, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	modified := b.clock.Now()
	if dst, err := b.Backend.HeadObject(dstBucket, dstKey); err == nil {
		// The time the copy was stored at, which a write moves forward (PutObject).
		if t, perr := http.ParseTime(dst.Metadata["Last-Modified"]); perr == nil {
			modified = t
		}
		dst.Contents.Close()
	}
	return gofakes3.CopyObjectResult{ETag: gofakes3.FormatETag(src.Hash), LastModified: gofakes3.NewContentTime(modified)}, nil
}

// visible hides tombstoned metadata and the version ID: the memory backend keeps one per
// object even with versioning off, where S3 sends none, and a read pinned to it would get
// 501 NotImplemented from a server without versioning.
func visible(obj *gofakes3.Object) *gofakes3.Object {
	if obj == nil {
		return nil
	}
	c := *obj
	c.VersionID = ""
	c.Metadata = make(map[string]string, len(obj.Metadata))
	for k, v := range obj.Metadata {
		if v != tombstone {
			c.Metadata[k] = v
		}
	}
	return &c
}

func (b *s3Backend) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	obj, err := b.Backend.GetObject(bucket, key, rng)
	return visible(obj), err
}

func (b *s3Backend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	obj, err := b.Backend.HeadObject(bucket, key)
	return visible(obj), err
}

// ListBucket pages like S3: a common prefix is returned once and the next page starts
// after every key under it. The memory backend, given a delimiter and a small MaxKeys,
// returns the same prefix page after page (its next marker is a key inside the prefix),
// so this asks it for two more entries than the page holds, drops the prefix the marker
// is in, and cuts the page itself.
func (b *s3Backend) ListBucket(bucket string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	inner := gofakes3.ListBucketPage{Marker: page.Marker, HasMarker: page.HasMarker && page.Marker != ""}
	if page.MaxKeys > 0 {
		inner.MaxKeys = page.MaxKeys + 2
	}
	full, err := b.Backend.ListBucket(bucket, prefix, inner)
	if err != nil {
		return nil, err
	}
	type entry struct {
		name    string
		content *gofakes3.Content
	}
	entries := make([]entry, 0, len(full.Contents)+len(full.CommonPrefixes))
	for _, c := range full.Contents {
		if !page.HasMarker || c.Key > page.Marker {
			entries = append(entries, entry{c.Key, c})
		}
	}
	for _, p := range full.CommonPrefixes {
		// A marker inside (or equal to) a prefix means that prefix was already returned.
		if page.HasMarker && (strings.HasPrefix(page.Marker, p.Prefix) || p.Prefix <= page.Marker) {
			continue
		}
		entries = append(entries, entry{name: p.Prefix})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	out := gofakes3.NewObjectList()
	for i, e := range entries {
		if page.MaxKeys > 0 && int64(i) >= page.MaxKeys {
			out.IsTruncated = true
			out.NextMarker = entries[i-1].name
			break
		}
		if e.content != nil {
			out.Add(e.content)
		} else {
			out.AddPrefix(e.name)
		}
	}
	return out, nil
}

// s3Handler fronts gofakes3 for what has to be fixed before it parses a request.
type s3Handler struct {
	next    http.Handler
	backend *s3Backend
	// Write requests received, whatever their answer, for tests.
	puts, copies, deletes atomic.Int64
}

func (h *s3Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet, r.Method == http.MethodHead:
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		h.copies.Add(1)
	case r.Method == http.MethodDelete:
		h.deletes.Add(1)
	default:
		h.puts.Add(1) // PutObject, multipart, DeleteObjects (POST ?delete), anything else
	}
	if v, ok := unknownVersion(r); ok {
		writeS3Error(w, http.StatusBadRequest, s3ArgumentError{Code: "InvalidArgument", Message: "Invalid version id specified",
			ArgumentName: "versionId", ArgumentValue: v})
		return
	}
	if r.Method == http.MethodPut {
		if src := r.Header.Get("X-Amz-Copy-Source"); src != "" {
			if cond, ok := h.copyPreconditions(r, src); !ok {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusPreconditionFailed)
				fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>%s</Condition></Error>", cond)
				return
			}
			if strings.EqualFold(r.Header.Get("X-Amz-Metadata-Directive"), "REPLACE") {
				h.replaceOnly(r, src)
			}
		}
		if err := decodeAWSChunked(r); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			xml.NewEncoder(w).Encode(gofakes3.ErrorResponse{Code: "IncompleteBody", Message: err.Error()})
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

// unknownVersion finds a version ID other than "null" in a request: with versioning off
// no object has one, so S3 refuses it as invalid (gofakes3 would answer 501, or copy the
// current version and ignore it).
func unknownVersion(r *http.Request) (string, bool) {
	v := r.URL.Query().Get("versionId")
	if src := r.Header.Get("X-Amz-Copy-Source"); r.Method == http.MethodPut && src != "" {
		if _, query, ok := strings.Cut(src, "?"); ok {
			q, _ := url.ParseQuery(query)
			v = q.Get("versionId")
		}
	}
	return v, v != "" && v != "null"
}

type s3ArgumentError struct {
	XMLName       xml.Name `xml:"Error"`
	Code          string
	Message       string
	ArgumentName  string
	ArgumentValue string
}

func writeS3Error(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(body)
}

// copySource splits an x-amz-copy-source header into bucket and key.
func copySource(src string) (bucket, key string, ok bool) {
	decoded, err := url.PathUnescape(strings.SplitN(src, "?", 2)[0])
	if err != nil {
		return "", "", false
	}
	return strings.Cut(strings.TrimPrefix(decoded, "/"), "/")
}

// copyPreconditions checks x-amz-copy-source-if-match and -if-none-match, which gofakes3
// ignores; stowage pins its in-place copies to the ETag it read.
func (h *s3Handler) copyPreconditions(r *http.Request, src string) (string, bool) {
	ifMatch := r.Header.Get("X-Amz-Copy-Source-If-Match")
	ifNoneMatch := r.Header.Get("X-Amz-Copy-Source-If-None-Match")
	if ifMatch == "" && ifNoneMatch == "" {
		return "", true
	}
	bucket, key, ok := copySource(src)
	if !ok {
		return "", true // gofakes3 reports the bad header
	}
	obj, err := h.backend.HeadObject(bucket, key)
	if err != nil {
		return "", true // and the missing source
	}
	obj.Contents.Close()
	etag := hex.EncodeToString(obj.Hash)
	matches := func(list string) bool {
		for _, e := range strings.Split(list, ",") {
			e = strings.Trim(strings.TrimSpace(e), `"`)
			if e == "*" || e == etag {
				return true
			}
		}
		return false
	}
	if ifMatch != "" && !matches(ifMatch) {
		return "x-amz-copy-source-If-Match", false
	}
	if ifNoneMatch != "" && matches(ifNoneMatch) {
		return "x-amz-copy-source-If-None-Match", false
	}
	return "", true
}

// replaceOnly makes a REPLACE copy keep exactly the request's metadata: gofakes3 adds
// every source entry the request does not name, so each of those is named as deleted.
func (h *s3Handler) replaceOnly(r *http.Request, src string) {
	bucket, key, ok := copySource(src)
	if !ok {
		return // gofakes3 reports the bad header
	}
	obj, err := h.backend.HeadObject(bucket, key)
	if err != nil {
		return
	}
	obj.Contents.Close()
	for k := range obj.Metadata {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if _, sent := r.Header[ck]; !sent && storedHeader(ck) && ck != "Last-Modified" {
			r.Header[ck] = []string{tombstone}
		}
	}
}

// decodeAWSChunked unwraps an "aws-chunked" body with an unsigned trailer, which current
// AWS SDKs send for streamed uploads and gofakes3 v1.2.0 would store verbatim.
func decodeAWSChunked(r *http.Request) error {
	sha := r.Header.Get("X-Amz-Content-Sha256")
	if sha != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	rest := body
	for {
		line, after, ok := bytes.Cut(rest, []byte("\r\n"))
		if !ok {
			return errIncomplete
		}
		sizeHex, _, _ := strings.Cut(string(line), ";")
		var n int
		for _, c := range strings.TrimSpace(sizeHex) {
			d := strings.IndexRune("0123456789abcdef", c|0x20)
			if d < 0 {
				return errIncomplete
			}
			n = n*16 + d
			if n > len(after) {
				return errIncomplete
			}
		}
		if n == 0 {
			break
		}
		if len(after) < n+2 {
			return errIncomplete
		}
		out.Write(after[:n])
		rest = after[n+2:]
	}
	r.Body = io.NopCloser(bytes.NewReader(out.Bytes()))
	r.ContentLength = int64(out.Len())
	r.Header.Set("Content-Length", strconv.Itoa(out.Len()))
	r.Header.Del("X-Amz-Decoded-Content-Length")
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if enc := strings.TrimSpace(strings.ReplaceAll(r.Header.Get("Content-Encoding"), "aws-chunked", "")); enc == "" || enc == "," {
		r.Header.Del("Content-Encoding")
	} else {
		r.Header.Set("Content-Encoding", strings.Trim(enc, ", "))
	}
	return nil
}

type chunkError string

func (e chunkError) Error() string { return string(e) }

const errIncomplete = chunkError("the aws-chunked body is malformed or incomplete")
