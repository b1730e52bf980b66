# shellcheck shell=bash
# Shared by the testbin build scripts (sourced, not run): logging, the cache root, one lock, build timing,
# and a Go "tools module" build of one component into its own versioned cache folder.
#
# Every component lands in CACHE_ROOT/NAME-VERSION/. It is built in a temp folder next to it and renamed into
# place in one step, so an interrupted build never leaves a half-filled folder that looks finished.

CACHE_ROOT="${BOARDKUBE_TESTBIN_DIR:-${HOME}/.cache/boardkube/testbin}"
GO_P="${BOARDKUBE_GO_P:-${GOMAXPROCS:-$(nproc 2>/dev/null || echo 2)}}"
TIMES_LOG="${CACHE_ROOT}/build-times.log"

log() { printf 'testbin: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# take_lock NAME: one builder at a time for NAME (parallel test workers may all call the scripts); the others wait.
take_lock() {
  mkdir -p "${CACHE_ROOT}"
  exec 8>"${CACHE_ROOT}/.$1.lock"
  if ! flock -n 8; then
    log "another build holds ${CACHE_ROOT}/.$1.lock; waiting for it"
    flock 8
  fi
  # Leftovers of a build killed before its cleanup ran; we hold the lock, so nobody is using them.
  rm -rf "${CACHE_ROOT}"/.tmp-"$1"-*
}

# record_time WHAT SECONDS: printed and kept in CACHE_ROOT/build-times.log (one line per build, UTC).
record_time() {
  log "built $1 in $2 s"
  printf '%s\t%s\t%s s\t%s cores\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" "$(nproc)" >>"${TIMES_LOG}"
}

# new_work NAME: a temp folder beside the cache (same filesystem, so the final rename is atomic). Caller removes it.
new_work() {
  mktemp -d "${CACHE_ROOT}/.tmp-$1-XXXXXX"
}

# publish WORKDIR/out FINAL: move a finished folder into place in one rename.
publish() {
  local out="$1" final="$2"
  chmod 0755 "${out}"
  rm -rf "${final}"
  mv -T "${out}" "${final}"
}

# go_component NAME VERSION MODULE CGO TAGS LDFLAGS PKG...
#   Builds the packages PKG... of MODULE@VERSION (a module that requires it and names them as tools) into
#   CACHE_ROOT/NAME-VERSION/ unless that folder exists. Prints nothing on stdout. A PKG written BIN=PKG is built
#   as BIN (go would name go.etcd.io/etcd/server/v3 "server").
go_component() {
  local name="$1" version="$2" module="$3" cgo="$4" tags="$5" ldflags="$6"
  shift 6
  local final="${CACHE_ROOT}/${name}-${version}"
  [[ -d "${final}" ]] && return 0
  command -v go >/dev/null 2>&1 || die "'go' is not on PATH; install Go >= 1.26 to build the test binaries"
  local work start pkg out
  work="$(new_work "${LOCK_NAME}")"
  start=${SECONDS}
  log "building ${name} ${version} (${module})"
  {
    printf 'module boardkube.local/testbin-%s\n\ngo 1.26.0\n\nrequire %s %s\n\n' "${name}" "${module}" "${version}"
    for pkg in "$@"; do printf 'tool %s\n' "${pkg#*=}"; done
  } >"${work}/go.mod"
  mkdir -p "${work}/out"
  (
    cd "${work}"
    export CGO_ENABLED="${cgo}" GOFLAGS="${GOFLAGS:-} -trimpath -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
    go mod tidy
    for pkg in "$@"; do
      if [[ "${pkg}" == *=* ]]; then out="${work}/out/${pkg%%=*}"; else out="${work}/out/"; fi
      go build -p "${GO_P}" ${tags:+-tags "${tags}"} -ldflags "${ldflags}" -o "${out}" "${pkg#*=}"
    done
  ) >&2 || { rm -rf "${work}"; die "building ${name} ${version} failed"; }
  publish "${work}/out" "${final}"
  rm -rf "${work}"
  record_time "${name} ${version}" $((SECONDS - start))
}

# module_dir MODULE@VERSION: the module's source folder in the Go module cache (downloaded if needed).
module_dir() {
  (cd "${CACHE_ROOT}" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
}
