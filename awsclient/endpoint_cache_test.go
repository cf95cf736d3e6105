package awsclient

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

func s3Params() []s3.EndpointParameters {
	return []s3.EndpointParameters{
		{Bucket: aws.String("requests"), Region: aws.String("eu-west-1")},
		{Bucket: aws.String("requests"), Region: aws.String("us-east-1"), UseFIPS: aws.Bool(true)},
		{Bucket: aws.String("requests"), Region: aws.String("eu-west-1"), UseDualStack: aws.Bool(true)},
		{Bucket: aws.String("requests"), Region: aws.String("eu-west-1"), Accelerate: aws.Bool(true)},
		{Bucket: aws.String("requests.with.dots"), Region: aws.String("eu-west-1")},
		{Bucket: aws.String("requests"), Region: aws.String("us-east-1"), Endpoint: aws.String("http://127.0.0.1:9000"), ForcePathStyle: aws.Bool(true)},
		{Bucket: aws.String("requests"), Region: aws.String("us-east-1"), Endpoint: aws.String("https://s3.vpce.example"), ForcePathStyle: aws.Bool(false)},
		{Region: aws.String("eu-west-1")}, // ListBuckets-like: no bucket
	}
}

// The S3 cache leaves the key, prefix and copy source out: the SDK's rules must not read
// them. If a newer SDK does, this fails and s3EndpointKey must keep them.
func TestS3EndpointIgnoresTheKey(t *testing.T) {
	r := s3.NewDefaultEndpointResolverV2()
	ctx := context.Background()
	for _, base := range s3Params() {
		want, werr := r.ResolveEndpoint(ctx, base)
		for _, vary := range []func(*s3.EndpointParameters){
			func(p *s3.EndpointParameters) { p.Key = aws.String("3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b") },
			func(p *s3.EndpointParameters) { p.Key = aws.String("in/some key?x=1#frag") },
			func(p *s3.EndpointParameters) { p.Prefix = aws.String("in/") },
			func(p *s3.EndpointParameters) { p.CopySource = aws.String("other/bucket/key") },
		} {
			p := base
			vary(&p)
			got, err := r.ResolveEndpoint(ctx, p)
			if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v: the key changed the endpoint: %v %v, want %v %v", p, got.URI.String(), err, want.URI.String(), werr)
			}
		}
	}
}

// The cache answers what the resolver answers, asks it once per parameter set, and hands
// out copies a middleware may change freely.
func TestEndpointCacheAgreesWithTheResolver(t *testing.T) {
	ctx := context.Background()
	def := s3.NewDefaultEndpointResolverV2()
	calls := 0
	c := &endpointCache[s3.EndpointParameters]{key: s3EndpointKey,
		next: func(ctx context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
			calls++
			return def.ResolveEndpoint(ctx, p)
		}}
	params := s3Params()
	for round := range 3 {
		for _, p := range params {
			p.Key = aws.String("key-" + string(rune('a'+round)))
			want, werr := def.ResolveEndpoint(ctx, p)
			got, err := c.ResolveEndpoint(ctx, p)
			if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v: cached %v %v, resolver %v %v", p, got.URI.String(), err, want.URI.String(), werr)
			}
			if got.Headers == nil {
				got.Headers = map[string][]string{}
			}
			got.Headers.Set("X-Changed", "yes")
			got.Properties.Set("changed", true)
		}
	}
	if calls != len(params) {
		t.Fatalf("the resolver was asked %d times for %d parameter sets", calls, len(params))
	}

	// Directory buckets and ARNs are never cached.
	calls = 0
	for range 2 {
		c.ResolveEndpoint(ctx, s3.EndpointParameters{Bucket: aws.String("requests--euw1-az1--x-s3"), Region: aws.String("eu-west-1")})
	}
	if calls != 2 {
		t.Fatalf("a directory bucket's endpoint was cached (%d resolves for 2 calls)", calls)
	}

	d := &endpointCache[dynamodb.EndpointParameters]{key: dynamodbEndpointKey, next: dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint}
	for _, table := range []string{"status", "leases", "status"} {
		p := dynamodb.EndpointParameters{Region: aws.String("eu-west-1"), ResourceArn: aws.String(table)}
		want, _ := dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
		got, err := d.ResolveEndpoint(ctx, p)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("dynamodb %s: cached %v %v, resolver %v", table, got.URI.String(), err, want.URI.String())
		}
	}
	if len(d.m) != 2 {
		t.Fatalf("%d DynamoDB entries for two tables", len(d.m))
	}
}

// The keys name every endpoint parameter of the SDK in go.mod: a parameter a newer SDK
// adds must be added to the key (or left out on purpose, with a test like the one above).
func TestEndpointKeysNameEveryParameter(t *testing.T) {
	for _, c := range []struct {
		params any
		named  []string
	}{{s3.EndpointParameters{}, s3KeyFields}, {dynamodb.EndpointParameters{}, dynamodbKeyFields}} {
		typ := reflect.TypeOf(c.params)
		for i := range typ.NumField() {
			if f := typ.Field(i); !slices.Contains(c.named, f.Name) {
				t.Errorf("%s.%s is not part of the endpoint cache's key", typ, f.Name)
			}
		}
		if typ.NumField() != len(c.named) {
			t.Errorf("%s has %d fields, the key names %d", typ, typ.NumField(), len(c.named))
		}
	}
	a, _ := dynamodbEndpointKey(dynamodb.EndpointParameters{ResourceArnList: []string{"a", "b"}})
	b, _ := dynamodbEndpointKey(dynamodb.EndpointParameters{ResourceArnList: []string{"ab"}})
	if a == b {
		t.Fatal("two ARN lists share a key")
	}
}

func BenchmarkS3EndpointResolve(b *testing.B) {
	p := s3.EndpointParameters{Bucket: aws.String("requests"), Region: aws.String("us-east-1"),
		Endpoint: aws.String("http://127.0.0.1:9000"), ForcePathStyle: aws.Bool(true), Key: aws.String("k")}
	def := s3.NewDefaultEndpointResolverV2()
	cached := &endpointCache[s3.EndpointParameters]{key: s3EndpointKey, next: def.ResolveEndpoint}
	for _, r := range []struct {
		name string
		s3.EndpointResolverV2
	}{{"rules", def}, {"cached", cached}} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ResolveEndpoint(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
