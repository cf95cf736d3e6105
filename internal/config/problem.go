package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Problem is one thing wrong (or, with Warning, questionable) in a config file.
type Problem struct {
	File    string // the file's path as given ("" for a config built in memory)
	Line    int    // 0 when unknown
	Env     string // "" for problems outside any environment
	Field   string // dotted path from the top of the file: environments.prod.gateway.auth
	Message string // what is wrong and what is expected; never holds a secret
	Warning bool
}

// String formats the problem like a compiler message:
//
//	config.yaml:12: environments.prod.gateway.auth: "apikey" is not one of api-key, iam, none
//	config.yaml:14: warning: environments.dev.gateway.api_key: ...
func (p Problem) String() string {
	var b strings.Builder
	file := p.File
	if file == "" {
		file = "config"
	}
	b.WriteString(file)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Field != "" {
		b.WriteString(printable(p.Field))
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is a config that cannot be used, with every problem found (warnings included, so
// a caller printing it shows the whole picture).
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems that are not warnings.
func (e *Error) Errors() []Problem { return filterProblems(e.Problems, false) }

// Warnings returns the problems that are only warnings.
func Warnings(ps []Problem) []Problem { return filterProblems(ps, true) }

// Errors returns the problems that are not warnings.
func Errors(ps []Problem) []Problem { return filterProblems(ps, false) }

func filterProblems(ps []Problem, warning bool) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Warning == warning {
			out = append(out, p)
		}
	}
	return out
}

// Check returns an *Error holding ps when at least one of them is not a warning, else nil.
func Check(ps []Problem) error {
	if len(Errors(ps)) == 0 {
		return nil
	}
	return &Error{Problems: ps}
}

// quote quotes s for a message, escaping anything a terminal would interpret.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.QuoteToGraphic(s[:cut]) + "…"
	}
	return strconv.QuoteToGraphic(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// printable makes a field path or a YAML parser message safe for a terminal: both can
// carry bytes from the file.
func printable(s string) string { return sanitize.Line(s) }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "nothing"
}
