package cli

import (
	"strings"
	"testing"
)

// --skip-permanent leaves the permanent failures out of a batch-ops plan as it does of a
// local one (the engine used to ignore it and hand S3 every request).
func TestRedriveBatchOpsSkipsPermanentErrors(t *testing.T) {
	d, _ := redriveDemo(t)
	r := d.run(t, "", "redrive", "--engine", "batch-ops", "--mode", "s3-copy", "--status", "FAILED", "--skip-permanent", "--dry-run", "-o", "table").must(t, ExitOK)
	head, _, _ := strings.Cut(r.stdout, "\n\n")
	if !strings.Contains(head, "left out (--skip-permanent)") || !strings.Contains(head, "  jobs         22 requests") {
		t.Fatalf("a batch-ops plan with --skip-permanent:\n%s", head)
	}
}
