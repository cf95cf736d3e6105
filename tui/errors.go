package tui

import (
	"context"
	"errors"
	"strings"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// errorText is the status-line text of a failed call: what failed, why, and what to do.
// The service's message came from outside, so all of it is sanitized.
func errorText(what string, err error) string {
	var ae *awsclient.Error
	if errors.As(err, &ae) {
		var b strings.Builder
		if what != "" {
			b.WriteString(what + ": ")
		}
		b.WriteString(ae.Op + " " + ae.Resource + ": ")
		switch {
		case ae.Code != "":
			b.WriteString(ae.Code)
		default:
			b.WriteString(ae.Kind.String())
		}
		if ae.Message != "" {
			b.WriteString(": " + firstLine(ae.Message))
		}
		if ae.Remedy != "" {
			b.WriteString(" — " + ae.Remedy)
		} else if ae.Kind.Retryable() {
			b.WriteString(" — press r to retry")
		}
		return sanitize.Line(b.String())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return sanitize.Line(what + ": timed out — check the network and press r to retry")
	}
	if what == "" {
		return sanitize.Line(firstLine(err.Error()))
	}
	return sanitize.Line(what + ": " + firstLine(err.Error()))
}

// retryable reports whether r may help.
func retryable(err error) bool {
	var ae *awsclient.Error
	if errors.As(err, &ae) {
		return ae.Kind.Retryable() || ae.Kind == awsclient.KindUnknown || ae.Kind == awsclient.KindExpiredCredentials ||
			ae.Kind == awsclient.KindAccessDenied || ae.Kind == awsclient.KindNotFound
	}
	return true
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
