package config

import (
	"regexp"
	"strings"
	"testing"
)

// Every pattern compiles: they are compiled on first use now, not at package init, so a
// typo would otherwise wait for the configuration that uses it.
func TestPatternsCompile(t *testing.T) {
	for _, p := range []*pattern{bucketName, roleARN, accountID, queueNameRe, functionRe, qualifierRe, busNameRe, busARNRe,
		groupRe, sourceRe, yamlLineError, logGroupRe, envNameRe, regionRe, tableRe, tableARNRe, envVarRe, ssmNameRe,
		secretIDRe, headerRe, hexColorRe, bucketRe, legacyBktRe} {
		p.get()
	}
}

// A bounded pattern accepts exactly what the counted repetition it replaces accepted, at
// and around its bounds.
func TestBoundedPatternsMatchTheCountedOnes(t *testing.T) {
	counted := map[*pattern]string{
		roleARN:     `^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`,
		busNameRe:   `^[/.\-_A-Za-z0-9]{1,256}$`,
		busARNRe:    `^arn:aws[a-zA-Z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[/.\-_A-Za-z0-9]{1,256}$`,
		groupRe:     "^[!-~]{1,128}$",
		sourceRe:    "^[!-~]{1,256}$",
		logGroupRe:  `^[\.\-_/#A-Za-z0-9]{1,512}$`,
		tableRe:     `^[A-Za-z0-9_.-]{3,255}$`,
		tableARNRe:  `^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$`,
		legacyBktRe: `^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$`,
		envNameRe:   `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`,
		bucketRe:    `^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`,
		bucketName:  `^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`,
		queueNameRe: `^[A-Za-z0-9_-]{1,80}$`,
		qualifierRe: `^(\$LATEST|[a-zA-Z0-9_-]{1,128})$`,
	}
	prefixes := []string{"", "arn:aws:iam::123456789012:role/", "arn:aws:events:us-east-1:123456789012:event-bus/",
		"arn:aws:dynamodb:us-east-1:123456789012:table/", "x:"}
	for p, expr := range counted {
		old := regexp.MustCompile(expr)
		for _, pre := range prefixes {
			for _, fill := range []string{"a", "A.b-c_d", "a b", "é", "a-", "-a", "$LATEST", "a.", "a..b"} {
				for n := 0; n <= 520; n++ {
					s := pre + strings.Repeat(fill, n/len(fill)+1)[:n]
					if got, want := p.MatchString(s), old.MatchString(s); got != want {
						t.Fatalf("%s on %q (%d bytes): %v, the counted pattern says %v", expr, s, len(s), got, want)
					}
				}
			}
		}
	}
}

// countedFunction is SplitFunction's pattern as it was, with counted repetitions.
const countedFunction = `^(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?(-iso[a-z]*)?-[a-z]+-\d:\d{12}:function:|\d{12}:function:)?([a-zA-Z0-9_-]{1,64})(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$`

// splitCounted is SplitFunction as it was.
func splitCounted(re *regexp.Regexp, fn string) (string, string, bool) {
	m := re.FindStringSubmatch(fn)
	if m == nil {
		return "", "", false
	}
	return strings.TrimSuffix(fn, m[5]), m[6], true
}

// SplitFunction's lengths, checked after the match, accept what the counted pattern did.
func TestSplitFunctionMatchesTheCountedPattern(t *testing.T) {
	old := regexp.MustCompile(countedFunction)
	for _, pre := range []string{"", "123456789012:function:", "arn:aws:lambda:eu-west-1:111122223333:function:", "x:"} {
		for n := 0; n <= 70; n++ {
			name := strings.Repeat("f", n)
			for _, q := range []string{"", ":", ":$LATEST", ":live", ":" + strings.Repeat("q", 128), ":" + strings.Repeat("q", 129), ":a:b"} {
				s := pre + name + q
				f, qq, ok := SplitFunction(s)
				wf, wq, wok := splitCounted(old, s)
				if f != wf || qq != wq || ok != wok {
					t.Fatalf("SplitFunction(%q) = %q, %q, %v; the counted pattern says %q, %q, %v", s, f, qq, ok, wf, wq, wok)
				}
			}
		}
	}
}

func FuzzSplitFunctionMatchesTheCountedPattern(f *testing.F) {
	for _, s := range []string{"p", "p:live", "arn:aws:lambda:eu-west-1:111122223333:function:p:3", "123456789012:function:p", "a:b:c"} {
		f.Add(s)
	}
	old := regexp.MustCompile(countedFunction)
	f.Fuzz(func(t *testing.T, s string) {
		fn, q, ok := SplitFunction(s)
		wf, wq, wok := splitCounted(old, s)
		if fn != wf || q != wq || ok != wok {
			t.Errorf("SplitFunction(%q) = %q, %q, %v; the counted pattern says %q, %q, %v", s, fn, q, ok, wf, wq, wok)
		}
	})
}
