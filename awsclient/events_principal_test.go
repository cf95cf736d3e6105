package awsclient

import (
	"context"
	"errors"
	"testing"
)

func TestPrincipalIDOf(t *testing.T) {
	for in, want := range map[string]string{
		"AIDAJDPLRKLG7UEXAMPLE":                "AWS:AIDAJDPLRKLG7UEXAMPLE",
		"AROAEXAMPLE:alice@example.com":        "AWS:AROAEXAMPLE:alice@example.com",
		"":                                     "",
		"AIDA\x1b[31m":                         "",
		"arn:aws:iam::111122223333:user/alice": "", // an ARN has "/": not a UserId
	} {
		if got := PrincipalIDOf(in); got != want {
			t.Errorf("PrincipalIDOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// The caller is asked once per sender, a failure included: a run builds thousands of
// events and must not ask STS for each.
func TestPrincipalIDAsksOnce(t *testing.T) {
	var s EventSender
	if s.PrincipalID(context.Background()) != "" {
		t.Error("no caller: want no principal")
	}
	for _, c := range []struct {
		id   string
		err  error
		want string
	}{{"AIDAJDPLRKLG7UEXAMPLE", nil, "AWS:AIDAJDPLRKLG7UEXAMPLE"}, {"", errors.New("ExpiredToken"), ""}} {
		s := &EventSender{}
		calls := 0
		s.SetCaller(func(context.Context) (string, error) { calls++; return c.id, c.err })
		for range 3 {
			if got := s.PrincipalID(context.Background()); got != c.want {
				t.Errorf("principal %q, want %q", got, c.want)
			}
		}
		if calls != 1 {
			t.Errorf("%d lookups, want 1", calls)
		}
	}
}

func FuzzPrincipalIDOf(f *testing.F) {
	for _, s := range []string{"AIDAJDPLRKLG7UEXAMPLE", "AROA:x", "", "a/b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got := PrincipalIDOf(id)
		if got != "" && got != "AWS:"+id {
			t.Fatalf("%q: %q", id, got)
		}
		for _, r := range got {
			if r < 0x21 || r > 0x7e || r == '/' || r == '"' {
				t.Fatalf("%q: %q carries %q", id, got, r)
			}
		}
	})
}
