package config

// BatchOps configures redrive --engine batch-ops (S3 Batch Operations). Owned by the
// batch-ops work (#15).
type BatchOps struct {
}

// Configured reports whether the batch-ops engine can be used.
func (b BatchOps) Configured() bool { return false }

// checkBatchOps validates the batch_ops section.
func checkBatchOps(e *Env, errf, warnf problemf) {}

// defaultBatchOps fills the batch_ops settings the file left empty.
func defaultBatchOps(e *Env, explicit func(field string) bool) {}
