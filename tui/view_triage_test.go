package tui

import (
	"fmt"
	"testing"
)

// TestTriageViews pins what issue 12 is about at 80x24, 120x40 and 200x50, styled and
// plain: the list, a filter on the error text, a status sort with the worst on top, the
// wide columns, and a production environment.
func TestTriageViews(t *testing.T) {
	states := []struct {
		name  string
		setup []func(*Options)
		act   func(f *fixture)
	}{
		{name: "list"},
		{name: "filtered_by_error", act: func(f *fixture) { f.keys("/"); f.typeText("timeout"); f.keys("enter") }},
		{name: "sorted_worst_first", act: func(f *fixture) {
			for range 40 {
				f.keys("j")
			}
			f.keys("s", "s") // received → size → status, worst first, from the top
		}},
		{name: "wide", act: func(f *fixture) { f.keys("W") }},
		{name: "production", setup: []func(*Options){production()}},
	}
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			for _, st := range states {
				t.Run(st.name, func(t *testing.T) {
					f := newFixture(t, seedTriage, st.setup...)
					f.send(sizeMsg(sz[0], sz[1]))
					if st.act != nil {
						st.act(f)
					}
					v := f.view()
					checkFrame(t, v, sz[0], sz[1])
					requireGolden(t, v)
				})
			}
		})
	}
}

// seedTriage is seedRequests, a FAILED request that timed out and enough PROCESSED ones
// that the list scrolls.
func seedTriage(o *fakeObjects, s *fakeStatuses) {
	seedWithTimeout(o, s)
	for i := range 60 {
		id := fmt.Sprintf("9%07d-0000-4000-8000-%012d", i, i)
		state, errText := "PROCESSED", ""
		if i%15 == 14 {
			state, errText = "FAILED", "upstream timeout: inventory service did not answer within 30s (attempt 3 of 3)"
		}
		addRequest(o, s, id, 3600+60*i, "application/json", `{"orderId":"B-`+fmt.Sprint(i)+`"}`, state, errText)
	}
}
