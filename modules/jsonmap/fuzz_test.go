package jsonmap

import (
	"encoding/json"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// FuzzMapBody runs the MultiTalk mapping template over arbitrary request
// bodies: it must answer a mapped JSON object or a BodyError, never panic,
// and never produce invalid JSON. `go test -fuzz FuzzMapBody` explores;
// the suite runs the seeds in testdata/fuzz.
func FuzzMapBody(f *testing.F) {
	steps, err := compile("request", []Operation{
		{Op: OpMove, From: "image_url", Path: "image_s3_url"},
		{Op: OpWrap, From: "audio_url", Path: "audio_s3_urls"},
		{Op: OpMove, From: "steps", Path: "options.sample_steps"},
		{Op: OpDefault, Path: "options.sample_steps", Value: json.RawMessage(`20`)},
		{Op: OpSet, Path: "options.resolution", Value: json.RawMessage(`"480p"`)},
		{Op: OpDrop, Path: "debug"},
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"prompt":"a cat","image_url":"s3://b/i.png","audio_url":"s3://b/a.wav","steps":35}`,
		`{"options":"x"}`, `{"options":{"sample_steps":null}}`, `[]`, `null`, `{"a":`, `{"a":1}{"b":2}`,
		`{"image_url":{"nested":[1,2,{"deep":true}]}}`, "{\"prompt\":\"\xff\"}", `{"steps":1e400}`,
	} {
		f.Add([]byte(seed))
	}
	repl := caddy.NewReplacer()
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := mapBody(body, steps, repl)
		if err != nil {
			return
		}
		if !json.Valid(out) || len(out) == 0 || out[0] != '{' {
			t.Fatalf("mapped %q into %q, not a JSON object", body, out)
		}
	})
}
