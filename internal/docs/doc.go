// Package docs holds the tests that keep README.md true: its key bindings table is
// generated from the TUI's KeyMap, every stowage command line it shows must parse against
// the real command tree, and its demo walkthrough is run against an in-process demo
// stack. It has no code of its own and nothing may import it.
package docs
