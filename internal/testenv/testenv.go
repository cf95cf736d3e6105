// Package testenv connects integration tests to the real local servers that `make test`
// starts (versitygw for S3, dynalite for DynamoDB, fauxqs for SQS) and builds hermetic SDK clients for
// them. Under CI=true a test whose server is missing fails; elsewhere it is skipped with
// the command that would run it. It must only be imported by tests and test tools.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Environment variables set by the withservers wrapper (and so by `make test`).
const (
	EnvS3URL        = "STOWAGE_TEST_S3_URL"
	EnvS3AccessKey  = "STOWAGE_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey  = "STOWAGE_TEST_S3_SECRET_KEY"
	EnvDynamoDBURL  = "STOWAGE_TEST_DYNAMODB_URL"
	EnvSQSURL       = "STOWAGE_TEST_SQS_URL"
	Region          = "us-east-1"
	dynamoAccessKey = "dynalite"
	dynamoSecretKey = "dynalite-secret"
	sqsAccessKey    = "fauxqs"
	sqsSecretKey    = "fauxqs-secret"
)

// Endpoint is a running local server.
type Endpoint struct {
	URL       string
	AccessKey string
	SecretKey string
	Region    string
}

// S3 returns the versitygw endpoint, or fails/skips the test when none is running.
func S3(t testing.TB) Endpoint {
	t.Helper()
	u := os.Getenv(EnvS3URL)
	if u == "" {
		missing(t, "S3 (versitygw)")
	}
	return Endpoint{URL: u, AccessKey: os.Getenv(EnvS3AccessKey), SecretKey: os.Getenv(EnvS3SecretKey), Region: Region}
}

// DynamoDB returns the dynalite endpoint, or fails/skips the test when none is running.
func DynamoDB(t testing.TB) Endpoint {
	t.Helper()
	u := os.Getenv(EnvDynamoDBURL)
	if u == "" {
		missing(t, "DynamoDB (dynalite)")
	}
	return Endpoint{URL: u, AccessKey: dynamoAccessKey, SecretKey: dynamoSecretKey, Region: Region}
}

// SQS returns the fauxqs endpoint, or fails/skips the test when none is running.
func SQS(t testing.TB) Endpoint {
	t.Helper()
	u := os.Getenv(EnvSQSURL)
	if u == "" {
		missing(t, "SQS (fauxqs)")
	}
	return Endpoint{URL: u, AccessKey: sqsAccessKey, SecretKey: sqsSecretKey, Region: Region}
}

// InCI reports whether the tests run under CI, where missing servers are failures.
func InCI() bool { return os.Getenv("CI") == "true" }

func missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " test server is not running: run `make test`, or " +
		"`go run ./internal/testenv/cmd/withservers -- go test ./...`"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// NewS3Client builds a path-style S3 client for ep with static credentials. It never reads
// the machine's AWS configuration, so AWS_CA_BUNDLE and profiles cannot leak in.
func NewS3Client(t testing.TB, ep Endpoint) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		Region:       ep.Region,
		BaseEndpoint: aws.String(ep.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
	})
}

// NewDynamoDBClient builds a DynamoDB client for ep with static credentials.
func NewDynamoDBClient(t testing.TB, ep Endpoint) *dynamodb.Client {
	t.Helper()
	return dynamodb.New(dynamodb.Options{
		Region:       ep.Region,
		BaseEndpoint: aws.String(ep.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
	})
}

// NewSQSClient builds an SQS client for ep with static credentials (AWS JSON 1.0, as the
// current SDK sends).
func NewSQSClient(t testing.TB, ep Endpoint) *sqs.Client {
	t.Helper()
	return sqs.New(sqs.Options{
		Region:       ep.Region,
		BaseEndpoint: aws.String(ep.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
	})
}

// NewQueue creates a unique queue (a FIFO one when fifo) with attrs and deletes it when
// the test ends. It returns the queue URL.
func NewQueue(t testing.TB, c *sqs.Client, prefix string, fifo bool, attrs map[string]string) string {
	t.Helper()
	name := UniqueName(t, prefix)
	if fifo {
		name += ".fifo"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
	return url
}

// UniqueName returns prefix plus random hex, lower-case and valid as a bucket or table name.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(prefix) + "-" + hex.EncodeToString(b[:])
}

// NewBucket creates a unique bucket and removes it, with its objects, when the test ends.
func NewBucket(t testing.TB, c *s3.Client) string {
	t.Helper()
	name := UniqueName(t, "stowage-test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() { emptyAndDelete(t, c, name) })
	return name
}

func emptyAndDelete(t testing.TB, c *s3.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Logf("cleanup: list %s: %v", bucket, err)
			return
		}
		if len(page.Contents) == 0 {
			break
		}
		ids := make([]s3types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			t.Logf("cleanup: delete objects in %s: %v", bucket, err)
			return
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Logf("cleanup: delete bucket %s: %v", bucket, err)
	}
}

// CreateTable creates the table in (TableName is set from UniqueName(prefix) when empty),
// waits until it is active (dynalite creates tables asynchronously: a write before then
// gets ResourceNotFoundException) and deletes it when the test ends.
func CreateTable(t testing.TB, c *dynamodb.Client, prefix string, in *dynamodb.CreateTableInput) string {
	t.Helper()
	if in.TableName == nil {
		in.TableName = aws.String(UniqueName(t, prefix))
	}
	if in.BillingMode == "" {
		in.BillingMode = ddbtypes.BillingModePayPerRequest
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.CreateTable(ctx, in); err != nil {
		t.Fatalf("create table %s: %v", aws.ToString(in.TableName), err)
	}
	waiter := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 200*time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, time.Minute); err != nil {
		t.Fatalf("table %s never became active: %v", aws.ToString(in.TableName), err)
	}
	name := aws.ToString(in.TableName)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

// NewTable is CreateTable for a table whose only key is the string attribute key.
func NewTable(t testing.TB, c *dynamodb.Client, prefix, key string) string {
	t.Helper()
	return CreateTable(t, c, prefix, &dynamodb.CreateTableInput{
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(key), KeyType: ddbtypes.KeyTypeHash}},
	})
}
