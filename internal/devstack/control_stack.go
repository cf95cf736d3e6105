package devstack

import "github.com/stowage-cli/stowage/internal/config"

// S3 Control of the stack (#15): Batch Operations jobs run in process.

// controlServices are the S3 Control server.
func (s *Stack) controlServices() []auxService { return nil }

// configBatchOps adds the batch_ops section to the demo environment.
func (s *Stack) configBatchOps(env *config.Env) {}
