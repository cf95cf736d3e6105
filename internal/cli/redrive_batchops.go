package cli

import (
	"context"

	"github.com/spf13/pflag"
)

// redrive --engine batch-ops: the plan handed to S3 Batch Operations (#15).

// engineBatchOps is --engine's value that hands the run to S3 Batch Operations.
const engineBatchOps = "batch-ops"

// batchFlags are the flags of the batch-ops engine.
type batchFlags struct {
	engine string
}

// addBatchFlags registers --engine and its flags on redrive.
func addBatchFlags(fl *pflag.FlagSet, f *batchFlags) {}

// checkBatchFlags validates them before anything is read or sent.
func (r *redriveRun) checkBatchFlags(fl *pflag.FlagSet) error { return nil }

// runBatchOps plans the run and hands it to S3 Batch Operations.
func (r *redriveRun) runBatchOps(ctx context.Context) error {
	return exitf(ExitUsage, "--engine batch-ops is not available in this build")
}
