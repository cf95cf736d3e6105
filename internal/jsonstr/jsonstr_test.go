package jsonstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// marshal is encoding/json's quoting of s, with or without HTML escaping.
func marshal(t testing.TB, s string, html bool) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// terminalBefore is the demo processor's appendJSONString before this package
// (internal/devstack/processor.go at 003fcd8), kept as the oracle of its bytes.
func terminalBefore(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x7f {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r < 0xa0 || r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			b = append(b, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

var samples = []string{
	"", "plain", "requests/2026/12/07/4f1c2a9e-0b7d-4c35-9a51-2d8e6f0a1b3c.json",
	`say "hi" \ there`, "tab\tnew\nline\rcr\bback\fform\x00nul\x1bescape\x7fdel",
	"<script>a && b</script>", "\u2028\u2029 separators", "\u0085 NEL \u009b CSI", "\u202e RLO \u2066 LRI \u2069",
	"caf\u00e9 \u65e5\u672c \U0001F600", "bad \xff\xfe utf8 \xe2\x82", "\xef\xbf\xbd replacement", "\xed\xa0\x80 surrogate",
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, s := range samples {
		check(t, s)
	}
}

func check(t *testing.T, s string) {
	t.Helper()
	if got, want := Append(nil, s, Options{HTMLEscape: true}), marshal(t, s, true); !bytes.Equal(got, want) {
		t.Errorf("HTMLEscape %q: %s, json.Marshal %s", s, got, want)
	}
	if got, want := Append(nil, s, Options{}), marshal(t, s, false); !bytes.Equal(got, want) {
		t.Errorf("no HTML escaping %q: %s, encoding/json %s", s, got, want)
	}
	if got, want := Append(nil, s, Options{Terminal: true}), terminalBefore(nil, s); !bytes.Equal(got, want) {
		t.Errorf("Terminal %q: %s, before %s", s, got, want)
	}
	got := Append([]byte("x"), s, Options{Terminal: true})
	if !strings.HasPrefix(string(got), "x") || !utf8.Valid(got) {
		t.Errorf("Terminal %q: %q is not valid UTF-8 after dst", s, got)
	}
	for i := 0; i < len(got); {
		r, size := utf8.DecodeRune(got[i:])
		if r < 0x20 || r == 0x7f || terminalControl(r) && r >= 0x80 {
			t.Errorf("Terminal %q: raw control %U in %q", s, r, got)
		}
		i += size
	}
}

// FuzzAppend: HTMLEscape writes json.Marshal's bytes (the journal's rule: journals from
// older versions keep verifying), the zero Options encoding/json's without HTML escaping
// (-o json), Terminal the demo's log lines' bytes as they were.
func FuzzAppend(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(check)
}

func benchInputs() map[string]string {
	return map[string]string{
		"key":     "requests/2026/12/07/4f1c2a9e-0b7d-4c35-9a51-2d8e6f0a1b3c.json",
		"id":      "4f1c2a9e-0b7d-4c35-9a51-2d8e6f0a1b3c",
		"error":   `validation: field "amount" must be a number, got "12,50" at line 3 <input>` + "\n",
		"unicode": "Zahlung f\u00fcr K\u00e4ufer \u65e5\u672c\u8a9e \u2014 \u00e9t\u00e9",
	}
}

func benchmark(b *testing.B, f func([]byte, string) []byte) {
	for name, s := range benchInputs() {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = f(buf[:0], s)
			}
		})
	}
}

func BenchmarkAppendHTML(b *testing.B) {
	benchmark(b, func(d []byte, s string) []byte { return Append(d, s, Options{HTMLEscape: true}) })
}
func BenchmarkAppendPlain(b *testing.B) {
	benchmark(b, func(d []byte, s string) []byte { return Append(d, s, Options{}) })
}
func BenchmarkAppendTerminal(b *testing.B) {
	benchmark(b, func(d []byte, s string) []byte { return Append(d, s, Options{Terminal: true}) })
}
