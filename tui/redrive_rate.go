package tui

import "time"

// rateWindow is how far back the redrive's send rate is measured: long enough that the
// first burst of the token bucket (and of the concurrency) does not read as the rate.
const rateWindow = 2 * time.Second

type rateSample struct {
	at   time.Duration // the run's elapsed time at the snapshot
	sent int
}

// rateMeter measures a run's send rate over a sliding window of its progress snapshots.
// It belongs to the model: only Update feeds it.
type rateMeter struct {
	seq     int // the run (plan sequence) the samples belong to
	samples []rateSample
}

func (r *rateMeter) add(seq int, at time.Duration, sent int) {
	if seq != r.seq {
		r.seq, r.samples = seq, nil
	}
	if n := len(r.samples); n > 0 && at <= r.samples[n-1].at {
		r.samples[n-1].sent = max(r.samples[n-1].sent, sent)
		return
	}
	r.samples = append(r.samples, rateSample{at: at, sent: sent})
	// Keep the newest sample that is a whole window old: the rate is measured from it.
	cut := 0
	for i, s := range r.samples {
		if s.at <= at-rateWindow {
			cut = i
		}
	}
	r.samples = r.samples[cut:]
}

// rate is the requests sent per second over the last window (or a little more); ok is
// false until the snapshots span a whole window.
func (r *rateMeter) rate() (perSecond float64, ok bool) {
	n := len(r.samples)
	if n < 2 {
		return 0, false
	}
	first, last := r.samples[0], r.samples[n-1]
	span := last.at - first.at
	if span < rateWindow {
		return 0, false
	}
	return float64(last.sent-first.sent) / span.Seconds(), true
}

// redriveETA is the time left for remaining requests at the measured rate, but never
// faster than the limit (0: none); 0 when neither is known.
func redriveETA(remaining int, measured, limit float64) time.Duration {
	speed := measured
	if limit > 0 && (speed <= 0 || limit < speed) {
		speed = limit
	}
	if remaining <= 0 || speed <= 0 {
		return 0
	}
	return time.Duration(float64(remaining) / speed * float64(time.Second))
}

// smoothRedriveProgress replaces the engine's rate and ETA in the progress just received
// with ones measured over rateWindow: right after the start the engine's short-window
// rate shows the initial burst ("12.4/s (limit 2/s)") and its ETA follows it.
func (m *Model) smoothRedriveProgress(msg redriveProgressMsg) {
	s := m.rd
	if s == nil || msg.seq != s.seq || msg.closed || s.run == nil || s.phase != rdRunning {
		return
	}
	m.rdRate.add(msg.seq, msg.p.Elapsed, msg.p.Sent)
	p := &s.progress
	if rate, ok := m.rdRate.rate(); ok {
		p.Rate = rate
	} else if p.Elapsed < rateWindow {
		p.Rate = 0 // shown as "measuring…"
	}
	p.ETA = redriveETA(p.Total-p.Counts.Done(), p.Rate, s.rate)
}
