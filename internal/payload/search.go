package payload

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search finds query in the displayed (sanitized) lines, starting at line from and
// wrapping around the end, like "/" in less or vim. Forward it returns the first match
// in the first matching line at or after from; backward, the last match in the first
// matching line at or before from. col is a byte offset into Line(line). The search is
// case-insensitive unless query has an upper-case letter (smart case).
func (d *Document) Search(query string, from int, forward bool) (line, col int, ok bool) {
	n := d.Lines()
	if query == "" || n == 0 {
		return 0, 0, false
	}
	from = max(0, min(from, n-1))
	m := newMatcher(query)
	for k := range n {
		i := from + k
		if !forward {
			i = from - k
		}
		i = ((i % n) + n) % n
		s := d.Line(i)
		if c := m.index(s, forward); c >= 0 {
			return i, c, true
		}
	}
	return 0, 0, false
}

// Next finds the match after (forward) or before the one at line, col, wrapping
// around, for "n" and "N". It finds every match in a line, not just the first.
func (d *Document) Next(query string, line, col int, forward bool) (int, int, bool) {
	n := d.Lines()
	if query == "" || n == 0 {
		return 0, 0, false
	}
	line = max(0, min(line, n-1))
	m := newMatcher(query)
	s := d.Line(line)
	if forward {
		if start := col + 1; start <= len(s) {
			if c := m.index(s[start:], true); c >= 0 {
				return line, start + c, true
			}
		}
	} else if end := min(max(col, 0), len(s)); end > 0 {
		// The last match starting before col; it may run past col.
		if c := m.lastBefore(s, end); c >= 0 {
			return line, c, true
		}
	}
	if n == 1 {
		// Wrap within the only line.
		if c := m.index(s, forward); c >= 0 {
			return line, c, true
		}
		return 0, 0, false
	}
	step := 1
	if !forward {
		step = -1
	}
	return d.Search(query, ((line+step)%n+n)%n, forward)
}

// matcher finds a query with smart case.
type matcher struct {
	q    string
	fold bool // compare case-insensitively
	// asciiFold: fold with a byte loop (query is ASCII); otherwise rune by rune.
	asciiFold bool
}

func newMatcher(q string) matcher {
	m := matcher{q: q, fold: !strings.ContainsFunc(q, unicode.IsUpper)}
	if m.fold {
		m.asciiFold = true
		for i := 0; i < len(q); i++ {
			if q[i] >= utf8.RuneSelf {
				m.asciiFold = false
				break
			}
		}
	}
	return m
}

// index returns the byte offset of the first (or, with first false, last) match in s.
func (m matcher) index(s string, first bool) int {
	if !first {
		return m.lastBefore(s, len(s))
	}
	switch {
	case !m.fold:
		return strings.Index(s, m.q)
	case m.asciiFold:
		return indexASCIIFold(s, m.q)
	}
	for i := range s {
		if hasPrefixFold(s[i:], m.q) {
			return i
		}
	}
	return -1
}

// lastBefore returns the offset of the last match starting before end, or -1.
func (m matcher) lastBefore(s string, end int) int {
	last := -1
	for start := 0; start < end; {
		c := m.index(s[start:], true)
		if c < 0 || start+c >= end {
			break
		}
		last = start + c
		_, size := utf8.DecodeRuneInString(s[last:])
		start = last + size
	}
	return last
}

// indexASCIIFold is strings.Index ignoring ASCII case; q is ASCII and lower-case.
func indexASCIIFold(s, q string) int {
	if len(q) > len(s) {
		return -1
	}
	c0 := q[0]
	upper0 := c0
	if 'a' <= c0 && c0 <= 'z' {
		upper0 = c0 - 'a' + 'A'
	}
	for i := 0; i+len(q) <= len(s); i++ {
		if s[i] != c0 && s[i] != upper0 {
			continue
		}
		j := 1
		for ; j < len(q); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != q[j] {
				break
			}
		}
		if j == len(q) {
			return i
		}
	}
	return -1
}

// hasPrefixFold reports whether s starts with q under Unicode simple case folding.
func hasPrefixFold(s, q string) bool {
	for q != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(q)
		if r1 != r2 && !equalFoldRune(r1, r2) {
			return false
		}
		s, q = s[n1:], q[n2:]
	}
	return true
}

func equalFoldRune(a, b rune) bool {
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
