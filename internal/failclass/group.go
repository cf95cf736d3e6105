package failclass

import (
	"sort"
	"strings"
	"time"
)

// Failure is one failed request.
type Failure struct {
	ID    string
	Error string
	At    time.Time // when it failed (the status item's updatedAt); zero if unknown
}

// Class is the failures of one cause.
type Class struct {
	Key      string // normalized message
	Sample   string // one real message of the class: the most recent
	SampleID string // its request ID
	Kind     Kind   // of the sample
	Count    int
	Share    float64 // of all failures given
	First    time.Time
	Last     time.Time
	Spark    []int    // counts per bucket over [since, until)
	IDs      []string // every request of the class, in the order given
}

// Group puts failures into classes by Normalize(Error), sorted by count (descending), then
// key. The sparkline has buckets equal slices of [since, until); a zero since or until
// takes the earliest or latest failure, and failures outside (or without a time) are
// counted in the class but not in its sparkline. r nil means DefaultRules.
func Group(fs []Failure, r *Rules, since, until time.Time, buckets int) []Class {
	if r == nil {
		r = DefaultRules()
	}
	if buckets > 0 && (since.IsZero() || until.IsZero()) {
		lo, hi := span(fs)
		if since.IsZero() {
			since = lo
		}
		if until.IsZero() {
			until = hi.Add(time.Nanosecond) // the last failure falls inside [since, until)
		}
	}
	width := until.Sub(since)
	if buckets < 0 || width <= 0 {
		buckets = 0
	}
	// Messages repeat: normalize each distinct one once.
	byMsg := make(map[string]int, 64)
	byKey := make(map[string]int, 64)
	var classes []*Class
	for _, f := range fs {
		ci, ok := byMsg[f.Error]
		if !ok {
			key := Normalize(f.Error)
			if ci, ok = byKey[key]; !ok {
				ci = len(classes)
				byKey[key] = ci
				classes = append(classes, &Class{Key: key})
				if buckets > 0 {
					classes[ci].Spark = make([]int, buckets)
				}
			}
			byMsg[f.Error] = ci
		}
		c := classes[ci]
		c.Count++
		c.IDs = append(c.IDs, f.ID)
		if c.SampleID == "" || f.At.After(c.Last) || (f.At.Equal(c.Last) && f.ID > c.SampleID) {
			c.Sample, c.SampleID = f.Error, f.ID
		}
		if !f.At.IsZero() {
			if c.First.IsZero() || f.At.Before(c.First) {
				c.First = f.At
			}
			if f.At.After(c.Last) {
				c.Last = f.At
			}
			if buckets > 0 && !f.At.Before(since) && f.At.Before(until) {
				b := int(float64(f.At.Sub(since)) / float64(width) * float64(buckets))
				if b >= buckets {
					b = buckets - 1
				}
				c.Spark[b]++
			}
		}
	}
	out := make([]Class, len(classes))
	for i, c := range classes {
		c.Kind = r.Kind(c.Sample)
		if len(fs) > 0 {
			c.Share = float64(c.Count) / float64(len(fs))
		}
		out[i] = *c
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func span(fs []Failure) (lo, hi time.Time) {
	for _, f := range fs {
		if f.At.IsZero() {
			continue
		}
		if lo.IsZero() || f.At.Before(lo) {
			lo = f.At
		}
		if f.At.After(hi) {
			hi = f.At
		}
	}
	return lo, hi
}

// sparkRunes are the eight levels of a sparkline.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws counts as one rune each, scaled to the largest: a space for 0, ▁ for the
// smallest non-zero share up to █ for the largest.
func Sparkline(counts []int) string {
	max := 0
	for _, c := range counts {
		if c > max {
			max = c
		}
	}
	var b strings.Builder
	b.Grow(len(counts) * 3)
	for _, c := range counts {
		if c <= 0 || max == 0 {
			b.WriteByte(' ')
			continue
		}
		level := (c*len(sparkRunes) + max - 1) / max // 1..8
		b.WriteRune(sparkRunes[level-1])
	}
	return b.String()
}
