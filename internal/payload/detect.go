// Package payload turns a stored request body into something an operator can read: it
// detects what the bytes are (from Content-Type, Content-Encoding and the bytes, never
// from the key), decompresses gzip with a bound, pretty-prints JSON and XML without
// changing their content, locates syntax errors by line and column, splits a payload
// into display lines once (Document), searches it, highlights only the visible window
// with chroma, and renders binary as a hex dump.
//
// Every string it hands out for display (Document.Line, Highlighter output, HexDump)
// has been through internal/sanitize; raw bytes stay raw only where the caller asks for
// them (Document.Bytes, the []byte results of PrettyJSON and PrettyXML).
//
// It does no I/O beyond the io.Reader it is given and must not import tui, the CLI,
// awsclient, Bubble Tea or the AWS SDK.
package payload

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"
)

// Kind is what a payload is, for display.
type Kind int

const (
	Empty Kind = iota
	JSON
	XML
	Text
	Gzip
	Binary
)

func (k Kind) String() string {
	switch k {
	case Empty:
		return "empty"
	case JSON:
		return "JSON"
	case XML:
		return "XML"
	case Text:
		return "text"
	case Gzip:
		return "gzip"
	case Binary:
		return "binary"
	}
	return "unknown"
}

// sniffLimit bounds how much of head Detect inspects for binary-ness.
const sniffLimit = 64 << 10

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// Detect says what a payload is from its Content-Type, its Content-Encoding and its
// first bytes (pass at least the first few KiB; more than 64 KiB is not read). The
// bytes win when they are clear: gzip magic is Gzip whatever the headers say, and a
// body that starts like JSON or XML is that even as application/octet-stream. Content-
// Type only decides between JSON, XML and Text for bodies the bytes leave open (a JSON
// scalar, malformed XML). Content-Encoding never overrides the bytes: S3 keeps whatever
// the uploader declared, so "gzip" on plain bytes (or "aws-chunked") is common and
// wrong, while compressed bytes without the header still start with the gzip magic.
// Keys are never consulted: they are request IDs.
func Detect(contentType, contentEncoding string, head []byte) Kind {
	if len(head) == 0 {
		return Empty
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return Gzip
	}
	if looksBinary(head) {
		return Binary
	}
	media := mediaType(contentType)
	switch body := skipSpace(bytes.TrimPrefix(head, utf8BOM)); {
	case len(body) == 0:
		// Only whitespace: nothing to pretty-print.
	case body[0] == '{' || body[0] == '[':
		if startsJSON(body) {
			return JSON
		}
	case body[0] == '<':
		if startsXML(body) && media != "text/html" {
			return XML
		}
	}
	switch {
	case media == "application/json" || media == "text/json" || strings.HasSuffix(media, "+json") ||
		media == "application/x-ndjson" || media == "application/jsonl":
		return JSON
	case media == "application/xml" || media == "text/xml" || strings.HasSuffix(media, "+xml"):
		return XML
	}
	return Text
}

func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// startsJSON checks the byte after an opening bracket so "[INFO] started" stays text.
func startsJSON(b []byte) bool {
	rest := skipSpace(b[1:])
	if len(rest) == 0 {
		return true // cut right after the bracket
	}
	c := rest[0]
	if b[0] == '{' {
		return c == '"' || c == '}'
	}
	return c == ']' || c == '{' || c == '[' || c == '"' || c == '-' || ('0' <= c && c <= '9') ||
		c == 't' || c == 'f' || c == 'n'
}

// startsXML checks the byte after '<' so "<3 thanks" stays text.
func startsXML(b []byte) bool {
	if len(b) < 2 {
		return true
	}
	c := b[1]
	return c == '?' || c == '!' || c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') ||
		c >= utf8.RuneSelf
}

// looksBinary reports whether head is not text: it holds a NUL, or more than 1 in 32 of
// its bytes are controls that text does not use or invalid UTF-8. Escape sequences
// (ESC, BEL) count as text so a hostile text payload is shown as text, disarmed.
func looksBinary(head []byte) bool {
	if len(head) > sniffLimit {
		head = head[:sniffLimit]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	odd := 0
	for i := 0; i < len(head); {
		c := head[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && !textControl(c)) || c == 0x7f {
				odd++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && size == 1 {
			if len(head)-i < utf8.UTFMax && !utf8.FullRune(head[i:]) {
				break // a rune cut by the end of the sniffed window
			}
			odd++
		}
		i += size
	}
	return odd*32 > len(head)
}

func textControl(c byte) bool {
	switch c {
	case '\a', '\b', '\t', '\n', '\v', '\f', '\r', 0x1b:
		return true
	}
	return false
}
