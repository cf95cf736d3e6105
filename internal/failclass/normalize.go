// Package failclass is the one home of "which failures are one cause" and "will a redrive
// fix it": it normalizes error messages into failure classes, tells permanent from
// transient failures by patterns (status.permanent_errors, status.transient_errors, then
// the defaults in rules.go), and groups failures with their counts, first and last seen
// and a sparkline. It is pure Go: of stowage it imports only internal/config, and no
// terminal library (the CLI and the TUI sanitize what they print).
package failclass

import (
	"strings"
	"unicode/utf8"
)

// Placeholders that Normalize writes in place of the parts of a message that vary between
// failures of one cause.
const (
	PhNumber = "<n>"
	PhUUID   = "<uuid>"
	PhTime   = "<time>"
	PhHost   = "<host>"
	PhHex    = "<hex>"
	PhValue  = "<v>" // inside the quotes that held it
)

// maxInput bounds the work per message (a status item can hold a 400 KB error); maxKey
// bounds a class key. Both are far past what tells one cause from another.
const (
	maxInput = 8 << 10
	maxKey   = 1 << 10
)

// Normalize turns an error message into its class key: numbers, UUIDs, timestamps, hosts
// (IP addresses, host:port, dotted names under a common top-level domain), long hex ids
// and quoted values become placeholders; control characters and runs of white space
// become one space. A 3-digit number in 100-599 right after "status", "code" or "HTTP"
// is kept, so that a 503 and a 400 stay apart. Line and column numbers are numbers, so
// "XML syntax error at line 11, column 7: unexpected EOF" and "… line 5, column 2 …"
// are one class. Normalize(Normalize(s)) == Normalize(s).
func Normalize(msg string) string {
	if len(msg) > maxInput {
		msg = cutAtRune(msg, maxInput)
	}
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "\uFFFD")
	}
	n := normalizer{out: make([]byte, 0, len(msg)+16)}
	n.run(msg)
	out := strings.TrimRight(string(n.out), " ")
	if len(out) > maxKey {
		out = cutAtRune(out, maxKey) + "…"
	}
	return out
}

// cutAtRune returns s cut to at most n bytes without splitting a UTF-8 sequence.
func cutAtRune(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

type normalizer struct {
	out      []byte
	prevWord string // the last all-letter word, lowercased, for the HTTP status rule
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }
func isHex(c byte) bool    { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// isTokenByte: the bytes of a word, a number, a host, a timestamp or an id.
func isTokenByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == ':' }

func isSpace(c byte) bool { return c <= ' ' || c == 0x7f }

var placeholders = []string{PhNumber, PhUUID, PhTime, PhHost, PhHex, PhValue}

func (n *normalizer) space() {
	if len(n.out) > 0 && n.out[len(n.out)-1] != ' ' {
		n.out = append(n.out, ' ')
	}
}

func (n *normalizer) run(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			n.space()
			i++
		case c == '<':
			if p := placeholderAt(s[i:]); p != "" {
				n.out = append(n.out, p...)
				i += len(p)
				continue
			}
			n.out = append(n.out, c)
			i++
		case c == '"' || c == '`' || (c == '\'' && !n.afterWord()):
			if end := closingQuote(s, i); end > 0 {
				n.out = append(n.out, c)
				n.out = append(n.out, PhValue...)
				n.out = append(n.out, c)
				i = end + 1
				continue
			}
			n.out = append(n.out, c)
			i++
		case isTokenByte(c):
			j := i
			for j < len(s) && isTokenByte(s[j]) {
				j++
			}
			// Trailing punctuation belongs to the sentence, not the token.
			k := j
			for k > i && (s[k-1] == '.' || s[k-1] == ':' || s[k-1] == '-') {
				k--
			}
			n.token(s[i:k])
			n.out = append(n.out, s[k:j]...)
			i = j
		case c < utf8.RuneSelf:
			n.out = append(n.out, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == 0x85 || r == 0x2028 || r == 0x2029 || (r >= 0x80 && r < 0xa0) {
				n.space() // C1 controls and line separators
			} else {
				n.out = append(n.out, s[i:i+size]...)
			}
			i += size
		}
	}
}

// afterWord: the output ends in a word or a placeholder, so a single quote is an
// apostrophe (decided on the output, so that a second pass decides the same).
func (n *normalizer) afterWord() bool {
	if len(n.out) == 0 {
		return false
	}
	c := n.out[len(n.out)-1]
	return isAlnum(c) || c == '>'
}

func placeholderAt(s string) string {
	for _, p := range placeholders {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

// closingQuote returns the index of the quote that closes the one at s[open], or -1. A
// double or single quote may be escaped with a backslash; a single quote closes only before a
// byte that starts no word or placeholder (so "can't" is not a quote).
func closingQuote(s string, open int) int {
	q := s[open]
	for i := open + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && q != '`':
			i++
		case c == q:
			if q == '\'' && i+1 < len(s) && (isAlnum(s[i+1]) || s[i+1] == '<') {
				continue
			}
			return i
		}
	}
	return -1
}

// token writes one run of token bytes, normalized.
func (n *normalizer) token(t string) {
	if t == "" {
		return
	}
	switch {
	case isTimestamp(t), isTimeOfDay(t):
		n.out = append(n.out, PhTime...)
		return
	case isUUID(t):
		n.out = append(n.out, PhUUID...)
		return
	case isHost(t):
		n.out = append(n.out, PhHost...)
		return
	case isLongHex(t):
		n.out = append(n.out, PhHex...)
		return
	}
	if allLetters(t) {
		n.prevWord = strings.ToLower(t)
		n.out = append(n.out, t...)
		return
	}
	if len(t) == 3 && t[0] >= '1' && t[0] <= '5' && isDigit(t[1]) && isDigit(t[2]) {
		switch n.prevWord {
		case "status", "code", "http":
			n.out = append(n.out, t...)
			return
		}
	}
	// The first id or number inside the token becomes a placeholder; what is before and
	// after it is tokenized again, as a second pass would see it (split by the placeholder).
	for i := 0; i < len(t); i++ {
		ph, end := "", 0
		switch {
		case (i == 0 || isSep(t[i-1])) && uuidAt(t[i:]):
			ph, end = PhUUID, i+36
		case isDigit(t[i]):
			end = i
			for end < len(t) && isDigit(t[end]) {
				end++
			}
			ph = PhNumber
		}
		if i == 0 || isSep(t[i-1]) {
			j := i
			for j < len(t) && !isSep(t[j]) {
				j++
			}
			if ph != PhUUID && isLongHex(t[i:j]) {
				ph, end = PhHex, j
			} else if ph == PhNumber && isHexNumber(t[i:j]) {
				ph, end = PhNumber, j // U+001B, 0x1b: one number, not "<n>B"
			}
		}
		if ph != "" {
			n.run(t[:i])
			n.out = append(n.out, ph...)
			n.run(t[end:])
			return
		}
	}
	n.out = append(n.out, t...)
}

// isSep: the bytes that separate the parts of a token.
func isSep(c byte) bool { return c == '-' || c == '_' || c == '.' || c == ':' }

func allLetters(t string) bool {
	for i := 0; i < len(t); i++ {
		if !isLetter(t[i]) {
			return false
		}
	}
	return true
}

// isUUID: 8-4-4-4-12 hex digits.
func isUUID(t string) bool { return len(t) == 36 && uuidAt(t) }

func uuidAt(t string) bool {
	if len(t) < 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if t[i] != '-' {
				return false
			}
		default:
			if !isHex(t[i]) {
				return false
			}
		}
	}
	return len(t) == 36 || !isHex(t[36])
}

// isTimestamp: a token that starts with a date, YYYY-MM-DD (RFC 3339 and friends).
func isTimestamp(t string) bool {
	if len(t) < 10 {
		return false
	}
	for i := 0; i < 10; i++ {
		if i == 4 || i == 7 {
			if t[i] != '-' {
				return false
			}
		} else if !isDigit(t[i]) {
			return false
		}
	}
	return true
}

// isTimeOfDay: hh:mm:ss with an optional fraction.
func isTimeOfDay(t string) bool {
	if len(t) < 8 || !isDigit(t[0]) || !isDigit(t[1]) || t[2] != ':' || !isDigit(t[3]) || !isDigit(t[4]) ||
		t[5] != ':' || !isDigit(t[6]) || !isDigit(t[7]) {
		return false
	}
	if len(t) == 8 {
		return true
	}
	if t[8] != '.' || len(t) == 9 {
		return false
	}
	for i := 9; i < len(t); i++ {
		if !isDigit(t[i]) {
			return false
		}
	}
	return true
}

// isLongHex: an id of 8 or more hex digits with at least one digit and one letter
// (a request id, a hash, an X-Ray trace segment).
func isLongHex(t string) bool {
	if len(t) < 8 {
		return false
	}
	var digit, letter bool
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case isDigit(c):
			digit = true
		case isHex(c):
			letter = true
		default:
			return false
		}
	}
	return digit && letter
}

// tlds are the last labels that make a dotted name a host rather than a field path.
var tlds = map[string]bool{
	"com": true, "net": true, "org": true, "io": true, "dev": true, "app": true, "cloud": true,
	"internal": true, "local": true, "localdomain": true, "lan": true, "aws": true, "co": true,
	"info": true, "biz": true, "us": true, "eu": true, "uk": true, "de": true, "cn": true,
}

// isHost: an IPv4 address, localhost, or a dotted name whose last label is a common
// top-level domain, each with an optional :port; or any dotted name with a :port.
func isHost(t string) bool {
	name, port := t, ""
	if i := strings.LastIndexByte(t, ':'); i >= 0 {
		name, port = t[:i], t[i+1:]
		if port == "" || len(port) > 5 || !allDigits(port) {
			return false
		}
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return false
	}
	if len(labels) == 4 && allDigits(labels[0]) && allDigits(labels[1]) && allDigits(labels[2]) && allDigits(labels[3]) {
		for _, l := range labels {
			if len(l) > 3 {
				return false
			}
		}
		return true
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	if !allLetters(last) {
		return false
	}
	return port != "" || tlds[strings.ToLower(last)]
}

func allDigits(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) {
			return false
		}
	}
	return true
}

// isHexNumber: a number written in hex, "0x" then hex digits, or at least four hex digits
// that start with a digit and hold a letter (a code point like 001B); "1d" or "3e" stay
// a number and a word.
func isHexNumber(t string) bool {
	if len(t) > 2 && t[0] == '0' && t[1]|0x20 == 'x' {
		return allHex(t[2:])
	}
	if len(t) < 4 || !isDigit(t[0]) || !allHex(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) {
			return true
		}
	}
	return false
}

func allHex(t string) bool {
	for i := 0; i < len(t); i++ {
		if !isHex(t[i]) {
			return false
		}
	}
	return t != ""
}
