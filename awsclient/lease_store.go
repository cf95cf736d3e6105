package awsclient

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stowage-cli/stowage/internal/sanitize"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The lease table's item, one per request ID. Times are epoch milliseconds (N) so that
// conditions compare them as numbers; ttl is epoch seconds, for DynamoDB's TTL.
const (
	LeaseKeyAttr = "requestId" // partition key, type S: the table's only key
	leaseRun     = "runId"
	leaseOp      = "operator"
	leaseEnv     = "env"
	leaseClaimed = "claimedAt"
	leaseExpires = "expiresAt"
	leaseOutcome = "outcome"
	leaseFinish  = "finishedAt"
	leaseSent    = "sent"
	leaseSentAt  = "sentAt" // the latest time any run sent the request; survives later claims
	leaseSentBy  = "sentBy" // the run that sent it then
	LeaseTTLAttr = "ttl"    // epoch seconds; enable TTL on this attribute to clean up
	leaseProbeID = "stowage-doctor-probe"
)

// LeaseRetention is how long an item stays after its claim expires or its run finishes,
// before DynamoDB's TTL may delete it. It bounds "redriven since planning": a plan older
// than this no longer sees redrives made just after it.
const LeaseRetention = 7 * 24 * time.Hour

// LeaseActions are the IAM actions the lease table needs.
const LeaseActions = "dynamodb:UpdateItem, dynamodb:GetItem and dynamodb:DescribeTable"

// ErrClaimLost is wrapped by Finish when another run took the claim over (it expired):
// the outcome was not recorded as this run's, though a send still was.
var ErrClaimLost = errors.New("the claim was taken over by another run")

// LeaseStore keeps redrive claims in a DynamoDB table so that runs on different machines
// never send the same request at once, and a run can see that another one already
// redrove a request since it was planned.
type LeaseStore struct {
	client   *dynamodb.Client
	table    string
	readOnly bool
	profile  string
	sso      bool
	endpoint string
	// singles is set once the server refused TransactWriteItems: ClaimBatch and
	// FinishBatch then make the single calls for the rest of the store's life.
	singles atomic.Bool
}

// NewLeaseStore returns a LeaseStore on table. In read-only mode Claim, Finish and the
// write check of Check are refused before anything is sent.
func NewLeaseStore(client *dynamodb.Client, table string, readOnly bool) *LeaseStore {
	s := &LeaseStore{client: client, table: table, readOnly: readOnly}
	if client != nil {
		s.endpoint = endpointHost(client.Options().BaseEndpoint)
	}
	return s
}

// Table is the lease table's name.
func (s *LeaseStore) Table() string { return s.table }

// ReadOnly reports whether writes are refused.
func (s *LeaseStore) ReadOnly() bool { return s.readOnly }

// CreateTableCommand is the AWS CLI command that creates a lease table.
func CreateTableCommand(table string) string {
	return "aws dynamodb create-table --table-name " + table +
		" --attribute-definitions AttributeName=" + LeaseKeyAttr + ",AttributeType=S" +
		" --key-schema AttributeName=" + LeaseKeyAttr + ",KeyType=HASH --billing-mode PAY_PER_REQUEST" +
		" && aws dynamodb update-time-to-live --table-name " + table +
		" --time-to-live-specification Enabled=true,AttributeName=" + LeaseTTLAttr
}

func (s *LeaseStore) call(op string) call {
	return call{Op: op, Resource: "dynamodb://" + s.table, Action: LeaseActions,
		NotFound: "create it: " + CreateTableCommand(s.table) + " (see README), or remove redrive.lease_table",
		Profile:  s.profile, SSO: s.sso, Endpoint: s.endpoint}
}

// classify names the lease table's key in a schema mismatch (the status table's remedy
// would send the operator to status.key_attr).
func (s *LeaseStore) classify(err error, op string) error {
	e := classify(err, s.call(op))
	var ae *Error
	if errors.As(e, &ae) && ae.Kind == KindInvalid && strings.Contains(ae.Message, "key element does not match the schema") {
		ae.Remedy = "the lease table's only key must be " + LeaseKeyAttr + " (S); create one with: " + CreateTableCommand(s.table)
	}
	return e
}

func ms(t time.Time) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

func str(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }

func (s *LeaseStore) key(id string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{LeaseKeyAttr: str(id)}
}

// leaseNames maps every placeholder to its attribute: all of them, because operator,
// env and ttl are DynamoDB reserved words or could become one.
var leaseNames = map[string]string{
	"#id": LeaseKeyAttr, "#run": leaseRun, "#op": leaseOp, "#env": leaseEnv, "#claimed": leaseClaimed,
	"#exp": leaseExpires, "#outcome": leaseOutcome, "#fin": leaseFinish, "#sent": leaseSent,
	"#sentAt": leaseSentAt, "#sentBy": leaseSentBy, "#ttl": LeaseTTLAttr,
}

var placeholderRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`#[A-Za-z]+`) })

// usedNames remembers names' answer for each set of expressions: a run asks for the same
// few on every claim and finish, and the regexp was about 1% of a redrive's CPU.
var usedNames sync.Map // strings.Join(exprs, "\x00") -> map[string]string

// names returns the placeholders exprs use (DynamoDB refuses unused ones), in a map of
// the caller's own.
func names(exprs ...string) map[string]string {
	k := strings.Join(exprs, "\x00")
	if m, ok := usedNames.Load(k); ok {
		return maps.Clone(m.(map[string]string))
	}
	out := map[string]string{}
	for _, e := range exprs {
		for _, p := range placeholderRe().FindAllString(e, -1) {
			out[p] = leaseNames[p]
		}
	}
	usedNames.Store(k, maps.Clone(out))
	return out
}

// Claim takes req.RequestID for req.RunID in one conditional write. It is granted when
// no item exists, when the item is this run's, or when the item is not live (finished,
// or expired) and no run sent the request after req.RedrivenSince. An expired claim that
// no run finished counts as sent at its claim time: its run may have sent before it died.
// A claim keeps sentAt/sentBy of earlier runs (an UpdateItem, not a PutItem, for that),
// so a later claim that sends nothing cannot hide an earlier redrive.
func (s *LeaseStore) Claim(ctx context.Context, req ClaimRequest) (ClaimResult, error) {
	if s.readOnly {
		return ClaimResult{}, readOnlyError("claim", s.call("claim").Resource+"/"+req.RequestID)
	}
	if req.RequestID == "" || req.RunID == "" || req.TTL <= 0 {
		return ClaimResult{}, invalid("claim", s.call("claim").Resource, "a claim needs a request ID, a run ID and a positive TTL")
	}
	now := req.Now
	update, values := claimWrite(req)
	cond := "attribute_not_exists(#id) OR #run = :run OR " + claimFree(req, values)
	for attempt := 0; ; attempt++ {
		out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: s.key(req.RequestID),
			UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: names(update, cond), ExpressionAttributeValues: values,
			ReturnValues: ddbtypes.ReturnValueAllOld,
		})
		if err == nil {
			old := claimOf(req.RequestID, out.Attributes)
			return ClaimResult{Holder: old, TookOver: len(out.Attributes) > 0 && old.Outcome == "" && old.RunID != req.RunID}, nil
		}
		var ccf *ddbtypes.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return ClaimResult{}, s.classify(err, "claim")
		}
		holder, found, gerr := s.get(ctx, req.RequestID)
		if gerr != nil {
			return ClaimResult{}, gerr
		}
		if !found {
			// Deleted (TTL) between the two calls: the next attempt finds no item.
			if attempt < 3 {
				continue
			}
			return ClaimResult{}, &Error{Kind: KindServer, Op: "claim", Resource: s.call("claim").Resource + "/" + req.RequestID,
				Message: "the claim was refused but no item is there", Remedy: remedyServer}
		}
		if holder.Live(now) {
			return ClaimResult{Refused: ClaimHeld, Holder: holder}, nil
		}
		return ClaimResult{Refused: ClaimRedriven, Holder: holder}, nil
	}
}

// claimUpdate is a claim's write: the claim's attributes, and no outcome yet.
const claimUpdate = "SET #run = :run, #op = :op, #env = :env, #claimed = :now, #exp = :exp, #ttl = :ttl REMOVE #outcome, #fin, #sent"

// claimWrite is a claim's update expression and its values.
func claimWrite(req ClaimRequest) (string, map[string]ddbtypes.AttributeValue) {
	// Empty strings would be refused by servers older than DynamoDB's 2020 change.
	op, env := req.Operator, req.Env
	if op == "" {
		op = "unknown"
	}
	if env == "" {
		env = "unknown"
	}
	exp := req.Now.Add(req.TTL)
	return claimUpdate, map[string]ddbtypes.AttributeValue{
		":run": str(req.RunID), ":op": str(op), ":env": str(env), ":now": ms(req.Now), ":exp": ms(exp),
		":ttl": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(exp.Add(LeaseRetention).Unix(), 10)},
	}
}

// claimFree is the condition of a claim on another run's item: it is not live (finished,
// or expired) and, unless req.RedrivenSince is zero, no run sent the request since. It
// adds :since to values when it uses it.
func claimFree(req ClaimRequest, values map[string]ddbtypes.AttributeValue) string {
	// AND binds tighter than OR, and DynamoDB refuses redundant parentheses, so only the
	// OR groups inside an AND carry them.
	free := "attribute_exists(#outcome) OR #exp <= :now"
	if req.RedrivenSince.IsZero() {
		return free
	}
	values[":since"] = ms(req.RedrivenSince)
	return "(" + free + ") AND " + notSentSince + " AND (attribute_exists(#outcome) OR #claimed <= :since)"
}

// notSentSince holds when no run sent the request after :since.
const notSentSince = "(attribute_not_exists(#sentAt) OR #sentAt <= :since)"

// Finish records how this run finished a request it claimed. When another run has taken
// the claim over, a send is still recorded (sentAt) and the error wraps ErrClaimLost.
func (s *LeaseStore) Finish(ctx context.Context, f ClaimFinish) error {
	res := s.call("finish-claim").Resource + "/" + f.RequestID
	if s.readOnly {
		return readOnlyError("finish-claim", res)
	}
	if f.Outcome == "" {
		return invalid("finish-claim", res, "an outcome is required")
	}
	update, values := finishWrite(f)
	cond := "#run = :run"
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: s.key(f.RequestID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names(update, cond), ExpressionAttributeValues: values,
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if err == nil || !errors.As(err, &ccf) {
		return s.classify(err, "finish-claim")
	}
	lost := &Error{Kind: KindChanged, Op: "finish-claim", Resource: res, Err: ErrClaimLost,
		Message: ErrClaimLost.Error() + " (its lease expired)", Remedy: "raise redrive.lease_ttl if attempts outlast it"}
	if !f.Sent {
		return lost
	}
	// The send happened whoever holds the claim now: make it visible to later plans.
	update = "SET #sentAt = :at, #sentBy = :run"
	cond = "attribute_not_exists(#sentAt) OR #sentAt < :at"
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: s.key(f.RequestID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames:  names(update, cond),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":at": ms(f.At), ":run": str(f.RunID)},
	})
	if err != nil && !errors.As(err, &ccf) {
		return s.classify(err, "finish-claim")
	}
	return lost
}

// finishWrite is a finish's update expression and its values; its condition is that the
// claim is still this run's (#run = :run).
func finishWrite(f ClaimFinish) (string, map[string]ddbtypes.AttributeValue) {
	ttl := &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(f.At.Add(LeaseRetention).Unix(), 10)}
	values := map[string]ddbtypes.AttributeValue{
		":run": str(f.RunID), ":outcome": str(f.Outcome), ":at": ms(f.At),
		":sent": &ddbtypes.AttributeValueMemberBOOL{Value: f.Sent}, ":ttl": ttl,
	}
	update := "SET #outcome = :outcome, #fin = :at, #sent = :sent, #ttl = :ttl"
	if f.Sent {
		update += ", #sentAt = :at, #sentBy = :run"
	}
	return update, values
}

// Get reads the claim on id with a consistent read; found is false when there is none.
func (s *LeaseStore) Get(ctx context.Context, id string) (Claim, bool, error) {
	return s.get(ctx, id)
}

func (s *LeaseStore) get(ctx context.Context, id string) (Claim, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: s.key(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Claim{}, false, s.classify(err, "get-claim")
	}
	if len(out.Item) == 0 {
		return Claim{}, false, nil
	}
	return claimOf(id, out.Item), true, nil
}

// Check proves the table is usable for leases: it exists, is active, its only key is
// requestId (S), and (unless read-only) the credentials may write to it. The write check
// is an UpdateItem whose condition can never hold: DynamoDB checks permissions before
// conditions, so it answers ConditionalCheckFailed and writes nothing.
func (s *LeaseStore) Check(ctx context.Context) error {
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err != nil {
		return s.classify(err, "describe")
	}
	t := out.Table
	types := map[string]string{}
	for _, d := range t.AttributeDefinitions {
		types[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	var keys []string
	for _, k := range t.KeySchema {
		keys = append(keys, aws.ToString(k.AttributeName)+" ("+string(k.KeyType)+", "+types[aws.ToString(k.AttributeName)]+")")
	}
	if len(t.KeySchema) != 1 || aws.ToString(t.KeySchema[0].AttributeName) != LeaseKeyAttr || types[LeaseKeyAttr] != "S" {
		return &Error{Kind: KindInvalid, Op: "describe", Resource: s.call("describe").Resource,
			Message: "the table's key is " + strings.Join(keys, ", ") + ", not " + LeaseKeyAttr + " (HASH, S)",
			Remedy:  "use a table of its own for leases: " + CreateTableCommand(s.table)}
	}
	if st := t.TableStatus; st != "" && st != ddbtypes.TableStatusActive && st != ddbtypes.TableStatusUpdating {
		return &Error{Kind: KindServer, Op: "describe", Resource: s.call("describe").Resource,
			Message: "the table is " + string(st), Remedy: "wait until it is ACTIVE"}
	}
	if s.readOnly {
		return nil
	}
	cond := "attribute_exists(#id) AND attribute_not_exists(#id)"
	update := "SET #run = :run"
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: s.key(leaseProbeID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames:  names(update, cond),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":run": str("doctor")},
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err == nil {
		return &Error{Kind: KindInvalid, Op: "check-write", Resource: s.call("check-write").Resource,
			Message: "an impossible condition held: the endpoint is not DynamoDB as stowage knows it"}
	}
	return s.classify(err, "check-write")
}

// claimOf reads a lease item; unreadable attributes stay zero.
func claimOf(id string, item map[string]ddbtypes.AttributeValue) Claim {
	if len(item) == 0 {
		return Claim{}
	}
	c := Claim{
		RequestID:   id,
		RunID:       stringAttr(item[leaseRun]),
		Operator:    stringAttr(item[leaseOp]),
		Env:         stringAttr(item[leaseEnv]),
		ClaimedAt:   msAttr(item[leaseClaimed]),
		Expires:     msAttr(item[leaseExpires]),
		Outcome:     stringAttr(item[leaseOutcome]),
		FinishedAt:  msAttr(item[leaseFinish]),
		LastSentAt:  msAttr(item[leaseSentAt]),
		LastSentRun: stringAttr(item[leaseSentBy]),
	}
	if b, ok := item[leaseSent].(*ddbtypes.AttributeValueMemberBOOL); ok {
		c.Sent = b.Value
	}
	return c
}

func msAttr(v ddbtypes.AttributeValue) time.Time {
	n, ok := v.(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(i).UTC()
}

// String is the claim as the operator reads it in a refusal: "run X (operator, started
// T)". Its values come from a shared table, so they are sanitized here.
func (c Claim) String() string {
	s := fmt.Sprintf("run %s (%s, started %s)", sanitize.Line(c.RunID), sanitize.Line(c.Operator), c.ClaimedAt.Format(time.RFC3339))
	if !c.LastSentAt.IsZero() && c.LastSentRun != "" {
		s += fmt.Sprintf("; last sent by run %s at %s", sanitize.Line(c.LastSentRun), c.LastSentAt.Format(time.RFC3339))
	}
	return s
}
