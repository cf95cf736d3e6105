package devstack

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tableSchema is the shape of the status table: a string hash key and one GSI whose hash
// key is the status attribute and whose range key is the updated-at attribute (both S),
// projecting all attributes.
type tableSchema struct {
	Name      string
	KeyAttr   string
	IndexName string
	IndexHash string
	IndexSort string
	Region    string
}

// statusTable is the in-memory status table. Besides the items by key it keeps them in
// scan order, keeps the index as sorted partitions and keeps running totals, so that
// every read costs in proportion to what it returns, not to the table.
type statusTable struct {
	schema  tableSchema
	created time.Time
	id      string

	mu    sync.RWMutex
	items map[string]*entry   // by key attribute value
	scan  orderedList[*entry] // every entry, in scan order
	index map[string]*orderedList[*entry]
	dict  *dictionary // shared names and values of the stored items
	// Running totals for DescribeTable.
	size, indexCount, indexSize int
	dirty                       atomic.Bool // changed since the last save
	// persist tracks the changed keys for save (with a DataDir).
	persist bool
	disk    persisted
}

func newStatusTable(s tableSchema, created time.Time) *statusTable {
	sum := md5.Sum([]byte(s.Name + created.String()))
	id := hex.EncodeToString(sum[:])
	return &statusTable{schema: s, created: created, items: map[string]*entry{},
		scan: orderedList[*entry]{less: tableLess}, index: map[string]*orderedList[*entry]{}, dict: newDictionary(),
		id: id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]}
}

// get returns a copy-safe item (items are replaced, never mutated).
func (t *statusTable) get(key string) (item, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.items[key]
	if !ok {
		return nil, false
	}
	return e.decode(t.dict.strs), true
}

// has reports whether key has an item, without decoding it.
func (t *statusTable) has(key string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	_, ok := t.items[key]
	return ok
}

// indexHash is the index hash value (the status) of key's item, without decoding it;
// ok is false when the item is missing or not in the index.
func (t *statusTable) indexHash(key string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.items[key]
	if !ok || !e.idx {
		return "", false
	}
	return e.hashv, true
}

// update applies fn to the item under key atomically; fn returns nil to leave it alone.
func (t *statusTable) update(key string, fn func(old item, exists bool) (item, error)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var old item
	e, ok := t.items[key]
	if ok {
		old = e.decode(t.dict.strs)
	}
	next, err := fn(old, ok)
	if err != nil || next == nil {
		return err
	}
	if err := t.validateItem(next); err != nil {
		return err
	}
	t.put(key, e, next)
	t.dirty.Store(true)
	return nil
}

// put stores next under key, replacing old (nil when there was none), and keeps the scan
// order, the index and the totals. The caller holds mu for writing.
func (t *statusTable) put(key string, old *entry, next item) {
	n := &entry{enc: t.dict.encode(next, key), key: key, size: next.size()}
	if old != nil {
		n.hp = old.hp
		t.size -= old.size
		t.unindex(old)
		// Same key, same scan position: swap in place rather than remove and insert.
		if ci, i := t.scan.search(old); ci < len(t.scan.chunks) && t.scan.chunks[ci][i] == old {
			t.scan.chunks[ci][i] = n
		}
	} else {
		n.hp = prefix24(key)
		t.scan.insert(n)
	}
	t.items[key] = n
	t.size += n.size
	t.changedKey(key)
	if t.schema.IndexName != "" {
		h, ok1 := next[t.schema.IndexHash]
		s, ok2 := next[t.schema.IndexSort]
		if ok1 && ok2 && h.kind == "S" && s.kind == "S" {
			n.idx, n.sortv = true, s.str
			part := t.index[h.str]
			if part == nil {
				part = &orderedList[*entry]{less: indexLess}
				t.index[h.str] = part
				n.hashv = h.str
			} else {
				n.hashv = part.chunks[0][0].hashv // one copy of each status string
			}
			part.insert(n)
			t.indexCount++
			t.indexSize += n.size
		}
	}
}

// remove deletes key's item, whose entry is old, and keeps the scan order, the index and
// the totals. The caller holds mu for writing.
func (t *statusTable) remove(key string, old *entry) {
	t.size -= old.size
	t.unindex(old)
	t.scan.remove(old)
	delete(t.items, key)
	t.changedKey(key)
}

// changedKey records that key's item changed (or went), for the next save with a DataDir.
// The caller holds mu for writing.
func (t *statusTable) changedKey(key string) {
	if t.persist {
		if t.disk.changed == nil {
			t.disk.changed = map[string]bool{}
		}
		t.disk.changed[key] = true
	}
}

func (t *statusTable) unindex(e *entry) {
	if !e.idx {
		return
	}
	part := t.index[e.hashv]
	part.remove(e)
	if len(part.chunks) == 0 {
		delete(t.index, e.hashv)
	}
	t.indexCount--
	t.indexSize -= e.size
}

func (t *statusTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.items)
}

// validateKey checks that key is exactly the table's key.
func (t *statusTable) validateKey(key map[string]attrValue) (string, error) {
	v, ok := key[t.schema.KeyAttr]
	if len(key) != 1 || !ok || v.kind != "S" {
		return "", validation("The provided key element does not match the schema")
	}
	if v.str == "" {
		return "", validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: " + t.schema.KeyAttr)
	}
	if len(v.str) > 2048 {
		return "", validation("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
	}
	return v.str, nil
}

func (t *statusTable) validateItem(it item) error {
	k := t.schema.KeyAttr
	v, ok := it[k]
	if !ok {
		return validation("One or more parameter values were invalid: Missing the key " + k + " in the item")
	}
	if v.kind != "S" {
		return validation("One or more parameter values were invalid: Type mismatch for key " + k + " expected: S actual: " + v.kind)
	}
	if v.str == "" {
		return validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: " + k)
	}
	if t.schema.IndexName != "" {
		for _, a := range []string{t.schema.IndexHash, t.schema.IndexSort} {
			if iv, ok := it[a]; ok {
				if iv.kind != "S" {
					return validation(fmt.Sprintf("One or more parameter values were invalid: Type mismatch for Index Key %s Expected: S Actual: %s IndexName: %s", a, iv.kind, t.schema.IndexName))
				}
				if iv.str == "" {
					return validation(fmt.Sprintf("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: %s, IndexKey: %s", t.schema.IndexName, a))
				}
			}
		}
	}
	if it.size() > 400*1024 {
		return validation("Item size has exceeded the maximum allowed size")
	}
	return nil
}

// validateUpdate checks an update's key and that its actions leave the key alone; it
// returns the key.
func (t *statusTable) validateUpdate(k map[string]attrValue, actions []updateAction) (string, error) {
	key, err := t.validateKey(k)
	if err != nil {
		return "", err
	}
	for _, a := range actions {
		if a.attr == t.schema.KeyAttr {
			return "", validation("One or more parameter values were invalid: Cannot update attribute " + a.attr + ". This attribute is part of the key")
		}
	}
	return key, nil
}

// updated is the item actions make of old (exists says whether there was one: an update
// of a missing item creates it from its key).
func (t *statusTable) updated(key string, old item, exists bool, actions []updateAction) (item, error) {
	base := old
	if !exists {
		base = item{t.schema.KeyAttr: stringValue(key)}
	}
	return applyUpdate(base, actions)
}

// dynamoServer serves the status table, and any further tables (the lease table),
// through the DynamoDB JSON protocol. Every table has one string hash key; only the
// status table has an index.
//
// What it models, checked against dynalite by contract_test.go: GetItem (with
// ConsistentRead, projections), BatchGetItem on one table, Query on the index, Scan with
// segments and filters, PutItem and UpdateItem with ConditionExpression (comparisons,
// AND/OR/NOT, attribute_exists/attribute_not_exists, begins_with, contains, IN, BETWEEN),
// ReturnValues ALL_OLD (and ALL_NEW for UpdateItem), ReturnValuesOnConditionCheckFailure,
// SET/REMOVE/ADD updates, and DescribeTable. Every write is atomic per item, which is
// what the lease store's claims rely on; TransactWriteItems (dynamo_transact.go, which says
// what it models) is atomic across items and tables. Not modelled: TransactGetItems,
// DeleteItem, TTL deletion (items stay), capacity, streams; anything else is refused by
// name.
type dynamoServer struct {
	table *statusTable
	more  []*statusTable
	reqs  atomic.Uint64
	// writes counts the write requests received, whatever their answer, for tests.
	writes atomic.Int64
	// txMu serializes the transactions that carry a ClientRequestToken; txTokens are the
	// tokens of the last transactTokenTTL's successes, oldest first, and txByToken the
	// same by token (dynamo_transact.go).
	txMu      sync.Mutex
	txTokens  []txToken
	txByToken map[string]txToken
	clock     func() time.Time // nil: time.Now
}

const maxDynamoRequest = 16 << 20

func (s *dynamoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := fmt.Sprintf("DEVSTACK%012dAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", s.reqs.Add(1))[:52]
	w.Header().Set("x-amzn-RequestId", id)
	if r.Method == http.MethodGet && r.URL.Path == "/" {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "healthy: stowage devstack dynamodb\n")
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "DynamoDB_20120810.")
	if r.Method != http.MethodPost || !ok {
		s.writeError(w, unsupported("request %s %s with X-Amz-Target %q: send DynamoDB_20120810.* JSON requests", r.Method, r.URL.Path, target))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDynamoRequest+1))
	if err != nil {
		s.writeError(w, &dynamoError{status: 400, typ: "SerializationException", msg: err.Error()})
		return
	}
	if len(body) > maxDynamoRequest {
		s.writeError(w, &dynamoError{status: 413, typ: "RequestEntityTooLarge", msg: "Request must be smaller than 16777216 bytes for the " + op + " operation"})
		return
	}
	out, err := s.dispatch(op, body)
	if err != nil {
		s.writeError(w, err)
		return
	}
	data, raw := out.(rawAnswer)
	if !raw {
		if data, err = json.Marshal(out); err != nil {
			s.writeError(w, &dynamoError{status: 500, typ: "InternalServerError", msg: err.Error()})
			return
		}
	}
	s.write(w, 200, data)
}

func (s *dynamoServer) write(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amz-crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(data)), 10))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
}

func (s *dynamoServer) writeError(w http.ResponseWriter, err error) {
	var de *dynamoError
	if !errors.As(err, &de) {
		de = &dynamoError{status: 500, typ: "InternalServerError", msg: err.Error()}
	}
	var data []byte
	if de.reasons != nil {
		// As DynamoDB sends it: the reasons, then "Message" (capitalized, unlike the others').
		data, _ = json.Marshal(struct {
			Type    string         `json:"__type"`
			Reasons []cancelReason `json:"CancellationReasons"`
			Message string
		}{"com.amazonaws.dynamodb.v20120810#" + de.typ, de.reasons, de.msg})
	} else {
		body := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + de.typ, "message": de.msg}
		if de.item != nil {
			body["Item"] = de.item
		}
		data, _ = json.Marshal(body)
	}
	s.write(w, de.status, data)
}

// dispatch serves one request on the table it names. A BatchGetItem across the status
// table and another one is refused by the status table as naming an unknown table.
func (s *dynamoServer) dispatch(op string, body []byte) (any, error) {
	switch op {
	case "GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables", "DescribeTimeToLive":
	default:
		// Every other operation counts as a write attempt, refused or not (an unknown one
		// too): a read-only test must see none.
		s.writes.Add(1)
	}
	switch op {
	case "TransactWriteItems": // its actions name their tables
		return serve(op, body, s.transactWrite)
	case "BatchGetItem":
		if in, table, ok := fastBatchGet(body); ok {
			if t := s.tableNamed(table); t != nil && t != s.table {
				return (&dynamoServer{table: t}).batchGet(in)
			}
			return s.batchGet(in) // the status table's, or a name it refuses
		}
	}
	if t := s.routed(body); t != nil {
		return (&dynamoServer{table: t}).dispatchTable(op, body)
	}
	return s.dispatchTable(op, body)
}

// routed finds the further table a request names, or nil for the status table (also for
// a body it cannot read, which the status table's handlers then refuse in detail).
func (s *dynamoServer) routed(body []byte) *statusTable {
	if len(s.more) == 0 {
		return nil
	}
	var peek struct {
		TableName    string
		RequestItems map[string]json.RawMessage
	}
	if json.Unmarshal(body, &peek) != nil {
		return nil
	}
	name := peek.TableName
	if name == "" && len(peek.RequestItems) == 1 {
		for k := range peek.RequestItems {
			name = k
		}
	}
	for _, t := range s.more {
		if t.schema.Name == name {
			return t
		}
	}
	return nil
}

func (s *dynamoServer) dispatchTable(op string, body []byte) (any, error) {
	switch op {
	case "GetItem":
		return serve(op, body, s.getItem)
	case "BatchGetItem":
		return serve(op, body, s.batchGet)
	case "Query":
		return serve(op, body, s.query)
	case "Scan":
		return serve(op, body, s.scan)
	case "PutItem":
		return serve(op, body, s.putItem)
	case "UpdateItem":
		return serve(op, body, s.updateItem)
	case "DescribeTable":
		return serve(op, body, func(in *struct{ TableName string }) (any, error) {
			if in.TableName != s.table.schema.Name {
				return nil, &dynamoError{status: 400, typ: "ResourceNotFoundException", msg: "Requested resource not found: Table: " + in.TableName + " not found"}
			}
			return map[string]any{"Table": s.describe()}, nil
		})
	}
	return nil, unsupported("operation %s", op)
}

// serve decodes body strictly into the operation's input type and hands it to handle.
func serve[In any](op string, body []byte, handle func(*In) (any, error)) (any, error) {
	var in In
	if err := decodeRequest(op, body, &in); err != nil {
		return nil, err
	}
	return handle(&in)
}

// decodeRequest reads a request strictly: a parameter the emulator does not know (for
// example the legacy AttributesToGet or QueryFilter) is refused by name.
func decodeRequest(op string, body []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		var de *dynamoError
		if errors.As(err, &de) {
			return de
		}
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return unsupported("parameter %s in %s", strings.Trim(f, `"`), op)
		}
		return &dynamoError{status: 400, typ: "SerializationException", msg: msg}
	}
	return nil
}

type commonOptions struct {
	ReturnConsumedCapacity string `json:",omitempty"`
}

func (c commonOptions) check() error {
	if c.ReturnConsumedCapacity != "" && c.ReturnConsumedCapacity != "NONE" {
		return unsupported("ReturnConsumedCapacity %s", c.ReturnConsumedCapacity)
	}
	return nil
}

func (s *dynamoServer) checkTable(name string) error {
	if name == "" {
		return validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	if name != s.table.schema.Name {
		return tableNotFound()
	}
	return nil
}

// projectionFor parses an optional ProjectionExpression.
// projectionOnly parses the projection of a read whose only expression is its projection
// (GetItem, BatchGetItem), with DynamoDB's checks on the attribute names that come with it.
func projectionOnly(expr *string, names map[string]string) ([]string, error) {
	if names != nil && expr == nil {
		return nil, validation("ExpressionAttributeNames can only be specified when using expressions")
	}
	ctx := newExprContext(names, nil)
	proj, err := projectionFor(expr, ctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.checkUnused(); err != nil {
		return nil, err
	}
	return proj, nil
}

func projectionFor(expr *string, ctx *exprContext) ([]string, error) {
	if expr == nil {
		return nil, nil
	}
	return parseProjection(*expr, ctx)
}

type getItemInput struct {
	commonOptions
	TableName                string
	Key                      map[string]attrValue
	ProjectionExpression     *string
	ExpressionAttributeNames map[string]string
	ConsistentRead           *bool
}

func (s *dynamoServer) getItem(in *getItemInput) (any, error) {
	if err := s.checkTable(in.TableName); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	proj, err := projectionOnly(in.ProjectionExpression, in.ExpressionAttributeNames)
	if err != nil {
		return nil, err
	}
	key, err := s.table.validateKey(in.Key)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if it, ok := s.table.get(key); ok {
		out["Item"] = project(it, proj)
	}
	return out, nil
}

type batchGetTable struct {
	Keys                     []map[string]attrValue
	ProjectionExpression     *string
	ExpressionAttributeNames map[string]string
	ConsistentRead           *bool
}

type batchGetInput struct {
	commonOptions
	RequestItems map[string]*batchGetTable
}

func (s *dynamoServer) batchGet(in *batchGetInput) (any, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	if len(in.RequestItems) == 0 {
		return nil, validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null")
	}
	total := 0
	for name, req := range in.RequestItems {
		if req == nil || len(req.Keys) == 0 {
			return nil, validation("1 validation error detected: Value null at 'requestItems." + name + ".member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		total += len(req.Keys)
	}
	if total > 100 {
		return nil, validation("Too many items requested for the BatchGetItem call")
	}
	// One table (a second is refused as unknown): its answer is written as
	// {"Responses":{"<table>":[items]},"UnprocessedKeys":{}}, what json.Marshal wrote.
	var name string
	var req *batchGetTable
	for name, req = range in.RequestItems {
		if err := s.checkTable(name); err != nil {
			return nil, err
		}
	}
	proj, err := projectionOnly(req.ProjectionExpression, req.ExpressionAttributeNames)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(req.Keys))
	seen := make(map[string]bool, len(req.Keys))
	for i, k := range req.Keys {
		key, err := s.table.validateKey(k)
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, validation("Provided list of item keys contains duplicates")
		}
		seen[key] = true
		keys[i] = key
	}
	b := make([]byte, 0, 64+len(keys)*512)
	b = append(b, `{"Responses":{`...)
	b = appendJSONQuoted(b, name)
	b = append(b, `:[`...)
	s.table.mu.RLock()
	w := newEntryJSON(s.table.dict, proj)
	first := true
	for _, key := range keys {
		if e, ok := s.table.items[key]; ok {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = w.appendEntry(b, e)
		}
	}
	s.table.mu.RUnlock()
	return rawAnswer(append(b, `]},"UnprocessedKeys":{}}`...)), nil
}

type queryInput struct {
	commonOptions
	TableName                 string
	IndexName                 *string
	KeyConditionExpression    *string // Query only
	FilterExpression          *string
	ProjectionExpression      *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]attrValue
	ScanIndexForward          *bool // Query only
	Limit                     *int
	ExclusiveStartKey         map[string]attrValue
	Select                    *string
	ConsistentRead            *bool
	Segment                   *int // Scan only
	TotalSegments             *int // Scan only
}

// readPlan is what Query and Scan share once parsed.
type readPlan struct {
	filter *condNode
	proj   []string
	count  bool
	limit  int
	index  bool
}

func (s *dynamoServer) plan(in *queryInput, op string, ctx *exprContext) (*readPlan, error) {
	if err := s.checkTable(in.TableName); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	p := &readPlan{}
	if in.IndexName != nil {
		if *in.IndexName != s.table.schema.IndexName || s.table.schema.IndexName == "" {
			return nil, validation("The table does not have the specified index: " + *in.IndexName)
		}
		if in.ConsistentRead != nil && *in.ConsistentRead {
			return nil, validation("Consistent reads are not supported on global secondary indexes")
		}
		p.index = true
	}
	if in.Limit != nil {
		if *in.Limit < 1 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Limit))
		}
		p.limit = *in.Limit
	}
	if in.Select != nil {
		switch *in.Select {
		case "ALL_ATTRIBUTES":
		case "COUNT":
			p.count = true
		case "SPECIFIC_ATTRIBUTES":
			if in.ProjectionExpression == nil {
				return nil, unsupported("Select SPECIFIC_ATTRIBUTES without ProjectionExpression")
			}
		case "ALL_PROJECTED_ATTRIBUTES":
			if !p.index {
				return nil, validation("One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is not supported for table without IndexName")
			}
		default:
			return nil, unsupported("Select %s", *in.Select)
		}
		if *in.Select != "SPECIFIC_ATTRIBUTES" && in.ProjectionExpression != nil {
			return nil, validation("Cannot specify the ProjectionExpression when choosing to get " + *in.Select)
		}
	}
	var err error
	if in.FilterExpression != nil {
		fp, err := newExprParser("FilterExpression", *in.FilterExpression, ctx)
		if err != nil {
			return nil, err
		}
		if p.filter, err = fp.parseCondition(); err != nil {
			return nil, err
		}
	}
	if p.proj, err = projectionFor(in.ProjectionExpression, ctx); err != nil {
		return nil, err
	}
	if (in.ExpressionAttributeNames != nil || in.ExpressionAttributeValues != nil) &&
		in.FilterExpression == nil && in.ProjectionExpression == nil && in.KeyConditionExpression == nil {
		return nil, validation("ExpressionAttributeNames can only be specified when using expressions")
	}
	return p, nil
}

// startKey returns the order position of an ExclusiveStartKey, as a probe entry.
func (s *dynamoServer) startKey(esk map[string]attrValue, index bool) (*entry, error) {
	sc := s.table.schema
	want := 1
	if index {
		want = 3
	}
	if len(esk) != want {
		if index {
			return nil, validation("The provided starting key is invalid")
		}
		return nil, validation("The provided starting key is invalid: The provided key element does not match the schema")
	}
	k, ok := esk[sc.KeyAttr]
	if !ok || k.kind != "S" {
		return nil, validation("The provided starting key is invalid: The provided key element does not match the schema")
	}
	probe := &entry{key: k.str, hp: prefix24(k.str)}
	if !index {
		return probe, nil
	}
	h, ok1 := esk[sc.IndexHash]
	r, ok2 := esk[sc.IndexSort]
	if !ok1 || !ok2 || h.kind != "S" || r.kind != "S" {
		return nil, validation("The provided starting key is invalid")
	}
	probe.idx, probe.hashv, probe.sortv = true, h.str, r.str
	return probe, nil
}

// read pages through candidates (in order and past the start key) the way DynamoDB
// does: Limit and the 1 MB cap count evaluated items, before the filter. It pulls only
// the candidates it evaluates, plus one to know whether the page is the last.
func (s *dynamoServer) read(next func() (*entry, bool), p *readPlan) rawAnswer {
	var items []*entry
	scanned, size := 0, 0
	var last *entry
	matched := 0
	stopped := false
	for {
		if (p.limit > 0 && scanned >= p.limit) || size >= 1<<20 {
			stopped = true
			break
		}
		e, ok := next()
		if !ok {
			break
		}
		scanned++
		size += e.size
		last = e
		// Only a filter needs the item decoded: the answer is written from the entry.
		if p.filter == nil || p.filter.eval(e.decode(s.table.dict.strs)) {
			matched++
			if !p.count {
				items = append(items, e)
			}
		}
	}
	if (p.limit > 0 && scanned >= p.limit) || size >= 1<<20 {
		stopped = true
	}
	// What json.Marshal wrote for the map {Count, Items, LastEvaluatedKey, ScannedCount}:
	// its keys in sorted order.
	b := make([]byte, 0, 64+len(items)*s.itemBytes(p))
	b = append(b, `{"Count":`...)
	b = strconv.AppendInt(b, int64(matched), 10)
	if !p.count {
		b = append(b, `,"Items":[`...)
		w := newEntryJSON(s.table.dict, p.proj)
		var kw *keysJSON
		needIdx := false
		if s.keysOnly(p.proj) {
			kw = newKeysJSON(s.table.schema, p.proj)
			for _, n := range p.proj {
				needIdx = needIdx || n != s.table.schema.KeyAttr
			}
		}
		for i, e := range items {
			if i > 0 {
				b = append(b, ',')
			}
			if kw != nil && (e.idx || !needIdx) {
				b = kw.appendEntry(b, e)
			} else {
				b = w.appendEntry(b, e)
			}
		}
		b = append(b, ']')
	}
	if stopped && last != nil {
		sc := s.table.schema
		lek := item{sc.KeyAttr: stringValue(last.key)}
		if p.index {
			lek[sc.IndexHash] = stringValue(last.hashv)
			lek[sc.IndexSort] = stringValue(last.sortv)
		}
		b = append(b, `,"LastEvaluatedKey":`...)
		b = appendItemJSON(b, lek)
	}
	b = append(b, `,"ScannedCount":`...)
	b = strconv.AppendInt(b, int64(scanned), 10)
	return rawAnswer(append(b, '}'))
}

// itemBytes is about how many bytes an item of a read's answer takes, to size its buffer.
func (s *dynamoServer) itemBytes(p *readPlan) int {
	if s.keysOnly(p.proj) {
		return 24 + 40*len(p.proj)
	}
	return 512
}

// keysOnly reports whether proj names only attributes an entry keeps beside its encoded
// item (the key, and the index's hash and range values when it is in the index): a Scan
// for the request IDs alone (LOST's) then reads no item.
func (s *dynamoServer) keysOnly(proj []string) bool {
	if len(proj) == 0 {
		return false
	}
	sc := s.table.schema
	for _, n := range proj {
		if n != sc.KeyAttr && (sc.IndexName == "" || (n != sc.IndexHash && n != sc.IndexSort)) {
			return false
		}
	}
	return true
}

// keysJSON writes the projection of entries on proj, which keysOnly accepted (and each
// entry is in the index if proj names its attributes), as appendItemJSON would, from
// what the entry keeps beside its item.
type keysJSON struct {
	schema tableSchema
	names  []string // proj, sorted, without duplicates
	heads  [][]byte // ,"name":{"S": for each (the first without its comma)
}

func newKeysJSON(schema tableSchema, proj []string) *keysJSON {
	w := &keysJSON{schema: schema}
	w.names = append([]string(nil), proj...)
	sort.Strings(w.names)
	w.names = slices.Compact(w.names)
	for i, n := range w.names {
		h := []byte{}
		if i > 0 {
			h = append(h, ',')
		}
		h = appendJSONQuoted(h, n)
		w.heads = append(w.heads, append(h, `:{"S":`...))
	}
	return w
}

func (w *keysJSON) appendEntry(b []byte, e *entry) []byte {
	b = append(b, '{')
	for i, n := range w.names {
		v := e.key
		switch n {
		case w.schema.KeyAttr:
		case w.schema.IndexHash:
			v = e.hashv
		default:
			v = e.sortv
		}
		b = append(b, w.heads[i]...)
		b = appendJSONQuoted(b, v)
		b = append(b, '}')
	}
	return append(b, '}')
}

func (s *dynamoServer) query(in *queryInput) (any, error) {
	if in.Segment != nil || in.TotalSegments != nil {
		return nil, unsupported("parameter Segment in Query")
	}
	if in.KeyConditionExpression == nil {
		return nil, validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	ctx := newExprContext(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	p, err := s.plan(in, "Query", ctx)
	if err != nil {
		return nil, err
	}
	sc := s.table.schema
	hashAttr, sortAttr := sc.KeyAttr, ""
	if p.index {
		hashAttr, sortAttr = sc.IndexHash, sc.IndexSort
	}
	kp, err := newExprParser("KeyConditionExpression", *in.KeyConditionExpression, ctx)
	if err != nil {
		return nil, err
	}
	kc, err := kp.parseCondition()
	if err != nil {
		return nil, err
	}
	hashVal, sortCond, err := splitKeyCondition(kc, hashAttr, sortAttr)
	if err != nil {
		return nil, err
	}
	if err := ctx.checkUnused(); err != nil {
		return nil, err
	}
	if p.filter != nil {
		used := map[string]bool{}
		p.filter.attrs(used)
		for _, a := range []string{hashAttr, sortAttr} {
			if a != "" && used[a] {
				return nil, validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: " + a)
			}
		}
	}
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	var start *entry
	if in.ExclusiveStartKey != nil {
		if start, err = s.startKey(in.ExclusiveStartKey, p.index); err != nil {
			return nil, err
		}
		if !in.ExclusiveStartKey[hashAttr].equal(hashVal) {
			return nil, validation("The provided starting key is outside query boundaries based on provided conditions")
		}
		if sortCond != nil && !sortCond.eval(item(in.ExclusiveStartKey)) {
			return nil, validation("The provided starting key does not match the range key predicate")
		}
	}

	s.table.mu.RLock()
	defer s.table.mu.RUnlock()
	if !p.index {
		// The table's hash key is its whole key: at most one item, and none after a start key.
		e, ok := s.table.items[hashVal.str]
		return s.read(func() (*entry, bool) {
			if !ok || start != nil {
				return nil, false
			}
			ok = false
			return e, true
		}, p), nil
	}
	part := s.table.index[hashVal.str]
	if part == nil || hashVal.kind != "S" {
		return s.read(func() (*entry, bool) { return nil, false }, p), nil
	}
	lo, hi := sortBounds(sortCond)
	var cur *cursor[*entry]
	switch {
	case start != nil:
		cur = part.from(probe(start), !forward, false)
	case forward && lo != nil:
		cur = part.from(probe(&entry{sortv: *lo}), false, true)
	case !forward && hi != nil:
		cur = part.from(probe(&entry{sortv: *hi, hp: 1 << 24}), true, true)
	default:
		cur = part.from(nil, !forward, false)
	}
	return s.read(func() (*entry, bool) {
		for {
			e, ok := cur.next()
			if !ok || (forward && hi != nil && e.sortv > *hi) || (!forward && lo != nil && e.sortv < *lo) {
				return nil, false
			}
			if sortCond == nil || sortCond.eval(item{sortAttr: stringValue(e.sortv)}) {
				return e, true
			}
		}
	}, p), nil
}

// sortBounds is the range of sort values a key condition on the sort key can match, so
// that a Query seeks to it and stops past it; nil is unbounded. The condition itself is
// still evaluated on each entry in the range.
func sortBounds(c *condNode) (lo, hi *string) {
	if c == nil {
		return nil, nil
	}
	val := func(i int) *string { v := c.args[i].val.str; return &v }
	switch c.op {
	case "cmp":
		switch c.cmp {
		case "=":
			return val(1), val(1)
		case "<", "<=":
			return nil, val(1)
		case ">", ">=":
			return val(1), nil
		}
	case "between":
		return val(1), val(2)
	case "func":
		if c.fn == "begins_with" {
			// No UTF-8 string has the byte 0xff, so every S value with the prefix sorts
			// below prefix+"\xff".
			p := c.args[1].val.str
			end := p + "\xff"
			return &p, &end
		}
	}
	return nil, nil
}

// splitKeyCondition accepts "hash = :v" optionally AND-ed with one condition on the sort
// key, in either order.
func splitKeyCondition(n *condNode, hashAttr, sortAttr string) (attrValue, *condNode, error) {
	var parts []*condNode
	switch n.op {
	case "and":
		if n.kids[0].op == "and" || n.kids[1].op == "and" {
			return attrValue{}, nil, validation("Conditions can be of length 1 or 2 only")
		}
		parts = n.kids
	case "or", "not", "in":
		return attrValue{}, nil, validation("Invalid operator used in KeyConditionExpression: " + strings.ToUpper(n.op))
	default:
		parts = []*condNode{n}
	}
	var hash *attrValue
	var sortCond *condNode
	for _, c := range parts {
		if c.op == "or" || c.op == "not" || c.op == "in" {
			return attrValue{}, nil, validation("Invalid operator used in KeyConditionExpression: " + strings.ToUpper(c.op))
		}
		if c.op == "func" && c.fn != "begins_with" {
			return attrValue{}, nil, validation("Invalid operator used in KeyConditionExpression: " + c.fn)
		}
		if c.op == "cmp" && c.cmp == "<>" {
			return attrValue{}, nil, validation("Invalid operator used in KeyConditionExpression: <>")
		}
		if c.op == "cmp" && !c.args[0].isPath && c.args[1].isPath {
			c = &condNode{op: "cmp", cmp: flipComparator(c.cmp), args: []operand{c.args[1], c.args[0]}}
		}
		if !c.args[0].isPath {
			return attrValue{}, nil, validation("Invalid KeyConditionExpression: The key condition must name a key attribute")
		}
		for _, a := range c.args[1:] {
			if a.isPath {
				return attrValue{}, nil, validation("Invalid KeyConditionExpression: The key condition must compare a key attribute with a value")
			}
			if a.val.kind != "S" {
				return attrValue{}, nil, validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
		}
		switch attr := c.args[0].attr; {
		case attr == hashAttr && c.op == "cmp" && c.cmp == "=" && hash == nil:
			v := c.args[1].val
			hash = &v
		case attr == hashAttr:
			return attrValue{}, nil, validation("Query key condition not supported")
		case attr == sortAttr && sortAttr != "" && sortCond == nil:
			sortCond = c
		default:
			return attrValue{}, nil, validation("Query condition missed key schema element: " + hashAttr)
		}
	}
	if hash == nil {
		return attrValue{}, nil, validation("Query condition missed key schema element: " + hashAttr)
	}
	return *hash, sortCond, nil
}

func flipComparator(c string) string {
	switch c {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	}
	return c
}

func (s *dynamoServer) scan(in *queryInput) (any, error) {
	if in.KeyConditionExpression != nil || in.ScanIndexForward != nil {
		return nil, unsupported("parameter KeyConditionExpression/ScanIndexForward in Scan")
	}
	ctx := newExprContext(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	p, err := s.plan(in, "Scan", ctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.checkUnused(); err != nil {
		return nil, err
	}
	seg, total := 0, 1
	if (in.Segment == nil) != (in.TotalSegments == nil) {
		if in.Segment == nil {
			return nil, validation("The TotalSegments parameter is non-null, but the Segment parameter is not provided")
		}
		return nil, validation("The Segment parameter is non-null, but the TotalSegments parameter is not provided")
	}
	if in.TotalSegments != nil {
		seg, total = *in.Segment, *in.TotalSegments
		if total < 1 || total > 1000000 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'totalSegments' failed to satisfy constraint: Member must have value between 1 and 1000000", total))
		}
		if seg < 0 || seg >= total {
			return nil, validation(fmt.Sprintf("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: %d is not less than TotalSegments: %d", seg, total))
		}
	}
	// Segments split the 4096 three-hex-digit hash prefixes into contiguous ranges.
	lo, hi := 0, 4095
	if total > 1 {
		lo = (4096*seg + total - 1) / total
		hi = (4096*(seg+1)+total-1)/total - 1
	}
	inSegment := func(hp uint32) bool {
		n := segmentOf(hp)
		return n >= lo && n <= hi
	}
	var start *entry
	if in.ExclusiveStartKey != nil {
		if start, err = s.startKey(in.ExclusiveStartKey, p.index); err != nil {
			return nil, err
		}
		probeHP := start.hp
		if p.index {
			probeHP = prefix24(start.hashv)
		}
		if !inSegment(probeHP) {
			return nil, validation(fmt.Sprintf("The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: %d Segment: %d", total, seg))
		}
	}
	s.table.mu.RLock()
	defer s.table.mu.RUnlock()
	if p.index {
		return s.read(s.indexScan(start, inSegment), p), nil
	}
	var cur *cursor[*entry]
	if start != nil {
		cur = s.table.scan.from(probe(start), false, false)
	} else {
		cur = s.table.scan.from(probe(&entry{hp: uint32(lo) << 12}), false, true)
	}
	return s.read(func() (*entry, bool) {
		e, ok := cur.next()
		if !ok || segmentOf(e.hp) > hi {
			return nil, false
		}
		return e, true
	}, p), nil
}

// indexScan walks the index partitions of a segment in index order (by the hash value's
// prefix, then the value), from after start. The caller holds the table's read lock.
func (s *dynamoServer) indexScan(start *entry, inSegment func(uint32) bool) func() (*entry, bool) {
	var parts []string
	for h := range s.table.index {
		if !inSegment(prefix24(h)) {
			continue
		}
		if start != nil && hashOrder(h, start.hashv) {
			continue
		}
		parts = append(parts, h)
	}
	sort.Slice(parts, func(i, j int) bool { return hashOrder(parts[i], parts[j]) })
	var cur *cursor[*entry]
	return func() (*entry, bool) {
		for {
			if cur != nil {
				if e, ok := cur.next(); ok {
					return e, true
				}
			}
			if len(parts) == 0 {
				return nil, false
			}
			part := s.table.index[parts[0]]
			if start != nil && parts[0] == start.hashv {
				cur = part.from(probe(start), false, false)
			} else {
				cur = part.from(nil, false, false)
			}
			parts = parts[1:]
		}
	}
}

type writeOptions struct {
	commonOptions
	ReturnItemCollectionMetrics         string `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure string `json:",omitempty"`
}

func (w writeOptions) check() error {
	if err := w.commonOptions.check(); err != nil {
		return err
	}
	return checkReturnOnFailure(w.ReturnValuesOnConditionCheckFailure)
}

// checkReturnOnFailure checks a ReturnValuesOnConditionCheckFailure.
func checkReturnOnFailure(rv string) error {
	switch rv {
	case "", "NONE", "ALL_OLD":
		return nil
	}
	return validation("1 validation error detected: Value '" + rv + "' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]")
}

// writeExpressions are the expression members of every write (and of each action of a
// transaction).
type writeExpressions struct {
	ConditionExpression       *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]attrValue
}

type putItemInput struct {
	writeOptions
	TableName string
	Item      map[string]attrValue
	writeExpressions
	ReturnValues string
}

// condition parses an optional ConditionExpression.
func condition(expr *string, ctx *exprContext) (*condNode, error) {
	if expr == nil {
		return nil, nil
	}
	p, err := newExprParser("ConditionExpression", *expr, ctx)
	if err != nil {
		return nil, err
	}
	return p.parseCondition()
}

// writeExprs parses the expressions of one write (PutItem, UpdateItem and the actions of
// a transaction): the UpdateExpression when there is one, then the ConditionExpression,
// and refuses placeholders that none of them used, as DynamoDB does.
func writeExprs(update, cond *string, names map[string]string, values map[string]attrValue) ([]updateAction, *condNode, error) {
	ctx := newExprContext(names, values)
	var actions []updateAction
	if update != nil {
		var err error
		if actions, err = parseUpdate(*update, ctx); err != nil {
			return nil, nil, err
		}
	}
	c, err := condition(cond, ctx)
	if err != nil {
		return nil, nil, err
	}
	if update == nil && cond == nil && (names != nil || values != nil) {
		return nil, nil, validation("ExpressionAttributeNames can only be specified when using expressions")
	}
	if err := ctx.checkUnused(); err != nil {
		return nil, nil, err
	}
	return actions, c, nil
}

func (s *dynamoServer) putItem(in *putItemInput) (any, error) {
	if err := s.checkTable(in.TableName); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	switch in.ReturnValues {
	case "", "NONE", "ALL_OLD":
	default:
		return nil, validation("ReturnValues can only be ALL_OLD or NONE")
	}
	_, cond, err := writeExprs(nil, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	next := item(in.Item)
	if err := s.table.validateItem(next); err != nil {
		return nil, err
	}
	var old item
	var existed bool
	err = s.table.update(next[s.table.schema.KeyAttr].str, func(o item, ok bool) (item, error) {
		old, existed = o, ok
		if cond != nil && !cond.eval(o) {
			return nil, s.condFailed(o, in.ReturnValuesOnConditionCheckFailure)
		}
		return next.clone(), nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if in.ReturnValues == "ALL_OLD" && existed {
		out["Attributes"] = old
	}
	return out, nil
}

func (s *dynamoServer) condFailed(old item, rv string) error {
	if rv == "ALL_OLD" && old != nil {
		return conditionFailed(old)
	}
	return conditionFailed(nil)
}

type updateItemInput struct {
	writeOptions
	TableName        string
	Key              map[string]attrValue
	UpdateExpression *string
	writeExpressions
	ReturnValues string
}

func (s *dynamoServer) updateItem(in *updateItemInput) (any, error) {
	if err := s.checkTable(in.TableName); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	switch in.ReturnValues {
	case "", "NONE", "ALL_OLD", "ALL_NEW":
	case "UPDATED_OLD", "UPDATED_NEW":
		return nil, unsupported("ReturnValues %s", in.ReturnValues)
	default:
		return nil, validation("1 validation error detected: Value '" + in.ReturnValues + "' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]")
	}
	if in.UpdateExpression == nil {
		return nil, unsupported("UpdateItem without UpdateExpression")
	}
	actions, cond, err := writeExprs(in.UpdateExpression, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	key, err := s.table.validateUpdate(in.Key, actions)
	if err != nil {
		return nil, err
	}
	var old, next item
	err = s.table.update(key, func(o item, ok bool) (item, error) {
		if cond != nil && !cond.eval(o) {
			return nil, s.condFailed(o, in.ReturnValuesOnConditionCheckFailure)
		}
		n, err := s.table.updated(key, o, ok, actions)
		if err != nil {
			return nil, err
		}
		old, next = o, n
		return n, nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	switch in.ReturnValues {
	case "ALL_NEW":
		out["Attributes"] = next
	case "ALL_OLD":
		if old != nil {
			out["Attributes"] = old
		}
	}
	return out, nil
}

func (s *dynamoServer) describe() map[string]any {
	sc := s.table.schema
	s.table.mu.RLock()
	count, size, indexCount, indexSize := len(s.table.items), s.table.size, s.table.indexCount, s.table.indexSize
	s.table.mu.RUnlock()
	arn := fmt.Sprintf("arn:aws:dynamodb:%s:000000000000:table/%s", sc.Region, sc.Name)
	throughput := map[string]any{"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
	defs := []map[string]string{{"AttributeName": sc.KeyAttr, "AttributeType": "S"}}
	t := map[string]any{
		"TableName":                 sc.Name,
		"TableStatus":               "ACTIVE",
		"TableId":                   s.table.id,
		"TableArn":                  arn,
		"KeySchema":                 []map[string]string{{"AttributeName": sc.KeyAttr, "KeyType": "HASH"}},
		"CreationDateTime":          float64(s.table.created.UnixMilli()) / 1000,
		"ItemCount":                 count,
		"TableSizeBytes":            size,
		"ProvisionedThroughput":     throughput,
		"BillingModeSummary":        map[string]any{"BillingMode": "PAY_PER_REQUEST"},
		"DeletionProtectionEnabled": false,
	}
	if sc.IndexName != "" {
		defs = append(defs, map[string]string{"AttributeName": sc.IndexHash, "AttributeType": "S"},
			map[string]string{"AttributeName": sc.IndexSort, "AttributeType": "S"})
		t["GlobalSecondaryIndexes"] = []map[string]any{{
			"IndexName": sc.IndexName,
			"IndexArn":  arn + "/index/" + sc.IndexName,
			"KeySchema": []map[string]string{
				{"AttributeName": sc.IndexHash, "KeyType": "HASH"},
				{"AttributeName": sc.IndexSort, "KeyType": "RANGE"}},
			"Projection":            map[string]string{"ProjectionType": "ALL"},
			"IndexStatus":           "ACTIVE",
			"ProvisionedThroughput": throughput,
			"ItemCount":             indexCount,
			"IndexSizeBytes":        indexSize,
		}}
	}
	t["AttributeDefinitions"] = defs
	return t
}
