package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// The histogram (H): one line per bucket, its four counts and a stacked bar drawn from
// the same counts (processed, failed, lost, then the arrivals the others do not account
// for), so the chart and the numbers cannot disagree.

func (m *Model) renderHistogram(w, h int) []string {
	st := m.st
	hv := m.hist
	out := make([]string, 0, h)
	title := st.SectionHead.Render("Histogram") + st.Faint.Render(" · ") + st.HeaderVal.Render(m.win.label()) +
		st.Faint.Render(" · ") + bucketName(hv.step) + " buckets"
	out = append(out, ansi.Truncate(title, w, "…"))
	src := "failed: " + hv.failedFrom + " · processed: " + hv.processedFrom
	if c := m.cls; c != nil && !c.done {
		src += " · reading the failures…"
	}
	if m.hist.building {
		src += " · counting…"
	}
	out = append(out, st.Muted.Render(ansi.Truncate(src, w, "…")))

	const numW = 8
	timeW := 11
	head := " " + cell("BUCKET", timeW) + " " + cellRight("ARRIVED", numW) + " " + cellRight("PROCESSED", numW+1) + " " +
		cellRight("FAILED", numW) + " " + cellRight("LOST", numW) + "  "
	barW := max(4, w-ansi.StringWidth(head))
	out = append(out, st.TableHeader.Render(padRight(head+"█ processed █ failed █ lost ░ other", w)))

	top := 0
	var tot histBucket
	for _, b := range hv.buckets {
		top = max(top, b.Arrivals, b.Processed+b.Failed+b.Lost)
		tot.Arrivals += b.Arrivals
		tot.Processed += b.Processed
		tot.Failed += b.Failed
		tot.Lost += b.Lost
	}
	rows := max(1, h-len(out)-1)
	bs := hv.buckets
	if len(bs) > rows {
		bs = bs[len(bs)-rows:] // the newest buckets
	}
	scale := func(n int) int {
		if top == 0 || n == 0 {
			return 0
		}
		return max(1, n*barW/top)
	}
	num := func(n, width int) string {
		if n == 0 {
			return st.Faint.Render(cellRight("·", width))
		}
		return cellRight(commas(n), width)
	}
	for _, b := range bs {
		line := " " + st.Muted.Render(cell(bucketLabel(b.Start, hv.step), timeW)) + " " + num(b.Arrivals, numW) + " " +
			num(b.Processed, numW+1) + " " + num(b.Failed, numW) + " " + num(b.Lost, numW) + "  "
		p, f, l := scale(b.Processed), scale(b.Failed), scale(b.Lost)
		rest := max(0, scale(b.Arrivals)-p-f-l)
		bar := st.StateProcessed.Render(strings.Repeat("█", p)) + st.StateFailed.Render(strings.Repeat("█", f)) +
			st.StateLost.Render(strings.Repeat("█", l)) + st.Faint.Render(strings.Repeat("░", rest))
		out = append(out, line+ansi.Truncate(bar, barW, ""))
	}
	for len(out) < h-1 {
		out = append(out, "")
	}
	out = append(out, st.TableHeader.Render(padRight(" "+cell("total", timeW)+" "+cellRight(commas(tot.Arrivals), numW)+" "+
		cellRight(commas(tot.Processed), numW+1)+" "+cellRight(commas(tot.Failed), numW)+" "+cellRight(commas(tot.Lost), numW), w)))
	return out
}

// bucketName is "5m", "1h", "1d".
func bucketName(step time.Duration) string {
	if step >= 24*time.Hour {
		return windowPresetName(step)
	}
	return strings.TrimSuffix(strings.TrimSuffix(step.String(), "0s"), "0m")
}

// bucketLabel is a bucket's start, as precise as its step needs (UTC).
func bucketLabel(t time.Time, step time.Duration) string {
	t = t.UTC()
	if step >= 24*time.Hour {
		return t.Format("Jan 02")
	}
	return t.Format("01-02 15:04")
}
