package usageplan

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// FuzzKeySourceExtract feeds arbitrary header values and query strings to
// the key sources: extraction never panics, and the credential it read is
// gone from the request afterwards.
func FuzzKeySourceExtract(f *testing.F) {
	for _, seed := range []string{"gpg_abc", " gpg_abc ", "", "a\tb", "gpg_\x00", "x=1&x=2", "%zz"} {
		f.Add(seed, seed)
	}
	header := KeySource{From: "header", Name: DefaultKeyHeader}
	query := KeySource{From: "query", Name: "api_key"}
	f.Fuzz(func(t *testing.T, headerValue, rawQuery string) {
		r := httptest.NewRequest("GET", "/api/x", nil)
		r.Header.Set(DefaultKeyHeader, headerValue)
		r.URL.RawQuery = rawQuery
		_ = header.extract(r)
		if r.Header.Get(DefaultKeyHeader) != "" {
			t.Fatalf("the key header is still on the request: %q", r.Header.Get(DefaultKeyHeader))
		}
		_ = query.extract(r)
		if r.URL.Query().Has("api_key") {
			t.Fatalf("the key parameter is still in the query: %q", r.URL.RawQuery)
		}
	})
}

// FuzzImportCSV feeds arbitrary CSV text to the API Gateway key import: it
// answers an import result or an error, never panics, and a failed import
// creates no key.
func FuzzImportCSV(f *testing.F) {
	for _, seed := range []string{
		"Name,Key,Description,Enabled,UsagePlanIds\nacme,gpg_0123456789abcdefghijkl,,true,basic\n",
		"Name,Key,Enabled\n\"a,b\",k,TRUE\n",
		"\ufeffname,key,enabled\nx,y,maybe\n",
		"Name,Key,Enabled\n", "", "\"unterminated", "Name,Key,Enabled\na,,true\n",
	} {
		f.Add([]byte(seed))
	}
	app := newApp(f, &App{Plans: basicPlans()}, testkit.NewClock(noon))
	f.Fuzz(func(t *testing.T, csvText []byte) {
		before, err := app.st().ListKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		res, err := app.ImportCSV(context.Background(), bytes.NewReader(csvText), "", nil)
		after, _ := app.st().ListKeys(context.Background())
		if err != nil && len(after) != len(before) {
			t.Fatalf("a failed import (%v) created %d keys", err, len(after)-len(before))
		}
		if err == nil && len(after)-len(before) != len(res.Imported) {
			t.Fatalf("import reports %d keys, the store gained %d", len(res.Imported), len(after)-len(before))
		}
	})
}
