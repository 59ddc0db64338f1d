#!/usr/bin/env bash
# Renders every docs/*.dot to the SVG beside it (needs Graphviz: apt-get install -y graphviz).
# Each SVG records the SHA-256 of its source, which docs/pictures_test.go checks, so a source
# changed without rendering again fails the tests (without Graphviz being needed there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
for src in *.dot; do
	svg="${src%.dot}.svg"
	sum=$(sha256sum "$src" | cut -d' ' -f1)
	dot -Tsvg "$src" | sed "1a <!-- source: $src sha256:$sum -->" >"$svg.tmp"
	mv "$svg.tmp" "$svg"
	echo "rendered $svg"
done
