package redrive

import (
	"encoding/json"
	"testing"

	"github.com/stowage-cli/stowage/internal/s3event"
)

// An event's userIdentity.principalId is what S3 writes there: the caller's unique ID
// ("AWS:AIDA…", "AWS:AROA…:session"), not the operator's ARN; "stowage" when the ID is not
// known. (It used to be the ARN.)
func TestEventPrincipalIsTheCallersIDNotItsARN(t *testing.T) {
	for _, c := range []struct{ known, want string }{
		{"AWS:AIDAJDPLRKLG7UEXAMPLE", "AWS:AIDAJDPLRKLG7UEXAMPLE"},
		{"", "stowage"},
	} {
		g := newEventRig(t, 3)
		g.ev.principal = c.known
		g.o.Operator = "arn:aws:iam::111122223333:user/ops"
		if _, rep := g.run(t, g.plan(t, ModeSQS)); rep.Counts.Delivered != 3 {
			t.Fatalf("counts %+v", rep.Counts)
		}
		for _, id := range g.ids {
			var n s3event.Notification
			if err := json.Unmarshal(g.ev.sentTo(id)[0].Body, &n); err != nil {
				t.Fatal(err)
			}
			if got := n.Records[0].UserIdentity.PrincipalID; got != c.want {
				t.Errorf("%s: principalId %q, want %q", id, got, c.want)
			}
		}
	}
}
