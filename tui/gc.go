package tui

import "runtime/debug"

// rowsGCPercent is the garbage collector's target while the TUI runs. Its heap is mostly
// the listing's rows (rowstore.go): long-lived and free of pointers, so a collection does
// not scan them and collecting more often costs little CPU (about a tenth more while a
// million rows load), while the default (100) lets the heap grow to twice what is live
// before collecting: about 260 MB of resident memory at a million rows instead of 190.
const rowsGCPercent = 25

// tuneGC sets the collector's target for the TUI, unless GOGC says otherwise.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(rowsGCPercent)
	}
}
