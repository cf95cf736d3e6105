package devstack

import "fmt"

// dynamoError is an error in DynamoDB's JSON shape.
type dynamoError struct {
	status int
	typ    string // ValidationException, ResourceNotFoundException, ...
	msg    string
	item   item // ConditionalCheckFailedException with ReturnValuesOnConditionCheckFailure=ALL_OLD
	// reasons are a TransactionCanceledException's CancellationReasons.
	reasons []cancelReason
}

func (e *dynamoError) Error() string { return e.typ + ": " + e.msg }

func validation(msg string) error {
	return &dynamoError{status: 400, typ: "ValidationException", msg: msg}
}

// unsupported refuses what the emulator does not implement, naming it, so that a new
// query shape in awsclient fails loudly in the demo instead of returning a wrong answer.
func unsupported(format string, args ...any) error {
	return validation("stowage devstack: unsupported " + fmt.Sprintf(format, args...) +
		" (the devstack status table implements only what stowage's status store sends)")
}

func tableNotFound() error {
	return &dynamoError{status: 400, typ: "ResourceNotFoundException", msg: "Requested resource not found"}
}

func conditionFailed(old item) error {
	return &dynamoError{status: 400, typ: "ConditionalCheckFailedException", msg: "The conditional request failed", item: old}
}

// errorMessage is the message DynamoDB would give for err.
func errorMessage(err error) string {
	if de, ok := err.(*dynamoError); ok {
		return de.msg
	}
	return err.Error()
}
