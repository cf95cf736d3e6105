package awsclient

import (
	"context"
	"net/http"
	"os"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/stowage-cli/stowage/internal/config"
)

// Every client Open builds keeps maxIdleConnsPerHost idle connections, with or without a
// CA bundle. Without one the SDK built its clients' HTTP clients itself (10 idle per
// host) and the gateway fell back to Go's default transport (2 per host): a redrive at
// 16 in flight dialled a new connection for about half its calls.
func TestOpenKeepsIdleConnectionsWithoutCABundle(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	os.Unsetenv("AWS_CA_BUNDLE")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env := &config.Env{Name: "conns", Region: "eu-west-1",
		Endpoints: config.Endpoints{S3: "http://127.0.0.1:1", DynamoDB: "http://127.0.0.1:1"},
		Storage:   config.Storage{Bucket: "b"}, Status: config.Status{Table: "t"},
		Gateway: config.Gateway{URL: "http://127.0.0.1:1/stage"}}
	env.ApplyDefaults()
	c, err := Open(context.Background(), env, WithStaticCredentials("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	idle := func(name string, rt http.RoundTripper) {
		tr, ok := rt.(*http.Transport)
		if !ok {
			t.Fatalf("%s: transport %T", name, rt)
		}
		if tr.MaxIdleConnsPerHost != maxIdleConnsPerHost {
			t.Errorf("%s keeps %d idle connections per host, want %d", name, tr.MaxIdleConnsPerHost, maxIdleConnsPerHost)
		}
	}
	for name, hc := range map[string]any{"S3": c.Objects.client.Options().HTTPClient, "DynamoDB": c.Statuses.client.Options().HTTPClient} {
		bc, ok := hc.(*awshttp.BuildableClient)
		if !ok {
			t.Fatalf("%s: HTTP client %T", name, hc)
		}
		idle(name, bc.GetTransport())
	}
	idle("the gateway", c.Gateway.opts.HTTPClient.Transport)
	if tr := c.Gateway.opts.HTTPClient.Transport.(*http.Transport); tr.WriteBufferSize != gatewayWriteBuffer {
		t.Errorf("the gateway writes through a %d-byte buffer, want %d", tr.WriteBufferSize, gatewayWriteBuffer)
	}
}
