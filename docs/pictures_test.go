// Package docs checks the repository's documentation: every picture in this
// folder is rendered from the current version of its source.
package docs

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPicturesMatchTheirSources: each docs/*.svg names the SHA-256 of the
// .dot it was rendered from (docs/render-pictures.sh writes it), and that
// is the source's current hash; README.md shows the request path picture.
func TestPicturesMatchTheirSources(t *testing.T) {
	t.Parallel()
	sources, err := filepath.Glob("*.dot")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no .dot sources: %v", err)
	}
	for _, src := range sources {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		svg, err := os.ReadFile(strings.TrimSuffix(src, ".dot") + ".svg")
		if err != nil {
			t.Errorf("%s has no SVG: run docs/render-pictures.sh", src)
			continue
		}
		want := "<!-- source: " + src + " sha256:" + hex.EncodeToString(sum[:]) + " -->"
		if !strings.Contains(string(svg), want) {
			t.Errorf("%s changed since its SVG was rendered: run docs/render-pictures.sh", src)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "](docs/request-path.svg)") {
		t.Error("README.md does not show docs/request-path.svg")
	}
}
