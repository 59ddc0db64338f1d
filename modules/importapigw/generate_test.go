package importapigw

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
	// The directives the generated Caddyfiles use.
	_ "github.com/gpugate/gpugate/modules/cors"
	_ "github.com/gpugate/gpugate/modules/gwerror"
	_ "github.com/gpugate/gpugate/modules/jwtauth"
	_ "github.com/gpugate/gpugate/modules/usageplan"
)

// goldenCase is one fixture set in testdata/<dir> and the options it is
// generated with; the output is compared with <golden>.Caddyfile and the
// notes with <golden>.notes.
type goldenCase struct {
	dir, golden string
	export      bool
	opt         Options
}

var goldenCases = []goldenCase{
	{dir: "oldchain", golden: "gateway", export: true},
	{dir: "oldchain", golden: "gateway-base-path", export: true, opt: Options{BasePath: "/prod", Store: "redis://{env.REDIS_HOST}:6379/0", QuotaOffset: "8h"}},
	{dir: "oldchain", golden: "plans-only"},
}

func loadInput(t *testing.T, dir string, export bool) Input {
	t.Helper()
	var in Input
	if err := readJSON(filepath.Join("testdata", dir, "usage-plans.json"), &in.Plans); err != nil {
		t.Fatal(err)
	}
	in.Sources = []string{"usage-plans.json"}
	if export {
		e, err := readExport(filepath.Join("testdata", dir, "export-oas30.json"))
		if err != nil {
			t.Fatal(err)
		}
		in.Export = e
		in.Sources = append(in.Sources, "export-oas30.json")
	}
	return in
}

// TestGenerateGolden: the fixtures written from AWS's documented output
// shapes become the golden Caddyfiles, which adapt, are `caddy fmt` clean,
// and come with the golden notes.
func TestGenerateGolden(t *testing.T) {
	update := os.Getenv("GPUGATE_UPDATE_GOLDEN") == "1"
	for _, tc := range goldenCases {
		t.Run(tc.golden, func(t *testing.T) {
			res, err := Generate(loadInput(t, tc.dir, tc.export), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			var notesText bytes.Buffer
			WriteNotes(&notesText, res.Notes)
			base := filepath.Join("testdata", tc.dir, tc.golden)
			if update {
				if err := os.WriteFile(base+".Caddyfile", res.Caddyfile, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(base+".notes", notesText.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(base + ".Caddyfile")
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Caddyfile) != string(want) {
				t.Errorf("Caddyfile differs from %s.Caddyfile (GPUGATE_UPDATE_GOLDEN=1 rewrites it):\n%s", base, res.Caddyfile)
			}
			wantNotes, err := os.ReadFile(base + ".notes")
			if err != nil {
				t.Fatal(err)
			}
			if notesText.String() != string(wantNotes) {
				t.Errorf("notes differ from %s.notes:\n%s", base, notesText.String())
			}
			if formatted := caddyfile.Format(res.Caddyfile); strings.TrimSpace(string(formatted)) != strings.TrimSpace(string(res.Caddyfile)) {
				t.Errorf("not caddy fmt clean:\n%s", formatted)
			}
			if _, err := adapttest.Adapt(string(res.Caddyfile)); err != nil {
				t.Errorf("adapt: %v", err)
			}
		})
	}
}
