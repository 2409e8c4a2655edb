// Package jsonschema checks JSON values against the small subset of JSON
// Schema that docs/json.md uses: type (one or a list), properties,
// required, items, enum, additionalProperties (false or a schema) and
// $ref to a named definition. It exists so the test suite can hold every
// command's --json output to the documented schemas without a dependency.
package jsonschema

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// Schema is one parsed schema.
type Schema map[string]any

// Set is the schemas of a document, by name ("event:shared", "def:file").
type Set map[string]Schema

var block = regexp.MustCompile("(?s)```json schema:(\\S+)\n(.*?)```")

// Extract reads the schemas from a Markdown document's fenced blocks
// tagged "json schema:NAME".
func Extract(markdown string) (Set, error) {
	set := Set{}
	for _, m := range block.FindAllStringSubmatch(markdown, -1) {
		var s Schema
		if err := json.Unmarshal([]byte(m[2]), &s); err != nil {
			return nil, fmt.Errorf("schema %s: %w", m[1], err)
		}
		set[m[1]] = s
	}
	return set, nil
}

// Validate checks value (decoded with encoding/json into any) against the
// schema called name, resolving $ref against the "def:" schemas.
func (set Set) Validate(name string, value any) error {
	s, ok := set[name]
	if !ok {
		return fmt.Errorf("no schema %q", name)
	}
	return set.check(s, value, "$")
}

func (set Set) check(s Schema, v any, at string) error {
	if ref, ok := s["$ref"].(string); ok {
		d, ok := set["def:"+ref]
		if !ok {
			return fmt.Errorf("%s: unknown $ref %q", at, ref)
		}
		return set.check(d, v, at)
	}
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		return fmt.Errorf("%s: %s is not of type %v", at, short(v), t)
	}
	if e, ok := s["enum"].([]any); ok && !inEnum(e, v) {
		return fmt.Errorf("%s: %s is not one of %v", at, short(v), e)
	}
	switch v := v.(type) {
	case map[string]any:
		return set.object(s, v, at)
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range v {
				if err := set.check(items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (set Set) object(s Schema, v map[string]any, at string) error {
	for _, r := range asList(s["required"]) {
		if _, ok := v[r.(string)]; !ok {
			return fmt.Errorf("%s: required key %q missing", at, r)
		}
	}
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if p, ok := props[k].(map[string]any); ok {
			if err := set.check(p, v[k], at+"."+k); err != nil {
				return err
			}
			continue
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap {
				return fmt.Errorf("%s: key %q is not in the schema", at, k)
			}
		case map[string]any:
			if err := set.check(ap, v[k], at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func typeMatches(t any, v any) bool {
	for _, name := range asList(t) {
		if typeMatches(name, v) {
			return true
		}
	}
	name, _ := t.(string)
	switch v := v.(type) {
	case nil:
		return name == "null"
	case bool:
		return name == "boolean"
	case string:
		return name == "string"
	case float64:
		return name == "number" || (name == "integer" && v == math.Trunc(v))
	case []any:
		return name == "array"
	case map[string]any:
		return name == "object"
	}
	return false
}

func inEnum(e []any, v any) bool {
	for _, x := range e {
		if x == v {
			return true
		}
	}
	return false
}

func short(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return strings.TrimSpace(s)
}
