package config

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDurationYAML(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"15m", 15 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"90s", 90 * time.Second, ""},
		{"0", 0, ""},
		{`"2h"`, 2 * time.Hour, ""},
		{"15", 0, "add a unit"},
		{"1d", 24 * time.Hour, ""},
		{"2d", 48 * time.Hour, ""},
		{"1w2d", 9 * 24 * time.Hour, ""},
		{"2d12h", 60 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"1d1d", 48 * time.Hour, ""}, // units may repeat, as in Go's own "1h1h"
		{"d", 0, "not a duration"},
		{"2x", 0, "not a duration"},
		{"9999999w", 0, "not a duration"},
		{"soon", 0, "not a duration"},
		{"[1m]", 0, "found a list"},
	} {
		var d Duration
		err := yaml.Unmarshal([]byte(c.in), &d)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || d.Duration != c.want {
			t.Errorf("%s: %v, %v; want %v", c.in, d, err, c.want)
		}
	}
}

func TestDurationMarshalsShort(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute:        "15m",
		90 * time.Minute:        "1h30m",
		2 * time.Hour:           "2h",
		90 * time.Second:        "1m30s",
		1500 * time.Millisecond: "1.5s",
	} {
		out, err := yaml.Marshal(Duration{d})
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("Marshal(%v) = %q, %v; want %q", d, out, err, want)
		}
		var back Duration
		if err := yaml.Unmarshal(out, &back); err != nil || back.Duration != d {
			t.Errorf("round trip of %v = %v, %v", d, back, err)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2d", now.Add(-48 * time.Hour), ""},
		{"1w2d", now.Add(-9 * 24 * time.Hour), ""},
		{"90m", now.Add(-90 * time.Minute), ""},
		{"2026-03-01T12:00:00Z", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), ""},
		{"2026-03-01T12:00:00+01:00", time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), ""},
		{"2026-03-01", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ""},
		{"-1h", time.Time{}, "positive"},
		{"0", time.Time{}, "positive"},
		{"yesterday", time.Time{}, "2026-03-01T12:00:00Z"},
	} {
		got, err := ParseSince(c.in, now)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%s: %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// FuzzParseDuration: never panics; agrees with time.ParseDuration wherever Go accepts
// the text; a day is 24h of whatever Go reads for hours.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"15m", "1h30m", "2d", "1w2d", "1.5d", "-1d", "0", "", "d", "1d1", "9999999999w", ".d", "1µs2d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDuration(s)
		if want, gerr := time.ParseDuration(strings.TrimSpace(s)); gerr == nil && strings.TrimSpace(s) != "0" {
			if err != nil || got != want {
				t.Fatalf("%q: %v, %v; Go reads %v", s, got, err, want)
			}
		}
		if err != nil {
			return
		}
		if d, derr := ParseDuration(strings.TrimSpace(s) + "1d"); derr == nil && !strings.HasPrefix(strings.TrimSpace(s), "-") && d != got+Day && !strings.ContainsAny(s, "dw") {
			t.Fatalf("%q+1d = %v, want %v", s, d, got+Day)
		}
	})
}

func TestDurationIsAFlagValue(t *testing.T) {
	var d Duration
	if err := d.Set("1w2d"); err != nil || d.Duration != 9*Day || d.String() != "216h" {
		t.Fatalf("Set(1w2d) = %v, %v (%s)", d.Duration, err, d.String())
	}
	if err := d.Set("soon"); err == nil || !strings.Contains(err.Error(), "2d or 1w") {
		t.Fatalf("Set(soon) = %v", err)
	}
}
