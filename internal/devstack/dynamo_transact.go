package devstack

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TransactWriteItems, as the emulator models it. No real DynamoDB is available here to
// compare against, and dynalite 4.0.0 (the contract suite's reference) does not
// implement the operation at all (TestTransactWriteItemsContract records what it
// answers), so this follows the API reference, the TransactionCanceledException wire
// shape real DynamoDB sends, and how aws-sdk-go-v2 reads it.
//
// Modelled:
//   - TransactItems of ConditionCheck, Put, Update and Delete, on the status table and the
//     lease table, each with its own ConditionExpression, ExpressionAttributeNames and
//     ExpressionAttributeValues (the same expression subset as PutItem and UpdateItem)
//     and ReturnValuesOnConditionCheckFailure (NONE or ALL_OLD).
//   - All or nothing: every action is evaluated against the state before the
//     transaction, under the write locks of every table it names (the locks PutItem and
//     UpdateItem hold, so no read or write sees half of it). If any fails, nothing is
//     written and the answer is HTTP 400 TransactionCanceledException, with the message
//     "Transaction cancelled, please refer cancellation reasons for specific reasons
//     [None, ConditionalCheckFailed]" and CancellationReasons, one per action in order:
//     {"Code":"None"}, {"Code":"ConditionalCheckFailed","Item":{...} with ALL_OLD and an
//     existing item,"Message":"The conditional request failed"}, or {"Code":
//     "ValidationError","Message":...} when an action that passed its condition cannot
//     be applied to the item (arithmetic on a missing attribute, a wrong-typed index key,
//     an item over 400 KB).
//   - Refused up front with a ValidationException, as the service does: no TransactItems
//     or an empty list, more than 100 actions, an action that is not exactly one of the
//     four, two actions on one item ("Transaction request cannot include multiple
//     operations on one item"), a missing required member, a malformed expression or
//     key; a table that does not exist is a ResourceNotFoundException.
//   - Success answers {}; the written items keep the scan order, the index, the
//     DescribeTable counts and the DataDir's snapshot-plus-log (a Delete appends a
//     tombstone record) exactly as PutItem and UpdateItem do.
//   - ClientRequestToken (which aws-sdk-go-v2 fills in on every call): a token that made a
//     transaction succeed within the last 10 minutes makes the same request succeed again
//     without writing anything; the same token with other parameters is an
//     IdempotentParameterMismatchException. Only successes are remembered: a cancelled
//     transaction wrote nothing, and its retry is evaluated anew.
//
// Not modelled: TransactGetItems; ReturnConsumedCapacity other than NONE (refused by
// name) and ItemCollectionMetrics (the tables have no local index, so the service would
// return none); the 4 MB aggregate size limit; TransactionConflict and
// TransactionInProgress (the emulator serializes transactions, so none ever conflicts);
// the exact text of IdempotentParameterMismatchException and of the length-constraint
// messages, which no reference here shows.

const (
	maxTransactItems = 100
	// transactTokenTTL is how long a ClientRequestToken stays bound to its transaction.
	transactTokenTTL = 10 * time.Minute
)

// txTarget is what every action of a transaction names. Each action has a struct of its
// own members, so that the strict decoder refuses a member the action does not take.
type txTarget struct {
	TableName string
	writeExpressions
	ReturnValuesOnConditionCheckFailure string `json:",omitempty"`
}

// txCheck is a ConditionCheck or a Delete.
type txCheck struct {
	txTarget
	Key map[string]attrValue
}

type txPut struct {
	txTarget
	Item map[string]attrValue
}

type txUpdate struct {
	txTarget
	Key              map[string]attrValue
	UpdateExpression *string
}

type transactWriteItem struct {
	ConditionCheck *txCheck  `json:",omitempty"`
	Put            *txPut    `json:",omitempty"`
	Delete         *txCheck  `json:",omitempty"` // the same members as ConditionCheck
	Update         *txUpdate `json:",omitempty"`
}

type transactWriteInput struct {
	commonOptions
	ReturnItemCollectionMetrics string `json:",omitempty"`
	ClientRequestToken          *string
	TransactItems               []transactWriteItem
}

// txAction is one action, parsed and checked, ready to be evaluated.
type txAction struct {
	kind      string // ConditionCheck Put Update Delete
	table     *statusTable
	key       string
	cond      *condNode
	returnOld bool
	put       item           // Put
	actions   []updateAction // Update
}

// txToken is a ClientRequestToken that made a transaction succeed.
type txToken struct {
	token string
	sum   [sha256.Size]byte // of the request's parameters
	at    time.Time
}

// cancelReason is one entry of a TransactionCanceledException's CancellationReasons.
type cancelReason struct {
	Code    string
	Item    item   `json:",omitempty"`
	Message string `json:",omitempty"`
}

func (s *dynamoServer) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// tableNamed is the table a request names: the status table or one of the others.
func (s *dynamoServer) tableNamed(name string) *statusTable {
	if name == s.table.schema.Name {
		return s.table
	}
	for _, t := range s.more {
		if t.schema.Name == name {
			return t
		}
	}
	return nil
}

func (s *dynamoServer) transactWrite(in *transactWriteInput) (any, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	switch {
	case in.TransactItems == nil:
		return nil, validation("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null")
	case len(in.TransactItems) == 0:
		return nil, validation("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case len(in.TransactItems) > maxTransactItems:
		return nil, validation(fmt.Sprintf("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to %d", maxTransactItems))
	}
	if tok := in.ClientRequestToken; tok != nil && (len(*tok) < 1 || len(*tok) > 36) {
		bound := "less than or equal to 36"
		if len(*tok) < 1 {
			bound = "greater than or equal to 1"
		}
		return nil, validation("1 validation error detected: Value '" + *tok + "' at 'clientRequestToken' failed to satisfy constraint: Member must have length " + bound)
	}
	acts := make([]txAction, len(in.TransactItems))
	for i, ti := range in.TransactItems {
		a, err := s.txParse(i+1, ti)
		if err != nil {
			return nil, err
		}
		acts[i] = a
	}
	seen := make(map[*statusTable]map[string]bool, 2)
	for _, a := range acts {
		if seen[a.table] == nil {
			seen[a.table] = map[string]bool{}
		}
		if seen[a.table][a.key] {
			return nil, validation("Transaction request cannot include multiple operations on one item")
		}
		seen[a.table][a.key] = true
	}
	if in.ClientRequestToken != nil {
		// Check, run and remember in one go, so that two calls with one token run once.
		s.txMu.Lock()
		defer s.txMu.Unlock()
		sum := in.paramSum()
		done, err := s.txReplay(*in.ClientRequestToken, sum)
		if err != nil {
			return nil, err
		}
		if done {
			return map[string]any{}, nil
		}
		if err := s.txRun(acts, seen); err != nil {
			return nil, err
		}
		t := txToken{token: *in.ClientRequestToken, sum: sum, at: s.now()}
		if s.txByToken == nil {
			s.txByToken = map[string]txToken{}
		}
		s.txTokens, s.txByToken[t.token] = append(s.txTokens, t), t
		return map[string]any{}, nil
	}
	if err := s.txRun(acts, seen); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// paramSum identifies a request's parameters, whatever the order of its maps' keys.
func (in *transactWriteInput) paramSum() [sha256.Size]byte {
	c := *in
	c.ClientRequestToken = nil
	data, _ := json.Marshal(c) // maps marshal sorted, attribute values canonically
	return sha256.Sum256(data)
}

// txReplay reports whether token already made this transaction succeed within the last
// transactTokenTTL, and refuses it for other parameters. The caller holds txMu.
func (s *dynamoServer) txReplay(token string, sum [sha256.Size]byte) (bool, error) {
	now := s.now()
	drop := 0
	for ; drop < len(s.txTokens) && now.Sub(s.txTokens[drop].at) >= transactTokenTTL; drop++ {
		if t := s.txTokens[drop]; s.txByToken[t.token] == t {
			delete(s.txByToken, t.token)
		}
	}
	s.txTokens = s.txTokens[drop:]
	t, ok := s.txByToken[token]
	switch {
	case !ok:
		return false, nil
	case t.sum != sum:
		return false, &dynamoError{status: 400, typ: "IdempotentParameterMismatchException",
			msg: "The request uses the same client token as a previous, but non-identical request."}
	}
	return true, nil
}

// txParse checks the n-th (from 1) action of a transaction the way the write it stands
// for is checked, without looking at any item.
func (s *dynamoServer) txParse(n int, ti transactWriteItem) (txAction, error) {
	count := 0
	for _, set := range []bool{ti.ConditionCheck != nil, ti.Put != nil, ti.Delete != nil, ti.Update != nil} {
		if set {
			count++
		}
	}
	if count != 1 {
		return txAction{}, validation("TransactItems can only contain one of Check, Put, Update or Delete")
	}
	var (
		a          txAction
		tg         txTarget
		key        map[string]attrValue
		update     *string
		memberName string
		missing    string // a required member the action lacks
	)
	switch {
	case ti.ConditionCheck != nil:
		a.kind, memberName, tg, key = "ConditionCheck", "conditionCheck", ti.ConditionCheck.txTarget, ti.ConditionCheck.Key
		if tg.ConditionExpression == nil {
			missing = "conditionExpression"
		}
	case ti.Delete != nil:
		a.kind, memberName, tg, key = "Delete", "delete", ti.Delete.txTarget, ti.Delete.Key
	case ti.Put != nil:
		a.kind, memberName, tg = "Put", "put", ti.Put.txTarget
		if ti.Put.Item == nil {
			missing = "item"
		}
	default:
		a.kind, memberName, tg, key, update = "Update", "update", ti.Update.txTarget, ti.Update.Key, ti.Update.UpdateExpression
		if update == nil {
			missing = "updateExpression"
		}
	}
	switch {
	case tg.TableName == "":
		missing = "tableName"
	case key == nil && a.kind != "Put":
		missing = "key"
	}
	if missing != "" {
		return txAction{}, validation(fmt.Sprintf("1 validation error detected: Value null at 'transactItems.%d.member.%s.%s' failed to satisfy constraint: Member must not be null", n, memberName, missing))
	}
	if err := checkReturnOnFailure(tg.ReturnValuesOnConditionCheckFailure); err != nil {
		return txAction{}, err
	}
	a.returnOld = tg.ReturnValuesOnConditionCheckFailure == "ALL_OLD"
	if a.table = s.tableNamed(tg.TableName); a.table == nil {
		return txAction{}, tableNotFound()
	}
	var err error
	if a.actions, a.cond, err = writeExprs(update, tg.ConditionExpression, tg.ExpressionAttributeNames, tg.ExpressionAttributeValues); err != nil {
		return txAction{}, err
	}
	switch a.kind {
	case "Put":
		a.put = item(ti.Put.Item)
		if err := a.table.validateItem(a.put); err != nil {
			return txAction{}, err
		}
		a.key = a.put[a.table.schema.KeyAttr].str
	case "Update":
		a.key, err = a.table.validateUpdate(key, a.actions)
	default:
		a.key, err = a.table.validateKey(key)
	}
	return a, err
}

// txRun evaluates every action against the current items and writes them all, or none
// and answers why. It holds the write lock of every table in tables, in the server's
// order of its tables, so that no two transactions wait on each other.
func (s *dynamoServer) txRun(acts []txAction, tables map[*statusTable]map[string]bool) error {
	for _, t := range append([]*statusTable{s.table}, s.more...) {
		if tables[t] != nil {
			t.mu.Lock()
			defer t.mu.Unlock()
		}
	}
	reasons := make([]cancelReason, len(acts))
	next := make([]item, len(acts))
	cancelled := false
	for i, a := range acts {
		reasons[i].Code = "None"
		e, exists := a.table.items[a.key]
		var old item
		if exists && (a.cond != nil || a.kind == "Update") {
			old = e.decode(a.table.dict.strs)
		}
		if a.cond != nil && !a.cond.eval(old) {
			cancelled = true
			reasons[i] = cancelReason{Code: "ConditionalCheckFailed", Message: "The conditional request failed"}
			if a.returnOld && exists {
				reasons[i].Item = old
			}
			continue
		}
		var err error
		switch a.kind {
		case "Put":
			next[i] = a.put.clone()
		case "Update":
			if next[i], err = a.table.updated(a.key, old, exists, a.actions); err == nil {
				err = a.table.validateItem(next[i])
			}
		}
		if err != nil {
			cancelled = true
			reasons[i] = cancelReason{Code: "ValidationError", Message: errorMessage(err)}
		}
	}
	if cancelled {
		codes := make([]string, len(reasons))
		for i, r := range reasons {
			codes[i] = r.Code
		}
		return &dynamoError{status: 400, typ: "TransactionCanceledException", reasons: reasons,
			msg: "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"}
	}
	for i, a := range acts {
		e := a.table.items[a.key]
		switch a.kind {
		case "Put", "Update":
			a.table.put(a.key, e, next[i])
		case "Delete":
			if e == nil {
				continue
			}
			a.table.remove(a.key, e)
		default:
			continue
		}
		a.table.dirty.Store(true)
	}
	return nil
}
