package awsclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
)

// RedrivenAtMeta is the user-metadata key CopyInPlace stamps (RFC 3339, UTC).
const RedrivenAtMeta = "stowage-redriven-at"

// DefaultListPageSize is the page size List asks for.
const DefaultListPageSize = 1000

// ObjectStoreOptions tune an ObjectStore.
type ObjectStoreOptions struct {
	// RequestID maps a key to the request ID it stores; the default is the key itself.
	RequestID func(key string) string
	// ReadOnly refuses every write before anything is sent.
	ReadOnly bool
	// PageSize is the page size List asks for; DefaultListPageSize when 0.
	PageSize int32
	// Profile names the AWS profile in credential remedies.
	Profile string
	// SSOProfile reports that Profile signs in through IAM Identity Center: only then do
	// remedies say aws sso login.
	SSOProfile bool

	// sdkListDecoder leaves ListObjectsV2 bodies to the SDK's decoder (tests compare the two).
	sdkListDecoder bool
}

// Pin names the exact object version a read or copy must act on. Zero fields are not checked.
type Pin struct {
	ETag      string // without quotes
	VersionID string
}

// ObjectStore reads and writes the stored request bodies in one bucket.
type ObjectStore struct {
	client *s3.Client
	bucket string
	opts   ObjectStoreOptions
	now    func() time.Time
	// endpoint is the host of an overridden endpoint, for network errors.
	endpoint string
}

// NewObjectStore returns an ObjectStore on bucket.
func NewObjectStore(client *s3.Client, bucket string, opts ObjectStoreOptions) *ObjectStore {
	if opts.RequestID == nil {
		opts.RequestID = func(key string) string { return key }
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultListPageSize
	}
	s := &ObjectStore{client: client, bucket: bucket, opts: opts, now: time.Now}
	if client != nil {
		s.endpoint = endpointHost(client.Options().BaseEndpoint)
	}
	return s
}

// Bucket is the bucket the store reads.
func (s *ObjectStore) Bucket() string { return s.bucket }

// ReadOnly reports whether writes are refused.
func (s *ObjectStore) ReadOnly() bool { return s.opts.ReadOnly }

func (s *ObjectStore) uri(key string) string { return "s3://" + s.bucket + "/" + key }

func (s *ObjectStore) call(op, key, action string) call {
	return call{Op: op, Resource: s.uri(key), Action: action, NotFound: "check the key, storage.bucket in the config and the region",
		Profile: s.opts.Profile, SSO: s.opts.SSOProfile, Endpoint: s.endpoint}
}

// ListPage lists one page of up to max keys under prefix, continuing after continuation
// ("" for the first page).
func (s *ObjectStore) ListPage(ctx context.Context, prefix, continuation string, max int32) (Page, error) {
	return s.ListPageAfter(ctx, prefix, "", continuation, max)
}

// ListPageAfter is ListPage starting after the key startAfter (ListObjectsV2 StartAfter),
// so that a listing can be split into contiguous key ranges listed in parallel. S3 ignores
// startAfter once a continuation token is given.
func (s *ObjectStore) ListPageAfter(ctx context.Context, prefix, startAfter, continuation string, max int32) (Page, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	if max > 0 {
		in.MaxKeys = aws.Int32(max)
	}
	if continuation != "" {
		in.ContinuationToken = aws.String(continuation)
	}
	var fast listPage
	var fastOK bool
	var optFns []func(*s3.Options)
	if !s.opts.sdkListDecoder {
		m := &fastList{dst: &fast, ok: &fastOK, requestID: s.opts.RequestID}
		optFns = append(optFns, s3.WithAPIOptions(func(st *middleware.Stack) error {
			return st.Deserialize.Add(m, middleware.After)
		}))
	}
	out, err := s.client.ListObjectsV2(ctx, in, optFns...)
	if err != nil {
		c := s.call("list", prefix, "s3:ListBucket")
		c.NotFound = remedyBucket
		return Page{}, classify(err, c)
	}
	if fastOK {
		page := Page{Objects: fast.objects}
		if fast.truncated {
			page.NextToken = fast.next
			if page.NextToken == "" {
				return Page{}, truncatedWithoutToken(s.call("list", prefix, "s3:ListBucket"))
			}
		}
		return page, nil
	}
	page := Page{Objects: make([]Object, 0, len(out.Contents))}
	for _, o := range out.Contents {
		key := aws.ToString(o.Key)
		page.Objects = append(page.Objects, Object{
			Key:          key,
			RequestID:    s.opts.RequestID(key),
			Size:         aws.ToInt64(o.Size),
			LastModified: aws.ToTime(o.LastModified),
			ETag:         unquote(aws.ToString(o.ETag)),
			StorageClass: string(o.StorageClass),
		})
	}
	if aws.ToBool(out.IsTruncated) {
		page.NextToken = aws.ToString(out.NextContinuationToken)
		if page.NextToken == "" {
			return Page{}, truncatedWithoutToken(s.call("list", prefix, "s3:ListBucket"))
		}
	}
	return page, nil
}

// truncatedWithoutToken is the error of a page that says more keys follow but gives no
// continuation token: ending the listing there would drop every key after it unseen.
func truncatedWithoutToken(c call) error {
	return &Error{Kind: KindServer, Op: c.Op, Resource: c.Resource, Code: "TruncatedWithoutToken",
		Message: "the listing page says more keys follow (IsTruncated) but gives no continuation token, so the rest cannot be listed",
		Remedy:  "the S3 endpoint or a proxy in front of it answered an incomplete page: retry, and check the endpoint"}
}

// List streams every page under prefix to fn as it arrives. It stops at the first error
// from S3 or fn, or when ctx is done; fn's error is returned as is.
func (s *ObjectStore) List(ctx context.Context, prefix string, fn func(Page) error) error {
	token := ""
	for {
		if err := ctx.Err(); err != nil {
			return classify(err, s.call("list", prefix, "s3:ListBucket"))
		}
		page, err := s.ListPage(ctx, prefix, token, s.opts.PageSize)
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.NextToken == "" {
			return nil
		}
		if page.NextToken == token {
			// A server that hands back the same token would loop forever.
			return &Error{Kind: KindServer, Op: "list", Resource: s.uri(prefix),
				Message: "the listing did not advance", Remedy: remedyServer}
		}
		token = page.NextToken
	}
}

// Head describes one object.
func (s *ObjectStore) Head(ctx context.Context, key string) (Object, error) {
	out, err := s.head(ctx, key, Pin{})
	if err != nil {
		return Object{}, err
	}
	return s.headObject(key, out), nil
}

func (s *ObjectStore) head(ctx context.Context, key string, pin Pin) (*s3.HeadObjectOutput, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if pin.VersionID != "" {
		in.VersionId = aws.String(pin.VersionID)
	}
	out, err := s.client.HeadObject(ctx, in)
	if err != nil {
		c := s.call("head", key, "s3:GetObject")
		c.Pinned = pin != Pin{}
		return nil, classify(err, c)
	}
	return out, nil
}

func (s *ObjectStore) headObject(key string, out *s3.HeadObjectOutput) Object {
	return Object{
		Key:             key,
		RequestID:       s.opts.RequestID(key),
		Size:            aws.ToInt64(out.ContentLength),
		LastModified:    aws.ToTime(out.LastModified),
		ETag:            unquote(aws.ToString(out.ETag)),
		ContentType:     aws.ToString(out.ContentType),
		ContentEncoding: aws.ToString(out.ContentEncoding),
		VersionID:       aws.ToString(out.VersionId),
		StorageClass:    string(out.StorageClass),
		Metadata:        lowerKeys(out.Metadata),
	}
}

// GetRange reads up to length bytes at offset. The Object describes the whole object
// (Size is the full size). A range starting at or past the end, or any range of an empty
// object, returns no bytes and no error.
func (s *ObjectStore) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, Object, error) {
	if offset < 0 || length <= 0 {
		return nil, Object{}, invalid("get", s.uri(key), fmt.Sprintf("bad range: offset %d, length %d", offset, length))
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)),
	})
	if err != nil {
		cerr := classify(err, s.call("get", key, "s3:GetObject"))
		if codeOf(cerr) != "InvalidRange" && httpStatus(err) != 416 {
			return nil, Object{}, cerr
		}
		// S3 refuses ranges past the end, and every range of an empty object.
		obj, herr := s.Head(ctx, key)
		if herr != nil {
			return nil, Object{}, herr
		}
		return []byte{}, obj, nil
	}
	defer out.Body.Close()
	obj := s.getObject(key, out)
	// A server that ignores Range sends the whole body: skip and cap it here.
	skip := int64(0)
	if out.ContentRange == nil {
		skip = offset
	}
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, out.Body, skip); err != nil && err != io.EOF {
			return nil, Object{}, classify(err, s.call("get", key, "s3:GetObject"))
		}
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(out.Body, length)); err != nil {
		return nil, Object{}, classify(err, s.call("get", key, "s3:GetObject"))
	}
	return buf.Bytes(), obj, nil
}

func (s *ObjectStore) getObject(key string, out *s3.GetObjectOutput) Object {
	size := aws.ToInt64(out.ContentLength)
	if total, ok := contentRangeTotal(aws.ToString(out.ContentRange)); ok {
		size = total
	}
	return Object{
		Key:             key,
		RequestID:       s.opts.RequestID(key),
		Size:            size,
		LastModified:    aws.ToTime(out.LastModified),
		ETag:            unquote(aws.ToString(out.ETag)),
		ContentType:     aws.ToString(out.ContentType),
		ContentEncoding: aws.ToString(out.ContentEncoding),
		VersionID:       aws.ToString(out.VersionId),
		StorageClass:    string(out.StorageClass),
		Metadata:        lowerKeys(out.Metadata),
	}
}

// contentRangeTotal reads the full size from "bytes 0-99/1234".
func contentRangeTotal(cr string) (int64, bool) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(cr[i+1:], 10, 64)
	return n, err == nil
}

// Get streams a whole object. With a pin, an object that changed since (another ETag, or
// the version is gone) fails with KindChanged. The caller closes the reader; read errors
// are classified too.
func (s *ObjectStore) Get(ctx context.Context, key string, pin Pin) (io.ReadCloser, Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if pin.ETag != "" {
		in.IfMatch = aws.String(quote(pin.ETag))
	}
	if pin.VersionID != "" {
		in.VersionId = aws.String(pin.VersionID)
	}
	c := s.call("get", key, "s3:GetObject")
	c.Pinned = pin != Pin{}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, Object{}, classify(err, c)
	}
	return &classifyingReader{rc: out.Body, call: c}, s.getObject(key, out), nil
}

// classifyingReader turns a body read failure (a dropped connection mid-object) into an
// *Error like any other.
type classifyingReader struct {
	rc   io.ReadCloser
	call call
}

func (r *classifyingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		err = classify(err, r.call)
	}
	return n, err
}

func (r *classifyingReader) Close() error { return r.rc.Close() }

// CopyInPlace copies an object onto itself with MetadataDirective=REPLACE, which fires
// ObjectCreated again so the processor sees it anew. It keeps the content headers and the
// user metadata, and stamps RedrivenAtMeta. The copy is pinned to the ETag it read (or
// pin.ETag), so an object that changed in between is not overwritten: KindChanged.
func (s *ObjectStore) CopyInPlace(ctx context.Context, key string, pin Pin) (Object, error) {
	if s.opts.ReadOnly {
		return Object{}, readOnlyError("copy", s.uri(key))
	}
	head, err := s.head(ctx, key, pin)
	if err != nil {
		return Object{}, err
	}
	etag := unquote(aws.ToString(head.ETag))
	if pin.ETag != "" && pin.ETag != etag {
		return Object{}, &Error{Kind: KindChanged, Op: "copy", Resource: s.uri(key), Code: "PreconditionFailed",
			Message: fmt.Sprintf("ETag is %s, expected %s", etag, pin.ETag), Remedy: remedyChanged}
	}
	meta := make(map[string]string, len(head.Metadata)+1)
	for k, v := range head.Metadata {
		meta[strings.ToLower(k)] = v
	}
	meta[RedrivenAtMeta] = s.now().UTC().Format(time.RFC3339)

	source := s.bucket + "/" + escapeKey(key)
	if pin.VersionID != "" {
		source += "?versionId=" + escapeKey(pin.VersionID)
	}
	in := &s3.CopyObjectInput{
		Bucket:             aws.String(s.bucket),
		Key:                aws.String(key),
		CopySource:         aws.String(source),
		CopySourceIfMatch:  aws.String(quote(etag)),
		MetadataDirective:  s3types.MetadataDirectiveReplace,
		Metadata:           meta,
		ContentType:        head.ContentType,
		ContentEncoding:    head.ContentEncoding,
		ContentDisposition: head.ContentDisposition,
		ContentLanguage:    head.ContentLanguage,
		CacheControl:       head.CacheControl,
	}
	if head.StorageClass != "" && head.StorageClass != s3types.StorageClassStandard {
		in.StorageClass = head.StorageClass
	}
	if head.ServerSideEncryption == s3types.ServerSideEncryptionAwsKms {
		// Without these the copy would fall back to the bucket's default key.
		in.ServerSideEncryption = head.ServerSideEncryption
		in.SSEKMSKeyId = head.SSEKMSKeyId
	}
	c := s.call("copy", key, "s3:GetObject and s3:PutObject")
	c.Pinned = true
	out, err := s.client.CopyObject(ctx, in)
	if err != nil {
		return Object{}, classify(err, c)
	}
	obj := s.headObject(key, head)
	obj.Metadata = meta
	obj.VersionID = aws.ToString(out.VersionId)
	if r := out.CopyObjectResult; r != nil {
		obj.ETag = unquote(aws.ToString(r.ETag))
		obj.LastModified = aws.ToTime(r.LastModified)
	}
	return obj, nil
}

// Put stores body (size bytes) at key.
func (s *ObjectStore) Put(ctx context.Context, key string, body io.Reader, size int64, contentType, contentEncoding string, meta map[string]string) (Object, error) {
	if s.opts.ReadOnly {
		return Object{}, readOnlyError("put", s.uri(key))
	}
	if size < 0 {
		return Object{}, invalid("put", s.uri(key), fmt.Sprintf("bad size %d", size))
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
		Metadata:      meta,
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if contentEncoding != "" {
		in.ContentEncoding = aws.String(contentEncoding)
	}
	var optFns []func(*s3.Options)
	if _, ok := body.(io.Seeker); !ok {
		// The signer would read the body twice to hash it; a stream is sent unsigned instead.
		optFns = append(optFns, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	}
	out, err := s.client.PutObject(ctx, in, optFns...)
	if err != nil {
		c := s.call("put", key, "s3:PutObject")
		c.NotFound = remedyBucket
		return Object{}, classify(err, c)
	}
	return Object{
		Key:             key,
		RequestID:       s.opts.RequestID(key),
		Size:            size,
		LastModified:    s.now().UTC(),
		ETag:            unquote(aws.ToString(out.ETag)),
		ContentType:     contentType,
		ContentEncoding: contentEncoding,
		VersionID:       aws.ToString(out.VersionId),
		Metadata:        lowerKeys(meta),
	}, nil
}

// escapeKey percent-encodes everything but RFC 3986 unreserved characters and "/", as
// CopySource wants: "+" would otherwise read as a space, "?" and "#" would end the path.
func escapeKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if isUnreserved(c) || c == '/' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unquote(etag string) string { return strings.Trim(etag, `"`) }

func quote(etag string) string { return `"` + unquote(etag) + `"` }

func lowerKeys(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
