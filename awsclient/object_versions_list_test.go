package awsclient_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-cli/stowage/awsclient"
)

// Versions lists every store of a key, oldest first, and none of a longer neighbour's.
func TestObjectVersionsForTrace(t *testing.T) {
	s, client := newStore(t, awsclient.ObjectStoreOptions{})
	if _, err := client.PutBucketVersioning(ctxT(t), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(s.Bucket()),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Skipf("this S3 server does not version buckets (%v)", err)
	}
	put(t, s, "req", "v1")
	time.Sleep(1100 * time.Millisecond) // S3 times have one-second resolution
	put(t, s, "req", "v2-longer")
	put(t, s, "req2", "other")
	vs, err := s.Versions(ctxT(t), "req")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || !vs[0].LastModified.Before(vs[1].LastModified) || vs[0].Size != 2 || vs[1].Size != 9 || !vs[1].Latest || vs[0].Latest {
		t.Errorf("versions %+v", vs)
	}
	if vs, err := s.Versions(ctxT(t), "missing"); err != nil || len(vs) != 0 {
		t.Errorf("a key never stored: %+v, %v", vs, err)
	}
}

// Neither local S3 versions buckets: the same against a canned ListObjectVersions answer,
// with a neighbour key, a delete marker and the versions out of order.
func TestObjectVersionsForTraceCanned(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.URL.Query()["versions"]; !ok {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>req</Prefix><IsTruncated>false</IsTruncated>
<Version><Key>req</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest><LastModified>2026-03-02T11:02:41.000Z</LastModified><Size>9</Size></Version>
<Version><Key>req</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest><LastModified>2026-03-02T09:14:07.000Z</LastModified><Size>2</Size></Version>
<Version><Key>req2</Key><VersionId>x</VersionId><IsLatest>true</IsLatest><LastModified>2026-03-01T00:00:00.000Z</LastModified><Size>5</Size></Version>
<DeleteMarker><Key>req</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest><LastModified>2026-03-02T10:00:00.000Z</LastModified></DeleteMarker>
</ListVersionsResult>`)
	}))
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	vs, err := awsclient.NewObjectStore(client, "b", awsclient.ObjectStoreOptions{}).Versions(ctxT(t), "req")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0].VersionID != "v1" || !vs[1].DeleteMarker || vs[2].VersionID != "v3" || !vs[2].Latest || vs[2].Size != 9 {
		t.Errorf("versions %+v", vs)
	}
}
