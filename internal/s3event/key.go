package s3event

import (
	"net/url"
	"strings"
)

// EncodeKey URL-encodes an object key as S3 writes it into an event notification: form
// encoding (a space becomes '+', '+' becomes %2B), with '/' kept as is. Letters, digits
// and "-_.~" are kept; every other byte is %XX in upper case.
func EncodeKey(key string) string {
	var b strings.Builder
	b.Grow(len(key) + len(key)/4)
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// DecodeKey is what a processor does with an event's key (Python's unquote_plus,
// Java's URLDecoder): '+' is a space and %XX a byte.
func DecodeKey(s string) (string, error) {
	return url.QueryUnescape(s)
}
