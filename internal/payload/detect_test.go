package payload

import (
	"bytes"
	"compress/gzip"
	"testing"
)

func TestDetect(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"a":1}`))
	zw.Close()

	tests := []struct {
		name, contentType, contentEncoding string
		head                               []byte
		want                               Kind
	}{
		{"empty", "application/json", "", nil, Empty},
		{"json object", "application/json", "", []byte(`{"a":1}`), JSON},
		{"json despite octet-stream", "application/octet-stream", "", []byte(` [1,2]`), JSON},
		{"json without content type", "", "", []byte("\ufeff\n {\"a\":1}"), JSON},
		{"json cut after bracket", "", "", []byte(`[`), JSON},
		{"json scalar by content type", "application/json; charset=utf-8", "", []byte(`"ok"`), JSON},
		{"vendor json", "application/vnd.acme+json", "", []byte(`true`), JSON},
		{"malformed json by content type", "application/json", "", []byte(`oops`), JSON},
		{"log line is not json", "text/plain", "", []byte("[INFO] started"), Text},
		{"xml", "application/xml", "", []byte(`<?xml version="1.0"?><a/>`), XML},
		{"xml without content type", "", "", []byte("  <product/>"), XML},
		{"xml despite json content type", "application/json", "", []byte(`<error>bad</error>`), XML},
		{"soap", "application/soap+xml", "", []byte(`<s:Envelope/>`), XML},
		{"html is text", "text/html", "", []byte(`<html><br></html>`), Text},
		{"heart is text", "", "", []byte("<3 thanks"), Text},
		{"plain text", "text/plain", "", []byte("hello\nworld\n"), Text},
		{"text with escape sequences stays text", "", "", bytes.Repeat([]byte("\x1b[2J\x1b]0;x\x07hi"), 50), Text},
		{"gzip by magic", "application/json", "gzip", gz.Bytes(), Gzip},
		{"gzip magic without header", "application/octet-stream", "", gz.Bytes(), Gzip},
		{"gzip header but plain bytes", "application/json", "gzip", []byte(`{"a":1}`), JSON},
		{"nul is binary", "text/plain", "", []byte("abc\x00def"), Binary},
		{"controls are binary", "", "", bytes.Repeat([]byte("ab\x01\x02\x03"), 20), Binary},
		{"invalid utf-8 is binary", "", "", bytes.Repeat([]byte("a\xff\xfe"), 20), Binary},
		{"a rune cut at the end is text", "", "", []byte("caf\xc3"), Text},
		{"a few stray bytes are text", "", "", append(bytes.Repeat([]byte("plain text "), 20), 0xff), Text},
		{"png", "image/png", "", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), Binary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.contentType, tt.contentEncoding, tt.head); got != tt.want {
				t.Errorf("Detect(%q, %q, %q) = %v, want %v", tt.contentType, tt.contentEncoding, tt.head, got, tt.want)
			}
		})
	}
}

func FuzzDetect(f *testing.F) {
	f.Add("application/json", "", []byte(`{"a":1}`))
	f.Add("text/xml; charset=\"", "gzip", []byte("\x1f\x8b"))
	f.Add("", "", []byte("\ufeff<"))
	f.Fuzz(func(t *testing.T, contentType, contentEncoding string, head []byte) {
		got := Detect(contentType, contentEncoding, head)
		if got < Empty || got > Binary {
			t.Fatalf("Detect returned %d", got)
		}
		if (got == Empty) != (len(head) == 0) {
			t.Fatalf("Detect(%q) = %v", head, got)
		}
		if again := Detect(contentType, contentEncoding, head); again != got {
			t.Fatalf("Detect is not deterministic: %v then %v", got, again)
		}
	})
}
