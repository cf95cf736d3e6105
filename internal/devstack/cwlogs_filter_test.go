package devstack

import (
	"strings"
	"testing"
)

func TestFilterPatterns(t *testing.T) {
	msgs := []string{
		`START RequestId: u-1 Version: $LATEST`,
		`{"level":"ERROR","requestId":"abc-1","errorType":"parse","n":3,"nested":{"k":"v"},"list":["x","y"]}`,
		`{"level":"INFO","requestId":"abc-2","message":"processed","n":7}`,
		`plain text abc-1 mentioned`,
		`not json {`,
	}
	cases := []struct {
		pattern string
		want    string // indexes of the matching messages
	}{
		{``, "01234"},
		{`"abc-1"`, "13"},
		{`abc-1`, "13"},
		{`START u-1`, "0"},
		{`abc -ERROR`, "23"},
		{`?START ?processed`, "02"},
		{`{ $.requestId = "abc-1" }`, "1"},
		{`{$.requestId="abc-*"}`, "12"},
		{`{ $.requestId != "abc-1" }`, "2"},
		{`{ $.n > 5 }`, "2"},
		{`{ $.n >= 3 && $.n < 4 }`, "1"},
		{`{ $.level = "INFO" || $.errorType = parse }`, "12"},
		{`{ ($.n = 3 || $.n = 7) && $.level = "INFO" }`, "2"},
		{`{ $.nested.k = "v" }`, "1"},
		{`{ $.list[1] = "y" }`, "1"},
		{`{ $.missing = "x" }`, ""},
	}
	for _, c := range cases {
		p, err := parseFilterPattern(c.pattern)
		if err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		var got strings.Builder
		for i, m := range msgs {
			if p.match(m) {
				got.WriteByte(byte('0' + i))
			}
		}
		if got.String() != c.want {
			t.Errorf("%s matches %q, want %q", c.pattern, got.String(), c.want)
		}
	}
}

func TestFilterPatternErrors(t *testing.T) {
	for _, p := range []string{`"open`, `{ $.a = "x" `, `{ }`, `{ a = 1 }`, `{ $. = 1 }`, `{ $.a ~ 1 }`, `{ $.a = }`,
		`{ $.a > "x" }`, `{ $.a = "x*y" }`, `{ ($.a = 1 }`, `a=b`, `[ip, user]`, `?`, `"a"b`, `{ $.a = 1 } x`,
		strings.Repeat("(", 40)} {
		if _, err := parseFilterPattern(p); err == nil || !isPatternError(err) {
			t.Errorf("%q: err = %v, want a pattern error", p, err)
		}
	}
}

// FuzzFilterPattern: any pattern parses or fails with a pattern error, and a parsed one
// matches any message without panicking; a JSON pattern's prefilter never hides a match.
func FuzzFilterPattern(f *testing.F) {
	for _, s := range []string{``, `"abc"`, `a -b ?c`, `{ $.requestId = "x" }`, `{ ($.a = 1 || $.b != "q*") && $.c[0] >= 2.5 }`,
		`{$.a="x"&&$.b="y"}`, `[a, b]`, `"`, `{`, `{ $.a.b.c = true }`} {
		f.Add(s, `{"requestId":"x","a":1,"b":"y","c":[3]}`)
	}
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		p, err := parseFilterPattern(pattern)
		if err != nil {
			if !isPatternError(err) {
				t.Fatalf("%q: %v is not a pattern error", pattern, err)
			}
			return
		}
		got := p.match(msg)
		if p.json != nil && len(p.need) > 0 {
			q := *p
			q.need = nil
			if q.match(msg) != got {
				t.Fatalf("%q on %q: the prefilter changed the answer", pattern, msg)
			}
		}
	})
}

// FuzzInsightsQuery: any query compiles or is a MalformedQueryException; none panics.
func FuzzInsightsQuery(f *testing.F) {
	for _, s := range []string{
		"fields @timestamp, @message, @logStream, @log | filter @message like /abc-1/ | sort @timestamp asc | limit 10000",
		`filter @message like "x" or @message like 'y' | sort @timestamp`, "limit 0", "stats count(*)", `filter @message like /a|b/`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out, err := parseInsights(q)
		if err != nil {
			if ce, ok := err.(*cwError); !ok || ce.code != "MalformedQueryException" {
				t.Fatalf("%q: %v", q, err)
			}
			return
		}
		if out.limit < 1 || out.limit > maxInsightsLimit || len(out.fields) == 0 {
			t.Fatalf("%q: %+v", q, out)
		}
	})
}
