package trace

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Painter colours the parts of a rendered timeline; a nil func leaves text plain. The
// TUI passes its Styles' renderers, the CLI a few ANSI colours on a terminal.
type Painter struct {
	Time   func(string) string
	Source func(Source, string) string
	Error  func(string) string
	Note   func(string) string
}

func paint(f func(string) string, s string) string {
	if f == nil {
		return s
	}
	return f(s)
}

// TimeLayout is how an entry's time is written (UTC, milliseconds); ShortTimeLayout
// leaves out the year in rows narrower than wideRows.
const (
	TimeLayout      = "2006-01-02T15:04:05.000Z"
	ShortTimeLayout = "01-02 15:04:05.000"
	wideRows        = 100
)

func layoutFor(width int) string {
	if width > 0 && width < wideRows {
		return ShortTimeLayout
	}
	return TimeLayout
}

// sourceWidth fits the longest source name.
const sourceWidth = 9

// Header is the column header of Lines at width.
func Header(width int) string {
	return padRight("TIME (UTC)", len(layoutFor(width))) + "  " + padRight("SOURCE", sourceWidth) + "  WHAT"
}

// timeOf is an entry's time as the row writes it. S3 dates a store to the whole second:
// its row leaves the milliseconds blank rather than claim .000 (a store then reads as
// belonging to its second, after the redrive and gateway lines of it).
func timeOf(e Entry, layout string) string {
	if e.Source == SourceS3 && e.At.Nanosecond() == 0 {
		whole := strings.TrimSuffix(strings.TrimSuffix(layout, "Z"), ".000")
		return padRight(e.At.UTC().Format(whole), len(layout))
	}
	return e.At.UTC().Format(layout)
}

// Line is one entry in a row of at most width cells (0: no limit): time, source, summary.
func Line(e Entry, width int, p Painter) string {
	src := string(e.Source)
	row := paint(p.Time, timeOf(e, layoutFor(width))) + "  "
	if p.Source != nil {
		row += p.Source(e.Source, padRight(src, sourceWidth))
	} else {
		row += padRight(src, sourceWidth)
	}
	row += "  "
	sum := e.Summary // sanitized by Build
	if width > 0 {
		room := width - ansi.StringWidth(row)
		if room < 8 {
			room = 8
		}
		sum = ansi.Truncate(sum, room, "…")
	}
	if e.Error {
		sum = paint(p.Error, sum)
	}
	return row + sum
}

// Lines renders the whole timeline: the header, one row per entry, then the notes.
func Lines(tl Timeline, width int, p Painter) []string {
	out := []string{Header(width)}
	for _, e := range tl.Entries {
		out = append(out, Line(e, width, p))
	}
	if len(tl.Entries) == 0 {
		out = append(out, "(nothing is known of this request)")
	}
	if len(tl.Notes) > 0 {
		out = append(out, "")
		for _, n := range tl.Notes {
			for i, l := range strings.Split(n, "\n") {
				if i > 0 {
					// Set lines (config, a query) stay whole, to be copied.
					out = append(out, paint(p.Note, "  "+l))
					continue
				}
				for j, w := range wrapWords(l, width-2) {
					prefix := "  "
					if j == 0 {
						prefix = "- "
					}
					out = append(out, paint(p.Note, prefix+w))
				}
			}
		}
	}
	return out
}

// wrapWords breaks s at spaces into lines of at most width cells (width < 20: no
// breaking). A word longer than a line (an ARN, a URI) is kept whole, to be copied.
func wrapWords(s string, width int) []string {
	if width < 20 || ansi.StringWidth(s) <= width {
		return []string{s}
	}
	var out []string
	line := ""
	for _, w := range strings.Split(s, " ") {
		switch {
		case line == "":
			line = w
		case ansi.StringWidth(line)+1+ansi.StringWidth(w) <= width:
			line += " " + w
		default:
			out = append(out, line)
			line = w
		}
	}
	return append(out, line)
}

// Highlight is a log entry's message whole, for the "open it" view: pretty-printed and
// coloured when it is JSON (a structured Lambda log line), sanitized either way. h nil
// leaves it uncoloured.
func Highlight(h *payload.Highlighter, e Entry) []string {
	lines := strings.Split(e.Pretty(), "\n")
	if h == nil || !e.IsJSON() {
		return lines
	}
	return h.Lines(payload.JSON, lines, 0, len(lines))
}

// HighlightLine is a log entry's message on one line, coloured when it is JSON: the row
// of a log line in the TUI's timeline tab. An invocation's is its last line (REPORT).
func HighlightLine(h *payload.Highlighter, e Entry, width int) string {
	msg := strings.TrimSpace(e.Message)
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 && e.Invocation != "" {
		msg = msg[i+1:] // an invocation's REPORT line says the most
	}
	if h != nil && e.IsJSON() {
		msg = h.Lines(payload.JSON, []string{msg}, 0, 1)[0] // sanitizes
	} else {
		msg = sanitize.Line(msg)
	}
	if width > 0 {
		msg = ansi.Truncate(msg, width, "…")
	}
	return msg
}

func padRight(s string, n int) string {
	if w := ansi.StringWidth(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}
