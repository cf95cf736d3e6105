package awsclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/stowage-cli/stowage/awsclient"
)

type fakeSSM struct {
	values    map[string]string
	decrypted bool
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.decrypted = aws.ToBool(in.WithDecryption)
	v, ok := f.values[aws.ToString(in.Name)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ParameterNotFound", Message: "parameter not found"}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(v)}}, nil
}

type fakeSecrets map[string]string

func (f fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f[aws.ToString(in.SecretId)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "secret not found"}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestResolveAPIKey(t *testing.T) {
	t.Setenv("STOWAGE_TEST_API_KEY", " env-key \n")
	t.Setenv("STOWAGE_TEST_EMPTY", "")
	params := &fakeSSM{values: map[string]string{"/prod/key": "ssm-key", "/prod/blank": " "}}
	secrets := fakeSecrets{
		"plain":    "secret-key",
		"json":     `{"apiKey":"json-key","other":"x"}`,
		"snake":    `{"api_key":"snake-key"}`,
		"header":   `{"x-api-key":"header-key"}`,
		"no-field": `{"password":"hunter2-secret"}`,
		"bad-json": `{"apiKey": "half-secret`,
		"empty":    "",
	}
	good := []struct {
		src  awsclient.APIKeySource
		want string
	}{
		{awsclient.APIKeySource{Env: "STOWAGE_TEST_API_KEY"}, "env-key"},
		{awsclient.APIKeySource{SSM: "/prod/key"}, "ssm-key"},
		{awsclient.APIKeySource{SecretID: "plain"}, "secret-key"},
		{awsclient.APIKeySource{SecretID: "json"}, "json-key"},
		{awsclient.APIKeySource{SecretID: "snake"}, "snake-key"},
		{awsclient.APIKeySource{SecretID: "header"}, "header-key"},
		{awsclient.APIKeySource{Literal: "literal-key"}, "literal-key"},
	}
	for _, tt := range good {
		got, err := awsclient.ResolveAPIKey(context.Background(), tt.src, params, secrets)
		if err != nil || got != tt.want {
			t.Errorf("%v: got %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
	if !params.decrypted {
		t.Error("SSM parameter read without decryption")
	}

	bad := []struct {
		src  awsclient.APIKeySource
		kind awsclient.Kind
		has  string
	}{
		{awsclient.APIKeySource{Env: "STOWAGE_TEST_EMPTY"}, awsclient.KindNotFound, "export STOWAGE_TEST_EMPTY"},
		{awsclient.APIKeySource{SSM: "/prod/missing"}, awsclient.KindNotFound, "api_key_ssm"},
		{awsclient.APIKeySource{SSM: "/prod/blank"}, awsclient.KindNotFound, "empty"},
		{awsclient.APIKeySource{SecretID: "missing"}, awsclient.KindNotFound, "api_key_secret"},
		{awsclient.APIKeySource{SecretID: "no-field"}, awsclient.KindInvalid, "apiKey"},
		{awsclient.APIKeySource{SecretID: "bad-json"}, awsclient.KindInvalid, "does not parse"},
		{awsclient.APIKeySource{SecretID: "empty"}, awsclient.KindInvalid, "no SecretString"},
		{awsclient.APIKeySource{}, awsclient.KindInvalid, "no API key source"},
	}
	for _, tt := range bad {
		_, err := awsclient.ResolveAPIKey(context.Background(), tt.src, params, secrets)
		var e *awsclient.Error
		if !errors.As(err, &e) || e.Kind != tt.kind || !strings.Contains(err.Error(), tt.has) {
			t.Errorf("%v: err = %v, want kind %v mentioning %q", tt.src, err, tt.kind, tt.has)
			continue
		}
		if strings.Contains(err.Error(), "secret") && strings.Contains(err.Error(), "hunter2") ||
			strings.Contains(err.Error(), "half-secret") {
			t.Errorf("%v: the secret leaked: %v", tt.src, err)
		}
	}

	if _, err := awsclient.ResolveAPIKey(context.Background(), awsclient.APIKeySource{SSM: "/x"}, nil, nil); err == nil {
		t.Error("SSM source without a client accepted")
	}
}
