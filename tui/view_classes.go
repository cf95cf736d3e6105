package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// The failure classes view (E): one line per class, worst first, and the selected
// class's sample below the table.

// classCols are the widths of the classes table; 0 leaves a column out.
type classCols struct{ count, share, kind, first, last, spark, key int }

func classColumns(w int) classCols {
	c := classCols{count: 7, share: 5, kind: 9, first: 7, last: 7, spark: sparkBuckets}
	if w < 100 {
		// The sample line below gives the first time; half the sparkline's buckets show.
		c.count, c.first, c.spark = 5, 0, sparkBuckets/2
	}
	used := 3 + c.count + 1 + c.share + 1 + c.kind + 1 + c.last + 1 + c.spark + 1
	if c.first > 0 {
		used += c.first + 1
	}
	c.key = max(10, w-used)
	return c
}

func (m *Model) renderClasses(w, h int) []string {
	st := m.st
	c := m.cls
	out := make([]string, 0, h)
	title := st.SectionHead.Render("Failure classes") + st.Faint.Render(" · ") + st.HeaderVal.Render(m.win.label())
	switch {
	case c == nil:
		return append(out, title)
	case len(c.classes) > 0:
		total := 0
		for i := range c.classes {
			total += c.classes[i].Count
		}
		classes := commas(len(c.classes)) + " classes"
		if len(c.classes) == 1 {
			classes = "1 class"
		}
		title += st.Faint.Render(" · ") + commas(total) + " failed in " + classes
	}
	switch {
	case c.err != nil:
		title += st.StatusError.Render(" (stopped: r resumes)")
	case !c.done:
		title += st.Muted.Render(fmt.Sprintf(" (reading the failures… %s)", plural(len(c.failures), "item")))
	case c.grouping:
		title += st.Muted.Render(" (grouping…)")
	}
	out = append(out, ansi.Truncate(title, w, "…"))

	cc := classColumns(w)
	head := "   " + cellRight("COUNT", cc.count) + " " + cellRight("SHARE", cc.share) + " " + cell("KIND", cc.kind)
	if cc.first > 0 {
		head += " " + cell("FIRST", cc.first)
	}
	head += " " + cell("LAST", cc.last) + " " + cell("TREND", cc.spark) + " " + cell("CLASS", cc.key)
	out = append(out, st.TableHeader.Render(padRight(head, w)))

	rows := max(1, h-5) // the title, the header, a blank and the two lines of the sample
	if len(c.classes) == 0 {
		msg := "no failed requests in the window"
		switch {
		case c.err != nil:
			msg = errorText("reading the failures", c.err)
		case !c.done || c.grouping || c.grouped < len(c.failures):
			msg = "reading the failed requests through the status index…"
		case len(c.failures) > 0:
			msg += fmt.Sprintf(" (%s outside it: t widens it)", plural(len(c.failures), "failure"))
		}
		out = append(out, "  "+st.Muted.Render(ansi.Truncate(msg, w-2, "…")))
	}
	end := min(len(c.classes), c.top+rows)
	for i := c.top; i < end; i++ {
		out = append(out, m.renderClassRow(&c.classes[i], cc, i == c.cursor, w))
	}
	for len(out) < h-3 {
		out = append(out, "")
	}
	if cl, ok := m.selectedClass(); ok {
		out = append(out, "")
		id := st.Muted.Render("sample ") + sanitize.Line(cl.SampleID) +
			st.Muted.Render(" · first "+ago(m.now.Sub(cl.First))+" · last "+ago(m.now.Sub(cl.Last))) +
			st.Faint.Render(" · enter its requests · space select · R redrive")
		out = append(out, ansi.Truncate(id, w, "…"))
		out = append(out, st.ErrorText.Render(ansi.Truncate(sanitize.Line(cl.Sample), w, "…")))
	}
	return out
}

func (m *Model) renderClassRow(cl *failClass, cc classCols, selected bool, w int) string {
	st := m.st
	style := func(s string, sty lipgloss.Style) string {
		if selected {
			return sty.Inherit(st.RowSelected).Render(s)
		}
		return sty.Render(s)
	}
	plain := func(s string) string {
		if selected {
			return st.RowSelected.Render(s)
		}
		return s
	}
	var b strings.Builder
	if selected {
		b.WriteString(plain("▸"))
	} else {
		b.WriteString(" ")
	}
	marked := 0
	for _, id := range cl.IDs {
		if m.marked.has(id) {
			marked++
		}
	}
	switch {
	case marked == len(cl.IDs) && marked > 0:
		b.WriteString(style("✓", st.Marked) + plain(" "))
	case marked > 0:
		b.WriteString(style("◐", st.Marked) + plain(" "))
	default:
		b.WriteString(plain("  "))
	}
	b.WriteString(plain(cellRight(commas(cl.Count), cc.count) + " " + cellRight(fmt.Sprintf("%.0f%%", cl.Share*100), cc.share) + " "))
	kindStyle := st.Muted
	switch cl.Kind {
	case kindPermanent:
		kindStyle = st.StateFailed
	case kindTransient:
		kindStyle = st.StatePending
	}
	b.WriteString(style(cell(string(cl.Kind), cc.kind), kindStyle) + plain(" "))
	if cc.first > 0 {
		b.WriteString(style(cell(ago(m.now.Sub(cl.First)), cc.first), st.Muted) + plain(" "))
	}
	b.WriteString(style(cell(ago(m.now.Sub(cl.Last)), cc.last), st.Muted) + plain(" "))
	b.WriteString(style(cell(sparkTail(cl.Spark, cc.spark), cc.spark), st.StateFailed) + plain(" "))
	// The middle gives way: classes of one message differ at their end as often as at
	// their start ("XML syntax error at line <n>, column <n>: unexpected EOF" / "…: bad token").
	b.WriteString(plain(cell(middleTruncate(sanitize.Line(cl.Key), cc.key), cc.key)))
	line := b.String()
	if selected {
		return solidBlanks(padRight(line, w))
	}
	return line
}

// sparkTail is the sparkline of the last n buckets merged pairwise when there is room for
// only half of them.
func sparkTail(counts []int, n int) string {
	if n >= len(counts) || n <= 0 {
		return sparkline(counts)
	}
	step := (len(counts) + n - 1) / n
	merged := make([]int, 0, n)
	for i := 0; i < len(counts); i += step {
		s := 0
		for _, c := range counts[i:min(i+step, len(counts))] {
			s += c
		}
		merged = append(merged, s)
	}
	return sparkline(merged)
}
