// Package redaction holds the end-to-end test that no secret of a run
// reaches a log line or a client: every shipped Caddyfile, through success,
// rejection, an upstream that is down, one that times out, a malformed
// request and a host no site serves.
package redaction

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// run is one shipped Caddyfile's pass through every scenario.
type run struct {
	t       *testing.T
	gw      *testkit.Gateway
	secrets []string
	replies []testkit.Reply
}

// secret records a value no output may hold, and returns it.
func (r *run) secret(v string) string {
	r.secrets = append(r.secrets, v)
	return v
}

// token signs a JWT with secret for sub, remembers it (whole, and its
// signature) as secrets, and returns it.
func (r *run) token(secret, sub string, extra map[string]any) string {
	claims := testkit.StandardClaims(sub, "", "")
	for k, v := range extra {
		claims[k] = v
	}
	tok := testkit.SignHS256(r.t, secret, claims)
	r.secret(tok)
	r.secret(tok[strings.LastIndexByte(tok, '.')+1:])
	return tok
}

// call sends a request and keeps the reply for the final search.
func (r *run) call(method, path, body string, headers ...string) testkit.Reply {
	r.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
		headers = append(headers, "Content-Type", "application/json")
	}
	reply := r.gw.Call(method, path, b, headers...)
	r.replies = append(r.replies, reply)
	return reply
}

// raw sends head and body as written and keeps the reply.
func (r *run) raw(head string, body []byte) testkit.Reply {
	r.t.Helper()
	reply := r.gw.Raw(head, body)
	r.replies = append(r.replies, reply)
	return reply
}

// malformedAndUnmatched sends, with the given credential headers, a
// request with a broken chunked body to path, and one for a host no site
// serves.
func (r *run) malformedAndUnmatched(method, path string, headers ...string) {
	r.t.Helper()
	var lines strings.Builder
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&lines, "\r\n%s: %s", headers[i], headers[i+1])
	}
	r.raw(method+" "+path+" HTTP/1.1"+lines.String()+"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close",
		[]byte("5\r\n{\"a\":\r\nzz-not-a-chunk-size\r\n\r\n"))
	r.raw("GET "+path+" HTTP/1.1\r\nHost: unmatched.example"+lines.String()+"\r\nConnection: close", nil)
}

// check searches every byte the process wrote (stdout and stderr, and
// every file under its home: logs, the store, certificates) and every
// reply for every secret.
func (r *run) check() {
	r.t.Helper()
	r.gw.Stop() // flush and close everything the process writes
	var outputs []struct{ where, text string }
	outputs = append(outputs, struct{ where, text string }{"stdout/stderr", r.gw.Logs()})
	_ = filepath.WalkDir(r.gw.Home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 64<<20 {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil {
			outputs = append(outputs, struct{ where, text string }{path, string(b)})
		}
		return nil
	})
	for i, reply := range r.replies {
		var h bytes.Buffer
		_ = reply.Header.Write(&h)
		outputs = append(outputs, struct{ where, text string }{fmt.Sprintf("reply %d", i), h.String() + "\n" + reply.Text()})
	}
	if len(r.gw.Logs()) < 100 {
		r.t.Fatalf("the gateway wrote almost nothing (%q): the search would prove nothing", r.gw.Logs())
	}
	for _, s := range r.secrets {
		if len(s) < 8 {
			r.t.Fatalf("secret %q is too short to search for", s)
		}
		forms := []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
		for _, o := range outputs {
			for _, f := range forms {
				if strings.Contains(o.text, f) {
					r.t.Errorf("a secret (%.6s...) is in %s", s, o.where)
				}
			}
		}
	}
}

// slowUpstream is a generic upstream (the API behind gateway and cluster):
// /api/slow waits 3 s, everything else answers at once; Close makes it
// unreachable.
type slowUpstream struct {
	*httptest.Server
	once sync.Once
}

func startUpstream(t *testing.T) *slowUpstream {
	u := &slowUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/api/slow" {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.close)
	return u
}

func (u *slowUpstream) close() { u.once.Do(u.Server.Close) }

func hostPort(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
}

// apiGateway runs gateway.Caddyfile or cluster.Caddyfile (env adds what the
// file needs beyond the common settings).
func apiGateway(t *testing.T, caddyfile string, env map[string]string) {
	r := &run{t: t}
	up := startUpstream(t)
	jwtSecret := r.secret("redaction-jwt-secret-" + strings.Repeat("x", 24))
	partner := r.secret("gpg_redactionpartnerkey0123456789abc")
	vars := map[string]string{
		"GPUGATE_UPSTREAM": hostPort(up.URL), "GPUGATE_UPSTREAM_TIMEOUT": "1s",
		"GPUGATE_API_KEY": partner, "GPUGATE_JWT_SECRET": jwtSecret,
	}
	for k, v := range env {
		vars[k] = v
	}
	r.gw = testkit.StartGateway(t, caddyfile, testkit.GatewayOptions{Env: vars})
	created, err := r.gw.Command("usage-plans", "keys", "create", "--name", "acme", "--plan", "basic")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, created)
	}
	key := r.secret(jsonField(t, created, "value"))
	wrong := r.secret("gpg_wrongkeyvalue0123456789abcdefghij")
	tok := r.token(jwtSecret, "alice", map[string]any{"plan_key": key})

	r.call("GET", "/api/x", "", "X-Api-Key", key).Want(t, http.StatusOK)              // success
	r.call("GET", "/api/x?api_key="+key, "", "X-Api-Key", key).Want(t, http.StatusOK) // a key in the query too
	r.call("GET", "/jwt/x?access_token="+tok, "", "Authorization", "Bearer "+tok)     // the JWT route
	r.call("GET", "/api/x", "", "X-Api-Key", partner).Want(t, http.StatusOK)          // the static key
	r.call("GET", "/api/x", "", "X-Api-Key", wrong).Want(t, http.StatusForbidden)     // rejection
	r.call("GET", "/jwt/x", "", "Authorization", "Bearer "+tok+"x").Want(t, http.StatusUnauthorized)
	r.call("GET", "/api/slow", "", "X-Api-Key", key).Want(t, http.StatusGatewayTimeout) // timeout
	r.malformedAndUnmatched("POST", "/api/x", "X-Api-Key", key, "Authorization", "Bearer "+tok)
	up.close()
	r.call("GET", "/api/x", "", "X-Api-Key", key).Want(t, http.StatusBadGateway) // upstream down
	r.malformedAndUnmatched("POST", "/api/x", "X-Api-Key", partner)
	r.check()
}

func TestNoSecretInAnyOutput(t *testing.T) {
	t.Run("gateway", func(t *testing.T) {
		t.Parallel()
		apiGateway(t, "caddyfiles/gateway.Caddyfile", map[string]string{"GPUGATE_DATA": t.TempDir()})
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		redis := testkit.StartRedis(t, testkit.RedisOptions{Password: "redaction-redis-password-0123"})
		apiGateway(t, "caddyfiles/cluster.Caddyfile", map[string]string{"GPUGATE_REDIS_URL": redis.URL(0)})
	})
	t.Run("runpod", func(t *testing.T) {
		t.Parallel()
		r := &run{t: t}
		runpodKey := r.secret("rpa_redactionrunpodkey0123456789")
		jwtSecret := r.secret("redaction-runpod-jwt-secret-" + strings.Repeat("y", 20))
		sim := runpodsim.Start(t, runpodsim.Options{APIKey: runpodKey, Endpoints: []string{"ep-redact"},
			ProvisionDelay: 10 * time.Millisecond, StartDelay: 10 * time.Millisecond})
		r.gw = testkit.StartGateway(t, "caddyfiles/runpod.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
			"GPUGATE_JWT_SECRET": jwtSecret, "GPUGATE_JWT_ISSUER": "https://auth.example.com/", "GPUGATE_JWT_AUDIENCE": "gpugate",
			"RUNPOD_API_KEY": runpodKey, "RUNPOD_BASE_URL": sim.ManagementURL, "RUNPOD_SERVERLESS_URL": sim.ServerlessURL,
			"RUNPOD_ENDPOINT_ALIAS": "video", "RUNPOD_ENDPOINT_ID": "ep-redact", "RUNPOD_TIMEOUT": "1s",
		}})
		claims := map[string]any{"iss": "https://auth.example.com/", "aud": "gpugate"}
		tok := r.token(jwtSecret, "alice", claims)
		forged := r.token("another-secret-that-is-long-enough-0123456789", "alice", claims)
		auth := "Bearer " + tok
		r.call("GET", "/pods", "", "Authorization", auth).Want(t, http.StatusOK)
		r.call("GET", "/pods?access_token="+tok, "", "Authorization", auth).Want(t, http.StatusOK)
		r.call("POST", "/jobs/video/run", `{"input":{"prompt":"x"}}`, "Authorization", auth).Want(t, http.StatusOK)
		r.call("GET", "/pods", "", "Authorization", "Bearer "+forged).Want(t, http.StatusUnauthorized)
		sim.InjectFault(runpodsim.Fault{Status: http.StatusUnauthorized, Times: 1}) // RunPod refuses the gateway's key
		r.call("GET", "/pods", "", "Authorization", auth).Want(t, http.StatusBadGateway)
		sim.InjectFault(runpodsim.Fault{Latency: 3 * time.Second})
		r.call("GET", "/pods", "", "Authorization", auth).Want(t, http.StatusGatewayTimeout)
		sim.ClearFaults()
		r.malformedAndUnmatched("POST", "/pods", "Authorization", auth)
		sim.Close()
		r.call("GET", "/pods", "", "Authorization", auth).Want(t, http.StatusBadGateway)
		r.malformedAndUnmatched("POST", "/jobs/video/run", "Authorization", auth)
		r.check()
	})
	t.Run("modal", func(t *testing.T) {
		t.Parallel()
		r := &run{t: t}
		client := r.secret("gpg_redactionmodalclientkey01234567")
		bearer, mkey, msecret := r.secret("sk-redaction-multitalk-0123456789"), r.secret("wk-redaction-0123456789"), r.secret("ws-redaction-0123456789")
		sim := modalsim.New(modalsim.Options{APIKey: bearer, ProxyKey: mkey, ProxySecret: msecret}).StartTLS(t)
		r.gw = testkit.StartGateway(t, "caddyfiles/modal.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
			"GPUGATE_API_KEY": client, "MULTITALK_API_KEY": bearer, "MODAL_KEY": mkey, "MODAL_SECRET": msecret,
			"MODAL_URL": sim.URL, "MODAL_TLS_CA": sim.CAFile, "MODAL_TIMEOUT": "1s", "GPUGATE_DATA": t.TempDir(),
		}})
		wrong := r.secret("gpg_redactionwrongmodalkey012345678")
		r.call("GET", "/api/v1/jobs", "", "X-Api-Key", client).Want(t, http.StatusOK)
		r.call("GET", "/api/v1/jobs?api_key="+client, "", "X-Api-Key", client).Want(t, http.StatusOK)
		r.call("POST", "/api/v1/generate", `{"prompt":"p","image_url":"s3://b/i.png","audio_url":"s3://b/a.wav"}`, "X-Api-Key", client).Want(t, http.StatusOK)
		r.call("GET", "/api/v1/jobs", "", "X-Api-Key", wrong).Want(t, http.StatusForbidden)
		r.call("GET", "/api/v1/slow?duration=3s", "", "X-Api-Key", client).Want(t, http.StatusGatewayTimeout)
		r.malformedAndUnmatched("POST", "/api/v1/generate", "X-Api-Key", client)
		sim.Close()
		r.call("GET", "/api/v1/jobs", "", "X-Api-Key", client).Want(t, http.StatusBadGateway)
		r.check()
	})
	t.Run("quickstart", func(t *testing.T) {
		t.Parallel()
		r := &run{t: t}
		jwtSecret := r.secret("redaction-quickstart-jwt-secret-" + strings.Repeat("z", 16))
		runpodKey, multitalkKey := r.secret("rpa_redactionquickstartkey01234567"), r.secret("sk-redaction-quickstart-multitalk")
		rp := runpodsim.Start(t, runpodsim.Options{APIKey: runpodKey})
		md := modalsim.New(modalsim.Options{APIKey: multitalkKey}).Start(t)
		r.gw = testkit.StartGateway(t, "caddyfiles/quickstart.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
			"GPUGATE_JWT_SECRET": jwtSecret, "RUNPOD_API_KEY": runpodKey, "MULTITALK_API_KEY": multitalkKey,
			"GPUGATE_RUNPOD_URL": rp.ManagementURL, "GPUGATE_MODAL_URL": md.URL,
			"GPUGATE_RUNPOD_TIMEOUT": "1s", "GPUGATE_MODAL_TIMEOUT": "1s",
			"GPUGATE_RUNPOD_SIM_PORT": fmt.Sprint(testkit.FreePort(t)), "GPUGATE_MODAL_SIM_PORT": fmt.Sprint(testkit.FreePort(t)),
		}})
		created, err := r.gw.Command("usage-plans", "keys", "create", "--name", "demo", "--plan", "multitalk")
		if err != nil {
			t.Fatalf("keys create: %v\n%s", err, created)
		}
		key := r.secret(jsonField(t, created, "value"))
		tok := r.token(jwtSecret, "alice", nil)
		auth := "Bearer " + tok
		r.call("GET", "/pods", "", "Authorization", auth).Want(t, http.StatusOK)
		r.call("GET", "/api/v1/jobs", "", "X-Api-Key", key).Want(t, http.StatusOK)
		r.call("GET", "/api/v1/jobs", "", "X-Api-Key", key+"x").Want(t, http.StatusForbidden)
		r.call("GET", "/pods", "", "Authorization", auth+"x").Want(t, http.StatusUnauthorized)
		rp.InjectFault(runpodsim.Fault{Latency: 3 * time.Second})
		r.call("GET", "/pods", "", "Authorization", auth).Want(t, http.StatusGatewayTimeout)
		rp.ClearFaults()
		r.malformedAndUnmatched("POST", "/api/v1/generate", "X-Api-Key", key, "Authorization", auth)
		rp.Close()
		md.Close()
		r.call("GET", "/pods", "", "Authorization", auth).Want(t, http.StatusBadGateway)
		r.call("GET", "/api/v1/jobs", "", "X-Api-Key", key).Want(t, http.StatusBadGateway)
		r.check()
	})
}

// jsonField is a string field of the JSON object a CLI printed.
func jsonField(t *testing.T, out, name string) string {
	t.Helper()
	var obj map[string]any
	if i := strings.Index(out, "{"); i >= 0 {
		_ = json.NewDecoder(strings.NewReader(out[i:])).Decode(&obj) // the JSON, then a note
	}
	v, _ := obj[name].(string)
	if v == "" {
		t.Fatalf("no %s in %q", name, out)
	}
	return v
}
