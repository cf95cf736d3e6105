// Package tui is stowage's terminal UI: one Bubble Tea model (Model) that lists the stored
// requests of an environment, joins their DynamoDB status, previews payloads, finds
// FAILED and LOST requests and redrives them.
//
// Shape: *Model is the only tea.Model, and every method of Model has a pointer receiver.
// Its parts (header, table, detail pane, footer, input line, dialogs) are plain structs
// rendered by Model.View; dialogs return action messages that only Model handles. All I/O runs in tea.Cmds
// through the small interfaces in deps.go; every result carries the sequence number of the
// request that asked for it, and Update drops results nobody wants any more.
//
// Every byte that came from outside (keys, payloads, metadata, status attributes, error
// messages) goes through internal/sanitize before it reaches the screen.
//
// Redrive (R) drives the redrive engine exactly as the CLI does: the same plan, journal,
// report and audit files (redrive.go), a progress view and a status watch afterwards.
//
// It must not import the CLI or the AWS SDK.
package tui
