package sanitize

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"clean ascii", "3f1c2a4e-0000-4000-8000-000000000001", "3f1c2a4e-0000-4000-8000-000000000001"},
		{"clean unicode", "café ☕ 製品", "café ☕ 製品"},
		{"clear screen", "\x1b[2J", "␛[2J"},
		{"sgr inside text", "ok\x1b[31mred\x1b[0m", "ok␛[31mred␛[0m"},
		{"osc title with bel", "\x1b]0;pwned\x07", "␛]0;pwned␇"},
		{"osc 52 clipboard with st", "\x1b]52;c;ZXZpbA==\x1b\\", "␛]52;c;ZXZpbA==␛\\"},
		{"dcs", "\x1bP+q544e\x1b\\", "␛P+q544e␛\\"},
		{"apc", "\x1b_Gf=100;AAAA\x1b\\", "␛_Gf=100;AAAA␛\\"},
		{"pm and sos", "\x1b^x\x1b\\\x1bXy\x1b\\", "␛^x␛\\␛Xy␛\\"},
		{"nul and bell", "a\x00b\x07", "a␀b␇"},
		{"backspace overwrite", "safe\x08\x08\x08\x08evil", "safe␈␈␈␈evil"},
		{"carriage return overwrite", "rm -rf /\rls", "rm -rf /␍ls"},
		{"newline is visible", "a\nb", "a␤b"},
		{"crlf is visible", "a\r\nb", "a␍␤b"},
		{"del", "a\x7fb", "a␡b"},
		{"tab expands to stop", "a\tb", "a   b"},
		{"tab at stop", "abcd\te", "abcd    e"},
		{"tab after escape counts its width", "\xff\tx", `\xff` + "    x"},
		{"c1 csi as rune", "a\u009b2Jb", `a\u009b2Jb`},
		{"c1 nel", "a\u0085b", `a\u0085b`},
		{"raw c1 byte is invalid utf-8", "a\x9b2J", `a\x9b2J`},
		{"invalid utf-8", "ok\xff\xfe", `ok\xff\xfe`},
		{"truncated rune", "caf\xc3", `caf\xc3`},
		{"encoded surrogate", "\xed\xa0\x80", `\xed\xa0\x80`},
		{"overlong slash", "\xc0\xaf", `\xc0\xaf`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"bidi isolate", "\u2066x\u2069", `\u2066x\u2069`},
		{"zero width joiner", "a\u200db", `a\u200db`},
		{"bom", "\ufeff{}", `\ufeff{}`},
		{"soft hyphen", "in\u00advisible", `in\u00advisible`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"tag character", "x\U000E0041", `x\U000e0041`},
		{"control pictures stay", "␛[2J", "␛[2J"},
		{"replacement char stays", "\uFFFD", "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.in); got != tt.want {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := Bytes([]byte(tt.in)); got != tt.want {
				t.Errorf("Bytes(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBlock(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"keeps newlines", "a\nb\n", "a\nb\n"},
		{"crlf becomes newline", "a\r\nb\r\n", "a\nb\n"},
		{"lone cr is visible", "a\rb", "a␍b"},
		{"cr before eof", "a\r", "a␍"},
		{"tab column restarts per line", "abc\tx\n\ty", "abc x\n    y"},
		{"tab after clean prefix line", "xx\nab\tc", "xx\nab  c"},
		{"escape on second line", "{\n  \"a\": \"\x1b[2J\"\n}", "{\n  \"a\": \"␛[2J\"\n}"},
		{"vertical tab and form feed", "a\vb\fc", "a␋b␌c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Block(tt.in); got != tt.want {
				t.Errorf("Block(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := BlockBytes([]byte(tt.in)); got != tt.want {
				t.Errorf("BlockBytes(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanInputIsNotCopied(t *testing.T) {
	in := strings.Repeat("clean line with ünïcode ", 100)
	if n := testing.AllocsPerRun(100, func() { _ = Line(in) }); n != 0 {
		t.Errorf("Line on clean input allocated %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Block(in + "\n" + in) }); n > 1 { // the concatenation
		t.Errorf("Block on clean input allocated %v times, want at most 1", n)
	}
	if !IsClean(in) || !IsCleanLine([]byte(in)) {
		t.Error("IsClean reported clean input as dirty")
	}
	if IsClean("a\x1b") || IsCleanLine([]byte("a\n")) {
		t.Error("IsClean reported dirty input as clean")
	}
}

// checkSafe asserts the output invariants every caller relies on.
func checkSafe(t *testing.T, in, out string, block bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("output of %q is not valid UTF-8: %q", in, out)
	}
	for i := 0; i < len(out); i++ {
		c := out[i]
		if (c < 0x20 && !(block && c == '\n')) || c == 0x7f {
			t.Fatalf("output of %q contains byte %#x at %d: %q", in, c, i, out)
		}
	}
	for _, r := range out {
		if (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029 {
			t.Fatalf("output of %q contains rune %U: %q", in, r, out)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{
		"", "plain", "\x1b[2J", "\x1b]52;c;aGk=\x07", "a\r\nb\tc", "\xff\xfe", "\u202e\u2066",
		"\u009b31m", "caf\xc3", "\x00\x01\x1f\x7f", "tab\tafter\x1b", "製品\t|",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := string(in)
		line, block := Line(s), Block(s)
		checkSafe(t, s, line, false)
		checkSafe(t, s, block, true)
		if strings.ContainsRune(line, '\n') {
			t.Fatalf("Line(%q) contains a newline", s)
		}
		if got := Bytes(in); got != line {
			t.Fatalf("Bytes(%q) = %q, Line = %q", s, got, line)
		}
		if got := BlockBytes(in); got != block {
			t.Fatalf("BlockBytes(%q) = %q, Block = %q", s, got, block)
		}
		if Line(line) != line || Block(block) != block {
			t.Fatalf("sanitizing is not idempotent for %q", s)
		}
		if want := strings.Count(strings.ReplaceAll(s, "\r\n", "\n"), "\n"); strings.Count(block, "\n") != want {
			t.Fatalf("Block(%q) has %d newlines, want %d", s, strings.Count(block, "\n"), want)
		}
		if IsClean(s) != (line == s) {
			t.Fatalf("IsClean(%q) = %v but Line changed it: %v", s, IsClean(s), line != s)
		}
	})
}

func benchInputs() map[string][]byte {
	const size = 1 << 20
	cleanLine := []byte(`{"sku":"A-1","name":"Crème brûlée","qty":12}` + "\n")
	clean := bytes.Repeat(cleanLine, size/len(cleanLine)+1)[:size]
	// Cut on a rune boundary so the clean input stays valid UTF-8.
	for !utf8.Valid(clean) {
		clean = clean[:len(clean)-1]
	}
	hostileChunk := []byte("\x1b[2J\x1b]0;x\x07\xff\u202e\t\u0085ok")
	hostile := bytes.Repeat(hostileChunk, size/len(hostileChunk)+1)[:size]
	return map[string][]byte{"clean-1MiB": clean, "hostile-1MiB": hostile}
}

func BenchmarkBlock(b *testing.B) {
	for name, in := range benchInputs() {
		s := string(in)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				_ = Block(s)
			}
		})
	}
}

func BenchmarkBytes(b *testing.B) {
	for name, in := range benchInputs() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				_ = Bytes(in)
			}
		})
	}
}
