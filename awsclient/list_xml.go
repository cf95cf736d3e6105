package awsclient

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// A listing spent about a third of its CPU in the SDK's ListObjectsV2 decoder
// (encoding/xml through smithy's node decoder: a token and several allocations for every
// element of every object). fastList reads the page's body itself, in one pass over the
// bytes, and hands the SDK's decoder an empty result instead; a body it does not fully
// understand goes to the SDK's decoder untouched. It understands the subset of XML that
// S3 and the usual S3 servers send, and only accepts what the SDK reads the same way
// (FuzzListObjectsV2 checks that against the SDK itself).

// listPage is what stowage reads of one ListObjectsV2 page.
type listPage struct {
	objects   []Object
	truncated bool
	next      string
}

// emptyListResult stands in for a body fastList has read.
const emptyListResult = `<ListBucketResult></ListBucketResult>`

// listBodyPool holds the buffers the pages are read into (a page of 1000 keys is about
// 300 KB).
var listBodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fastList is a Deserialize middleware (innermost, next to the transport) that decodes a
// successful ListObjectsV2 body into *dst with parseListObjectsV2. requestID maps keys to
// request IDs.
type fastList struct {
	dst       *listPage
	ok        *bool
	requestID func(string) string
}

func (*fastList) ID() string { return "stowage.FastListObjectsV2" }

func (m *fastList) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	*m.ok = false
	resp, buf, ok := takeBody(out, err)
	if !ok {
		return out, md, err
	}
	if page, ok := parseListObjectsV2(buf.Bytes(), m.requestID); ok {
		*m.dst, *m.ok = page, true
		resp.Body = io.NopCloser(strings.NewReader(emptyListResult))
		listBodyPool.Put(buf)
	} else {
		resp.Body = io.NopCloser(bytes.NewReader(buf.Bytes())) // buf is not returned to the pool
	}
	return out, md, err
}

// takeBody reads a successful response's body into a pooled buffer. ok is false when
// there is none, or reading it failed: the response then replays what was read and the
// error, for the SDK's decoder to report as it would have.
func takeBody(out middleware.DeserializeOutput, err error) (*smithyhttp.Response, *bytes.Buffer, bool) {
	resp, isHTTP := out.RawResponse.(*smithyhttp.Response)
	if err != nil || !isHTTP || resp.StatusCode != 200 || resp.Body == nil {
		return nil, nil, false
	}
	buf := listBodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, rerr := buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(bytes.Clone(buf.Bytes())), errReader{rerr}))
		listBodyPool.Put(buf)
		return nil, nil, false
	}
	return resp, buf, true
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// parseListObjectsV2 reads a ListObjectsV2 result. ok is false for anything outside the
// subset it knows (a DOCTYPE, comments, CDATA, processing instructions past the XML
// declaration, carriage returns, prefixed names, elements the SDK reads as structures,
// CommonPrefixes) and for anything the SDK would reject: then the SDK decodes the body.
// Element names match case-insensitively, as in the SDK.
func parseListObjectsV2(b []byte, requestID func(string) string) (page listPage, ok bool) {
	p := xmlScanner{b: b}
	if !p.prolog() {
		return listPage{}, false
	}
	root, selfClosing, ok := p.startTag()
	if !ok || !is(root, "ListBucketResult") {
		return listPage{}, false
	}
	if selfClosing {
		return page, true
	}
	page.objects = make([]Object, 0, 1000)
	for {
		name, end, selfClosing, ok := p.child(root)
		if !ok {
			return listPage{}, false
		}
		if end {
			return page, true
		}
		switch {
		case is(name, "Contents"):
			o, ok := p.object(name, selfClosing)
			if !ok {
				return listPage{}, false
			}
			o.RequestID = requestID(o.Key)
			page.objects = append(page.objects, o)
		case is(name, "IsTruncated"):
			v, ok := p.value(name, selfClosing)
			t, err := strconv.ParseBool(string(v))
			if !ok || err != nil {
				return listPage{}, false
			}
			page.truncated = t
		case is(name, "NextContinuationToken"):
			if page.next, ok = p.str(name, selfClosing); !ok {
				return listPage{}, false
			}
		case is(name, "KeyCount"), is(name, "MaxKeys"):
			v, ok := p.value(name, selfClosing)
			if _, isInt := parseInt(v); !ok || !isInt {
				return listPage{}, false
			}
		case is(name, "ContinuationToken"), is(name, "Delimiter"), is(name, "EncodingType"),
			is(name, "Name"), is(name, "Prefix"), is(name, "StartAfter"):
			if _, ok := p.value(name, selfClosing); !ok {
				return listPage{}, false
			}
		case is(name, "CommonPrefixes"):
			return listPage{}, false
		default:
			if !p.skip(name, selfClosing, 1) {
				return listPage{}, false
			}
		}
	}
}

// is matches an element name as the SDK does (ignoring case).
func is(name []byte, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i := range len(name) {
		a, b := name[i], want[i]
		if a != b && a|0x20 != b|0x20 {
			return false
		}
	}
	return true
}

// object reads one Contents element.
func (p *xmlScanner) object(elem []byte, selfClosing bool) (Object, bool) {
	var o Object
	if selfClosing {
		return o, true
	}
	for {
		name, end, selfClosing, ok := p.child(elem)
		if !ok {
			return o, false
		}
		if end {
			return o, true
		}
		var v []byte
		switch {
		case is(name, "Key"):
			o.Key, ok = p.str(name, selfClosing)
		case is(name, "LastModified"):
			if v, ok = p.value(name, selfClosing); ok {
				o.LastModified, ok = parseListTime(v)
			}
		case is(name, "ETag"):
			if v, ok = p.value(name, selfClosing); ok {
				o.ETag = string(bytes.Trim(v, `"`))
			}
		case is(name, "Size"):
			if v, ok = p.value(name, selfClosing); ok {
				o.Size, ok = parseInt(v)
			}
		case is(name, "StorageClass"):
			if v, ok = p.value(name, selfClosing); ok {
				o.StorageClass = storageClass(v)
			}
		case is(name, "ChecksumAlgorithm"), is(name, "ChecksumType"):
			_, ok = p.value(name, selfClosing)
		case is(name, "Owner"), is(name, "RestoreStatus"):
			return o, false
		default:
			ok = p.skip(name, selfClosing, 2)
		}
		if !ok {
			return o, false
		}
	}
}

// storageClass returns the usual classes without allocating.
func storageClass(v []byte) string {
	switch string(v) {
	case "STANDARD":
		return "STANDARD"
	case "STANDARD_IA":
		return "STANDARD_IA"
	case "INTELLIGENT_TIERING":
		return "INTELLIGENT_TIERING"
	case "GLACIER":
		return "GLACIER"
	case "GLACIER_IR":
		return "GLACIER_IR"
	case "DEEP_ARCHIVE":
		return "DEEP_ARCHIVE"
	}
	return string(v)
}

// parseInt is strconv.ParseInt(v, 10, 64) without the string: an optional sign and
// decimal digits.
func parseInt(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 19 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, err == nil
	}
	neg := false
	d := v
	if d[0] == '+' || d[0] == '-' {
		neg, d = d[0] == '-', d[1:]
		if len(d) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0') // at most 19 digits: may overflow only at 19
		if n < 0 {
			nn, err := strconv.ParseInt(string(v), 10, 64)
			return nn, err == nil
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseListTime reads LastModified the way the SDK does (smithy's ParseDateTime), for the
// forms it accepts that end in Z: "2006-01-02T15:04:05Z", with up to 9 digits of fraction.
// The common shape is read without allocating.
func parseListTime(v []byte) (time.Time, bool) {
	n := len(v)
	if n < 20 || v[n-1] != 'Z' || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		x := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			x = x*10 + int(c-'0')
		}
		return x, true
	}
	year, ok1 := num(v[0:4])
	month, ok2 := num(v[5:7])
	day, ok3 := num(v[8:10])
	hour, ok4 := num(v[11:13])
	minute, ok5 := num(v[14:16])
	sec, ok6 := num(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	nsec := 0
	if frac := v[19 : n-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		f, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			f *= 10
		}
		nsec = f
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// xmlScanner reads the subset of XML parseListObjectsV2 accepts.
type xmlScanner struct {
	b   []byte
	pos int
}

func (p *xmlScanner) skipSpace() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n':
			p.pos++
		default:
			return
		}
	}
}

// prolog skips an optional XML declaration (version 1.0, UTF-8) and the white space
// before the root.
func (p *xmlScanner) prolog() bool {
	p.skipSpace()
	if bytes.HasPrefix(p.b[p.pos:], []byte("<?")) {
		if p.pos != 0 || !bytes.HasPrefix(p.b, []byte("<?xml ")) {
			return false
		}
		end := bytes.Index(p.b, []byte("?>"))
		if end < 0 {
			return false
		}
		for _, f := range strings.Fields(string(p.b[len("<?xml "):end])) {
			switch f {
			case `version="1.0"`, `version='1.0'`, `encoding="UTF-8"`, `encoding='UTF-8'`, `encoding="utf-8"`, `encoding='utf-8'`:
			default:
				return false
			}
		}
		p.pos = end + 2
		p.skipSpace()
	}
	return true
}

// name reads an element or attribute name: ASCII letters, digits, _ - . (no prefixes).
func (p *xmlScanner) name() ([]byte, bool) {
	start := p.pos
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || p.pos > start && (c >= '0' && c <= '9' || c == '-' || c == '.') {
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		return nil, false
	}
	return p.b[start:p.pos], true
}

// startTag reads "<name attr='v'...>" or "<name .../>".
func (p *xmlScanner) startTag() (name []byte, selfClosing, ok bool) {
	if p.pos >= len(p.b) || p.b[p.pos] != '<' {
		return nil, false, false
	}
	p.pos++
	if name, ok = p.name(); !ok {
		return nil, false, false
	}
	selfClosing, ok = p.attrs()
	return name, selfClosing, ok
}

// attrs reads a start tag's attributes and its end; values hold no markup or references.
func (p *xmlScanner) attrs() (selfClosing, ok bool) {
	for {
		sawSpace := p.pos < len(p.b) && isSpace(p.b[p.pos])
		p.skipSpace()
		if p.pos >= len(p.b) {
			return false, false
		}
		switch p.b[p.pos] {
		case '>':
			p.pos++
			return false, true
		case '/':
			if p.pos+1 < len(p.b) && p.b[p.pos+1] == '>' {
				p.pos += 2
				return true, true
			}
			return false, false
		}
		if !sawSpace {
			return false, false
		}
		if !p.attrName() {
			return false, false
		}
		p.skipSpace()
		if p.pos >= len(p.b) || p.b[p.pos] != '=' {
			return false, false
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.b) || p.b[p.pos] != '"' && p.b[p.pos] != '\'' {
			return false, false
		}
		q := p.b[p.pos]
		end := bytes.IndexByte(p.b[p.pos+1:], q)
		if end < 0 {
			return false, false
		}
		v := p.b[p.pos+1 : p.pos+1+end]
		if bytes.ContainsAny(v, "<&") || !validText(v) {
			return false, false
		}
		p.pos += end + 2
	}
}

// attrName reads an attribute name, which may be xmlns or carry a prefix (xmlns:s3).
func (p *xmlScanner) attrName() bool {
	if _, ok := p.name(); !ok {
		return false
	}
	if p.pos < len(p.b) && p.b[p.pos] == ':' {
		p.pos++
		_, ok := p.name()
		return ok
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

// child moves to the next child element of parent, skipping the text between elements.
// end reports parent's end tag.
func (p *xmlScanner) child(parent []byte) (name []byte, end, selfClosing, ok bool) {
	if _, ok := p.text(); !ok {
		return nil, false, false, false
	}
	if p.pos+1 >= len(p.b) {
		return nil, false, false, false
	}
	if p.b[p.pos+1] == '/' {
		return nil, true, false, p.endTag(parent)
	}
	name, selfClosing, ok = p.startTag()
	return name, false, selfClosing, ok
}

// endTag reads "</name>" (white space allowed before the >).
func (p *xmlScanner) endTag(name []byte) bool {
	if !bytes.HasPrefix(p.b[p.pos:], []byte("</")) {
		return false
	}
	p.pos += 2
	n, ok := p.name()
	if !ok || !bytes.Equal(n, name) {
		return false
	}
	p.skipSpace()
	if p.pos >= len(p.b) || p.b[p.pos] != '>' {
		return false
	}
	p.pos++
	return true
}

// value reads the text of a leaf element up to its end tag (smithy's NodeDecoder.Value).
func (p *xmlScanner) value(name []byte, selfClosing bool) ([]byte, bool) {
	if selfClosing {
		return nil, true
	}
	v, ok := p.text()
	if !ok || !p.endTag(name) {
		return nil, false
	}
	return v, true
}

// str is value as a string.
func (p *xmlScanner) str(name []byte, selfClosing bool) (string, bool) {
	v, ok := p.value(name, selfClosing)
	return string(v), ok
}

// skip reads past an element the SDK ignores, checking it is well formed.
func (p *xmlScanner) skip(name []byte, selfClosing bool, depth int) bool {
	if selfClosing {
		return true
	}
	if depth > 32 {
		return false
	}
	for {
		child, end, selfClosing, ok := p.child(name)
		if !ok {
			return false
		}
		if end {
			return true
		}
		if !p.skip(child, selfClosing, depth+1) {
			return false
		}
	}
}

// text reads character data up to the next '<', resolving the five predefined entities
// and character references.
func (p *xmlScanner) text() ([]byte, bool) {
	start := p.pos
	end := bytes.IndexByte(p.b[start:], '<')
	if end < 0 {
		return nil, false
	}
	raw := p.b[start : start+end]
	p.pos = start + end
	if bytes.HasPrefix(p.b[p.pos:], []byte("<!")) || bytes.HasPrefix(p.b[p.pos:], []byte("<?")) {
		return nil, false
	}
	if bytes.IndexByte(raw, '&') < 0 {
		if !validText(raw) {
			return nil, false
		}
		return raw, true
	}
	out := make([]byte, 0, len(raw))
	for len(raw) > 0 {
		amp := bytes.IndexByte(raw, '&')
		if amp < 0 {
			if !validText(raw) {
				return nil, false
			}
			out = append(out, raw...)
			break
		}
		if !validText(raw[:amp]) {
			return nil, false
		}
		out = append(out, raw[:amp]...)
		raw = raw[amp+1:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 {
			return nil, false
		}
		r, ok := entity(raw[:semi])
		if !ok {
			return nil, false
		}
		out = utf8.AppendRune(out, r)
		raw = raw[semi+1:]
	}
	return out, true
}

// entity resolves the name of a reference (between & and ;).
func entity(ref []byte) (rune, bool) {
	switch string(ref) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0, false
	}
	for _, c := range digits {
		if !(c >= '0' && c <= '9' || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || !inCharacterRange(rune(n)) || n == '\r' {
		return 0, false
	}
	return rune(n), true
}

// validText reports whether text holds only XML characters (and no carriage return,
// which XML turns into a line feed), as UTF-8, with no markup.
func validText(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' || c == '>' && i >= 2 && b[i-1] == ']' && b[i-2] == ']' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || !inCharacterRange(r) {
			return false
		}
		i += size
	}
	return true
}

// inCharacterRange is XML's Char production.
func inCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
