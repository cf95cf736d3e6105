package redrive

import (
	"fmt"
	"strings"
)

// Mode is how a stored request is sent through the pipeline again.
type Mode string

const (
	// ModeReupload sends the stored bytes to the reupload route (default PUT /product);
	// the gateway assigns a new request ID, recorded as old → new.
	ModeReupload Mode = "reupload"
	// ModeInplace sends the stored bytes to the {bucket}/{key} route, which stores them
	// under the same key: the request keeps its ID.
	ModeInplace Mode = "inplace"
	// ModeS3Copy copies the object onto itself so S3 fires ObjectCreated again, without
	// the gateway: for payloads over the gateway's 10 MiB limit, or a broken gateway.
	ModeS3Copy Mode = "s3-copy"
)

// Modes lists every mode, in the order help text shows them.
var Modes = []Mode{ModeReupload, ModeInplace, ModeS3Copy}

// ParseMode reads a --mode value.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if strings.EqualFold(s, string(m)) {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown mode %q; expected reupload, inplace or s3-copy", s)
}

// UsesGateway reports whether the mode sends through API Gateway (and so is bound by its
// 10 MiB request limit).
func (m Mode) UsesGateway() bool { return m == ModeReupload || m == ModeInplace }
