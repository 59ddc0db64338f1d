#!/usr/bin/env bash
# xcaddy.sh: the one entry point for gpugate.
#
#   ./xcaddy.sh build            build ./bin/gpugate (Caddy's standard modules + gpugate's)
#   ./xcaddy.sh build-bare       build ./bin/caddy-bare (plain Caddy, same version) for load benchmarks
#   ./xcaddy.sh run [CADDYFILE]  build when needed, then run (default caddyfiles/quickstart.Caddyfile)
#   ./xcaddy.sh test [PKGS...]   gofmt + vet + staticcheck + the whole suite with -race (end-to-end tests included)
#   ./xcaddy.sh bench [PKGS...]  Go benchmarks with -benchmem, then the load benchmarks in tests/
#
# The build is cached: bin/gpugate is rebuilt only when a Go source, go.mod or
# go.sum changed (bin/gpugate.stamp holds the hash of those inputs).
set -euo pipefail

CADDY_VERSION=v2.11.9
# xcaddy needs an explicit version for a local plugin: the module proxy refuses
# the version list of a module it does not hold, so a zero pseudo-version is used.
PLUGIN=github.com/gpugate/gpugate@v0.0.0-00010101000000-000000000000

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
bin="$root/bin/gpugate"
stamp="$root/bin/gpugate.stamp"

# source_files lists the inputs of the gateway binary (not tests): Go files
# and the files they embed (the Redis store's Lua scripts).
source_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -co --exclude-standard -- '*.go' '*.lua' go.mod go.sum ':!tests/**' ':!**/*_test.go'
	else
		# e.g. a Docker build context without .git
		find . -path ./tests -prune -o -path ./bin -prune -o \( \( -name '*.go' -o -name '*.lua' \) ! -name '*_test.go' -print \) |
			sed 's|^\./||'
		echo go.mod
		echo go.sum
	fi
}

# source_hash prints a hash of every input of the gateway binary.
source_hash() {
	{
		echo "$CADDY_VERSION $(go env GOVERSION)"
		source_files | LC_ALL=C sort | while read -r f; do
			if [ -f "$f" ]; then sha256sum "$f"; fi
		done
	} | sha256sum | cut -d' ' -f1
}

build() {
	mkdir -p "$root/bin"
	# One build at a time: parallel test packages and developers share bin/.
	# The lock is released on return, so processes started later (tests that
	# run ./xcaddy.sh themselves) do not inherit it.
	exec 9>"$root/bin/.build.lock"
	flock 9
	build_locked # on failure, set -e exits and the lock goes with the process
	flock -u 9
	exec 9>&-
}

build_locked() {
	local want
	want=$(source_hash)
	if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		echo "gpugate: build is up to date ($bin)" >&2
		return 0
	fi
	echo "gpugate: building $bin with Caddy $CADDY_VERSION ..." >&2
	# Build into a temporary name so a failed or concurrent build never
	# leaves a half-written binary behind.
	local tmp="$bin.tmp.$$" log="$root/bin/build.log"
	if ! go tool xcaddy build "$CADDY_VERSION" --output "$tmp" --with "$PLUGIN=$root" >"$log" 2>&1; then
		rm -f "$tmp"
		grep -v '^go: \(downloading\|added\|upgraded\|finding\)' "$log" | tail -40 >&2
		echo "gpugate: build failed (full log: $log)" >&2
		return 1
	fi
	mv -f "$tmp" "$bin"
	echo "gpugate: built $("$bin" version)" >&2
	echo "$want" >"$stamp"
}

# build_bare builds a plain Caddy of the same version for the load benchmarks.
build_bare() {
	local bare="$root/bin/caddy-bare"
	if [ -x "$bare" ] && "$bare" version | grep -q "${CADDY_VERSION#v}"; then
		return 0
	fi
	mkdir -p "$root/bin"
	echo "gpugate: building bare Caddy $CADDY_VERSION for benchmarks ..." >&2
	go tool xcaddy build "$CADDY_VERSION" --output "$bare.tmp.$$" >&2
	mv -f "$bare.tmp.$$" "$bare"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
build)
	build
	;;
build-bare)
	build_bare
	echo "$root/bin/caddy-bare"
	;;
run)
	build
	caddyfile=${1:-caddyfiles/quickstart.Caddyfile}
	[ $# -gt 0 ] && shift
	if [ "$(basename "$caddyfile")" = quickstart.Caddyfile ] && [ -z "${GPUGATE_JWT_SECRET:-}" ]; then
		# The quickstart is for development: give it a secret everybody can
		# see is not for production, and say how to get a token for it.
		export GPUGATE_JWT_SECRET=gpugate-dev-only-secret-do-not-use-in-production
		echo "gpugate: GPUGATE_JWT_SECRET unset; using the development secret." >&2
		echo "gpugate: token: GPUGATE_JWT_SECRET=$GPUGATE_JWT_SECRET bin/gpugate jwt-token --sub alice --scope pods:read" >&2
	fi
	exec "$bin" run --config "$caddyfile" --adapter caddyfile "$@"
	;;
test)
	pinned=$(go list -m -f '{{.Version}}' github.com/caddyserver/caddy/v2)
	if [ "$pinned" != "$CADDY_VERSION" ]; then
		echo "go.mod has caddy $pinned, want $CADDY_VERSION (a go get downgraded it; pin it again)" >&2
		exit 1
	fi
	build
	unformatted=$(gofmt -l $(git ls-files -co --exclude-standard -- '*.go'))
	if [ -n "$unformatted" ]; then
		echo "gofmt would change:" $unformatted >&2
		exit 1
	fi
	go vet ./...
	go tool staticcheck ./...
	pkgs=("$@")
	[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)
	GPUGATE_BIN="$bin" go test -race -count=1 -timeout 45m "${pkgs[@]}"
	;;
bench)
	build
	build_bare
	pkgs=("$@")
	[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)
	GPUGATE_BIN="$bin" CADDY_BARE_BIN="$root/bin/caddy-bare" GPUGATE_LOAD_BENCH=1 \
		go test -run '^$' -bench . -benchmem -count=1 -timeout 60m "${pkgs[@]}"
	;;
*)
	sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
	[ "$cmd" = help ] || exit 2
	;;
esac
