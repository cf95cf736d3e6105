package tui

import (
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// clean makes outside text safe for one line of the screen.
func clean(s string) string { return sanitize.Line(s) }

// cleanBlock makes outside text safe for a multi-line area.
func cleanBlock(s string) string { return sanitize.Block(s) }

// s3URI and consoleURL name an object for the copy actions and the screen.
func s3URI(bucket, key string) string { return reqid.S3URI(bucket, key) }

func consoleURL(region, bucket, key string) string { return reqid.ConsoleURL(region, bucket, key) }
