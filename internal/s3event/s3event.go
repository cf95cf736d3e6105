// Package s3event builds the S3 event notification record (eventVersion 2.1) and the
// EventBridge "Object Created" event that S3 would send for an object, so that a redrive
// can hand the processor the same object again without writing it. It is pure: no I/O,
// and it must not import anything of stowage.
package s3event

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Object is the stored object the event is about.
type Object struct {
	Bucket string
	Key    string // the key as stored (not encoded)
	Size   int64
	ETag   string // without quotes
	// VersionID is set when the bucket is versioned; S3 leaves versionId out otherwise.
	VersionID string
}

// Marker tells a processor the event is a redrive, and lets it deduplicate: the same
// values the gateway modes send as headers.
type Marker struct {
	OriginalRequestID string `json:"originalRequestId"`
	RedriveID         string `json:"redriveId"`
}

// Source is what the event says about where it came from.
type Source struct {
	Region string
	// Account is the bucket owner's 12-digit account ID ("" when unknown: EventBridge's
	// account field is then left empty, and the owner principal is "stowage").
	Account string
	// Principal is userIdentity.principalId ("" = "stowage").
	Principal string
	// ConfigurationID is s3.configurationId: the notification configuration's ID.
	ConfigurationID string
	// At is the event time (S3: when it finished processing the request). Its sequencer
	// derives from it, so a later redrive of the same key has a larger sequencer.
	At time.Time
}

// EventName is the event a redrive synthesizes: an object stored with PUT.
const EventName = "ObjectCreated:Put"

// Record is one entry of an S3 event notification's Records, version 2.1, with the
// stowage field added.
type Record struct {
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	AWSRegion         string            `json:"awsRegion"`
	EventTime         string            `json:"eventTime"`
	EventName         string            `json:"eventName"`
	UserIdentity      Principal         `json:"userIdentity"`
	RequestParameters map[string]string `json:"requestParameters"`
	ResponseElements  map[string]string `json:"responseElements"`
	S3                S3Entity          `json:"s3"`
	Stowage           *Marker           `json:"stowage,omitempty"`
}

// Principal is a principalId holder (userIdentity, ownerIdentity).
type Principal struct {
	PrincipalID string `json:"principalId"`
}

// S3Entity is the record's s3 field.
type S3Entity struct {
	SchemaVersion   string       `json:"s3SchemaVersion"`
	ConfigurationID string       `json:"configurationId"`
	Bucket          BucketEntity `json:"bucket"`
	Object          ObjectEntity `json:"object"`
}

// BucketEntity is s3.bucket.
type BucketEntity struct {
	Name          string    `json:"name"`
	OwnerIdentity Principal `json:"ownerIdentity"`
	ARN           string    `json:"arn"`
}

// ObjectEntity is s3.object; Key is URL-encoded as S3 encodes it.
type ObjectEntity struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"eTag"`
	VersionID string `json:"versionId,omitempty"`
	Sequencer string `json:"sequencer"`
}

// Notification is the message body S3 sends to SQS and Lambda: {"Records":[...]}.
type Notification struct {
	Records []Record `json:"Records"`
}

// NewRecord builds the record S3 would send for o.
func NewRecord(o Object, src Source, m *Marker) Record {
	at := src.At.UTC()
	principal := src.Principal
	if principal == "" {
		principal = "stowage"
	}
	owner := src.Account
	if owner == "" {
		owner = "stowage"
	}
	reqID, hostID := requestIDs(o, m)
	return Record{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: src.Region,
		EventTime: at.Format("2006-01-02T15:04:05.000Z"), EventName: EventName,
		UserIdentity:      Principal{PrincipalID: principal},
		RequestParameters: map[string]string{"sourceIPAddress": "127.0.0.1"},
		ResponseElements:  map[string]string{"x-amz-request-id": reqID, "x-amz-id-2": hostID},
		S3: S3Entity{
			SchemaVersion: "1.0", ConfigurationID: src.ConfigurationID,
			Bucket: BucketEntity{Name: o.Bucket, OwnerIdentity: Principal{PrincipalID: owner}, ARN: BucketARN(src.Region, o.Bucket)},
			Object: ObjectEntity{Key: EncodeKey(o.Key), Size: o.Size, ETag: o.ETag, VersionID: o.VersionID, Sequencer: Sequencer(at)},
		},
		Stowage: m,
	}
}

// NotificationJSON is the notification body for o, as SQS and Lambda receive it.
func NotificationJSON(o Object, src Source, m *Marker) ([]byte, error) {
	return json.Marshal(Notification{Records: []Record{NewRecord(o, src, m)}})
}

// Detail is the detail of the EventBridge event S3 sends for an object created
// (detail-type "Object Created", source aws.s3), with the stowage field added. Its key is
// not encoded: EventBridge carries it as stored.
type Detail struct {
	Version         string       `json:"version"`
	Bucket          DetailBucket `json:"bucket"`
	Object          DetailObject `json:"object"`
	RequestID       string       `json:"request-id"`
	Requester       string       `json:"requester"`
	SourceIPAddress string       `json:"source-ip-address"`
	Reason          string       `json:"reason"`
	Stowage         *Marker      `json:"stowage,omitempty"`
}

// DetailBucket is detail.bucket.
type DetailBucket struct {
	Name string `json:"name"`
}

// DetailObject is detail.object.
type DetailObject struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag"`
	VersionID string `json:"version-id,omitempty"`
	Sequencer string `json:"sequencer"`
}

// DetailType and EventBridgeSource are what S3 puts on its EventBridge events.
const (
	DetailType        = "Object Created"
	EventBridgeSource = "aws.s3"
)

// NewDetail builds the EventBridge detail S3 would send for o.
func NewDetail(o Object, src Source, m *Marker) Detail {
	reqID, _ := requestIDs(o, m)
	requester := src.Account
	if requester == "" {
		requester = "stowage"
	}
	return Detail{
		Version: "0", Bucket: DetailBucket{Name: o.Bucket},
		Object:    DetailObject{Key: o.Key, Size: o.Size, ETag: o.ETag, VersionID: o.VersionID, Sequencer: Sequencer(src.At.UTC())},
		RequestID: reqID, Requester: requester, SourceIPAddress: "127.0.0.1", Reason: "PutObject",
		Stowage: m,
	}
}

// DetailJSON is NewDetail as JSON, PutEvents' Detail.
func DetailJSON(o Object, src Source, m *Marker) ([]byte, error) {
	return json.Marshal(NewDetail(o, src, m))
}

// BucketARN is the bucket's ARN in the region's partition.
func BucketARN(region, bucket string) string {
	return "arn:" + Partition(region) + ":s3:::" + bucket
}

// Partition is the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// Sequencer is S3's ordering token for events on one key, as S3 writes it: upper-case
// hex, the event's Unix seconds in ten digits then eight more; a later event of a key
// has a larger one (compare them as S3 documents: pad to equal length, then as strings).
func Sequencer(at time.Time) string {
	return fmt.Sprintf("%010X%08X", at.Unix(), uint32(at.Nanosecond()))
}

// requestIDs are stable stand-ins for S3's x-amz-request-id (16 upper-case hex
// characters) and x-amz-id-2, derived from the redrive and the object, so that the same
// redrive of the same object always says the same.
func requestIDs(o Object, m *Marker) (string, string) {
	h := sha256.New()
	if m != nil {
		h.Write([]byte(m.RedriveID + "\x00" + m.OriginalRequestID + "\x00"))
	}
	h.Write([]byte(o.Bucket + "\x00" + o.Key + "\x00" + o.ETag + "\x00" + o.VersionID))
	sum := h.Sum(nil)
	return strings.ToUpper(hex.EncodeToString(sum[:8])), base64.StdEncoding.EncodeToString(sum[8:])
}
