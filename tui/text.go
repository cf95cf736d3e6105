package tui

import "github.com/stowage-cli/stowage/internal/sanitize"

// clean remains only for tui/redrive.go and tui/redrive_watch.go, which call it; every
// other file calls sanitize.Line directly. Delete it once those two do too.
func clean(s string) string { return sanitize.Line(s) }
