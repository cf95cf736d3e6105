package config

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// UnmarshalYAML reads "15m", "1h30m" or "90s". A bare number other than 0 is refused:
// "15" could mean minutes or seconds, and guessing wrong hides or floods LOST requests.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration like 15m or 1h30m, found a %s", n.Line, kindName(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the shortest form ("15m", not "15m0s").
func (d Duration) MarshalYAML() (any, error) { return FormatDuration(d.Duration), nil }

// ParseDuration parses a config duration ("15m", "1h30m", "0"), explaining what is expected
// when it fails.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		hint := ""
		if strings.HasSuffix(s, "d") {
			hint = " (there is no day unit: use 24h)"
		} else if strings.Trim(s, "0123456789.") == "" && s != "" {
			hint = " (add a unit: s, m or h)"
		}
		return 0, fmt.Errorf("%s is not a duration; expected one like 15m or 1h30m%s", quote(s), hint)
	}
	return v, nil
}

// FormatDuration formats d without trailing zero units: 15m, 1h30m, 90s → 1m30s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
