package trace

import (
	"strings"
	"testing"
	"time"
)

// S3 dates a store to the second: the redrive and the gateway line of that second come
// first, as they happened.
func TestStoreComesAfterItsSender(t *testing.T) {
	sec := time.Date(2026, 3, 2, 11, 2, 41, 0, time.UTC)
	es := storesAfterTheirSenders([]Entry{
		{At: sec, Source: SourceS3, Summary: "stored again"},
		{At: sec.Add(595 * time.Millisecond), Source: SourceStowage, Summary: "redrive"},
		{At: sec.Add(602 * time.Millisecond), Source: SourceGateway, Summary: "PUT"},
		{At: sec.Add(602 * time.Millisecond), Source: SourceProcessor, Summary: "processing"},
	})
	var got []string
	for _, e := range es {
		got = append(got, e.Summary)
	}
	if strings.Join(got, ",") != "redrive,PUT,stored again,processing" {
		t.Errorf("order %v", got)
	}
}

func TestShortOperator(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::123456789012:user/alice":                     "user/alice",
		"arn:aws:sts::123456789012:assumed-role/OnCall/alice@corp": "assumed-role/OnCall/alice@corp",
		"demo": "demo", "arn:broken": "arn:broken",
	} {
		if got := shortOperator(in); got != want {
			t.Errorf("shortOperator(%q) = %q, want %q", in, got, want)
		}
	}
}
