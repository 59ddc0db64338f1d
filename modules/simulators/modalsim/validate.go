package modalsim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// validationError is one entry of FastAPI's 422 {"detail":[...]}.
type validationError struct {
	Type  string `json:"type"`
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Input any    `json:"input"`
}

// validateGenerate checks a POST /api/v1/generate body as the MultiTalk
// API's pydantic model does and fills in option defaults.
func validateGenerate(body map[string]any) (generateRequest, []validationError) {
	var req generateRequest
	var problems []validationError
	add := func(typ, msg string, input any, loc ...any) {
		problems = append(problems, validationError{Type: typ, Loc: append([]any{"body"}, loc...), Msg: msg, Input: input})
	}
	str := func(field string, required bool) (string, bool) {
		v, present := body[field]
		if !present || v == nil {
			if required {
				add("missing", "Field required", body, field)
			}
			return "", false
		}
		s, ok := v.(string)
		if !ok {
			add("string_type", "Input should be a valid string", v, field)
			return "", false
		}
		return s, true
	}

	if p, ok := str("prompt", true); ok {
		if strings.TrimSpace(p) == "" {
			add("string_too_short", "String should have at least 1 character", p, "prompt")
		}
		req.Prompt = p
	}
	if u, ok := str("image_s3_url", true); ok {
		if !isS3URL(u) {
			add("value_error", "Value error, Invalid S3 URL format: "+u, u, "image_s3_url")
		}
		req.ImageS3URL = u
	}
	req.AudioS3URLs = validateAudio(body, add)
	req.OutputBucket, _ = str("output_s3_bucket", false)
	req.OutputPrefix, _ = str("output_s3_prefix", false)
	req.WebhookURL, _ = str("webhook_url", false)
	req.Options = validateOptions(body["options"], add)
	return req, problems
}

func validateAudio(body map[string]any, add func(typ, msg string, input any, loc ...any)) []string {
	v, present := body["audio_s3_urls"]
	if !present || v == nil {
		add("missing", "Field required", body, "audio_s3_urls")
		return nil
	}
	var urls []string
	switch a := v.(type) {
	case string:
		urls = []string{a}
	case []any:
		if len(a) > maxAudioFiles {
			add("value_error", fmt.Sprintf("Value error, Maximum %d audio files allowed", maxAudioFiles), a, "audio_s3_urls")
			return nil
		}
		for i, item := range a {
			s, ok := item.(string)
			if !ok {
				add("string_type", "Input should be a valid string", item, "audio_s3_urls", i)
				continue
			}
			urls = append(urls, s)
		}
	default:
		add("value_error", "Value error, audio_s3_urls must be a string or a list of strings", v, "audio_s3_urls")
		return nil
	}
	for _, u := range urls {
		if !isS3URL(u) {
			add("value_error", "Value error, Invalid S3 URL format: "+u, v, "audio_s3_urls")
			break
		}
	}
	return urls
}

// validateOptions checks options and returns them with defaults.
func validateOptions(v any, add func(typ, msg string, input any, loc ...any)) map[string]any {
	out := map[string]any{"resolution": "480p", "sample_steps": int64(20), "audio_type": "add",
		"audio_cfg": 4.0, "color_correction": 0.7}
	if v == nil {
		return out
	}
	opts, ok := v.(map[string]any)
	if !ok {
		add("model_type", "Input should be a valid dictionary", v, "options")
		return out
	}
	oneOf := func(field string, allowed ...string) {
		if x, present := opts[field]; present {
			s, _ := x.(string)
			for _, a := range allowed {
				if s == a {
					out[field] = s
					return
				}
			}
			add("literal_error", fmt.Sprintf("Input should be %s", quoteOr(allowed)), x, "options", field)
		}
	}
	number := func(field string, lo, hi float64, integer bool) {
		x, present := opts[field]
		if !present {
			return
		}
		n, ok := x.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil {
			add("float_parsing", "Input should be a valid number", x, "options", field)
			return
		}
		if integer {
			i, err := n.Int64()
			if err != nil {
				add("int_from_float", "Input should be a valid integer", x, "options", field)
				return
			}
			out[field] = i
		} else {
			out[field] = f
		}
		if f < lo {
			add("greater_than_equal", fmt.Sprintf("Input should be greater than or equal to %g", lo), x, "options", field)
		} else if f > hi {
			add("less_than_equal", fmt.Sprintf("Input should be less than or equal to %g", hi), x, "options", field)
		}
	}
	oneOf("resolution", "480p", "720p")
	number("sample_steps", 10, 50, true)
	oneOf("audio_type", "add", "para")
	number("audio_cfg", 3, 5, false)
	number("color_correction", 0, 1, false)
	return out
}

// maxAudioFiles is how many audio URLs one job may name.
const maxAudioFiles = 5

// isS3URL is the app's check: s3://, then a bucket and a slash (the key may
// be empty there; reading it fails later).
func isS3URL(s string) bool {
	return strings.HasPrefix(s, "s3://") && len(strings.SplitN(s, "/", 4)) >= 4
}

func quoteOr(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
