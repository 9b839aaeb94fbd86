package sqlqueue

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// refreshRetryUntil returns payload ready to be queued again at now: the
// same bytes, except a top-level retryUntil at or before now. That one
// moves forward by the job's original window, retryUntil - (pushedAt ??
// createdAt), as Horizon does, when the payload shows where the window
// began; otherwise it becomes null, so the worker does not fail the job
// again on arrival. A future, null or missing retryUntil, and a payload
// that is not a JSON object, are left as they are.
func refreshRetryUntil(payload []byte, now time.Time) []byte {
	if !json.Valid(payload) {
		return payload
	}
	f, ok := topLevel(payload)
	if !ok || f.retryUntil.start < 0 {
		return payload
	}
	until, ok := number(f.retryUntil.value)
	if !ok || until > float64(now.Unix()) {
		return payload
	}

	repl := []byte("null")
	if start, ok := f.windowStart(); ok && until > start {
		window := int64(math.Ceil(until - start))
		repl = strconv.AppendInt(nil, now.Unix()+window, 10)
	}
	out := make([]byte, 0, len(payload)+len(repl))
	out = append(out, payload[:f.retryUntil.start]...)
	out = append(out, repl...)
	return append(out, payload[f.retryUntil.end:]...)
}

// field is a top-level value: its token and where its bytes lie.
type field struct {
	value      any
	start, end int
}

// fields are the top-level values refreshRetryUntil reads. When a key
// repeats, the last one counts, as in PHP's json_decode.
type fields struct {
	retryUntil, pushedAt, createdAt field
}

func (f fields) windowStart() (float64, bool) {
	if v, ok := number(f.pushedAt.value); ok {
		return v, true
	}
	return number(f.createdAt.value)
}

// topLevel walks payload's top-level object with a tokenizer, noting the
// values of the keys of interest. Only scalars are noted: a retryUntil
// nested in data is another key's business.
func topLevel(payload []byte) (fields, bool) {
	f := fields{retryUntil: field{start: -1}}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return f, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return f, false
		}
		key, _ := t.(string)
		keyEnd := int(dec.InputOffset())
		var dst *field
		switch key {
		case "retryUntil":
			dst = &f.retryUntil
		case "pushedAt":
			dst = &f.pushedAt
		case "createdAt":
			dst = &f.createdAt
		}
		if dst == nil {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return f, false
			}
			continue
		}
		v, err := dec.Token()
		if err != nil {
			return f, false
		}
		if _, ok := v.(json.Delim); ok {
			return f, false // an object or array where a scalar belongs
		}
		end := int(dec.InputOffset())
		*dst = field{value: v, start: valueStart(payload, keyEnd), end: end}
	}
	return f, true
}

// valueStart returns where the value after the key ending at i begins:
// past the blanks and the colon.
func valueStart(b []byte, i int) int {
	for i < len(b) && (b[i] == ':' || b[i] == ' ' || b[i] == '\t' ||
		b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// number reads a JSON number, or a string holding one (Horizon writes
// pushedAt as a string of microtime).
func number(v any) (float64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = v
	default:
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil && !math.IsInf(n, 0) && !math.IsNaN(n)
}
