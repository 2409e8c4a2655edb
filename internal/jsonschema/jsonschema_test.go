package jsonschema

import (
	"encoding/json"
	"testing"
)

const doc = "intro\n```json schema:def:file\n" +
	`{"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}, "additionalProperties": false}` +
	"\n```\n\n```json schema:event:x\n" +
	`{"type": "object", "required": ["type", "n"], "properties": {"type": {"enum": ["x"]}, "n": {"type": "integer"},
	  "f": {"$ref": "file"}, "l": {"type": "array", "items": {"type": ["string", "null"]}},
	  "m": {"type": "object", "additionalProperties": {"type": "integer"}}}, "additionalProperties": false}` +
	"\n```\n"

func TestValidate(t *testing.T) {
	set, err := Extract(doc)
	if err != nil || len(set) != 2 {
		t.Fatalf("Extract: %v, %d schemas", err, len(set))
	}
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`{"type": "x", "n": 1}`, true},
		{`{"type": "x", "n": 1, "f": {"path": "/a"}, "l": ["a", null], "m": {"a": 2}}`, true},
		{`{"type": "y", "n": 1}`, false},
		{`{"type": "x"}`, false},
		{`{"type": "x", "n": 1.5}`, false},
		{`{"type": "x", "n": 1, "extra": true}`, false},
		{`{"type": "x", "n": 1, "f": {"path": 3}}`, false},
		{`{"type": "x", "n": 1, "f": {}}`, false},
		{`{"type": "x", "n": 1, "l": [1]}`, false},
		{`{"type": "x", "n": 1, "m": {"a": "b"}}`, false},
		{`[]`, false},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.in), &v); err != nil {
			t.Fatal(err)
		}
		if err := set.Validate("event:x", v); (err == nil) != c.ok {
			t.Errorf("Validate(%s) = %v, want ok %v", c.in, err, c.ok)
		}
	}
}
