package awsclient

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxVersionPages bounds OldestVersion: a key redriven a thousand times is not worth
// more calls to date its first arrival.
const maxVersionPages = 3

// OldestVersion is the LastModified of the oldest version of key in a versioned bucket
// (ListObjectVersions with the key as prefix, keeping only the key itself; delete markers
// count, since a request deleted and stored again first arrived before both). ok is false
// when the bucket holds no version of it. One call for up to 1000 versions.
func (s *ObjectStore) OldestVersion(ctx context.Context, key string) (oldest time.Time, ok bool, err error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(key)}
	for range maxVersionPages {
		out, err := s.client.ListObjectVersions(ctx, in)
		if err != nil {
			return time.Time{}, false, classify(err, s.call("list-versions", key, "s3:ListBucketVersions"))
		}
		see := func(k *string, t *time.Time) {
			if aws.ToString(k) == key && t != nil && (!ok || t.Before(oldest)) {
				oldest, ok = *t, true
			}
		}
		for _, v := range out.Versions {
			see(v.Key, v.LastModified)
		}
		for _, m := range out.DeleteMarkers {
			see(m.Key, m.LastModified)
		}
		if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextKeyMarker) != key {
			break // past the key's own versions
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	return oldest, ok, nil
}

// ObjectVersion is one stored version of a key (or a delete marker).
type ObjectVersion struct {
	VersionID    string
	LastModified time.Time
	Size         int64
	DeleteMarker bool
	Latest       bool
}

// Versions lists the versions of key in a versioned bucket, oldest first (at most
// maxVersionPages pages). An unversioned bucket lists one version, "null".
func (s *ObjectStore) Versions(ctx context.Context, key string) ([]ObjectVersion, error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(key)}
	var out []ObjectVersion
	for range maxVersionPages {
		page, err := s.client.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, classify(err, s.call("list-versions", key, "s3:ListBucketVersions"))
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) == key {
				out = append(out, ObjectVersion{VersionID: aws.ToString(v.VersionId), LastModified: aws.ToTime(v.LastModified).UTC(),
					Size: aws.ToInt64(v.Size), Latest: aws.ToBool(v.IsLatest)})
			}
		}
		for _, m := range page.DeleteMarkers {
			if aws.ToString(m.Key) == key {
				out = append(out, ObjectVersion{VersionID: aws.ToString(m.VersionId), LastModified: aws.ToTime(m.LastModified).UTC(),
					DeleteMarker: true, Latest: aws.ToBool(m.IsLatest)})
			}
		}
		if !aws.ToBool(page.IsTruncated) || aws.ToString(page.NextKeyMarker) != key {
			break
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastModified.Before(out[j].LastModified) })
	return out, nil
}
