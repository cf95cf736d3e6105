package tui

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
)

// filterExpr is a parsed / filter: a case-insensitive substring, or /re/ a regular
// expression (case-insensitive, ^ and $ anchor each column), either negated by a leading !.
// It is matched against a row's text: one line per visible column (rowText).
type filterExpr struct {
	negate bool
	sub    string         // lower-case substring, when re is nil
	re     *regexp.Regexp // /re/
}

// errFilterRegexp wraps an invalid /re/ so the prompt can say what to fix.
var errFilterRegexp = errors.New("invalid regular expression")

// parseFilter reads a / filter: "term", "!term", "/re/", "!/re/". An empty expression
// (or a lone "!") matches everything. "!" and "/" are literal anywhere else, so "a/b" is a
// substring; "\!" searches for a leading "!".
func parseFilter(q string) (filterExpr, error) {
	var f filterExpr
	switch {
	case strings.HasPrefix(q, `\!`):
		q = q[1:]
	case strings.HasPrefix(q, "!"):
		f.negate, q = true, q[1:]
	}
	if q == "" {
		return filterExpr{}, nil // a lone "!" excludes nothing yet
	}
	if len(q) >= 2 && q[0] == '/' && q[len(q)-1] == '/' {
		re, err := regexp.Compile("(?im)" + q[1:len(q)-1])
		if err != nil {
			var se *syntax.Error
			msg := err.Error()
			if errors.As(err, &se) {
				msg = string(se.Code)
			}
			return filterExpr{}, errors.Join(errFilterRegexp, errors.New(msg))
		}
		f.re = re
		return f, nil
	}
	f.sub = strings.ToLower(q)
	return f, nil
}

// all reports whether the expression keeps every row.
func (f filterExpr) all() bool { return f.re == nil && f.sub == "" }

// narrows reports whether f keeps only rows that g kept (a longer substring), so that f
// can search g's result instead of every row.
func (f filterExpr) narrows(g filterExpr) bool {
	return !f.negate && !g.negate && f.re == nil && g.re == nil && g.sub != "" && strings.Contains(f.sub, g.sub)
}

// matches reports whether the lower-case row text passes the filter.
func (f filterExpr) matches(lowerText string) bool {
	var hit bool
	switch {
	case f.re != nil:
		hit = f.re.MatchString(lowerText)
	default:
		hit = strings.Contains(lowerText, f.sub)
	}
	return hit != f.negate
}

// filterMessage is what the prompt says about a filter that cannot be used.
func filterMessage(err error) string {
	if errors.Is(err, errFilterRegexp) {
		msg := err.Error()
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return "bad regexp (" + msg + "): fix it or drop the slashes"
	}
	return err.Error()
}
