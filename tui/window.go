package tui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// The time window of the whole TUI: t cycles the presets, T takes a range typed by hand.
// It applies to the table (every row set), the header's counts, LOST, the failure classes
// and the histogram. A preset is relative to now and moves with the clock; a typed range
// is fixed.

// windowPresets are what t cycles through; the last one is everything.
var windowPresets = []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 0}

// presetAll is the index of "all" in windowPresets, the default.
var presetAll = len(windowPresets) - 1

// timeWindow is the window in force.
type timeWindow struct {
	preset       int // index into windowPresets; -1 for a typed range
	since, until time.Time
}

func allTime() timeWindow { return timeWindow{preset: presetAll} }

func (w timeWindow) all() bool { return w.preset == presetAll }

// span is the window's [since, until) at now; a zero end is open.
func (w timeWindow) span(now time.Time) (since, until time.Time) {
	if w.preset >= 0 {
		if d := windowPresets[w.preset]; d > 0 {
			return now.Add(-d), time.Time{}
		}
		return time.Time{}, time.Time{}
	}
	return w.since, w.until
}

// bounds is span in unix nanoseconds, for the row sets.
func (w timeWindow) bounds(now time.Time) winBounds {
	since, until := w.span(now)
	var b winBounds
	if !since.IsZero() {
		b.since = since.UnixNano()
	}
	if !until.IsZero() {
		b.until = until.UnixNano()
	}
	return b
}

// label is how the header names the window: "last 1h", "all time", "12-07 10:00–11:30".
func (w timeWindow) label() string {
	if w.preset >= 0 {
		if d := windowPresets[w.preset]; d > 0 {
			return "last " + windowPresetName(d)
		}
		return "all time"
	}
	const day = "01-02 15:04"
	switch {
	case w.until.IsZero():
		return "since " + w.since.UTC().Format(day)
	case w.since.IsZero():
		return "until " + w.until.UTC().Format(day)
	case w.since.UTC().Format("01-02") == w.until.UTC().Format("01-02"):
		return w.since.UTC().Format(day) + "–" + w.until.UTC().Format("15:04")
	}
	return w.since.UTC().Format(day) + "–" + w.until.UTC().Format(day)
}

func windowPresetName(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 && d != 24*time.Hour {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return config.FormatDuration(d)
}

// parseWindow reads a typed range: "SINCE [UNTIL]", each a duration back from now or a
// time (config.ParseSince), split by spaces or "..". "" or "all" is everything.
func parseWindow(text string, now time.Time) (timeWindow, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "..", " "))
	if text == "" || strings.EqualFold(text, "all") {
		return allTime(), nil
	}
	parts := strings.Fields(text)
	if len(parts) > 2 {
		return timeWindow{}, fmt.Errorf("want SINCE [UNTIL], got %d values", len(parts))
	}
	w := timeWindow{preset: -1}
	var err error
	if w.since, err = config.ParseSince(parts[0], now); err != nil {
		return timeWindow{}, err
	}
	if len(parts) == 2 {
		if w.until, err = config.ParseSince(parts[1], now); err != nil {
			return timeWindow{}, err
		}
		if !w.until.After(w.since) {
			return timeWindow{}, fmt.Errorf("the end (%s) is not after the start (%s)",
				w.until.UTC().Format(time.RFC3339), w.since.UTC().Format(time.RFC3339))
		}
	}
	return w, nil
}

// cycleWindow answers t: the next preset (a typed range goes back to the first).
func (m *Model) cycleWindow() tea.Cmd {
	next := 0
	if m.win.preset >= 0 {
		next = (m.win.preset + 1) % len(windowPresets)
	}
	return m.setWindow(timeWindow{preset: next})
}

// openWindowPrompt answers T: a range typed by hand.
func (m *Model) openWindowPrompt() {
	m.pushDialog(newPromptDialog("Time window",
		"SINCE [UNTIL]: 2h · 2d 1d · 2026-12-07T10:00:00Z · all", "",
		func(v string) tea.Msg { return windowSubmittedMsg{text: v} }))
}

// onWindowSubmitted applies a typed range, or says why it cannot.
func (m *Model) onWindowSubmitted(text string) tea.Cmd {
	w, err := parseWindow(text, m.now)
	if err != nil {
		m.setNote(noteWarn, "time window: "+sanitize.Line(err.Error())+": the window is unchanged")
		return nil
	}
	return m.setWindow(w)
}

// setWindow puts w in force everywhere.
func (m *Model) setWindow(w timeWindow) tea.Cmd {
	m.win = w
	m.applyWindow()
	m.toTop()
	m.setNote(noteInfo, "time window: "+w.label()+m.windowNote())
	return m.schedulePreview()
}

// windowNote says how many rows the window keeps, when it keeps fewer than all.
func (m *Model) windowNote() string {
	s := m.active()
	if m.win.all() || s.Query() != "" {
		return ""
	}
	return " · " + commas(s.ViewLen()) + " of " + commas(s.Len()) + " requests"
}

// applyWindow filters every row set and counts again by the window at m.now; a preset
// moves with the clock, so the clock tick calls it too (a no-op when nothing moved).
func (m *Model) applyWindow() {
	b := m.win.bounds(m.now)
	m.keepingCursor(func() {
		for _, s := range []*rowSet{m.all, m.byState, m.lostSet, m.classSet} {
			if s != nil {
				s.SetWindow(b)
			}
		}
	})
	m.statuses.setWindow(b)
	m.windowChanged()
	m.updateHeaderSpark()
	m.refreshHistogram()
}

// rowTime is a row's time for the window: its arrival, else (a row known only from the
// status table, not HEADed yet) its status's last update.
func (m *Model) rowTime(r *row) int64 {
	if t := r.arrived(); t != 0 {
		return t
	}
	if e, ok := m.statuses.get(r.ID); ok && e.found && !e.st.UpdatedAt.IsZero() {
		return e.st.UpdatedAt.UnixNano()
	}
	return 0
}
