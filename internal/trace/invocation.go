package trace

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stowage-cli/stowage/awsclient"
)

// A Lambda function's log has two kinds of line: the function's own (the parse error,
// the success), which name the request, and the platform's (START, END and REPORT), which
// name only the invocation's own request ID (the awsRequestId). The timeline keeps the
// function's lines as they are and joins each invocation's platform lines into one entry:
// "invocation 4f3c1a2b…: 812.40 ms, 87/512 MB".

// InvocationOf is the Lambda request ID (awsRequestId) a log line names: a platform
// line's (START/END/REPORT RequestId: ID, or the JSON log format's platform.* record), a
// structured line's awsRequestId (function_request_id, aws_request_id), or the one in
// the first fields of a runtime's tab-separated text line ("2026-…Z\tID\tINFO\tmessage").
// "" when it names none.
func InvocationOf(msg string) string {
	m := strings.TrimSpace(msg)
	if id, ok := platformText(m); ok {
		return id
	}
	if strings.HasPrefix(m, "{") {
		var doc struct {
			AWSRequestID      string `json:"awsRequestId"`
			FunctionRequestID string `json:"function_request_id"`
			AWSRequestIDSnake string `json:"aws_request_id"`
			Type              string `json:"type"`
			Record            struct {
				RequestID string `json:"requestId"`
			} `json:"record"`
		}
		if json.Unmarshal([]byte(m), &doc) != nil {
			return ""
		}
		for _, id := range []string{doc.AWSRequestID, doc.FunctionRequestID, doc.AWSRequestIDSnake} {
			if isUUID(id) {
				return id
			}
		}
		if strings.HasPrefix(doc.Type, "platform.") && isUUID(doc.Record.RequestID) {
			return doc.Record.RequestID
		}
		return ""
	}
	fields := strings.SplitN(m, "\t", 4)
	for _, f := range fields[:min(3, len(fields))] {
		if isUUID(f) {
			return f
		}
	}
	return ""
}

// platformKinds are the text platform lines, as Lambda writes them.
var platformKinds = []string{"START", "END", "REPORT"}

// platformText reads a text platform line: "START RequestId: ID …", "END RequestId: ID",
// "REPORT RequestId: ID\t…", ID a UUID as Lambda's are.
func platformText(m string) (string, bool) {
	for _, k := range platformKinds {
		rest, ok := strings.CutPrefix(m, k+" RequestId: ")
		if !ok {
			continue
		}
		if i := strings.IndexAny(rest, " \t"); i >= 0 {
			rest = rest[:i]
		}
		return rest, isUUID(rest)
	}
	return "", false
}

// platformLine reports a Lambda platform line (START, END, REPORT; text or JSON).
func platformLine(msg string) bool {
	m := strings.TrimSpace(msg)
	if _, ok := platformText(m); ok {
		return true
	}
	return strings.HasPrefix(m, "{") && strings.Contains(m, `"platform.`) && platformJSON(m) != nil
}

// platformRecord is a platform line of Lambda's JSON log format.
type platformRecord struct {
	Type   string `json:"type"`
	Record struct {
		RequestID string `json:"requestId"`
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Metrics   struct {
			DurationMs      *float64 `json:"durationMs"`
			MemorySizeMB    *float64 `json:"memorySizeMB"`
			MaxMemoryUsedMB *float64 `json:"maxMemoryUsedMB"`
			InitDurationMs  *float64 `json:"initDurationMs"`
		} `json:"metrics"`
	} `json:"record"`
}

func platformJSON(m string) *platformRecord {
	var r platformRecord
	if json.Unmarshal([]byte(m), &r) != nil || !strings.HasPrefix(r.Type, "platform.") || r.Record.RequestID == "" {
		return nil
	}
	return &r
}

// report is what a REPORT line says.
type report struct {
	duration, memory, maxMemory, initDuration, status, errorType string
}

// readReport reads a REPORT line (text or JSON platform.report); ok false for any other.
func readReport(msg string) (report, bool) {
	m := strings.TrimSpace(msg)
	if strings.HasPrefix(m, "REPORT RequestId: ") {
		var r report
		for _, f := range strings.Split(m, "\t") {
			k, v, ok := strings.Cut(strings.TrimSpace(f), ": ")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "Duration":
				r.duration = v
			case "Memory Size":
				r.memory = strings.TrimSuffix(v, " MB")
			case "Max Memory Used":
				r.maxMemory = strings.TrimSuffix(v, " MB")
			case "Init Duration":
				r.initDuration = v
			case "Status":
				r.status = v
			case "Error Type":
				r.errorType = v
			}
		}
		return r, true
	}
	p := platformJSON(m)
	if p == nil || p.Type != "platform.report" {
		return report{}, false
	}
	num := func(f *float64, unit string) string {
		if f == nil {
			return ""
		}
		return strings.TrimSpace(fmt.Sprintf("%.2f %s", *f, unit))
	}
	mt := p.Record.Metrics
	r := report{duration: num(mt.DurationMs, "ms"), initDuration: num(mt.InitDurationMs, "ms"),
		status: p.Record.Status, errorType: p.Record.ErrorType}
	if mt.MemorySizeMB != nil {
		r.memory = fmt.Sprint(*mt.MemorySizeMB)
	}
	if mt.MaxMemoryUsedMB != nil {
		r.maxMemory = fmt.Sprint(*mt.MaxMemoryUsedMB)
	}
	return r, true
}

// invocationEntry joins one invocation's platform lines (oldest first) into an entry at
// its first line's time: how long it ran, the memory it used, and how it ended when it
// did not succeed. Its message is the lines themselves, one a line.
func invocationEntry(inv string, evs []awsclient.LogEvent) Entry {
	sum := "invocation " + clip(inv, 9)
	var msgs []string
	var rep *report
	for _, e := range evs {
		msgs = append(msgs, strings.TrimRight(e.Message, "\r\n"))
		if r, ok := readReport(e.Message); ok {
			rep = &r
		}
	}
	isErr := false
	if rep == nil {
		sum += ": no REPORT line read (still running, or it ended after the window)"
	} else {
		var parts []string
		if rep.duration != "" {
			parts = append(parts, rep.duration)
		}
		switch {
		case rep.maxMemory != "" && rep.memory != "":
			parts = append(parts, rep.maxMemory+"/"+rep.memory+" MB")
		case rep.maxMemory != "":
			parts = append(parts, rep.maxMemory+" MB")
		}
		if rep.initDuration != "" {
			parts = append(parts, "cold start (init "+rep.initDuration+")")
		}
		if s := strings.ToLower(rep.status); s != "" && s != "success" {
			isErr = true
			st := "status " + rep.status
			if rep.errorType != "" {
				st += " (" + rep.errorType + ")"
			}
			parts = append(parts, st)
		}
		if len(parts) > 0 {
			sum += ": " + strings.Join(parts, ", ")
		}
	}
	return Entry{At: evs[0].At, Source: SourceProcessor, Summary: clip(sum, 200), Error: isErr,
		Message: strings.Join(msgs, "\n"), Group: evs[0].Group, Invocation: inv, Raw: evs, rank: -1}
}

// isUUID reports a canonical UUID (8-4-4-4-12 hex digits).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
