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
	}
	prefixes := []string{"", "arn:aws:iam::123456789012:role/", "arn:aws:events:us-east-1:123456789012:event-bus/",
		"arn:aws:dynamodb:us-east-1:123456789012:table/", "x:"}
	for p, expr := range counted {
		old := regexp.MustCompile(expr)
		for _, pre := range prefixes {
			for _, fill := range []string{"a", "A.b-c_d", "a b", "é"} {
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
