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
		{"1d", 0, "use 24h"},
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
