#!/usr/bin/env bash
# Builds what a real-cluster test node runs besides the Kubernetes binaries of build.sh, from the Go module proxy,
# each cached by version under the testbin cache (default ~/.cache/boardkube/testbin):
#   containerd (+ containerd-shim-runc-v2, ctr)   runc (cgo + libseccomp)   crictl (cri-tools)
#   coredns, etcd and pause at exactly the versions `kubeadm config images list` names for the Kubernetes version
#   flanneld + install-conf (the flannel release of src/catalog/versions.ts)
#   the flannel CNI plugin (github.com/flannel-io/cni-plugin is refused by the module proxy, so the plugin comes from
#   its previous home, github.com/containernetworking/plugins v0.9.1 plugins/meta/flannel)
#   the registry (distribution v3) and crane, from registry.sh (the registry stage's pod runs the registry)
# and then the container images (build-images.sh).
#
# Usage: test/testbin/build-cluster.sh [vX.Y.Z]   (default v1.37.2; needs go, gcc, libseccomp-dev, umoci, skopeo)
# Env:   BOARDKUBE_TESTBIN_DIR, BOARDKUBE_GO_P as for build.sh; *_VERSION below to try another pin.
# stdout: one NAME=FOLDER line per component (k8s, containerd, runc, crictl, coredns, etcd, flannel, cni-flannel,
#         pause, registry, images); progress and build times go to stderr (times also to CACHE_ROOT/build-times.log).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "${HERE}/lib.sh"

K8S_VERSION="${1:-${BOARDKUBE_K8S_VERSION:-v1.37.2}}"
CONTAINERD_VERSION="${BOARDKUBE_CONTAINERD_VERSION:-v2.3.7}"
RUNC_VERSION="${BOARDKUBE_RUNC_VERSION:-v1.5.3}"
CRI_TOOLS_VERSION="${BOARDKUBE_CRI_TOOLS_VERSION:-v1.37.0}"
CNI_FLANNEL_VERSION="${BOARDKUBE_CNI_FLANNEL_VERSION:-v0.9.1}"
LOCK_NAME=cluster

read -r FLANNEL_VERSION FLANNEL_IMAGE CNI_PLUGIN_IMAGE < <(cd "${HERE}/../.." && node --import tsx test/testbin/catalog.ts flannel "${K8S_VERSION}")
[[ -n "${CNI_PLUGIN_IMAGE:-}" ]] || die "could not read the flannel images from src/catalog/"
REGISTRY_IMAGE="$(cd "${HERE}/../.." && node --import tsx test/testbin/catalog.ts registry)"
[[ -n "${REGISTRY_IMAGE}" ]] || die "could not read the registry image from src/catalog/"

take_lock "${LOCK_NAME}"

go_component containerd "${CONTAINERD_VERSION}" github.com/containerd/containerd/v2 0 no_btrfs,no_devmapper,no_zfs \
  "-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
  github.com/containerd/containerd/v2/cmd/containerd \
  github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
  github.com/containerd/containerd/v2/cmd/ctr
# runc needs cgo for seccomp (libseccomp-dev); Debian's runc 1.1 is too old for containerd 2.3's runtime spec.
go_component runc "${RUNC_VERSION}" github.com/opencontainers/runc 1 seccomp \
  "-s -w -X main.version=${RUNC_VERSION#v}" github.com/opencontainers/runc
go_component cri-tools "${CRI_TOOLS_VERSION}" sigs.k8s.io/cri-tools 0 "" \
  "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION}" sigs.k8s.io/cri-tools/cmd/crictl
# flanneld imports every backend, and the Tencent Cloud VPC one needs an SDK module the proxy refuses: build a copy
# of the flannel module without that one import (vxlan, host-gw, wireguard, ipsec... stay).
FLANNEL_DIR="${CACHE_ROOT}/flannel-${FLANNEL_VERSION}"
if [[ ! -d "${FLANNEL_DIR}" ]]; then
  start=${SECONDS}
  log "building flannel ${FLANNEL_VERSION} (github.com/flannel-io/flannel, without the tencentvpc backend)"
  work="$(new_work "${LOCK_NAME}")"
  cp -r "$(module_dir "github.com/flannel-io/flannel@${FLANNEL_VERSION}")" "${work}/src"
  chmod -R u+w "${work}/src"
  (
    cd "${work}/src"
    sed -i '/flannel\/pkg\/backend\/tencentvpc"/d' main.go
    rm -rf pkg/backend/tencentvpc
    sed -n 's#^[[:space:]]*\(github.com/tencentcloud/[^[:space:]]*\) .*#\1#p' go.mod |
      while read -r m; do go mod edit -droprequire "${m}"; done
    # cgo for the udp backend, linked statically as upstream does (the image has no C library).
    CGO_ENABLED=1 GOFLAGS="-trimpath -buildvcs=false -mod=mod" go build -p "${GO_P}" \
      -ldflags "-s -w -X github.com/flannel-io/flannel/pkg/version.Version=${FLANNEL_VERSION} -extldflags -static" \
      -o "${work}/out/" . ./cmd/install_conf
  ) >&2 || { rm -rf "${work}"; die "building flannel ${FLANNEL_VERSION} failed"; }
  mv "${work}/out/flannel" "${work}/out/flanneld"
  mv "${work}/out/install_conf" "${work}/out/install-conf"
  publish "${work}/out" "${FLANNEL_DIR}"
  rm -rf "${work}"
  record_time "flannel ${FLANNEL_VERSION}" $((SECONDS - start))
fi
go_component cni-flannel "${CNI_FLANNEL_VERSION}" github.com/containernetworking/plugins 0 "" "-s -w" \
  github.com/containernetworking/plugins/plugins/meta/flannel

# The rest depends on what kubeadm asks for, so it waits for build.sh (which has its own lock).
K8S_DIR="$(bash "${HERE}/build.sh" "${K8S_VERSION}" | tail -n1)"
[[ -x "${K8S_DIR}/kubeadm" ]] || die "build.sh did not produce kubeadm in '${K8S_DIR}'"

# The versions kubeadm will ask the runtime for: registry.k8s.io/etcd:3.7.0-0 -> etcd v3.7.0, and so on.
images_list="$("${K8S_DIR}/kubeadm" config images list --kubernetes-version "${K8S_VERSION}")"
image_tag() { sed -n "s#^registry\.k8s\.io/$1:##p" <<<"${images_list}"; }
ETCD_TAG="$(image_tag etcd)"
COREDNS_TAG="$(image_tag coredns/coredns)"
PAUSE_TAG="$(image_tag pause)"
[[ -n "${ETCD_TAG}" && -n "${COREDNS_TAG}" && -n "${PAUSE_TAG}" ]] ||
  die "unexpected \`kubeadm config images list\` output:"$'\n'"${images_list}"
ETCD_VERSION="v${ETCD_TAG%-*}"

go_component coredns "${COREDNS_TAG}" github.com/coredns/coredns 0 "" "-s -w" github.com/coredns/coredns
go_component etcd "${ETCD_VERSION}" go.etcd.io/etcd/server/v3 0 "" "-s -w" etcd=go.etcd.io/etcd/server/v3

# pause: the kubelet's sandbox, a static C program from the Kubernetes source tree (build/pause/linux/pause.c).
PAUSE_DIR="${CACHE_ROOT}/pause-${PAUSE_TAG}"
if [[ ! -d "${PAUSE_DIR}" ]]; then
  start=${SECONDS}
  src="$(module_dir "k8s.io/kubernetes@${K8S_VERSION}")/build/pause"
  grep -q "^TAG ?= ${PAUSE_TAG}\$" "${src}/Makefile" ||
    die "kubeadm names pause:${PAUSE_TAG} but ${src}/Makefile is for another tag"
  work="$(new_work "${LOCK_NAME}")"
  mkdir -p "${work}/out"
  gcc -Os -Wall -static -DVERSION="v${PAUSE_TAG}" -o "${work}/out/pause" "${src}/linux/pause.c"
  strip "${work}/out/pause"
  publish "${work}/out" "${PAUSE_DIR}"
  rm -rf "${work}"
  record_time "pause ${PAUSE_TAG}" $((SECONDS - start))
fi

REGISTRY_DIR="$(bash "${HERE}/registry.sh" | tail -n1)"
[[ -x "${REGISTRY_DIR}/registry" ]] || die "registry.sh did not produce the registry in '${REGISTRY_DIR}'"

dirs=(
  "k8s=${K8S_DIR}"
  "containerd=${CACHE_ROOT}/containerd-${CONTAINERD_VERSION}"
  "runc=${CACHE_ROOT}/runc-${RUNC_VERSION}"
  "crictl=${CACHE_ROOT}/cri-tools-${CRI_TOOLS_VERSION}"
  "coredns=${CACHE_ROOT}/coredns-${COREDNS_TAG}"
  "etcd=${CACHE_ROOT}/etcd-${ETCD_VERSION}"
  "flannel=${FLANNEL_DIR}"
  "cni-flannel=${CACHE_ROOT}/cni-flannel-${CNI_FLANNEL_VERSION}"
  "pause=${PAUSE_DIR}"
  "registry=${REGISTRY_DIR}"
)
IMAGES_DIR="${CACHE_ROOT}/images-k8s-${K8S_VERSION}-flannel-${FLANNEL_VERSION}-$(basename "${REGISTRY_DIR}")"
if [[ ! -d "${IMAGES_DIR}" ]]; then
  IMAGES_LIST="${images_list}" FLANNEL_IMAGE="${FLANNEL_IMAGE}" CNI_PLUGIN_IMAGE="${CNI_PLUGIN_IMAGE}" REGISTRY_IMAGE="${REGISTRY_IMAGE}" \
    K8S_VERSION="${K8S_VERSION}" bash "${HERE}/build-images.sh" "${IMAGES_DIR}" "${dirs[@]}"
fi
printf '%s\n' "${dirs[@]}" "images=${IMAGES_DIR}"
