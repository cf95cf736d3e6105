package awsclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stowage-cli/stowage/internal/config"
)

// JobStore creates, confirms, tracks and cancels S3 Batch Operations jobs through S3 Control (#15).
type JobStore struct{}

// openJobs builds the JobStore for env, or returns nil when env does not configure it.
func openJobs(cfg aws.Config, env *config.Env, profile string, sso bool) *JobStore { return nil }
