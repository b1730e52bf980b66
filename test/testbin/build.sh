#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries the integration tests run against:
# kube-apiserver, kube-controller-manager, kubeadm, kubectl, kubelet, kube-scheduler, kube-proxy (k8s.io/kubernetes) and etcd
# (go.etcd.io/etcd/server/v3), from the Go module proxy. No prebuilt release binaries can be
# downloaded where the tests run, so we compile them once per version and cache them outside the repo.
#
# Usage: test/testbin/build.sh [vX.Y.Z]     (or BOARDKUBE_K8S_VERSION; default v1.37.2)
# Env:   BOARDKUBE_TESTBIN_DIR   cache root (default ~/.cache/boardkube/testbin)
#        BOARDKUBE_ETCD_VERSION  etcd server version (default v3.7.3)
#        BOARDKUBE_GO_P          parallel compile jobs (go build -p; default GOMAXPROCS or nproc)
#        GOTOOLCHAIN             default auto: a newer Go is fetched from the proxy only if go.mod needs it
#        BOARDKUBE_TESTBIN_BINS  build only these (space-separated, from the list below and etcd), e.g.
#                                `BOARDKUBE_TESTBIN_BINS=kubeadm test/testbin/build.sh v1.35.4` for config-validate tests
# The Go module and build caches stay at their defaults (outside the repo). Cold build on 2 cores: ~7 min.
#
# Progress goes to stderr; the LAST line on stdout is the folder holding the binaries.
# Only missing binaries are built. Each binary is built in a temp dir next to the cache and
# renamed into place, so an interrupted build never leaves a half-written binary behind.
set -euo pipefail

K8S_VERSION="${1:-${BOARDKUBE_K8S_VERSION:-v1.37.2}}"
ETCD_VERSION="${BOARDKUBE_ETCD_VERSION:-v3.7.3}"
CACHE_ROOT="${BOARDKUBE_TESTBIN_DIR:-${HOME}/.cache/boardkube/testbin}"
OUT="${CACHE_ROOT}/k8s-${K8S_VERSION}"
K8S_BINS=(kube-apiserver kube-controller-manager kubeadm kubectl kubelet kube-scheduler kube-proxy)
WANT_ETCD=1
if [[ -n "${BOARDKUBE_TESTBIN_BINS:-}" ]]; then
  read -r -a wanted <<<"${BOARDKUBE_TESTBIN_BINS}"
  subset=()
  WANT_ETCD=0
  for w in "${wanted[@]}"; do
    case " ${K8S_BINS[*]} etcd " in
      *" ${w} "*) ;;
      *) printf 'testbin: ERROR: BOARDKUBE_TESTBIN_BINS names "%s"; known: %s etcd\n' "${w}" "${K8S_BINS[*]}" >&2; exit 2 ;;
    esac
    if [[ "${w}" == etcd ]]; then WANT_ETCD=1; else subset+=("${w}"); fi
  done
  K8S_BINS=("${subset[@]}")
fi
ALL_BINS=("${K8S_BINS[@]}")
((WANT_ETCD)) && ALL_BINS+=(etcd)

log() { printf 'testbin: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ ! "${K8S_VERSION}" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]]; then
  die "Kubernetes version must look like v1.37.2, got '${K8S_VERSION}'"
fi
K8S_MINOR="${BASH_REMATCH[1]}"
# Staging modules (k8s.io/api, client-go, ...) are published as v0.MINOR.PATCH.
STAGING_VERSION="v0.${K8S_MINOR}.${BASH_REMATCH[2]}"

missing=()
for bin in "${ALL_BINS[@]}"; do
  [[ -x "${OUT}/${bin}" ]] || missing+=("${bin}")
done
if ((${#missing[@]} == 0)); then
  printf '%s\n' "${OUT}"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "'go' is not on PATH; install Go >= 1.26 to build the test binaries"
mkdir -p "${OUT}"

# One build at a time per version (parallel test workers may all call this script).
exec 9>"${OUT}/.lock"
if command -v flock >/dev/null 2>&1; then
  if ! flock -n 9; then
    log "another build holds ${OUT}/.lock; waiting for it"
    flock 9
  fi
  # Leftovers of an interrupted build (killed before its EXIT trap ran); we hold the lock, so nobody uses them.
  rm -rf "${OUT}"/.build.*
fi
missing=()
for bin in "${ALL_BINS[@]}"; do
  [[ -x "${OUT}/${bin}" ]] || missing+=("${bin}")
done
if ((${#missing[@]} == 0)); then
  printf '%s\n' "${OUT}"
  exit 0
fi

WORK="$(mktemp -d "${OUT}/.build.XXXXXX")"
cleanup() { rm -rf "${WORK}"; }
trap cleanup EXIT

export CGO_ENABLED=0
# A newer Kubernetes may need a newer Go than the local one; "auto" fetches it from the module proxy
# (golang.org/toolchain) only when a go.mod asks for it. Set GOTOOLCHAIN=local to forbid that.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export GOFLAGS="${GOFLAGS:-} -trimpath"
export GOMAXPROCS="${GOMAXPROCS:-$(nproc 2>/dev/null || echo 2)}"
GO_P="${BOARDKUBE_GO_P:-${GOMAXPROCS}}"

needs() {
  local want="$1" bin
  for bin in "${missing[@]}"; do
    [[ "${bin}" == "${want}" ]] && return 0
  done
  return 1
}

# install_bin NAME: move WORK/bin/NAME into the cache atomically (same filesystem => rename).
install_bin() {
  local name="$1"
  chmod 0755 "${WORK}/bin/${name}"
  mv -f "${WORK}/bin/${name}" "${OUT}/${name}"
}

mkdir -p "${WORK}/bin"

# ---------------------------------------------------------------- etcd
if needs etcd; then
  mod="${WORK}/etcd"
  mkdir -p "${mod}"
  log "building etcd ${ETCD_VERSION} (go.etcd.io/etcd/server/v3)"
  start=${SECONDS}
  printf 'module boardkube.local/testbin-etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n\ntool go.etcd.io/etcd/server/v3\n' \
    "${ETCD_VERSION}" >"${mod}/go.mod"
  (cd "${mod}" && go mod tidy && go build -p "${GO_P}" -ldflags "-s -w" -o "${WORK}/bin/etcd" \
    go.etcd.io/etcd/server/v3) >&2
  install_bin etcd
  log "built etcd in $((SECONDS - start)) s"
fi

# ---------------------------------------------------------------- Kubernetes
need_k8s=()
for bin in "${K8S_BINS[@]}"; do
  if needs "${bin}"; then need_k8s+=("${bin}"); fi
done

if ((${#need_k8s[@]} > 0)); then
  mod="${WORK}/k8s"
  mkdir -p "${mod}"
  log "resolving k8s.io/kubernetes@${K8S_VERSION} from the module proxy"
  upstream_mod="$(cd "${mod}" && go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "${upstream_mod}" ]] || die "could not download the go.mod of k8s.io/kubernetes@${K8S_VERSION}"

  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging/...;
  # replace directives of a dependency are ignored, so we point each one at its published version.
  {
    printf 'module boardkube.local/testbin\n\ngo 1.26.0\n\n'
    printf 'require k8s.io/kubernetes %s\n\n' "${K8S_VERSION}"
    printf 'replace (\n'
    sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*$#\t\1 => \1 '"${STAGING_VERSION}"'#p' \
      "${upstream_mod}"
    printf ')\n\n'
    for bin in "${need_k8s[@]}"; do
      printf 'tool k8s.io/kubernetes/cmd/%s\n' "${bin}"
    done
  } >"${mod}/go.mod"
  # The upstream go line may be newer than ours; let go pick it (GOTOOLCHAIN=auto fetches a newer Go).
  upstream_go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${upstream_mod}" | head -n1)"
  if [[ -n "${upstream_go}" ]]; then
    (cd "${mod}" && go mod edit -go="${upstream_go}")
  fi

  log "go mod tidy (staging modules pinned to ${STAGING_VERSION})"
  (cd "${mod}" && go mod tidy) >&2

  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${pkg}.gitVersion=${K8S_VERSION}"
    ldflags+=" -X ${pkg}.gitMajor=1"
    ldflags+=" -X ${pkg}.gitMinor=${K8S_MINOR}"
    ldflags+=" -X ${pkg}.gitTreeState=clean"
    ldflags+=" -X ${pkg}.buildDate=${build_date}"
  done

  for bin in "${need_k8s[@]}"; do
    log "building ${bin} ${K8S_VERSION} (this takes minutes on a cold cache)"
    start=${SECONDS}
    (cd "${mod}" && go build -p "${GO_P}" -ldflags "${ldflags}" -o "${WORK}/bin/${bin}" \
      "k8s.io/kubernetes/cmd/${bin}") >&2
    if [[ "${bin}" == kubeadm ]]; then
      got="$("${WORK}/bin/kubeadm" version -o short)"
      [[ "${got}" == "${K8S_VERSION}" ]] || die "built kubeadm reports '${got}', expected ${K8S_VERSION}"
    fi
    install_bin "${bin}"
    log "built ${bin} in $((SECONDS - start)) s"
  done
fi

for bin in "${ALL_BINS[@]}"; do
  [[ -x "${OUT}/${bin}" ]] || die "${OUT}/${bin} is still missing after the build"
done
log "binaries ready in ${OUT}"
printf '%s\n' "${OUT}"
