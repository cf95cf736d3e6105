package config

import (
	"regexp"
	"sync"
)

// pattern is a regular expression compiled on its first use, not at package init:
// counted repetitions ({1,512}) make big programs, and every stowage command paid for
// all of them before its first request (#13). TestPatternsCompile compiles each.
type pattern struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
	// A bounded pattern's last group must be min to max bytes long: a long counted
	// repetition ([a-z]{1,512}) compiles into as many states as its bound, about a
	// millisecond each time, so it is written as a + and counted here instead.
	bounded  bool
	min, max int
}

// lazy is expr, compiled when first used.
func lazy(expr string) *pattern { return &pattern{expr: expr} }

func (p *pattern) get() *regexp.Regexp {
	p.once.Do(func() { p.re = regexp.MustCompile(p.expr) })
	return p.re
}

// boundedLast is expr, whose last capturing group must be min to max bytes long.
func boundedLast(expr string, min, max int) *pattern {
	return &pattern{expr: expr, bounded: true, min: min, max: max}
}

// MatchString is regexp.Regexp.MatchString, with a bounded pattern's length check.
func (p *pattern) MatchString(s string) bool {
	if !p.bounded {
		return p.get().MatchString(s)
	}
	m := p.get().FindStringSubmatchIndex(s)
	if m == nil {
		return false
	}
	n := m[len(m)-1] - m[len(m)-2]
	return n >= p.min && n <= p.max
}

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (p *pattern) FindStringSubmatch(s string) []string { return p.get().FindStringSubmatch(s) }
