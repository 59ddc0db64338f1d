#!/usr/bin/env bash
# xcaddy.sh: the one entry point for gpugate.
#
#   ./xcaddy.sh build            build ./bin/gpugate (Caddy's standard modules + gpugate's)
#   ./xcaddy.sh build-bare       build ./bin/caddy-bare (plain Caddy, same version) for load benchmarks
#   ./xcaddy.sh run [CADDYFILE]  build when needed, then run (default caddyfiles/quickstart.Caddyfile:
#                                both chains against the bundled simulators; prints a token, a key and curl lines)
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
# and the files they embed (the Redis store's Lua scripts, the console's web/).
source_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -co --exclude-standard -- '*.go' '*.lua' 'modules/*/web/*' go.mod go.sum ':!tests/**' ':!**/*_test.go'
	else
		# e.g. a Docker build context without .git
		find . -path ./tests -prune -o -path ./bin -prune -o \( \( -name '*.go' -o -name '*.lua' -o -path './modules/*/web/*' \) ! -name '*_test.go' -print \) |
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

# quickstart_env gives the quickstart what it needs without any account:
# a development JWT secret, and made-up upstream keys that the bundled
# simulators accept (only while a chain still points at its simulator, so a
# real cloud never gets them).
quickstart_env() {
	if [ -z "${GPUGATE_JWT_SECRET:-}" ]; then
		# The quickstart is for development: give it a secret everybody can
		# see is not for production.
		export GPUGATE_JWT_SECRET=gpugate-dev-only-secret-do-not-use-in-production
		echo "gpugate: GPUGATE_JWT_SECRET unset; using the development secret." >&2
	fi
	if [ -z "${RUNPOD_API_KEY:-}" ] && on_loopback "${GPUGATE_RUNPOD_URL:-}"; then
		export RUNPOD_API_KEY=simulated-runpod-key
	fi
	if [ -z "${MULTITALK_API_KEY:-}" ] && on_loopback "${GPUGATE_MODAL_URL:-}"; then
		export MULTITALK_API_KEY=simulated-multitalk-key
	fi
}

# on_loopback reports whether an upstream URL is unset (the simulator's
# default) or on this machine (a simulator moved to another port).
on_loopback() {
	case "$1" in
	"" | http://127.0.0.1[:/]* | http://localhost[:/]* | "http://[::1]"[:/]*) return 0 ;;
	*) return 1 ;;
	esac
}

# quickstart_banner waits (60 s at most, and only while the gateway runs)
# until the quickstart's admin endpoint answers, takes the demo API key (the
# one created on an earlier run when the store still has it, else a new one,
# remembered beside the store), signs a development token, and prints them
# with curl lines that work as printed. It prints to stdout, so that logs
# redirected from stderr hold neither.
quickstart_banner() {
	local gateway=$$ admin=${GPUGATE_ADMIN:-localhost:2019} url=${GPUGATE_ADDR:-https://localhost:8443}
	local data="${XDG_DATA_HOME:-$HOME/.local/share}/caddy"
	local keyfile="$data/gpugate-quickstart-demo-key" id="" value="" out token i
	url=${url%/}
	for ((i = 0; ; i++)); do
		if ! kill -0 "$gateway" 2>/dev/null || [ "$i" -ge 600 ]; then
			return 0
		fi
		if "$bin" usage-plans plans --address "$admin" >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	if [ -f "$keyfile" ]; then
		read -r id value <"$keyfile" || true
	fi
	if [ -z "$id" ] || [ -z "$value" ] ||
		! "$bin" usage-plans keys get "$id" --address "$admin" 2>/dev/null | grep -q '"enabled": *true'; then
		if ! out=$("$bin" usage-plans keys create --name quickstart-demo --plan multitalk --address "$admin" 2>&1); then
			echo "gpugate: could not create the demo API key: $out" >&2
			return 0
		fi
		id=$(printf '%s\n' "$out" | sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' | head -n 1)
		value=$(printf '%s\n' "$out" | sed -n 's/^ *"value": *"\([^"]*\)".*/\1/p' | head -n 1)
		(umask 077 && printf '%s %s\n' "$id" "$value" >"$keyfile")
	fi
	# (jwt-token's own notes, such as the one about the development secret,
	# go to stderr, beside the gateway's log.)
	if ! token=$("$bin" jwt-token --sub alice --ttl 12h); then
		echo "gpugate: could not sign a development token" >&2
		return 0
	fi
	local auth="-H \"Authorization: Bearer \$TOKEN\"" key="-H \"X-Api-Key: \$KEY\"" json="-H 'Content-Type: application/json'"
	local c="curl -sS -w '\\n' --cacert \"\$CA\""
	local create='{"name":"quickstart","image":"runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04","gpu_type":"NVIDIA GeForce RTX 4090"}'
	local generate='{"prompt":"A person talking to the camera","image_url":"s3://inputs/face.png","audio_url":"s3://inputs/voice.wav","steps":30}'
	printf '%s\n' "
gpugate: the quickstart is up: $url, with the RunPod and Modal (MultiTalk) simulators on loopback.
gpugate: paste these lines into a shell (a development token for user alice, valid 12h, and the demo API
gpugate: key of the \"multitalk\" usage plan; the key is kept in the usage-plan store and reused next time):

CA='$data/pki/authorities/local/root.crt'
TOKEN=$token
KEY=$value

# Chain 1, pods behind a JWT: 401 without a token, then alice's pods, create, wait until RUNNING, stop, delete
$c $url/pods -o /dev/null -w '%{http_code}\\n'
$c $url/pods $auth
POD=\$($c $url/pods $auth $json -d '$create' | sed -n 's/.*\"pod\":{\"id\":\"\\([^\"]*\\)\".*/\\1/p'); echo \"pod \$POD\"
for i in \$(seq 60); do $c \"$url/pods/\$POD\" $auth | grep -q '\"status\":\"RUNNING\"' && break; sleep 1; done; $c \"$url/pods/\$POD\" $auth
$c -X POST \"$url/pods/\$POD/stop\" $auth
$c -X DELETE \"$url/pods/\$POD\" $auth -o /dev/null -w '%{http_code}\\n'

# Chain 2, MultiTalk video jobs behind an API key and its usage plan: 403 without the key, then a job in
# the old API Gateway shape (mapped onto MultiTalk's), polled until completed; the plan's RateLimit headers
$c $url/api/v1/jobs -o /dev/null -w '%{http_code}\\n'
JOB=\$($c $url/api/generate $key $json -d '$generate' | sed -n 's/.*\"job_id\":\"\\([^\"]*\\)\".*/\\1/p'); echo \"job \$JOB\"
for i in \$(seq 60); do $c \"$url/api/v1/jobs/\$JOB\" $key | grep -q '\"status\":\"completed\"' && break; sleep 1; done; $c \"$url/api/v1/jobs/\$JOB\" $key
$c -i $url/api/v1/jobs $key
$bin usage-plans usage --plan multitalk --address $admin

# Real clouds: restart with GPUGATE_RUNPOD_URL=https://api.runpod.io/v2 RUNPOD_API_KEY=<key> and/or
# GPUGATE_MODAL_URL=https://<workspace>--multitalk-api-fastapi-app.modal.run MULTITALK_API_KEY=<key>
# More keys: $bin usage-plans keys create --name <name> --plan multitalk --address $admin
"
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
	if [ "$(basename "$caddyfile")" = quickstart.Caddyfile ]; then
		quickstart_env
		# Runs beside the gateway (which takes this process over): waits
		# until it serves, then prints the token, the key and the lines.
		quickstart_banner &
	fi
	exec "$bin" run --config "$caddyfile" --adapter gpugate "$@"
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
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	[ "$cmd" = help ] || exit 2
	;;
esac
