package tui

import (
	"testing"

	"github.com/stowage-cli/stowage/awsclient"
)

// FuzzPayloadView opens arbitrary bytes under an arbitrary content type and key and
// checks that the frame stays whole and inert: nothing but SGR sequences and newlines
// reach the terminal, whatever the payload holds.
func FuzzPayloadView(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":"\u001b[2J"}]}`), "application/json", "", "k")
	f.Add([]byte("<a><b>x</a>"), "application/xml", "", "k")
	f.Add([]byte("\x1b]52;c;aGk=\x07\x1bP+q\x1b\\\x9b2J\xff\xfe"), "text/plain", "", "\x1b[31mkey")
	f.Add([]byte{0x1f, 0x8b, 0x08, 0, 0, 0}, "application/json", "gzip", "k")
	f.Add([]byte("line1\r\nline2\tTAB\u202eRTL"), "", "", "a/b\u0085c")
	f.Fuzz(func(t *testing.T, body []byte, contentType, encoding, key string) {
		if len(body) > 1<<16 {
			body = body[:1<<16]
		}
		fx := newFixture(t, func(o *fakeObjects, s *fakeStatuses) {
			o.put(awsclient.Object{Key: key, RequestID: key, LastModified: testNow,
				ContentType: contentType, ContentEncoding: encoding, Metadata: map[string]string{key: contentType}}, body)
			s.put(awsclient.Status{RequestID: key, State: contentType, Error: string(body[:min(len(body), 40)])})
		})
		checkFrame(t, fx.view(), 120, 40)
		fx.keys("enter")
		checkFrame(t, fx.view(), 120, 40)
		fx.keys("w")
		checkFrame(t, fx.view(), 120, 40)
		fx.keys("tab")
		checkFrame(t, fx.view(), 120, 40)
	})
}
