package awsclient

import (
	"context"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// requestBodyID names the middleware of KeepConnectionsOnEarlyResponse.
const requestBodyID = "stowage.RequestBodyWithoutWriteTo"

// KeepConnectionsOnEarlyResponse is an APIOptions entry that keeps a call from losing its
// connection under the response it is reading.
//
// net/http returns a response as soon as its headers arrive, while its writer goroutine
// may still be finishing the request: once the declared length is sent, it copies what is
// left of the body into io.Discard, which uses the body's WriteTo. The SDK closes the
// request body as soon as the response is returned, and a closed SDK body answers WriteTo
// with io.EOF as an error (where Read answers a clean end). The transport then takes the
// request for a failed write and closes the connection, under the response the SDK is
// still decoding: "read tcp ...: use of closed network connection" on a 200 whose body
// was larger than the transport's buffer. Every DynamoDB call (a POST with a body) could
// lose it that way: `ls --status PROCESSED` on the 100k demo failed once three attempts of
// one Query page had, and every call that lost it dialled anew.
//
// The middleware hands the transport the body without WriteTo, so the copy ends cleanly
// on a closed body. It is idempotent: adding it to a stack that has it is a no-op.
func KeepConnectionsOnEarlyResponse(stack *middleware.Stack) error {
	if _, ok := stack.Deserialize.Get(requestBodyID); ok {
		return nil
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc(requestBodyID, withoutWriteTo), middleware.After)
}

func withoutWriteTo(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		if rs, ok := req.GetStream().(io.ReadSeeker); ok {
			if _, hasWriteTo := rs.(io.WriterTo); hasWriteTo {
				if clone, err := req.SetStream(readSeeker{rs}); err == nil {
					clone.ContentLength = req.ContentLength
					in.Request = clone
				}
			}
		}
	}
	return next.HandleDeserialize(ctx, in)
}

// readSeeker hides everything of a stream but Read and Seek.
type readSeeker struct{ io.ReadSeeker }
