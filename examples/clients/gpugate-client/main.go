// Command gpugate-client submits a MultiTalk video job through gpugate and
// polls it until it ends: the Go counterpart of multitalk_client.py.
//
//	GPUGATE_URL=https://gateway.example.com GPUGATE_API_KEY=gpg_... go run ./examples/clients/gpugate-client
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// job is the request shape the old API Gateway mapping template accepted.
type job struct {
	Prompt   string `json:"prompt"`
	ImageURL string `json:"image_url"`
	AudioURL string `json:"audio_url"`
	Steps    int    `json:"steps,omitempty"`
}

// status is the part of GET /api/v1/jobs/{id} the client reads.
type status struct {
	JobID    string          `json:"job_id"`
	Status   string          `json:"status"`
	Progress float64         `json:"progress"`
	Result   json.RawMessage `json:"result"`
	Error    json.RawMessage `json:"error"`
}

func main() {
	base := flag.String("url", envOr("GPUGATE_URL", "https://localhost:8443"), "gateway base URL")
	ca := flag.String("ca", os.Getenv("GPUGATE_CA"), "extra CA bundle (PEM) to trust")
	poll := flag.Duration("poll", 5*time.Second, "status poll interval")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after")
	prompt := flag.String("prompt", "A person talking to the camera", "prompt")
	image := flag.String("image", "s3://inputs/face.png", "image S3 URL")
	audio := flag.String("audio", "s3://inputs/voice.wav", "audio S3 URL")
	steps := flag.Int("steps", 0, "sample steps (0: server default)")
	flag.Parse()
	key := os.Getenv("GPUGATE_API_KEY")
	if key == "" {
		fail("set GPUGATE_API_KEY")
	}
	c := &client{base: *base, key: key, http: httpClient(*ca)}

	var submitted status
	code := c.call(http.MethodPost, "/api/v1/generate", job{*prompt, *image, *audio, *steps}, &submitted)
	if code != http.StatusOK {
		fail("generate: HTTP %d", code)
	}
	fmt.Println("submitted job", submitted.JobID)
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) {
		var st status
		if code := c.call(http.MethodGet, "/api/v1/jobs/"+submitted.JobID, nil, &st); code != http.StatusOK {
			fail("status: HTTP %d", code)
		}
		fmt.Printf("  job %s: %s %.0f%%\n", st.JobID, st.Status, st.Progress)
		switch st.Status {
		case "completed":
			fmt.Printf("result: %s\n", st.Result)
			return
		case "failed", "cancelled":
			fail("job %s: %s", st.Status, st.Error)
		}
		time.Sleep(*poll)
	}
	fail("timed out")
}

// client calls the gateway with the API key, retrying 429s after Retry-After.
type client struct {
	base, key string
	http      *http.Client
}

func (c *client) call(method, path string, in, out any) int {
	for {
		var body io.Reader
		if in != nil {
			b, err := json.Marshal(in)
			if err != nil {
				fail("encode: %v", err)
			}
			body = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, c.base+path, body)
		if err != nil {
			fail("request: %v", err)
		}
		req.Header.Set("X-Api-Key", c.key)
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			fail("%s %s: %v", method, path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			fmt.Printf("throttled: %s; retrying in %ds\n", bytes.TrimSpace(raw), max(wait, 1))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		if resp.StatusCode == http.StatusOK && out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				fail("decode %s: %v", path, err)
			}
		} else if resp.StatusCode != http.StatusOK {
			fmt.Fprintf(os.Stderr, "%s %s: %d %s\n", method, path, resp.StatusCode, bytes.TrimSpace(raw))
		}
		return resp.StatusCode
	}
}

func httpClient(caFile string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			fail("read CA: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gpugate-client: "+format+"\n", args...)
	os.Exit(1)
}
