package awsclient

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyauth "github.com/aws/smithy-go/auth"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// endpointCache remembers what an SDK endpoint resolver answered for each set of
// parameters. The SDK evaluates the service's endpoint rules on every call: for S3 a
// large generated function whose frame grows each new goroutine's stack, about a tenth
// of a redrive's CPU together with DynamoDB's. The rules are a pure function of the
// parameters, and a stowage client sees a handful of parameter sets (one bucket, two
// tables), so the answer for a set is kept.
type endpointCache[P any] struct {
	next func(context.Context, P) (smithyendpoints.Endpoint, error)
	// key names the parameters that decide the endpoint; false: resolve without the cache.
	key func(P) (string, bool)

	mu sync.RWMutex
	m  map[string]smithyendpoints.Endpoint
}

// maxCachedEndpoints bounds the cache; past it, new parameter sets are resolved each time.
const maxCachedEndpoints = 64

func (c *endpointCache[P]) ResolveEndpoint(ctx context.Context, p P) (smithyendpoints.Endpoint, error) {
	k, ok := c.key(p)
	if !ok {
		return c.next(ctx, p)
	}
	c.mu.RLock()
	e, hit := c.m[k]
	c.mu.RUnlock()
	if hit {
		return copyEndpoint(e), nil
	}
	e, err := c.next(ctx, p)
	if err != nil {
		return e, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]smithyendpoints.Endpoint)
	}
	if len(c.m) < maxCachedEndpoints {
		c.m[k] = copyEndpoint(e)
	}
	c.mu.Unlock()
	return e, nil
}

// copyEndpoint gives each call its own headers, properties and auth options, so that
// nothing a middleware changes reaches the cached copy: S3's auth resolver rewrites the
// endpoint's auth options in place (rebaseProps), concurrently when they are shared.
func copyEndpoint(e smithyendpoints.Endpoint) smithyendpoints.Endpoint {
	out := smithyendpoints.Endpoint{URI: e.URI, Headers: e.Headers.Clone()}
	out.Properties.SetAll(&e.Properties)
	if opts, ok := smithyauth.GetAuthOptions(&e.Properties); ok {
		cp := make([]*smithyauth.Option, len(opts))
		for i, o := range opts {
			c := &smithyauth.Option{SchemeID: o.SchemeID}
			c.IdentityProperties.SetAll(&o.IdentityProperties)
			c.SignerProperties.SetAll(&o.SignerProperties)
			cp[i] = c
		}
		smithyauth.SetAuthOptions(&out.Properties, cp)
	}
	return out
}

// keyWriter builds a cache key from parameter values, each tagged so that no two
// parameter sets share a key.
type keyWriter struct{ b []byte }

func (w *keyWriter) str(p *string) {
	if p == nil {
		w.b = append(w.b, '-')
		return
	}
	w.b = append(w.b, '"')
	w.b = strconv.AppendInt(w.b, int64(len(*p)), 10)
	w.b = append(w.b, ':')
	w.b = append(w.b, *p...)
}

func (w *keyWriter) flag(p *bool) {
	switch {
	case p == nil:
		w.b = append(w.b, '-')
	case *p:
		w.b = append(w.b, 't')
	default:
		w.b = append(w.b, 'f')
	}
}

// s3EndpointKey leaves out the object key, prefix and copy source, which S3's endpoint
// rules do not read (TestS3EndpointIgnoresTheKey holds the SDK to it), so that every
// object of a bucket shares one entry. Directory buckets (S3 Express) and ARNs are
// resolved each time: their rules are the ones most likely to grow new inputs. A field
// a newer SDK adds fails TestEndpointKeysNameEveryParameter until it is added here.
func s3EndpointKey(p s3.EndpointParameters) (string, bool) {
	if p.Bucket != nil {
		b := *p.Bucket
		if strings.HasPrefix(b, "arn:") || strings.HasSuffix(b, "--x-s3") || strings.HasSuffix(b, "--xa-s3") {
			return "", false
		}
	}
	var w keyWriter
	w.b = make([]byte, 0, 128)
	for _, v := range []*string{p.Bucket, p.Region, p.Endpoint} {
		w.str(v)
	}
	for _, v := range []*bool{p.UseFIPS, p.UseDualStack, p.ForcePathStyle, p.Accelerate, p.UseGlobalEndpoint,
		p.UseObjectLambdaEndpoint, p.DisableAccessPoints, p.DisableMultiRegionAccessPoints, p.UseArnRegion,
		p.UseS3ExpressControlEndpoint, p.DisableS3ExpressSessionAuth} {
		w.flag(v)
	}
	return string(w.b), true
}

// s3KeyFields and dynamodbKeyFields are the parameters the keys read or leave out on
// purpose, for TestEndpointKeysNameEveryParameter.
var (
	s3KeyFields = []string{"Bucket", "Region", "Endpoint", "UseFIPS", "UseDualStack", "ForcePathStyle", "Accelerate",
		"UseGlobalEndpoint", "UseObjectLambdaEndpoint", "DisableAccessPoints", "DisableMultiRegionAccessPoints",
		"UseArnRegion", "UseS3ExpressControlEndpoint", "DisableS3ExpressSessionAuth", "Key", "Prefix", "CopySource"}
	dynamodbKeyFields = []string{"Region", "UseDualStack", "UseFIPS", "Endpoint", "AccountId", "AccountIdEndpointMode",
		"ResourceArn", "ResourceArnList", "IsSearchOperation"}
)

func dynamodbEndpointKey(p dynamodb.EndpointParameters) (string, bool) {
	var w keyWriter
	w.b = make([]byte, 0, 96)
	for _, v := range []*string{p.Region, p.Endpoint, p.AccountId, p.AccountIdEndpointMode, p.ResourceArn} {
		w.str(v)
	}
	for _, v := range []*bool{p.UseDualStack, p.UseFIPS, p.IsSearchOperation} {
		w.flag(v)
	}
	if p.ResourceArnList == nil {
		w.b = append(w.b, '-')
	} else {
		w.b = append(w.b, '[')
		for i := range p.ResourceArnList {
			w.str(&p.ResourceArnList[i])
		}
	}
	return string(w.b), true
}

// cacheS3Endpoints and cacheDynamoDBEndpoints wrap a client's endpoint resolver; they
// are client options.
func cacheS3Endpoints(o *s3.Options) {
	if o.EndpointResolverV2 == nil {
		return
	}
	o.EndpointResolverV2 = &endpointCache[s3.EndpointParameters]{next: o.EndpointResolverV2.ResolveEndpoint, key: s3EndpointKey}
}

func cacheDynamoDBEndpoints(o *dynamodb.Options) {
	if o.EndpointResolverV2 == nil {
		return
	}
	o.EndpointResolverV2 = &endpointCache[dynamodb.EndpointParameters]{next: o.EndpointResolverV2.ResolveEndpoint, key: dynamodbEndpointKey}
}
