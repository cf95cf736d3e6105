// Package archtest keeps the import rules that the package docs state. Its test reads
// `go list -deps -json ./...` and fails on a forbidden import, so a rule written in a
// package doc is a rule the build keeps. It has no code of its own and nothing may
// import it. ARCHITECTURE.md draws the same map.
package archtest
