package trace

import (
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
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

// A redrive is journaled to the nanosecond, the processor's line it caused to the
// millisecond: within one millisecond the redrive still comes first (it came last when
// both fell in the same millisecond).
func TestEntriesOfOneMillisecondInTheOrderThingsHappen(t *testing.T) {
	ms := time.Date(2026, 12, 7, 17, 20, 16, 891_000_000, time.UTC)
	in := Inputs{RequestID: "r", Key: "r", Bucket: "b",
		Runs: []Run{{SentAt: ms.Add(500 * time.Microsecond)}},
		Logs: &awsclient.LogResult{Events: []awsclient.LogEvent{{Group: "g", At: ms, Message: "INFO processed"}}},
	}
	in.Runs[0].Mode, in.Runs[0].Outcome = "inplace", "delivered"
	var got []Source
	for _, e := range Build(in).Entries {
		got = append(got, e.Source)
	}
	if len(got) != 2 || got[0] != SourceStowage || got[1] != SourceProcessor {
		t.Errorf("order %v, want the redrive then the processor", got)
	}
}
