// Package reqid understands what an operator pastes to name one stored request: a bare
// request ID, an s3:// URI, an S3 console URL, an S3 object URL, a log line that mentions
// a request ID, or a plain key. Both the TUI's ":" jump and "stowage show" use it, and it
// builds the s3:// URIs and console URLs the copy actions put on the clipboard.
//
// It is pure: no I/O, no AWS SDK, no terminal code. It must not import tui, the CLI or
// awsclient.
package reqid

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Kind says what was pasted.
type Kind int

const (
	KindID         Kind = iota + 1 // a bare request ID
	KindS3URI                      // s3://bucket/key
	KindConsoleURL                 // an AWS console link to an S3 object
	KindObjectURL                  // an https link to the object itself (virtual-hosted, path-style or presigned)
	KindLogLine                    // text containing a request ID
	KindKey                        // a plain S3 key
)

func (k Kind) String() string {
	switch k {
	case KindID:
		return "request ID"
	case KindS3URI:
		return "s3 URI"
	case KindConsoleURL:
		return "console URL"
	case KindObjectURL:
		return "object URL"
	case KindLogLine:
		return "log line"
	case KindKey:
		return "key"
	}
	return "unknown"
}

// Ref is what Parse found. RequestID is a lower-case canonical UUID whenever one could be
// read (for S3 locations, when the key's last segment is a UUID). Bucket is set only when
// the input named one; Key only for S3 locations and plain keys, exactly as S3 stores it.
type Ref struct {
	Kind      Kind
	RequestID string
	Bucket    string
	Key       string
	Region    string // from a console or object URL, when it says
}

// ErrNoReference is matched (errors.Is) by every error Parse returns.
var ErrNoReference = errors.New("no request ID, s3:// URI or console URL found")

// maxKeyBytes is S3's limit on key length.
const maxKeyBytes = 1024

// Parse reads a request reference from s. Surrounding whitespace and matching quotes are
// ignored. When a log line holds several request IDs, the one labelled requestId,
// RequestId, request_id or x-amzn-RequestId wins, else the first. Text of several words
// (or lines) with no request ID in it is an error matching ErrNoReference, not a key; for
// one line it is a *WordsError, which carries the text for a caller that wants to try it
// as a key with spaces.
func Parse(s string) (Ref, error) {
	in := trim(s)
	if in == "" {
		return Ref{}, fmt.Errorf("%w: the input is empty; paste a request ID, an s3:// URI, a console URL or a log line", ErrNoReference)
	}
	multiline := strings.ContainsAny(in, "\r\n")
	isURL := hasPrefixFold(in, "https://") || hasPrefixFold(in, "http://")
	if !multiline {
		if hasPrefixFold(in, "s3://") {
			return parseS3URI(in)
		}
		if isURL {
			if ref, ok, err := parseURL(in); ok || err != nil {
				return ref, err
			}
		}
		if id, ok := bareID(in); ok {
			return Ref{Kind: KindID, RequestID: id}, nil
		}
		// A single token with a '/' is a key even when it holds a UUID (prefix/<uuid>).
		if !isURL && !strings.ContainsFunc(in, unicode.IsSpace) && strings.Contains(in, "/") {
			if err := checkKey(in); err != nil {
				return Ref{}, err
			}
			return Ref{Kind: KindKey, Key: in, RequestID: idFromKey(in)}, nil
		}
	}
	if id, ok := idInText(in); ok {
		return Ref{Kind: KindLogLine, RequestID: id}, nil
	}
	if isURL {
		return Ref{}, fmt.Errorf("%w: %s is neither an S3 console URL nor an S3 object URL, and holds no request ID", ErrNoReference, quote(in))
	}
	if multiline {
		return Ref{}, notFound(in)
	}
	if strings.ContainsFunc(in, unicode.IsSpace) {
		// Words with no ID in them are most likely a pasted message: saying "not in the
		// bucket" about them would send the operator looking for the wrong thing. They
		// may also be a key with spaces, which WordsError carries for a caller to try.
		if err := checkKey(in); err != nil {
			return Ref{}, err
		}
		return Ref{}, &WordsError{Text: in, msg: notFound(in).Error()}
	}
	if err := checkKey(in); err != nil {
		return Ref{}, err
	}
	return Ref{Kind: KindKey, Key: in}, nil
}

func notFound(in string) error {
	return &refError{"no request ID found in what you pasted (" + quote(in) + "); paste a request ID, an s3:// URI, a console URL or a log line containing a request ID"}
}

// WordsError is Parse's error for one line of several words with no request ID in it. It
// matches ErrNoReference. Text (trimmed) may still be a key with spaces in it: a caller
// that can look keys up may try it as one, and report the error if there is no such key.
type WordsError struct {
	Text string
	msg  string
}

func (e *WordsError) Error() string        { return e.msg }
func (e *WordsError) Is(target error) bool { return target == ErrNoReference }

// refError is a Parse error worded for the operator on its own; it matches
// ErrNoReference.
type refError struct{ msg string }

func (e *refError) Error() string        { return e.msg }
func (e *refError) Is(target error) bool { return target == ErrNoReference }

// quote shows at most 60 runes of untrusted input, sanitized, for an error message.
func quote(in string) string {
	const most = 60
	if utf8.RuneCountInString(in) > most {
		n := 0
		for i := range in {
			if n == most {
				in = in[:i] + "…"
				break
			}
			n++
		}
	}
	return `"` + sanitize.Line(in) + `"`
}

func checkKey(k string) error {
	if len(k) > maxKeyBytes {
		return fmt.Errorf("%w: %s is %d bytes, longer than any S3 key (%d)", ErrNoReference, quote(k), len(k), maxKeyBytes)
	}
	if !utf8.ValidString(k) || strings.ContainsFunc(k, unicode.IsControl) {
		return notFound(k)
	}
	return nil
}

// trim removes surrounding whitespace and matching quote pairs, repeatedly.
func trim(s string) string {
	for {
		s = strings.TrimSpace(s)
		if len(s) < 2 {
			return s
		}
		first, last := s[0], s[len(s)-1]
		switch {
		case first == last && (first == '"' || first == '\'' || first == '`'):
		case first == '<' && last == '>':
		default:
			return s
		}
		s = s[1 : len(s)-1]
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// bareID accepts a UUID alone, in any case, optionally in braces or as urn:uuid:.
func bareID(s string) (string, bool) {
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	} else if hasPrefixFold(s, "urn:uuid:") {
		s = s[len("urn:uuid:"):]
	}
	if len(s) == 36 && isUUID(s) {
		return strings.ToLower(s), true
	}
	return "", false
}

// isUUID reports whether s (36 bytes) is 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// idFromKey returns the key's last segment as a request ID when it is a UUID.
func idFromKey(key string) string {
	seg := key[strings.LastIndexByte(key, '/')+1:]
	if isUUID(seg) {
		return strings.ToLower(seg)
	}
	return ""
}

// labels are the names log formats give the API Gateway request ID (compared lower-case).
var labels = map[string]bool{
	"requestid":        true,
	"request-id":       true,
	"request_id":       true,
	"x-amzn-requestid": true,
}

// idInText finds the request ID in free text: the first labelled UUID, else the first.
func idInText(s string) (string, bool) {
	first := ""
	for i := 0; i+36 <= len(s); i++ {
		if !isHex(s[i]) || (i > 0 && isAlnum(s[i-1])) {
			continue
		}
		cand := s[i : i+36]
		if !isUUID(cand) || (i+36 < len(s) && isAlnum(s[i+36])) {
			continue
		}
		if labelled(s[:i]) {
			return strings.ToLower(cand), true
		}
		if first == "" {
			first = strings.ToLower(cand)
		}
		i += 35
	}
	return first, first != ""
}

// labelled reports whether the text before a UUID ends with one of labels, followed by
// separators such as `":"`, `: `, `=` or `" : "`.
func labelled(before string) bool {
	end := len(before)
	for end > 0 && strings.IndexByte(" \t\"':=", before[end-1]) >= 0 {
		end--
	}
	if end == len(before) {
		return false // "requestId3f1c…" is not a label
	}
	start := end
	for start > 0 && (isAlnum(before[start-1]) || before[start-1] == '-' || before[start-1] == '_') {
		start--
	}
	return labels[strings.ToLower(before[start:end])]
}

func parseS3URI(in string) (Ref, error) {
	rest := in[len("s3://"):]
	bucket, key, found := strings.Cut(rest, "/")
	if !validBucket(bucket) {
		return Ref{}, fmt.Errorf("%w: %s does not name a valid bucket", ErrNoReference, quote(in))
	}
	if !found || key == "" {
		return Ref{}, fmt.Errorf("%w: %s names bucket %q but no object key; use s3://%s/KEY", ErrNoReference, quote(in), bucket, bucket)
	}
	key = unescapeS3Key(key)
	return Ref{Kind: KindS3URI, Bucket: bucket, Key: key, RequestID: idFromKey(key)}, nil
}

// validBucket accepts bucket names S3 allows, including legacy upper-case and underscore
// names, without checking every rule.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 255 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !isAlnum(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// S3URI returns s3://bucket/key for the copy action. Keys are literal in s3:// URIs (as
// the AWS CLI reads them) so the common case is not escaped at all. A key that could not
// survive a paste (a control character, a trailing space, non-ASCII, or text that looks
// like one of our escapes) is percent-encoded instead, with '%' itself as %25; Parse
// recognises that form by its escapes and decodes it, so Parse(S3URI(b, k)) gives k back.
func S3URI(bucket, key string) string {
	if !keyNeedsEscape(key) {
		return "s3://" + bucket + "/" + key
	}
	var b strings.Builder
	b.WriteString("s3://" + bucket + "/")
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(key); i++ {
		c := key[i]
		if escapedInS3Key(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapedInS3Key is the set of bytes the escaped form of a key encodes. A %XX for any of
// them marks a key as escaped.
func escapedInS3Key(c byte) bool {
	return c <= ' ' || c == '%' || c == 0x7f || c >= 0x80
}

func keyNeedsEscape(key string) bool {
	if key == "" {
		return false
	}
	if hasMarkerEscape(key) {
		return true // the literal text would be read as escaped
	}
	last, _ := utf8.DecodeLastRuneInString(key)
	if unicode.IsSpace(last) {
		return true // Parse trims trailing whitespace
	}
	if !utf8.ValidString(key) {
		return true
	}
	for _, r := range key {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// hasMarkerEscape reports whether key holds a %XX escape of a byte escapedInS3Key.
func hasMarkerEscape(key string) bool {
	for i := strings.IndexByte(key, '%'); i >= 0 && i+2 < len(key); {
		if isHex(key[i+1]) && isHex(key[i+2]) && escapedInS3Key(unhex(key[i+1])<<4|unhex(key[i+2])) {
			return true
		}
		j := strings.IndexByte(key[i+1:], '%')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func unescapeS3Key(key string) string {
	if !hasMarkerEscape(key) {
		return key
	}
	if k, err := url.PathUnescape(key); err == nil {
		return k
	}
	return key
}

// ConsoleURL returns the S3 console link to one object, in the console's own form.
func ConsoleURL(region, bucket, key string) string {
	return "https://" + consoleHost(region) + "/s3/object/" + url.PathEscape(bucket) +
		"?region=" + queryEscape(region) + "&bucketType=general&prefix=" + queryEscape(key)
}

// consoleHost picks the console of the region's partition.
func consoleHost(region string) string {
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return "console.amazonaws-us-gov.com"
	case strings.HasPrefix(region, "cn-"):
		return "console.amazonaws.cn"
	}
	return "s3.console.aws.amazon.com"
}

// queryEscape escapes for a query value with %20 for spaces, which every reader decodes
// the same way ('+' is ambiguous outside form encoding).
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// parseURL reads console and object URLs. ok is false for other URLs, which may still
// hold a request ID as text.
func parseURL(in string) (ref Ref, ok bool, err error) {
	u, perr := url.Parse(in)
	if perr != nil || u.Host == "" {
		return Ref{}, false, nil
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case isConsoleHost(host):
		return parseConsoleURL(in, u)
	case strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn"):
		return parseObjectURL(in, u, host)
	}
	return Ref{}, false, nil
}

func isConsoleHost(host string) bool {
	for _, base := range []string{"console.aws.amazon.com", "console.amazonaws-us-gov.com", "console.amazonaws.cn"} {
		if host == base || strings.HasSuffix(host, "."+base) {
			return true
		}
	}
	return false
}

// parseConsoleURL reads the console's object and bucket pages, old and new:
//
//	/s3/object/BUCKET?region=R&prefix=KEY
//	/s3/buckets/BUCKET?region=R&prefix=KEY
//	/s3/object/BUCKET/KEY?region=R            (older, key in the path)
//	/s3/home?region=R#&bucket=BUCKET&prefix=KEY (oldest, in the fragment)
func parseConsoleURL(in string, u *url.URL) (Ref, bool, error) {
	segs := strings.SplitN(strings.TrimPrefix(u.EscapedPath(), "/"), "/", 4)
	q := u.Query()
	if len(segs) >= 2 && segs[0] == "s3" && segs[1] == "home" {
		q, _ = url.ParseQuery(strings.TrimPrefix(u.Fragment, "&"))
		if r := u.Query().Get("region"); r != "" && q.Get("region") == "" {
			q.Set("region", r)
		}
		segs = []string{"s3", "buckets", q.Get("bucket")}
	}
	if len(segs) < 3 || segs[0] != "s3" || (segs[1] != "object" && segs[1] != "buckets") {
		return Ref{}, false, nil // some other console page; it may still hold an ID
	}
	bucket, err := url.PathUnescape(segs[2])
	if err != nil || !validBucket(bucket) {
		return Ref{}, true, fmt.Errorf("%w: the console URL %s does not name a valid bucket", ErrNoReference, quote(in))
	}
	key := q.Get("prefix")
	if len(segs) == 4 && key == "" {
		if key, err = url.PathUnescape(segs[3]); err != nil {
			return Ref{}, true, fmt.Errorf("%w: the console URL %s has a badly escaped key", ErrNoReference, quote(in))
		}
	}
	if key == "" {
		return Ref{}, true, fmt.Errorf("%w: the console URL %s names bucket %q but no object; open the object in the console and copy that URL", ErrNoReference, quote(in), bucket)
	}
	if segs[1] == "buckets" && strings.HasSuffix(key, "/") {
		return Ref{}, true, fmt.Errorf("%w: the console URL %s points at the folder %q, not an object; open the object and copy its URL", ErrNoReference, quote(in), key)
	}
	return Ref{Kind: KindConsoleURL, Bucket: bucket, Key: key, Region: q.Get("region"), RequestID: idFromKey(key)}, true, nil
}

// parseObjectURL reads links to the object itself:
//
//	https://BUCKET.s3.REGION.amazonaws.com/KEY   (also s3-REGION and s3 without region)
//	https://s3.REGION.amazonaws.com/BUCKET/KEY   (path style)
//
// The path is percent-decoded; the query (a presigned URL's signature) is ignored.
func parseObjectURL(in string, u *url.URL, host string) (Ref, bool, error) {
	path, err := url.PathUnescape(u.EscapedPath())
	if err != nil {
		return Ref{}, false, nil
	}
	path = strings.TrimPrefix(path, "/")
	bucket, region, ok := s3Host(host)
	if !ok {
		return Ref{}, false, nil // another AWS service
	}
	key := path
	if bucket == "" {
		bucket, key, _ = strings.Cut(path, "/")
	}
	if !validBucket(bucket) {
		return Ref{}, true, fmt.Errorf("%w: the S3 URL %s does not name a valid bucket", ErrNoReference, quote(in))
	}
	if key == "" {
		return Ref{}, true, fmt.Errorf("%w: the S3 URL %s names bucket %q but no object key", ErrNoReference, quote(in), bucket)
	}
	return Ref{Kind: KindObjectURL, Bucket: bucket, Key: key, Region: region, RequestID: idFromKey(key)}, true, nil
}

// s3Host splits an S3 endpoint host name into the bucket (virtual-hosted style, else "")
// and the region ("" when the host does not say). It reads from the right because bucket
// names may themselves start with "s3".
func s3Host(host string) (bucket, region string, ok bool) {
	parts := strings.Split(host, ".")
	a := -1
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i] == "amazonaws" {
			a = i
			break
		}
	}
	if a < 1 {
		return "", "", false
	}
	s3At := -1
	switch l := parts[a-1]; {
	case l == "s3" || l == "s3-accelerate":
		s3At = a - 1
	case strings.HasPrefix(l, "s3-"):
		s3At, region = a-1, strings.TrimPrefix(l, "s3-")
	case a >= 2 && parts[a-2] == "s3":
		s3At, region = a-2, l
	case a >= 3 && parts[a-3] == "s3" && parts[a-2] == "dualstack":
		s3At, region = a-3, l
	default:
		return "", "", false
	}
	return strings.Join(parts[:s3At], "."), region, true
}
