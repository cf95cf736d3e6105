package awsclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// StatusSchema names the status table and the attributes the processor writes.
// Empty attribute names take the defaults (requestId, status, error, attempts, updatedAt).
type StatusSchema struct {
	Table         string
	KeyAttr       string
	StatusAttr    string
	ErrorAttr     string
	AttemptsAttr  string
	UpdatedAtAttr string
	// Index is a GSI with the status attribute as hash key and the updated-at attribute as
	// range key; "" means status listings scan the table.
	Index string
}

func (s StatusSchema) withDefaults() StatusSchema {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.KeyAttr, "requestId")
	def(&s.StatusAttr, "status")
	def(&s.ErrorAttr, "error")
	def(&s.AttemptsAttr, "attempts")
	def(&s.UpdatedAtAttr, "updatedAt")
	return s
}

// TableInfo describes the status table, for doctor.
type TableInfo struct {
	Name      string
	Status    string      // ACTIVE, CREATING, ...
	Keys      []KeyAttr   // the table's key schema
	Indexes   []IndexInfo // global secondary indexes
	ItemCount int64       // approximate: DynamoDB refreshes it about every six hours
	SizeBytes int64       // approximate, like ItemCount
}

// KeyAttr is one attribute of a key schema.
type KeyAttr struct {
	Name string
	Role string // HASH or RANGE
	Type string // S, N or B, when the table declares it
}

// IndexInfo is one global secondary index.
type IndexInfo struct {
	Name   string
	Status string
	Keys   []KeyAttr
}

// Status store limits.
const (
	maxBatchGetKeys    = 100 // DynamoDB's BatchGetItem limit
	batchGetParallel   = 4   // chunks in flight at once
	defaultStatusLimit = 100
	maxScanRounds      = 20 // Scan calls one ScanByStatus page may make before it returns what it has
)

// StatusStore reads the processing status items of one DynamoDB table.
type StatusStore struct {
	client  *dynamodb.Client
	schema  StatusSchema
	profile string
	sso     bool // profile signs in through IAM Identity Center
	// endpoint is the host of an overridden endpoint, for network errors.
	endpoint string

	// Backoff for UnprocessedKeys; tests shorten it.
	backoff    Backoff
	maxRetries int

	// The updated-at format, learned once (rangeFormat).
	// sdkDecoders leaves BatchGetItem bodies to the SDK's decoder (tests compare the two).
	sdkDecoders bool

	formatMu    sync.Mutex
	format      updatedAtFormat
	formatKnown bool
}

// ddbCallOptions is every DynamoDB call's options (see KeepConnectionsOnEarlyResponse).
var ddbCallOptions = []func(*dynamodb.Options){func(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, KeepConnectionsOnEarlyResponse)
}}

// unprocessedBackoffMax caps the wait before retrying keys BatchGetItem left unprocessed.
const unprocessedBackoffMax = 2 * time.Second

// NewStatusStore returns a StatusStore on schema.Table.
func NewStatusStore(client *dynamodb.Client, schema StatusSchema) *StatusStore {
	s := &StatusStore{
		client: client, schema: schema.withDefaults(),
		backoff: NewBackoff(unprocessedBackoffMax), maxRetries: 10,
	}
	if client != nil {
		s.endpoint = endpointHost(client.Options().BaseEndpoint)
	}
	return s
}

// Schema is the schema the store reads with, defaults filled in.
func (s *StatusStore) Schema() StatusSchema { return s.schema }

func (s *StatusStore) call(op, action string) call {
	r := "dynamodb://" + s.schema.Table
	if (op == "query") && s.schema.Index != "" {
		r += "/index/" + s.schema.Index
	}
	return call{Op: op, Resource: r, Action: action, NotFound: remedyTable, Profile: s.profile, SSO: s.sso, Endpoint: s.endpoint}
}

func (s *StatusStore) key(id string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{s.schema.KeyAttr: &ddbtypes.AttributeValueMemberS{Value: id}}
}

// Get reads the status of one request. A request with no item is not an error: found is
// false. A missing table is (KindNotFound, with a remedy).
func (s *StatusStore) Get(ctx context.Context, id string) (Status, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.schema.Table), Key: s.key(id)}, ddbCallOptions...)
	if err != nil {
		return Status{}, false, s.withKeyHint(ctx, classify(err, s.call("get-item", "dynamodb:GetItem")))
	}
	if len(out.Item) == 0 {
		return Status{}, false, nil
	}
	return s.toStatus(out.Item), true, nil
}

// BatchGet reads the statuses of ids; requests with no item are absent from the map.
// Duplicates are read once. Keys go in chunks of at most 100, a few chunks at a time, and
// keys DynamoDB leaves unprocessed are retried with exponential backoff and jitter.
func (s *StatusStore) BatchGet(parent context.Context, ids []string) (map[string]Status, error) {
	seen := make(map[string]bool, len(ids))
	unique := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	result := make(map[string]Status, len(unique))
	if len(unique) == 0 {
		return result, nil
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, batchGetParallel)
	)
	for start := 0; start < len(unique); start += maxBatchGetKeys {
		chunk := unique[start:min(start+maxBatchGetKeys, len(unique))]
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			items, err := s.batchGetChunk(ctx, chunk)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				return
			}
			for _, st := range items {
				result[st.RequestID] = st
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		// parent, not ctx: the first error cancelled ctx.
		return nil, s.withKeyHint(parent, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, classify(err, s.call("batch-get", "dynamodb:BatchGetItem"))
	}
	return result, nil
}

// withKeyHint names the table's key in the remedy of a key mismatch, which DynamoDB's
// message does not. It costs one DescribeTable on a path that fails anyway; when that is
// not allowed the generic remedy stays.
func (s *StatusStore) withKeyHint(ctx context.Context, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Remedy != remedyKeyAttr {
		return err
	}
	info, derr := s.Describe(ctx)
	if derr != nil {
		return err
	}
	var hash, rangeKey *KeyAttr
	for i, k := range info.Keys {
		switch k.Role {
		case "HASH":
			hash = &info.Keys[i]
		case "RANGE":
			rangeKey = &info.Keys[i]
		}
	}
	switch {
	case hash == nil:
	case rangeKey != nil:
		e.Remedy = fmt.Sprintf("the table's key is %s plus the sort key %s; stowage needs a table keyed by the request ID alone (check status.table)",
			strconv.QuoteToGraphic(hash.Name), strconv.QuoteToGraphic(rangeKey.Name))
	case hash.Name == s.schema.KeyAttr && hash.Type != "" && hash.Type != "S":
		e.Remedy = fmt.Sprintf("the table's partition key %s is of type %s; stowage reads request IDs as strings (S)",
			strconv.QuoteToGraphic(hash.Name), hash.Type)
	default:
		e.Remedy = "check status.key_attr in the config: the table's partition key is " + strconv.QuoteToGraphic(hash.Name)
	}
	return err
}

func (s *StatusStore) batchGetChunk(ctx context.Context, ids []string) ([]Status, error) {
	keys := make([]map[string]ddbtypes.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = s.key(id)
	}
	pending := map[string]ddbtypes.KeysAndAttributes{s.schema.Table: {Keys: keys}}
	var found []Status
	for attempt := 0; ; attempt++ {
		var fast []map[string]any
		var fastOK bool
		opts := ddbCallOptions
		if !s.sdkDecoders {
			m := &fastBatchGet{table: s.schema.Table, dst: &fast, ok: &fastOK}
			opts = append(opts[:len(opts):len(opts)], dynamodb.WithAPIOptions(func(st *middleware.Stack) error {
				return st.Deserialize.Add(m, middleware.After)
			}))
		}
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending}, opts...)
		if err != nil {
			return nil, classify(err, s.call("batch-get", "dynamodb:BatchGetItem"))
		}
		if fastOK { // and nothing was left unprocessed
			for _, item := range fast {
				found = append(found, s.statusOf(item))
			}
		}
		for _, item := range out.Responses[s.schema.Table] {
			found = append(found, s.toStatus(item))
		}
		left, ok := out.UnprocessedKeys[s.schema.Table]
		if !ok || len(left.Keys) == 0 {
			return found, nil
		}
		if attempt >= s.maxRetries {
			return nil, &Error{Kind: KindThrottled, Op: "batch-get", Resource: s.call("", "").Resource,
				Code: "UnprocessedKeys", Message: fmt.Sprintf("%d keys still unprocessed after %d retries", len(left.Keys), attempt),
				Remedy: remedyThrottled}
		}
		pending = map[string]ddbtypes.KeysAndAttributes{s.schema.Table: left}
		wait, err := s.backoff.BackoffDelay(attempt, nil)
		if err == nil {
			err = sleepCtx(ctx, wait)
		}
		if err != nil {
			return nil, classify(err, s.call("batch-get", "dynamodb:BatchGetItem"))
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ListByStatus lists requests in state, on the GSI when the schema names one, else by Scan.
func (s *StatusStore) ListByStatus(ctx context.Context, state, next string, limit int32) (StatusPage, error) {
	if s.schema.Index != "" {
		return s.QueryByStatus(ctx, state, next, limit)
	}
	return s.ScanByStatus(ctx, state, next, limit)
}

// QueryByStatus lists requests in state from the GSI, most recently updated first, up to
// limit per page. next is the NextToken of the previous page ("" for the first).
func (s *StatusStore) QueryByStatus(ctx context.Context, state, next string, limit int32) (StatusPage, error) {
	c := s.call("query", "dynamodb:Query")
	if s.schema.Index == "" {
		return StatusPage{}, invalid(c.Op, c.Resource, "no status index configured (status.index)")
	}
	start, err := decodePageToken(next)
	if err != nil {
		return StatusPage{}, invalid(c.Op, c.Resource, err.Error())
	}
	if limit <= 0 {
		limit = defaultStatusLimit
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.schema.Table),
		IndexName:                 aws.String(s.schema.Index),
		KeyConditionExpression:    aws.String("#s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": s.schema.StatusAttr},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: state}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(limit),
		ExclusiveStartKey:         start,
	}, ddbCallOptions...)
	if err != nil {
		return StatusPage{}, classify(err, c)
	}
	page := StatusPage{Items: make([]Status, 0, len(out.Items))}
	for _, item := range out.Items {
		page.Items = append(page.Items, s.toStatus(item))
	}
	if len(out.LastEvaluatedKey) > 0 {
		page.NextToken = encodePageToken(out.LastEvaluatedKey)
	}
	return page, nil
}

// ScanByStatus lists requests in state by scanning the whole table with a filter, for
// tables without a status index. A page holds up to limit items; it may hold fewer (even
// none) with a NextToken when the filter matched little, since one page reads a bounded
// part of the table.
func (s *StatusStore) ScanByStatus(ctx context.Context, state, next string, limit int32) (StatusPage, error) {
	c := s.call("scan", "dynamodb:Scan")
	start, err := decodePageToken(next)
	if err != nil {
		return StatusPage{}, invalid(c.Op, c.Resource, err.Error())
	}
	if limit <= 0 {
		limit = defaultStatusLimit
	}
	var page StatusPage
	for round := 0; ; round++ {
		out, err := s.client.Scan(ctx, &dynamodb.ScanInput{
			TableName:                 aws.String(s.schema.Table),
			FilterExpression:          aws.String("#s = :s"),
			ExpressionAttributeNames:  map[string]string{"#s": s.schema.StatusAttr},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: state}},
			ExclusiveStartKey:         start,
		}, ddbCallOptions...)
		if err != nil {
			return StatusPage{}, classify(err, c)
		}
		for i, item := range out.Items {
			page.Items = append(page.Items, s.toStatus(item))
			if len(page.Items) == int(limit) && (i < len(out.Items)-1 || len(out.LastEvaluatedKey) > 0) {
				// Full: resume right after this item. A Scan resumes after any item's
				// primary key, and the page's LastEvaluatedKey names the key attributes.
				page.NextToken = encodePageToken(keyOf(item, out.LastEvaluatedKey, s.schema.KeyAttr))
				return page, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return page, nil
		}
		start = out.LastEvaluatedKey
		if round+1 >= maxScanRounds {
			page.NextToken = encodePageToken(start)
			return page, nil
		}
	}
}

// keyOf picks item's primary key: the attributes named in lek, or keyAttr alone.
func keyOf(item, lek map[string]ddbtypes.AttributeValue, keyAttr string) map[string]ddbtypes.AttributeValue {
	key := map[string]ddbtypes.AttributeValue{}
	if len(lek) == 0 {
		key[keyAttr] = item[keyAttr]
		return key
	}
	for name := range lek {
		key[name] = item[name]
	}
	return key
}

// ScanIDs reads every request ID in the table with a parallel Scan of segments segments
// that projects the key alone, handing each page's IDs to fn. fn is never called
// concurrently. The first error (from DynamoDB or fn) stops every segment and is returned.
func (s *StatusStore) ScanIDs(ctx context.Context, segments int, fn func(ids []string) error) error {
	if segments <= 0 {
		segments = 4
	}
	segments = min(segments, 1000)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex // serializes fn and guards firstErr
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	c := s.call("scan", "dynamodb:Scan")
	for seg := 0; seg < segments; seg++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var start map[string]ddbtypes.AttributeValue
			for {
				out, err := s.client.Scan(ctx, &dynamodb.ScanInput{
					TableName:                aws.String(s.schema.Table),
					ProjectionExpression:     aws.String("#k"),
					ExpressionAttributeNames: map[string]string{"#k": s.schema.KeyAttr},
					Segment:                  aws.Int32(int32(seg)),
					TotalSegments:            aws.Int32(int32(segments)),
					ExclusiveStartKey:        start,
				}, ddbCallOptions...)
				mu.Lock()
				if firstErr != nil {
					mu.Unlock()
					return
				}
				if err != nil {
					fail(classify(err, c))
					mu.Unlock()
					return
				}
				ids := make([]string, 0, len(out.Items))
				for _, item := range out.Items {
					if id := stringAttr(item[s.schema.KeyAttr]); id != "" {
						ids = append(ids, id)
					}
				}
				if len(ids) == 0 && len(out.Items) > 0 {
					// Items without the key attribute: key_attr names some other attribute.
					// Going on would report every stored request as LOST.
					fail(s.withKeyHint(ctx, &Error{Kind: KindInvalid, Op: c.Op, Resource: c.Resource,
						Message: fmt.Sprintf("%d items have no attribute %s", len(out.Items), strconv.QuoteToGraphic(s.schema.KeyAttr)),
						Remedy:  remedyKeyAttr}))
					mu.Unlock()
					return
				}
				if len(ids) > 0 {
					if err := fn(ids); err != nil {
						fail(err)
						mu.Unlock()
						return
					}
				}
				mu.Unlock()
				if len(out.LastEvaluatedKey) == 0 {
					return
				}
				start = out.LastEvaluatedKey
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return nil
}

// Describe reads the table's key schema, indexes and approximate item count.
func (s *StatusStore) Describe(ctx context.Context) (TableInfo, error) {
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.schema.Table)}, ddbCallOptions...)
	if err != nil {
		return TableInfo{}, classify(err, s.call("describe", "dynamodb:DescribeTable"))
	}
	t := out.Table
	types := map[string]string{}
	for _, d := range t.AttributeDefinitions {
		types[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	keys := func(ks []ddbtypes.KeySchemaElement) []KeyAttr {
		out := make([]KeyAttr, 0, len(ks))
		for _, k := range ks {
			name := aws.ToString(k.AttributeName)
			out = append(out, KeyAttr{Name: name, Role: string(k.KeyType), Type: types[name]})
		}
		return out
	}
	info := TableInfo{
		Name:      aws.ToString(t.TableName),
		Status:    string(t.TableStatus),
		Keys:      keys(t.KeySchema),
		ItemCount: aws.ToInt64(t.ItemCount),
		SizeBytes: aws.ToInt64(t.TableSizeBytes),
	}
	for _, g := range t.GlobalSecondaryIndexes {
		info.Indexes = append(info.Indexes, IndexInfo{
			Name: aws.ToString(g.IndexName), Status: string(g.IndexStatus), Keys: keys(g.KeySchema),
		})
	}
	sort.Slice(info.Indexes, func(i, j int) bool { return info.Indexes[i].Name < info.Indexes[j].Name })
	return info, nil
}

// toStatus maps an item to a Status (statusOf, on its plain values).
func (s *StatusStore) toStatus(item map[string]ddbtypes.AttributeValue) Status {
	plain := make(map[string]any, len(item))
	for k, v := range item {
		plain[k] = plainValue(v)
	}
	return s.statusOf(plain)
}

// statusOf reads a Status from an item's plain values (plainValue's: a string is S, a
// json.Number is N), which become its Item. Unreadable attempts or timestamps are left
// zero; the raw values stay visible in Item. It is the one reading of a status item: the
// SDK's attribute values (toStatus) and the fast BatchGetItem decoder both come here.
func (s *StatusStore) statusOf(item map[string]any) Status {
	st := Status{
		RequestID: plainString(item[s.schema.KeyAttr]),
		State:     plainString(item[s.schema.StatusAttr]),
		Error:     plainString(item[s.schema.ErrorAttr]),
		Item:      item,
	}
	if n, ok := plainNumber(item[s.schema.AttemptsAttr]); ok && n >= 0 && n < math.MaxInt32 {
		st.Attempts = int(n)
	}
	st.UpdatedAt = plainTime(item[s.schema.UpdatedAtAttr])
	return st
}

// plainString reads S, or the text of N; anything else is "".
func plainString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return ""
}

// plainNumber reads N, or S holding a number.
func plainNumber(v any) (float64, bool) {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = string(v)
	case string:
		text = strings.TrimSpace(v)
	default:
		return 0, false
	}
	return parseNumber(text)
}

// plainTime reads an RFC 3339/ISO 8601 string, or epoch seconds or milliseconds (N or S).
func plainTime(v any) time.Time {
	if s, ok := v.(string); ok {
		if t, ok := parseTimeText(s); ok {
			return t
		}
	}
	f, ok := plainNumber(v)
	return epochTime(f, ok)
}

// stringAttr reads S, or the text of N; anything else is "".
func stringAttr(v ddbtypes.AttributeValue) string {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

// numberAttr reads N, or S holding a number.
func numberAttr(v ddbtypes.AttributeValue) (float64, bool) {
	var text string
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberN:
		text = v.Value
	case *ddbtypes.AttributeValueMemberS:
		text = strings.TrimSpace(v.Value)
	default:
		return 0, false
	}
	return parseNumber(text)
}

func parseNumber(text string) (float64, bool) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Layouts an updated-at string may use; zone-less ones are read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// timeAttr reads an RFC 3339/ISO 8601 string, or epoch seconds or milliseconds (N or S).
func timeAttr(v ddbtypes.AttributeValue) time.Time {
	if s, ok := v.(*ddbtypes.AttributeValueMemberS); ok {
		if t, ok := parseTimeText(s.Value); ok {
			return t
		}
	}
	return epochTime(numberAttr(v))
}

func parseTimeText(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// epochTime reads epoch seconds, or milliseconds beyond the year 5000 in seconds.
func epochTime(f float64, ok bool) time.Time {
	if !ok || f <= 0 {
		return time.Time{}
	}
	if f >= 1e11 {
		return time.UnixMilli(int64(f)).UTC()
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// plainValue turns an attribute into plain JSON values: S → string, N → json.Number
// (exact, no float rounding), BOOL → bool, NULL → nil, B → base64 string, SS/NS/BS and L
// → []any, M → map[string]any.
func plainValue(v ddbtypes.AttributeValue) any {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return json.Number(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		return v.Value
	case *ddbtypes.AttributeValueMemberNULL:
		return nil
	case *ddbtypes.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(v.Value)
	case *ddbtypes.AttributeValueMemberSS:
		out := make([]any, len(v.Value))
		for i, s := range v.Value {
			out[i] = s
		}
		return out
	case *ddbtypes.AttributeValueMemberNS:
		out := make([]any, len(v.Value))
		for i, s := range v.Value {
			out[i] = json.Number(s)
		}
		return out
	case *ddbtypes.AttributeValueMemberBS:
		out := make([]any, len(v.Value))
		for i, b := range v.Value {
			out[i] = base64.StdEncoding.EncodeToString(b)
		}
		return out
	case *ddbtypes.AttributeValueMemberL:
		out := make([]any, len(v.Value))
		for i, e := range v.Value {
			out[i] = plainValue(e)
		}
		return out
	case *ddbtypes.AttributeValueMemberM:
		out := make(map[string]any, len(v.Value))
		for k, e := range v.Value {
			out[k] = plainValue(e)
		}
		return out
	}
	return nil
}

// Page tokens are the LastEvaluatedKey as base64url JSON ({"attr":{"S":"v"}}): opaque to
// callers, safe in URLs and on the command line.
func encodePageToken(key map[string]ddbtypes.AttributeValue) string {
	plain := make(map[string]map[string]string, len(key))
	for name, v := range key {
		switch v := v.(type) {
		case *ddbtypes.AttributeValueMemberS:
			plain[name] = map[string]string{"S": v.Value}
		case *ddbtypes.AttributeValueMemberN:
			plain[name] = map[string]string{"N": v.Value}
		case *ddbtypes.AttributeValueMemberB:
			plain[name] = map[string]string{"B": base64.StdEncoding.EncodeToString(v.Value)}
		}
	}
	b, _ := json.Marshal(plain) // maps of strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(token string) (map[string]ddbtypes.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, fmt.Errorf("bad page token: not base64")
	}
	var plain map[string]map[string]string
	if err := json.Unmarshal(raw, &plain); err != nil || len(plain) == 0 {
		return nil, fmt.Errorf("bad page token: not a key")
	}
	key := make(map[string]ddbtypes.AttributeValue, len(plain))
	for name, typed := range plain {
		if len(typed) != 1 || name == "" {
			return nil, fmt.Errorf("bad page token: attribute %q", name)
		}
		for t, v := range typed {
			switch t {
			case "S":
				key[name] = &ddbtypes.AttributeValueMemberS{Value: v}
			case "N":
				key[name] = &ddbtypes.AttributeValueMemberN{Value: v}
			case "B":
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					return nil, fmt.Errorf("bad page token: attribute %q", name)
				}
				key[name] = &ddbtypes.AttributeValueMemberB{Value: b}
			default:
				return nil, fmt.Errorf("bad page token: attribute %q", name)
			}
		}
	}
	return key, nil
}

// SampleStates reads the distinct states of up to limit items with one Scan call that
// projects only the state: from the status index when one is configured (its items are
// small), else from the table. It is a sample, not a census: enough to suggest "did you
// mean FAILED?" when a state matched nothing, at the cost of one Scan page (at most 1 MB
// read, about 128 read units on the table for a full page, far less on the index).
func (s *StatusStore) SampleStates(ctx context.Context, limit int32) ([]string, error) {
	c := s.call("scan", "dynamodb:Scan")
	if limit <= 0 {
		limit = 1000
	}
	in := &dynamodb.ScanInput{
		TableName:                aws.String(s.schema.Table),
		ProjectionExpression:     aws.String("#s"),
		ExpressionAttributeNames: map[string]string{"#s": s.schema.StatusAttr},
		Limit:                    aws.Int32(limit),
	}
	if s.schema.Index != "" {
		in.IndexName = aws.String(s.schema.Index)
	}
	out, err := s.client.Scan(ctx, in, ddbCallOptions...)
	if err != nil {
		return nil, classify(err, c)
	}
	seen := map[string]bool{}
	var states []string
	for _, item := range out.Items {
		if st := stringAttr(item[s.schema.StatusAttr]); st != "" && !seen[st] {
			seen[st] = true
			states = append(states, st)
		}
	}
	sort.Strings(states)
	return states, nil
}

// StatusTime reads a time from a value of Status.Item (a string, or a json.Number of epoch
// seconds or milliseconds) by the rule updatedAt is read with; zero when it holds none.
func StatusTime(v any) time.Time {
	switch v := v.(type) {
	case string, json.Number:
		return plainTime(v)
	case float64:
		return plainTime(json.Number(strconv.FormatFloat(v, 'f', -1, 64)))
	}
	return time.Time{}
}

// updatedAtFormat is how the processor writes the updated-at attribute, learned from one
// item, so that a key condition on the index's range key compares like with like.
type updatedAtFormat struct {
	number bool // N (or S holding a number): epoch seconds, or milliseconds when millis
	millis bool
	space  bool // S: "2006-01-02 15:04:05…" rather than "…T…"
}

// lowerBound is a range-key value at or before every stored value of t's second, so that
// "updatedAt >= bound" reads everything from t on whatever the stored fraction and zone
// (callers filter the exact instant client-side).
func (f updatedAtFormat) lowerBound(t time.Time) ddbtypes.AttributeValue {
	t = t.UTC()
	if f.number {
		if f.millis {
			return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
		}
		return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
	}
	layout := "2006-01-02T15:04:05"
	if f.space {
		layout = "2006-01-02 15:04:05"
	}
	return &ddbtypes.AttributeValueMemberS{Value: t.Format(layout)} // a prefix sorts first
}

// upperBound is a range-key value after every stored value before t's next second.
func (f updatedAtFormat) upperBound(t time.Time) ddbtypes.AttributeValue {
	t = t.UTC()
	if f.number {
		if f.millis {
			return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli()+1, 10)}
		}
		return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix()+1, 10)}
	}
	layout := "2006-01-02T15:04:05"
	if f.space {
		layout = "2006-01-02 15:04:05"
	}
	return &ddbtypes.AttributeValueMemberS{Value: t.Format(layout) + "~"} // '~' sorts after any suffix
}

// rangeFormat learns the updated-at format from the newest item in state (one read, then
// remembered). ok is false when the index holds no item in state.
func (s *StatusStore) rangeFormat(ctx context.Context, state string) (updatedAtFormat, bool, error) {
	s.formatMu.Lock()
	f, known := s.format, s.formatKnown
	s.formatMu.Unlock()
	if known {
		return f, true, nil
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.schema.Table),
		IndexName:                 aws.String(s.schema.Index),
		KeyConditionExpression:    aws.String("#s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": s.schema.StatusAttr},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: state}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
	}, ddbCallOptions...)
	if err != nil {
		return f, false, classify(err, s.call("query", "dynamodb:Query"))
	}
	if len(out.Items) == 0 {
		return f, false, nil
	}
	switch v := out.Items[0][s.schema.UpdatedAtAttr].(type) {
	case *ddbtypes.AttributeValueMemberN:
		n, _ := numberAttr(v)
		f = updatedAtFormat{number: true, millis: n >= 1e11}
	case *ddbtypes.AttributeValueMemberS:
		f = updatedAtFormat{space: len(v.Value) > 10 && v.Value[10] == ' '}
	}
	s.formatMu.Lock()
	s.format, s.formatKnown = f, true
	s.formatMu.Unlock()
	return f, true, nil
}

// ChangedSince reads the requests whose status is state and whose updated-at is after
// since, oldest first, up to limit (100 when limit <= 0), from the status index: the
// auto-refresh's "new FAILED items" and tail's follow loop. Items that share since's
// instant are left out, so callers that must not miss one pass a slightly earlier since
// and drop what they have seen. Throttling is KindThrottled (callers back off).
func (s *StatusStore) ChangedSince(ctx context.Context, state string, since time.Time, limit int) ([]Status, error) {
	c := s.call("query", "dynamodb:Query")
	if s.schema.Index == "" {
		return nil, invalid(c.Op, c.Resource, "no status index configured (status.index)")
	}
	if limit <= 0 {
		limit = defaultStatusLimit
	}
	f, ok, err := s.rangeFormat(ctx, state)
	if err != nil || !ok {
		return nil, err
	}
	var out []Status
	err = s.queryRange(ctx, state, f.lowerBound(since), nil, true, func(items []map[string]ddbtypes.AttributeValue) (bool, error) {
		for _, item := range items {
			st := s.toStatus(item)
			if !st.UpdatedAt.After(since) {
				continue
			}
			out = append(out, st)
			if len(out) == limit {
				return false, nil
			}
		}
		return true, nil
	}, nil, int32(min(limit+10, 1000)))
	return out, err
}

// queryRange runs one Query of the index for state with the range key from lo (and to hi
// when not nil), paging until page returns false. projection, when not nil, names the
// attributes to read.
func (s *StatusStore) queryRange(ctx context.Context, state string, lo, hi ddbtypes.AttributeValue, forward bool,
	page func([]map[string]ddbtypes.AttributeValue) (bool, error), projection []string, limit int32) error {
	c := s.call("query", "dynamodb:Query")
	names := map[string]string{"#s": s.schema.StatusAttr, "#u": s.schema.UpdatedAtAttr}
	values := map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: state}, ":lo": lo}
	cond := "#s = :s AND #u >= :lo"
	if hi != nil {
		cond = "#s = :s AND #u BETWEEN :lo AND :hi"
		values[":hi"] = hi
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.schema.Table),
		IndexName:                 aws.String(s.schema.Index),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(forward),
	}
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	if len(projection) > 0 {
		var ps []string
		for i, p := range projection {
			k := "#p" + strconv.Itoa(i)
			names[k] = p
			ps = append(ps, k)
		}
		in.ProjectionExpression = aws.String(strings.Join(ps, ", "))
	}
	for {
		out, err := s.client.Query(ctx, in, ddbCallOptions...)
		if err != nil {
			return classify(err, c)
		}
		more, err := page(out.Items)
		if err != nil || !more || len(out.LastEvaluatedKey) == 0 {
			return err
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// UpdatedTimes reads the updated-at of every request in state updated in [since, until)
// from the status index, page by page (only the key, status and updated-at attributes
// are returned), for histograms. A zero since or until is an open end. parts > 1 splits
// the range into that many Queries run at once (a bounded window only); fn is called from
// one goroutine at a time.
func (s *StatusStore) UpdatedTimes(ctx context.Context, state string, since, until time.Time, parts int,
	fn func([]time.Time) error) error {
	c := s.call("query", "dynamodb:Query")
	if s.schema.Index == "" {
		return invalid(c.Op, c.Resource, "no status index configured (status.index)")
	}
	f, ok, err := s.rangeFormat(ctx, state)
	if err != nil || !ok {
		return err
	}
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	if until.IsZero() || parts < 1 {
		parts = 1
	}
	var mu sync.Mutex
	run := func(ctx context.Context, lo, hi time.Time) error {
		var hiV ddbtypes.AttributeValue
		if !hi.IsZero() {
			hiV = f.upperBound(hi)
		}
		return s.queryRange(ctx, state, f.lowerBound(lo), hiV, true, func(items []map[string]ddbtypes.AttributeValue) (bool, error) {
			ts := make([]time.Time, 0, len(items))
			for _, item := range items {
				t := timeAttr(item[s.schema.UpdatedAtAttr])
				if t.Before(lo) || (!hi.IsZero() && !t.Before(hi)) {
					continue // the bounds are a second wide; the exact instant is checked here
				}
				ts = append(ts, t)
			}
			mu.Lock()
			defer mu.Unlock()
			return true, fn(ts)
		}, []string{s.schema.KeyAttr, s.schema.StatusAttr, s.schema.UpdatedAtAttr}, 0)
	}
	if parts == 1 {
		return run(ctx, since, until)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	step := until.Sub(since) / time.Duration(parts)
	if step <= 0 {
		return run(ctx, since, until)
	}
	errs := make(chan error, parts)
	for i := 0; i < parts; i++ {
		lo, hi := since.Add(time.Duration(i)*step), since.Add(time.Duration(i+1)*step)
		if i == parts-1 {
			hi = until
		}
		go func() {
			err := run(ctx, lo, hi)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for i := 0; i < parts; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
