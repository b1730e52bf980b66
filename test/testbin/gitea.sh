#!/usr/bin/env bash
# Builds Gitea (whose API Forgejo keeps) from the Go module proxy, for the ci stage's forge automation tests.
# Forgejo itself is not served by the proxy. `go install` refuses Gitea (its go.mod has replace directives), so a
# small module requires it and copies those replace lines. Built with cgo and sqlite; without the `bindata` tag
# Gitea reads `options/` (locales) and `templates/` (its web pages: the login and OAuth grant forms) from its
# work path, so the module's two folders are copied beside the binary.
#
# Usage: test/testbin/gitea.sh     Env: BOARDKUBE_TESTBIN_DIR (default ~/.cache/boardkube/testbin)
# The LAST line on stdout is the folder holding `gitea`, `options/` and `templates/`.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "${HERE}/lib.sh"

GITEA_VERSION="${BOARDKUBE_GITEA_VERSION:-v1.26.0}"
FINAL="${CACHE_ROOT}/gitea-${GITEA_VERSION}"
ready() { [[ -x "${FINAL}/gitea" && -d "${FINAL}/options/locale" && -d "${FINAL}/templates/user" ]]; }
if ready; then printf '%s\n' "${FINAL}"; exit 0; fi
# A cache from before templates/ was kept: add it from the module, no rebuild.
if [[ -x "${FINAL}/gitea" && -d "${FINAL}/options/locale" ]]; then
  take_lock gitea
  if ! ready; then
    src="$(module_dir "code.gitea.io/gitea@${GITEA_VERSION}")"
    [[ -d "${src}/templates/user" ]] || die "could not download code.gitea.io/gitea@${GITEA_VERSION}"
    rm -rf "${FINAL}/templates.tmp"
    cp -r "${src}/templates" "${FINAL}/templates.tmp"
    chmod -R u+w "${FINAL}/templates.tmp"
    mv -T "${FINAL}/templates.tmp" "${FINAL}/templates"
  fi
  printf '%s\n' "${FINAL}"
  exit 0
fi
command -v go >/dev/null 2>&1 || die "'go' is not on PATH; install Go >= 1.26 to build the test binaries"
command -v gcc >/dev/null 2>&1 || die "'gcc' is not on PATH; Gitea's sqlite driver needs cgo (apt-get install gcc)"
LOCK_NAME=gitea
take_lock "${LOCK_NAME}"
if ready; then printf '%s\n' "${FINAL}"; exit 0; fi

work="$(new_work "${LOCK_NAME}")"
trap 'rm -rf "${work}"' EXIT
start=${SECONDS}
log "building gitea ${GITEA_VERSION} (code.gitea.io/gitea, cgo, sqlite)"
src="$(module_dir "code.gitea.io/gitea@${GITEA_VERSION}")"
[[ -n "${src}" && -f "${src}/go.mod" ]] || die "could not download code.gitea.io/gitea@${GITEA_VERSION}"
{
  printf 'module boardkube.local/testbin-gitea\n\ngo 1.26.2\n\nrequire code.gitea.io/gitea %s\n\n' "${GITEA_VERSION}"
  printf 'tool code.gitea.io/gitea\n\n'
  grep -E '^replace ' "${src}/go.mod" | sed 's#[[:space:]]*//.*$##'
} >"${work}/go.mod"
mkdir -p "${work}/out"
(
  cd "${work}"
  # shellcheck disable=SC2031 # lib.sh sets these in its own subshell; here they are only read
  goenv=(env CGO_ENABLED=1 GOFLAGS="${GOFLAGS:-} -trimpath -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}")
  "${goenv[@]}" go mod tidy
  "${goenv[@]}" go build -p "${GO_P}" -tags 'sqlite sqlite_unlock_notify' \
    -ldflags "-s -w -X main.Version=${GITEA_VERSION#v}" -o "${work}/out/gitea" code.gitea.io/gitea
) >&2 || die "building gitea ${GITEA_VERSION} failed"
cp -r "${src}/options" "${work}/out/options"
cp -r "${src}/templates" "${work}/out/templates"
chmod -R u+w "${work}/out/options" "${work}/out/templates"
publish "${work}/out" "${FINAL}"
record_time "gitea ${GITEA_VERSION}" $((SECONDS - start))
printf '%s\n' "${FINAL}"
