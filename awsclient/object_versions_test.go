package awsclient_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-cli/stowage/awsclient"
)

// In a versioned bucket a key's first arrival is its oldest version, however often it
// was stored again since; a key with a longer neighbour ("k" and "k2") counts only its own.
func TestOldestVersion(t *testing.T) {
	s, client := newStore(t, awsclient.ObjectStoreOptions{})
	if _, err := client.PutBucketVersioning(ctxT(t), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(s.Bucket()),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Skipf("this S3 server does not version buckets (%v); OldestVersion needs one", err)
	}
	put(t, s, "req", "v1")
	time.Sleep(1100 * time.Millisecond) // S3 times have one-second resolution
	put(t, s, "req", "v2")
	put(t, s, "req2", "other")
	got, ok, err := s.OldestVersion(ctxT(t), "req")
	if err != nil || !ok {
		t.Fatalf("OldestVersion: %v, %v", ok, err)
	}
	head, err := s.Head(ctxT(t), "req")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Before(head.LastModified) {
		t.Fatalf("oldest %v, want the first version's, before the current %v", got, head.LastModified)
	}
	if _, ok, err := s.OldestVersion(ctxT(t), "missing"); ok || err != nil {
		t.Fatalf("a key never stored: ok %v, err %v", ok, err)
	}
}
