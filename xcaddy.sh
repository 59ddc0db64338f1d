#!/usr/bin/env bash
# xcaddy.sh: the one entry point for gpugate.
#
#   ./xcaddy.sh build            build ./bin/gpugate (Caddy's standard modules + gpugate's)
#   ./xcaddy.sh build-bare       build ./bin/caddy-bare (plain Caddy, same version) for load benchmarks
#   ./xcaddy.sh run [CADDYFILE]  build when needed, then run (default caddyfiles/quickstart.Caddyfile)
#   ./xcaddy.sh test [PKGS...]   gofmt + vet + staticcheck + the whole suite with -race (end-to-end tests included)
#   ./xcaddy.sh bench [PKGS...]  Go benchmarks with -benchmem, then the load benchmarks in tests/
#
# The build is cached: bin/gpugate is rebuilt only when an input changed: a
# Go source, an embedded file, go.mod, go.sum, the Go version, GOOS, GOARCH,
# CGO_ENABLED, GOFLAGS or the version stamped into the binary
# (bin/gpugate.stamp holds the hash of those inputs). A cross build
# (GOOS/GOARCH other than the host's) writes bin/gpugate-<os>-<arch>.
#
# `gpugate version` names gpugate's version and commit before Caddy's:
# GPUGATE_VERSION (default: the latest git tag, else 0.0.0-dev) and
# GPUGATE_COMMIT (default: the last commit that changed a binary input, with
# -dirty when one has uncommitted changes; a Docker build passes both).
set -euo pipefail

CADDY_VERSION=v2.11.9
# xcaddy needs an explicit version for a local plugin: the module proxy refuses
# the version list of a module it does not hold, so a zero pseudo-version is used.
PLUGIN=github.com/gpugate/gpugate@v0.0.0-00010101000000-000000000000

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
target_os=$(go env GOOS)
target_arch=$(go env GOARCH)
bin="$root/bin/gpugate"
if [ "$target_os/$target_arch" != "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" ]; then
	bin="$root/bin/gpugate-$target_os-$target_arch"
fi
stamp="$bin.stamp"

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

# build_version prints the version stamped into the binary:
# gpugate/<version>+<commit>.
build_version() {
	local version=${GPUGATE_VERSION:-} commit=${GPUGATE_COMMIT:-}
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		[ -n "$version" ] || version=$(git describe --tags --abbrev=0 2>/dev/null || true)
		if [ -z "$commit" ]; then
			local files
			mapfile -t files < <(source_files)
			commit=$(git log -1 --format=%h -- "${files[@]}" 2>/dev/null || true)
			if [ -n "$(git status --porcelain -- "${files[@]}" 2>/dev/null)" ]; then
				commit="${commit:-none}-dirty"
			fi
		fi
	fi
	echo "gpugate/${version:-0.0.0-dev}+${commit:-unknown}"
}

# source_hash prints a hash of every input of the gateway binary.
source_hash() {
	{
		echo "$CADDY_VERSION $(go env GOVERSION) $target_os $target_arch cgo=$(go env CGO_ENABLED) goflags=$(go env GOFLAGS)"
		build_version
		source_files | LC_ALL=C sort | while read -r f; do
			if [ -f "$f" ]; then sha256sum "$f"; fi
		done
	} | sha256sum | cut -d' ' -f1
}

# xcaddy_tool prints the path of the xcaddy tool (go.mod's tool), built for
# this machine even when GOOS/GOARCH name another target.
xcaddy_tool() {
	GOOS=$(go env GOHOSTOS) GOARCH=$(go env GOHOSTARCH) go tool -n xcaddy
}

# lock takes the build lock: one build at a time, since parallel test
# packages and developers share bin/. It is released by unlock, so processes
# started later (tests that run ./xcaddy.sh themselves) do not inherit it;
# on failure, set -e exits and the lock goes with the process.
lock() {
	mkdir -p "$root/bin"
	exec 9>"$root/bin/.build.lock"
	flock 9
}

unlock() {
	flock -u 9
	exec 9>&-
}

build() {
	lock
	build_locked
	unlock
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
	# xcaddy's default flags (-w -s, -trimpath, its tags) plus the version.
	local version flags
	version=$(build_version)
	flags="-ldflags '-w -s -X github.com/caddyserver/caddy/v2.CustomVersion=$version' -trimpath -tags nobadger,nomysql,nopgx"
	if ! XCADDY_GO_BUILD_FLAGS="$flags" "$(xcaddy_tool)" build "$CADDY_VERSION" --output "$tmp" --with "$PLUGIN=$root" >"$log" 2>&1; then
		rm -f "$tmp"
		grep -v '^go: \(downloading\|added\|upgraded\|finding\)' "$log" | tail -40 >&2
		echo "gpugate: build failed (full log: $log)" >&2
		return 1
	fi
	mv -f "$tmp" "$bin"
	if [ "$bin" = "$root/bin/gpugate" ]; then
		echo "gpugate: built $("$bin" version)" >&2
	else
		echo "gpugate: built $bin for $target_os/$target_arch" >&2
	fi
	echo "$want" >"$stamp"
}

# build_bare builds a plain Caddy of the same version for the load benchmarks.
build_bare() {
	lock
	local bare="$root/bin/caddy-bare"
	if ! { [ -x "$bare" ] && "$bare" version | grep -q "${CADDY_VERSION#v}"; }; then
		echo "gpugate: building bare Caddy $CADDY_VERSION for benchmarks ..." >&2
		local tmp="$bare.tmp.$$"
		if ! "$(xcaddy_tool)" build "$CADDY_VERSION" --output "$tmp" >&2; then
			rm -f "$tmp"
			echo "gpugate: bare Caddy build failed" >&2
			return 1
		fi
		mv -f "$tmp" "$bare"
	fi
	unlock
}

# lint checks formatting, vet and staticcheck: seconds, so before the build.
lint() {
	local files unformatted
	mapfile -t files < <(git ls-files -co --exclude-standard -- '*.go')
	unformatted=$(gofmt -l "${files[@]}")
	if [ -n "$unformatted" ]; then
		echo "gofmt would change: $unformatted" >&2
		exit 1
	fi
	go vet ./...
	go tool staticcheck ./...
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
	lint
	build
	pkgs=("$@")
	[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)
	# The whole suite takes a few minutes; a hung test fails well before CI's limit.
	GPUGATE_BIN="$bin" go test -race -count=1 -timeout 20m "${pkgs[@]}"
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
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
	[ "$cmd" = help ] || exit 2
	;;
esac
