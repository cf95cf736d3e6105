package redrive

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stowage-cli/stowage/internal/reqid"
)

// idFields are the JSON fields that name a request ID, in the order they are tried.
var idFields = []string{"id", "request_id", "requestId", "RequestID"}

// ParseIDList is ParseRefs for an environment whose keys are the request IDs.
func ParseIDList(r io.Reader) ([]string, error) { return ParseRefs(r, nil) }

// ParseRefs reads request IDs, one reference per line, for --from-file: JSON Lines with
// an "id" field (the output of stowage ls -o json), or anything internal/reqid reads (a
// request ID, an s3:// URI, a console URL, a log line naming a request ID, a plain key).
// Keys become request IDs through idOfKey (the environment's key mapping; the key itself
// when nil). Blank lines and lines starting with # are skipped; duplicates are dropped,
// first occurrence kept. A line with nothing recognisable is an error naming it.
func ParseRefs(r io.Reader, idOfKey func(key string) string) ([]string, error) {
	if idOfKey == nil {
		idOfKey = func(key string) string { return key }
	}
	return ParseRefsWith(r, func(ref reqid.Ref) (string, error) {
		if ref.Key != "" {
			return idOfKey(ref.Key), nil
		}
		return ref.RequestID, nil
	})
}

// ParseRefsWith is ParseRefs with the caller's rule for what a reference names in its
// environment: resolve returns the request ID, or refuses the reference (an object in
// another environment's bucket); its error is wrapped with the line number.
func ParseRefsWith(r io.Reader, resolve func(reqid.Ref) (string, error)) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var ids []string
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var id string
		if strings.HasPrefix(line, "{") {
			var err error
			if id, err = idFromJSON(line); err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
		} else {
			ref, err := reqid.Parse(line)
			var words *reqid.WordsError
			if errors.As(err, &words) {
				// Words with no ID may be a key with spaces; planning reports it missing
				// if there is no such object.
				ref, err = reqid.Ref{Kind: reqid.KindKey, Key: words.Text}, nil
			}
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
			if ref.Key == "" && ref.RequestID == "" {
				return nil, fmt.Errorf("line %d: no request ID in %q", n, truncate(line, 80))
			}
			if id, err = resolve(ref); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
		}
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read IDs: %w", err)
	}
	return ids, nil
}

func idFromJSON(line string) (string, error) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(line), &obj); err != nil {
		return "", fmt.Errorf("not valid JSON: %v", err)
	}
	for _, f := range idFields {
		if v, ok := obj[f]; ok {
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return "", fmt.Errorf("field %q is not a request ID", f)
			}
			return strings.TrimSpace(s), nil
		}
	}
	return "", fmt.Errorf("the JSON object has no \"id\" field")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
