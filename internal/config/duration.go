package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// UnmarshalYAML reads "15m", "1h30m", "90s" or "2d". A bare number other than 0 is
// refused: "15" could mean minutes or seconds, and guessing wrong hides or floods LOST
// requests.
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

// Day and Week are the units ParseDuration adds to Go's: stowage prints ages as "6d", so
// it must read them back. A day is 24h (no calendar or DST arithmetic: these are ages).
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// ParseDuration is the one parser of a duration given to stowage, in the config or on
// the command line: Go's units (ns us ms s m h) plus d (24h) and w (7d), in any
// combination ("1w2d", "2d12h", "1.5d"), or "0". It explains what is expected when it
// fails.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	v, err := parseDuration(s)
	if err != nil {
		hint := ""
		if s != "" && strings.Trim(s, "0123456789.") == "" {
			hint = " (add a unit: s, m, h, d or w)"
		}
		return 0, fmt.Errorf("%s is not a duration; expected one like 15m, 1h30m, 2d or 1w%s", quote(s), hint)
	}
	return v, nil
}

// parseDuration splits s into number-unit pairs, takes d and w itself and leaves the
// rest to time.ParseDuration, so that Go's rules (and its errors) hold for its units.
func parseDuration(s string) (time.Duration, error) {
	sign, rest := "", s
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		sign, rest = rest[:1], rest[1:]
	}
	switch rest {
	case "":
		return 0, errors.New("empty")
	case "0":
		return 0, nil // Go's one number without a unit
	}
	var days float64 // the d and w parts, in days
	var goUnits strings.Builder
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, errors.New("expected a number")
		}
		num := rest[:i]
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		unit := rest[i:j]
		rest = rest[j:]
		switch unit {
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || strings.Count(num, ".") > 1 {
				return 0, errors.New("bad number")
			}
			if unit == "w" {
				f *= 7
			}
			days += f
		case "":
			return 0, errors.New("missing unit")
		default:
			goUnits.WriteString(num)
			goUnits.WriteString(unit)
		}
	}
	var total time.Duration
	if goUnits.Len() > 0 {
		v, err := time.ParseDuration(goUnits.String())
		if err != nil {
			return 0, err
		}
		total = v
	}
	if days > 0 {
		ns := days * float64(Day)
		if ns > float64(math.MaxInt64)-float64(total) || ns >= float64(math.MaxInt64) {
			return 0, errors.New("too large")
		}
		total += time.Duration(ns)
		if total < 0 {
			return 0, errors.New("too large")
		}
	}
	if sign == "-" {
		total = -total
	}
	return total, nil
}

// ParseSince reads a --since: a duration back from now ("1h", "2d", "1w2d") or a time
// (RFC 3339, or a date taken as midnight UTC).
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%v, or a time like 2026-03-01T12:00:00Z", err)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("%s: want a positive duration like 1h or 2d", quote(s))
	}
	return now.Add(-d), nil
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

// Set, String and Type make *Duration a command-line flag (pflag.Value) read by
// ParseDuration, so that --timeout 2d reads as the config's lost_after: 2d does.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func (d *Duration) String() string { return FormatDuration(d.Duration) }

// Type names the flag's value in --help.
func (d *Duration) Type() string { return "duration" }
