package jsonmap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// The operation names of a mapping.
const (
	OpMove    = "move"
	OpWrap    = "wrap"
	OpDefault = "default"
	OpSet     = "set"
	OpDrop    = "drop"
)

// Operation is one step of a mapping, in its JSON config form.
type Operation struct {
	// Op is one of move, wrap, default, set, drop.
	Op string `json:"op"`
	// From is the dotted source path of move and wrap.
	From string `json:"from,omitempty"`
	// Path is the dotted target path (move, wrap, default, set) or the
	// field to remove (drop).
	Path string `json:"path,omitempty"`
	// Value is the JSON value written by default and set. Strings may hold
	// Caddy placeholders, replaced per request.
	Value json.RawMessage `json:"value,omitempty"`
}

// step is an Operation compiled for fast application.
type step struct {
	op       string
	from     []string
	path     []string
	value    any
	template bool // value is a string with placeholders
}

// compile checks ops and prepares them; where names the block ("request"
// or "response") in error messages.
func compile(where string, ops []Operation) ([]step, error) {
	steps := make([]step, 0, len(ops))
	for i, o := range ops {
		s := step{op: o.Op}
		var err error
		at := fmt.Sprintf("json_map %s operation %d (%s)", where, i+1, o.Op)
		switch o.Op {
		case OpMove, OpWrap:
			if s.from, err = splitPath(o.From); err != nil {
				return nil, fmt.Errorf("%s: from: %w", at, err)
			}
			if o.Path == "" && o.Op == OpWrap {
				s.path = s.from
			} else if s.path, err = splitPath(o.Path); err != nil {
				return nil, fmt.Errorf("%s: path: %w", at, err)
			}
		case OpDefault, OpSet:
			if s.path, err = splitPath(o.Path); err != nil {
				return nil, fmt.Errorf("%s: %w", at, err)
			}
			if len(o.Value) == 0 {
				return nil, fmt.Errorf("%s: a value is required, e.g. %s %s 20", at, o.Op, o.Path)
			}
			if s.value, err = decodeValue(o.Value); err != nil {
				return nil, fmt.Errorf("%s: value is not valid JSON: %v", at, err)
			}
			if str, ok := s.value.(string); ok && strings.ContainsRune(str, '{') {
				s.template = true
			}
		case OpDrop:
			if s.path, err = splitPath(o.Path); err != nil {
				return nil, fmt.Errorf("%s: %w", at, err)
			}
		default:
			return nil, fmt.Errorf("json_map %s operation %d: unknown operation %q; use rename, move, wrap, default, set or drop", where, i+1, o.Op)
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// splitPath turns "options.sample_steps" into its keys.
func splitPath(p string) ([]string, error) {
	if p == "" {
		return nil, fmt.Errorf("a field path is required, e.g. options.sample_steps")
	}
	keys := strings.Split(p, ".")
	for _, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("invalid field path %q: empty key between dots", p)
		}
	}
	return keys, nil
}

// decodeValue decodes a configured JSON value, keeping numbers exact.
func decodeValue(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one value")
	}
	return v, nil
}

// FieldError reports a body whose shape keeps a mapping from applying,
// e.g. a scalar where an object is needed. Its text is safe for a client.
type FieldError struct {
	Path string
}

// Error names the field that must be an object.
func (e *FieldError) Error() string {
	return fmt.Sprintf("field %s must be an object", e.Path)
}

// apply runs steps on doc in order. repl replaces placeholders in string
// values; it may be nil.
func apply(doc map[string]any, steps []step, repl *caddy.Replacer) error {
	for i := range steps {
		s := &steps[i]
		switch s.op {
		case OpMove:
			v, ok := remove(doc, s.from)
			if !ok {
				continue
			}
			if err := put(doc, s.path, v); err != nil {
				return err
			}
		case OpWrap:
			v, ok := remove(doc, s.from)
			if !ok {
				continue
			}
			if _, isList := v.([]any); !isList {
				v = []any{v}
			}
			if err := put(doc, s.path, v); err != nil {
				return err
			}
		case OpDefault:
			if v, ok, err := get(doc, s.path); err != nil {
				return err
			} else if ok && v != nil {
				continue
			}
			if err := put(doc, s.path, s.valueFor(repl)); err != nil {
				return err
			}
		case OpSet:
			if err := put(doc, s.path, s.valueFor(repl)); err != nil {
				return err
			}
		case OpDrop:
			remove(doc, s.path)
		}
	}
	return nil
}

// valueFor returns a fresh copy of the step's value, placeholders replaced.
func (s *step) valueFor(repl *caddy.Replacer) any {
	if s.template {
		if repl == nil {
			return s.value
		}
		return repl.ReplaceKnown(s.value.(string), "")
	}
	return clone(s.value)
}

// clone deep-copies JSON containers so that later steps cannot modify the
// configured value.
func clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = clone(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = clone(e)
		}
		return l
	default:
		return v
	}
}

// get returns the value at path; a non-object on the way is an error.
func get(doc map[string]any, path []string) (any, bool, error) {
	obj := doc
	for i, k := range path[:len(path)-1] {
		next, ok := obj[k]
		if !ok || next == nil {
			return nil, false, nil
		}
		if obj, ok = next.(map[string]any); !ok {
			return nil, false, &FieldError{Path: strings.Join(path[:i+1], ".")}
		}
	}
	v, ok := obj[path[len(path)-1]]
	return v, ok, nil
}

// remove deletes and returns the value at path, if present.
func remove(doc map[string]any, path []string) (any, bool) {
	obj := doc
	for _, k := range path[:len(path)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			return nil, false
		}
		obj = next
	}
	last := path[len(path)-1]
	v, ok := obj[last]
	if ok {
		delete(obj, last)
	}
	return v, ok
}

// put stores v at path, creating missing (or null) intermediate objects.
func put(doc map[string]any, path []string, v any) error {
	obj := doc
	for i, k := range path[:len(path)-1] {
		next, ok := obj[k]
		if !ok || next == nil {
			m := make(map[string]any, 1)
			obj[k] = m
			obj = m
			continue
		}
		if obj, ok = next.(map[string]any); !ok {
			return &FieldError{Path: strings.Join(path[:i+1], ".")}
		}
	}
	obj[path[len(path)-1]] = v
	return nil
}
