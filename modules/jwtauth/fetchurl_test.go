package jwtauth

import (
	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckFetchURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://idp.example/jwks.json":   true,
		"http://127.0.0.1:8080/jwks.json": true,
		"http://localhost/jwks.json":      true,
		"http://[::1]:9000/jwks":          true,
		"http://idp.example/jwks.json":    false,
		"ftp://idp.example/jwks.json":     false,
		"/jwks.json":                      false,
	} {
		if err := checkFetchURL("jwt_auth jwks", raw); (err == nil) != ok {
			t.Errorf("checkFetchURL(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}

func TestFetchRedirectMustStaySecure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://idp.example/jwks.json", http.StatusFound)
	}))
	defer srv.Close()
	client, err := newFetchClient(adapttest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = getDocument(t.Context(), client, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "must use https") {
		t.Errorf("redirect to plain http: err = %v, want refused", err)
	}
}
