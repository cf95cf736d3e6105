// Command floor is the SDK floor of make bench-scale: the least a plain AWS SDK program
// does for what stowage does, so that stowage's time can be read as a ratio to it. It is
// its own module, so that the benchmark's peer never links stowage (and stowage's import
// rules, which keep the SDK inside awsclient, do not apply to it).
//
//	floor list  -s3 URL -ddb URL -bucket B -table T   list every object, join its status item
//	floor show  -s3 URL -ddb URL -bucket B -table T -id ID   HEAD + GET + GetItem in parallel
//
// It prints one line: the operation, the count, and the seconds it took.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: floor list|show -s3 URL -ddb URL -bucket B -table T [-id ID]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	s3URL := fs.String("s3", "", "S3 endpoint (loopback)")
	ddbURL := fs.String("ddb", "", "DynamoDB endpoint (loopback)")
	bucket := fs.String("bucket", "", "bucket")
	table := fs.String("table", "", "status table")
	keyAttr := fs.String("key", "requestId", "the table's key attribute")
	id := fs.String("id", "", "request ID (show)")
	joins := fs.Int("joins", 128, "BatchGetItem calls in flight (list); stowage's ls keeps 128 in flight at its default 16 key ranges")
	_ = fs.Parse(os.Args[2:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	creds := credentials.NewStaticCredentialsProvider(env("AWS_ACCESS_KEY_ID", "x"), env("AWS_SECRET_ACCESS_KEY", "x"), "")
	cfg := aws.Config{Region: env("AWS_REGION", "us-east-1"), Credentials: creds}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = s3URL, true })
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = ddbURL })

	start := time.Now()
	var n int
	var err error
	switch os.Args[1] {
	case "list":
		n, err = list(ctx, s3c, ddb, *bucket, *table, *keyAttr, *joins)
	case "show":
		n, err = show(ctx, s3c, ddb, *bucket, *table, *keyAttr, *id)
	default:
		err = fmt.Errorf("unknown operation %q: list or show", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %d %.4f\n", os.Args[1], n, time.Since(start).Seconds())
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// list pages through the bucket in one stream and joins each page's keys with
// BatchGetItem (100 keys a call, joins calls in flight) while the listing goes on.
func list(ctx context.Context, s3c *s3.Client, ddb *dynamodb.Client, bucket, table, keyAttr string, joins int) (int, error) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, joins)
	var mu sync.Mutex
	var firstErr error
	joined := 0
	p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for i := 0; i < len(page.Contents); i += 100 {
			chunk := page.Contents[i:min(i+100, len(page.Contents))]
			keys := make([]map[string]ddbtypes.AttributeValue, len(chunk))
			for j, o := range chunk {
				keys[j] = map[string]ddbtypes.AttributeValue{keyAttr: &ddbtypes.AttributeValueMemberS{Value: aws.ToString(o.Key)}}
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				got, err := batchGet(ctx, ddb, table, keys)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				joined += len(chunk)
				_ = got
			}()
		}
	}
	wg.Wait()
	return joined, firstErr
}

// batchGet reads keys, retrying what DynamoDB left unprocessed (a bounded number of times).
func batchGet(ctx context.Context, ddb *dynamodb.Client, table string, keys []map[string]ddbtypes.AttributeValue) (int, error) {
	items := 0
	for try := 0; len(keys) > 0; try++ {
		if try == 10 {
			return items, errors.New("BatchGetItem left keys unprocessed 10 times")
		}
		out, err := ddb.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddbtypes.KeysAndAttributes{table: {Keys: keys}}})
		if err != nil {
			return items, err
		}
		items += len(out.Responses[table])
		keys = out.UnprocessedKeys[table].Keys
	}
	return items, nil
}

// show reads what stowage show needs of one request: the object's metadata, its bytes and
// its status item, all at once.
func show(ctx context.Context, s3c *s3.Client, ddb *dynamodb.Client, bucket, table, keyAttr, id string) (int, error) {
	if id == "" {
		return 0, errors.New("show needs -id")
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	size := 0
	wg.Add(3)
	go func() {
		defer wg.Done()
		_, errs[0] = s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(id)})
	}()
	go func() {
		defer wg.Done()
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(id)})
		if err != nil {
			errs[1] = err
			return
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		size, errs[1] = len(b), err
	}()
	go func() {
		defer wg.Done()
		_, errs[2] = ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
			Key: map[string]ddbtypes.AttributeValue{keyAttr: &ddbtypes.AttributeValueMemberS{Value: id}}})
	}()
	wg.Wait()
	return size, errors.Join(errs...)
}
