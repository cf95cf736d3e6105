// Package docs holds the tests that keep README.md true: its key bindings table is
// generated from the TUI's KeyMap, every stowage command line it shows must parse against
// the real command tree, its demo walkthrough is run against an in-process demo stack, its
// configs validate, its IAM policies are JSON policy documents, and its modes table lists
// every redrive mode. It has no code of its own and nothing may import it.
package docs
