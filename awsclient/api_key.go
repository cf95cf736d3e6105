package awsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// APIKeySource says where the gateway's API key comes from; exactly one field is set.
type APIKeySource struct {
	Env      string // environment variable name
	SSM      string // SSM parameter name (read WithDecryption)
	SecretID string // Secrets Manager secret id or ARN
	Literal  string // the key itself, from the config file
}

// String names the source without revealing the key.
func (s APIKeySource) String() string {
	switch {
	case s.Env != "":
		return "environment variable " + s.Env
	case s.SSM != "":
		return "SSM parameter " + s.SSM
	case s.SecretID != "":
		return "secret " + s.SecretID
	case s.Literal != "":
		return "the config file"
	}
	return "nowhere"
}

// ParameterGetter is the part of the SSM client ResolveAPIKey uses (*ssm.Client).
type ParameterGetter interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretGetter is the part of the Secrets Manager client ResolveAPIKey uses
// (*secretsmanager.Client).
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// secretKeyFields are the JSON fields a secret may keep the key under.
var secretKeyFields = []string{"apiKey", "api_key", "x-api-key", "apikey", "key"}

// ResolveAPIKey reads the API key from src. ssmClient and secrets are only used (and may be
// nil) when src names them. The key never appears in an error.
func ResolveAPIKey(ctx context.Context, src APIKeySource, ssmClient ParameterGetter, secrets SecretGetter) (string, error) {
	switch {
	case src.Env != "":
		key := strings.TrimSpace(os.Getenv(src.Env))
		if key == "" {
			return "", &Error{Kind: KindNotFound, Op: "api-key", Resource: "env:" + src.Env,
				Message: "the variable is unset or empty", Remedy: "export " + src.Env + " with the gateway's API key"}
		}
		return key, nil
	case src.SSM != "":
		c := call{Op: "api-key", Resource: "ssm:" + src.SSM, Action: "ssm:GetParameter (and kms:Decrypt)",
			NotFound: "check gateway.api_key_ssm in the config and the region"}
		if ssmClient == nil {
			return "", invalid(c.Op, c.Resource, "no SSM client")
		}
		out, err := ssmClient.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(src.SSM), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", classify(err, c)
		}
		if out.Parameter == nil || strings.TrimSpace(aws.ToString(out.Parameter.Value)) == "" {
			return "", &Error{Kind: KindNotFound, Op: c.Op, Resource: c.Resource, Message: "the parameter is empty", Remedy: c.NotFound}
		}
		return strings.TrimSpace(aws.ToString(out.Parameter.Value)), nil
	case src.SecretID != "":
		c := call{Op: "api-key", Resource: "secretsmanager:" + src.SecretID, Action: "secretsmanager:GetSecretValue",
			NotFound: "check gateway.api_key_secret in the config and the region"}
		if secrets == nil {
			return "", invalid(c.Op, c.Resource, "no Secrets Manager client")
		}
		out, err := secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(src.SecretID)})
		if err != nil {
			return "", classify(err, c)
		}
		key, err := keyFromSecret(aws.ToString(out.SecretString))
		if err != nil {
			return "", &Error{Kind: KindInvalid, Op: c.Op, Resource: c.Resource, Message: err.Error(),
				Remedy: "store the key as the secret string, or as JSON {\"apiKey\": \"...\"}"}
		}
		return key, nil
	case src.Literal != "":
		return src.Literal, nil
	}
	return "", invalid("api-key", "gateway", "no API key source configured")
}

// keyFromSecret takes the secret string itself, or the key field of a JSON object.
func keyFromSecret(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("the secret has no SecretString")
	}
	if !strings.HasPrefix(s, "{") {
		return s, nil
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(s), &fields); err != nil {
		return "", fmt.Errorf("the secret looks like JSON but does not parse")
	}
	for _, name := range secretKeyFields {
		if v, ok := fields[name].(string); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("the secret is JSON without an apiKey, api_key or x-api-key field")
}
