package runpod

import (
	"strings"
	"testing"
)

// TestOwnerEnvCannotBeForgedInAnySpelling: envNamePattern allows lower
// case, and the owner used to be read through a struct tag, which
// encoding/json matches case-insensitively; alice's pod with env
// gpugate_owner=bob showed in bob's list and bob could delete it.
func TestOwnerEnvCannotBeForgedInAnySpelling(t *testing.T) {
	for _, tag := range []string{OwnerTagEnv, OwnerTagName} {
		t.Run(tag, func(t *testing.T) {
			sim := startSim(t)
			h := provision(t, &Handler{Mode: ModePods, OwnerClaim: "sub", OwnerTag: tag}, sim)
			for _, key := range []string{"gpugate_owner", "Gpugate_Owner", "GPUGATE_owner", OwnerEnvName} {
				body := `{"name":"x","image":"i","gpu_type":"NVIDIA GeForce RTX 4090","env":{"` + key + `":"bob"}}`
				res := serve(t, h, "alice", "POST", "/pods", body)
				if res.Code != 400 || !strings.Contains(res.message(t), `field "env": GPUGATE_OWNER is set by the gateway`) {
					t.Errorf("env %s = %d %s, want 400 naming the field", key, res.Code, res.Body)
				}
			}
			if n := len(sim.RequestsTo("POST", "/v2/pods")); n != 0 {
				t.Fatalf("%d forged creates reached RunPod", n)
			}
		})
	}
}

// TestOwnerIsReadByItsExactName covers pods that carry a look-alike key
// anyway (created outside the gateway, e.g. through mode api).
func TestOwnerIsReadByItsExactName(t *testing.T) {
	h := &Handler{OwnerClaim: "sub", OwnerTag: OwnerTagEnv}
	cases := []struct {
		raw, owner string
	}{
		{`{"id":"a","env":{"gpugate_owner":"bob"}}`, ""},
		{`{"id":"a","env":{"GPUGATE_OWNER":"alice","gpugate_owner":"bob"}}`, "alice"},
		{`{"id":"a","env":{"gpugate_owner":"bob","GPUGATE_OWNER":"alice","Gpugate_Owner":"bob"}}`, "alice"},
		{`{"id":"a","env":{"GPUGATE_OWNER":7}}`, ""},
		{`{"id":"a","env":null}`, ""},
		{`{"id":"a"}`, ""},
	}
	for _, c := range cases {
		f, err := parsePod([]byte(c.raw))
		if err != nil || f.Owner != c.owner {
			t.Errorf("%s: owner %q, %v; want %q", c.raw, f.Owner, err, c.owner)
		}
		if h.owns(f, "bob") {
			t.Errorf("%s: bob owns it", c.raw)
		}
	}

	sim := startSim(t)
	api := provision(t, &Handler{Mode: ModeAPI}, sim)
	var planted map[string]any
	serve(t, api, "", "POST", "/pods", `{"name":"p","image":"i","gpu":{"id":"NVIDIA GeForce RTX 4090"},"env":{"gpugate_owner":"bob"}}`).json(t, &planted)
	id, _ := planted["id"].(string)
	pods := provision(t, &Handler{Mode: ModePods, OwnerClaim: "sub", OwnerTag: OwnerTagEnv}, sim)
	if res := serve(t, pods, "bob", "GET", "/pods", ""); res.Code != 200 || res.Body != "[]\n" {
		t.Fatalf("bob's list = %d %s", res.Code, res.Body)
	}
	if res := serve(t, pods, "bob", "DELETE", "/pods/"+id, ""); res.Code != 404 {
		t.Fatalf("bob deletes the planted pod: %d %s", res.Code, res.Body)
	}
}

// TestOwnerIDsThatCouldAlias: with owner_tag name the owner is the name
// prefix, so an id with white space, control or invisible format
// characters (which a store may trim or drop) is refused like a missing one.
func TestOwnerIDsThatCouldAlias(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModePods, OwnerClaim: "sub", OwnerTag: OwnerTagName}, sim)
	for _, id := range []string{" alice", "alice ", "alice\u200b", "\u202ealice", "ali\tce", "alice/x", "al\x00ice", "\xffalice", strings.Repeat("a", 129)} {
		if res := serve(t, h, id, "POST", "/pods", createBody); res.Code != 401 {
			t.Errorf("owner %q: create = %d %s, want 401", id, res.Code, res.Body)
		}
	}
	if n := len(sim.Requests()); n != 0 {
		t.Fatalf("%d requests reached RunPod", n)
	}
	for _, id := range []string{"alice", "auth0|5f1c", "alice@example.com", "Zoë Müller"} {
		if res := serve(t, h, id, "GET", "/pods", ""); res.Code != 200 {
			t.Errorf("owner %q: list = %d %s", id, res.Code, res.Body)
		}
	}
}
