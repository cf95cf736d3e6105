package s3event

import (
	"strings"
	"testing"
)

// FuzzEncodeKey: any key survives the round trip a processor makes (unquote_plus), and
// the encoded form holds only characters that need no escaping in JSON or a URL.
func FuzzEncodeKey(f *testing.F) {
	for _, s := range []string{"", "red flower.jpg", "a+b/c%20d", "\x00\xff", "日本/語 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		enc := EncodeKey(key)
		if strings.Trim(enc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~/+%") != "" {
			t.Fatalf("EncodeKey(%q) = %q holds other characters", key, enc)
		}
		back, err := DecodeKey(enc)
		if err != nil || back != key {
			t.Fatalf("DecodeKey(EncodeKey(%q)) = %q, %v", key, back, err)
		}
	})
}

// FuzzDecodeKey: decoding outside input never panics, and what decodes re-encodes to a
// form that decodes the same.
func FuzzDecodeKey(f *testing.F) {
	for _, s := range []string{"red+flower.jpg", "%zz", "%", "a%2Bb", "%C3%A9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := DecodeKey(s)
		if err != nil {
			return
		}
		if again, err := DecodeKey(EncodeKey(k)); err != nil || again != k {
			t.Fatalf("re-encoding %q: %q, %v", k, again, err)
		}
	})
}
