#!/usr/bin/env bash
# Builds the real container registry (distribution v3, what the registry:3 image runs) and crane (a registry
# client) from the Go module proxy, for the registry stage's tests. Cached by version outside the repository,
# built atomically under a flock, like build.sh.
#
# Usage: test/testbin/registry.sh     Env: BOARDKUBE_TESTBIN_DIR (default ~/.cache/boardkube/testbin)
# The LAST line on stdout is the folder holding `registry` and `crane`.
set -euo pipefail

REGISTRY_VERSION="${BOARDKUBE_REGISTRY_VERSION:-v3.1.2}"
CRANE_VERSION="${BOARDKUBE_CRANE_VERSION:-v0.22.1}"
CACHE_ROOT="${BOARDKUBE_TESTBIN_DIR:-${HOME}/.cache/boardkube/testbin}"
OUT="${CACHE_ROOT}/registry-${REGISTRY_VERSION}-crane-${CRANE_VERSION}"

log() { printf 'testbin: %s\n' "$*" >&2; }

ready() { [[ -x "${OUT}/registry" && -x "${OUT}/crane" ]]; }
if ready; then
  printf '%s\n' "${OUT}"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "ERROR: 'go' is not on PATH; install Go >= 1.26"; exit 1; }
mkdir -p "${OUT}"
exec 9>"${OUT}/.lock"
flock 9
rm -rf "${OUT}"/.build.*
if ready; then
  printf '%s\n' "${OUT}"
  exit 0
fi
WORK="$(mktemp -d "${OUT}/.build.XXXXXX")"
trap 'rm -rf "${WORK}"' EXIT
export CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GOBIN="${WORK}/bin"
start=${SECONDS}
log "building registry ${REGISTRY_VERSION} (github.com/distribution/distribution/v3)"
go install -trimpath -ldflags "-s -w" "github.com/distribution/distribution/v3/cmd/registry@${REGISTRY_VERSION}" >&2
log "building crane ${CRANE_VERSION} (github.com/google/go-containerregistry)"
go install -trimpath -ldflags "-s -w" "github.com/google/go-containerregistry/cmd/crane@${CRANE_VERSION}" >&2
mv -f "${WORK}/bin/registry" "${WORK}/bin/crane" "${OUT}/"
log "built registry and crane in $((SECONDS - start)) s"
printf '%s\n' "${OUT}"
