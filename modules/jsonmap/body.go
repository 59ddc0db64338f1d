package jsonmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// BodyError describes why a body could not be mapped. Its text is safe to
// show a client: it never quotes the body.
type BodyError struct {
	Reason string
}

// Error returns the client-safe reason.
func (e *BodyError) Error() string { return e.Reason }

// isJSONType reports whether a Content-Type names JSON (application/json
// or a +json suffix type).
func isJSONType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasSuffix(mt, "+json") && strings.Contains(mt, "/"))
}

// mapBody parses body as a JSON object, applies steps and returns the new
// encoding.
func mapBody(body []byte, steps []step, repl *caddy.Replacer) ([]byte, error) {
	doc, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	if err := apply(doc, steps, repl); err != nil {
		return nil, err
	}
	return encode(doc)
}

// parseObject decodes a JSON object, keeping numbers exact.
func parseObject(body []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, syntaxError(err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, &BodyError{Reason: fmt.Sprintf("invalid JSON: unexpected data after the value at byte %d", d.InputOffset())}
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, &BodyError{Reason: "the body must be a JSON object"}
	}
	return doc, nil
}

// syntaxError turns a decoder error into a client-safe BodyError.
func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &BodyError{Reason: fmt.Sprintf("invalid JSON at byte %d", se.Offset)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &BodyError{Reason: "invalid JSON: unexpected end of input"}
	default:
		return &BodyError{Reason: "invalid JSON"}
	}
}

// encode writes doc as compact JSON without HTML escaping.
func encode(doc map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
