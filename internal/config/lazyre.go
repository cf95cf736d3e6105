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
}

// lazy is expr, compiled when first used.
func lazy(expr string) *pattern { return &pattern{expr: expr} }

func (p *pattern) get() *regexp.Regexp {
	p.once.Do(func() { p.re = regexp.MustCompile(p.expr) })
	return p.re
}

// MatchString is regexp.Regexp.MatchString.
func (p *pattern) MatchString(s string) bool { return p.get().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (p *pattern) FindStringSubmatch(s string) []string { return p.get().FindStringSubmatch(s) }
