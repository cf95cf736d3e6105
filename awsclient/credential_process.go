package awsclient

import (
	"context"
	"errors"
	"os/exec"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
)

// CredentialProcessError is a failure of the profile's credential_process: the remedy is
// about that command, not about aws configure.
type CredentialProcessError struct {
	Command string // the credential_process line of the profile
	Err     error  // the SDK's error; its text may quote the process's output
}

func (e *CredentialProcessError) Error() string {
	return "credential_process " + e.Command + ": " + e.summary()
}
func (e *CredentialProcessError) Unwrap() error { return e.Err }

// summary says in a line how the process failed, without its output, which may hold keys.
func (e *CredentialProcessError) summary() string {
	var exit *exec.ExitError
	switch {
	case errors.As(e.Err, &exit):
		return "the process failed (" + exit.ProcessState.String() + ")"
	case errors.Is(e.Err, context.DeadlineExceeded), errors.Is(e.Err, context.Canceled):
		return "the process did not finish in time"
	}
	var ee *exec.Error
	if errors.As(e.Err, &ee) {
		return "the command could not be started: " + ee.Err.Error()
	}
	return "its output is not valid credentials (JSON with Version 1, AccessKeyId and SecretAccessKey)"
}

func (e *CredentialProcessError) remedy(profile string) string {
	s := "run the profile's credential_process by hand to see why it fails: " + e.Command
	if profile != "" {
		s = "run the credential_process of profile " + profile + " by hand to see why it fails: " + e.Command
	}
	return s + "; fix it, or sign in with the tool it calls"
}

// processCredentials marks failures of a credential_process as such.
type processCredentials struct {
	aws.CredentialsProvider
	command string
}

func (p processCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.CredentialsProvider.Retrieve(ctx)
	var pe *processcreds.ProviderError
	if err != nil && errors.As(err, &pe) {
		err = &CredentialProcessError{Command: p.command, Err: err}
	}
	return c, err
}

// credentialProcess is the credential_process of the profile cfg was loaded with, or of the
// source profile of a role it assumes; "" when none signs with one.
func credentialProcess(cfg aws.Config) string {
	for _, src := range cfg.ConfigSources {
		sc, ok := src.(awsconfig.SharedConfig)
		if !ok {
			continue
		}
		for p, depth := &sc, 0; p != nil && depth < 10; p, depth = p.Source, depth+1 {
			if p.CredentialProcess != "" {
				return p.CredentialProcess
			}
		}
	}
	return ""
}
