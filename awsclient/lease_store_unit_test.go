package awsclient

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A lease item is written by other machines: whatever it holds, reading it never panics
// and a claim's String is one clean line.
func FuzzClaimOf(f *testing.F) {
	f.Add("run-1", "ana@laptop", "1796612400000", "1796612460000", "delivered", "1796612401000", true)
	f.Add("", "", "not a number", "-1", "", "9223372036854775807", false)
	f.Add("r\x1b[31m", "op\nx", "1e3", "", "x", "", false)
	f.Fuzz(func(t *testing.T, run, op, claimed, expires, outcome, sentAt string, sent bool) {
		item := map[string]ddbtypes.AttributeValue{
			leaseRun: &ddbtypes.AttributeValueMemberS{Value: run}, leaseOp: &ddbtypes.AttributeValueMemberS{Value: op},
			leaseClaimed: &ddbtypes.AttributeValueMemberN{Value: claimed}, leaseExpires: &ddbtypes.AttributeValueMemberN{Value: expires},
			leaseOutcome: &ddbtypes.AttributeValueMemberS{Value: outcome}, leaseSentAt: &ddbtypes.AttributeValueMemberN{Value: sentAt},
			leaseSentBy: &ddbtypes.AttributeValueMemberS{Value: run}, leaseSent: &ddbtypes.AttributeValueMemberBOOL{Value: sent},
		}
		c := claimOf("id", item)
		if c.RunID != run || c.Sent != sent {
			t.Fatalf("claim %+v", c)
		}
		_ = c.Live(time.Now())
		if s := c.String(); strings.ContainsAny(s, "\n\r\x1b") || !utf8.ValidString(s) {
			t.Fatalf("String() = %q", s)
		}
	})
}

// The probe reads whatever answered at gateway.url.
func FuzzProbeMessage(f *testing.F) {
	f.Add([]byte(`{"message":"Forbidden"}`))
	f.Add([]byte(`<!DOCTYPE html><html>`))
	f.Add([]byte("\xff\xfe{\"message\":"))
	f.Add([]byte(`{"message":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, isJSON := probeMessage(body)
		if !isJSON && (!utf8.ValidString(msg) || len(msg) > 124) {
			t.Fatalf("message %q (%d bytes)", msg, len(msg))
		}
		_ = looksLikeHTML(body)
	})
}

func TestLeaseNamesAreOnlyThoseUsed(t *testing.T) {
	got := names("SET #run = :run, #op = :op", "attribute_not_exists(#id) OR #exp <= :now")
	if len(got) != 4 || got["#id"] != LeaseKeyAttr || got["#exp"] != leaseExpires {
		t.Fatalf("names = %v", got)
	}
	// Remembered, and each caller gets a map of its own.
	got["#x"] = "changed"
	again := names("SET #run = :run, #op = :op", "attribute_not_exists(#id) OR #exp <= :now")
	if len(again) != 4 || again["#x"] != "" {
		t.Fatalf("a caller's change reached the next caller: %v", again)
	}
	if other := names("SET #run = :run", "#run = :run"); len(other) != 1 {
		t.Fatalf("names = %v", other)
	}
}
