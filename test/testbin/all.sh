#!/usr/bin/env bash
# `npm run testbin`: everything the tests build from the Go module proxy, each part cached by version:
#   build.sh            the Kubernetes binaries + etcd of the default version (the test control plane)
#   build-cluster.sh    container runtime, CNI, CoreDNS, flannel and images for real-cluster tests
#   build.sh (kubeadm)  kubeadm alone for every other version pinned in src/catalog/versions.ts (config validate)
#   registry.sh         the real registry (distribution v3) and crane, for the registry stage's tests
#   gitea.sh            Gitea (Forgejo's API), for the ci stage's forge automation tests
# The LAST line on stdout is build.sh's folder, as when build.sh runs alone. Build times: CACHE_ROOT/build-times.log.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "${HERE}/lib.sh"
K8S_VERSION="${1:-${BOARDKUBE_K8S_VERSION:-v1.37.2}}"
start=${SECONDS}

dir="$(bash "${HERE}/build.sh" "${K8S_VERSION}" | tail -n1)"
bash "${HERE}/build-cluster.sh" "${K8S_VERSION}" >&2
while read -r version; do
  [[ "${version}" == "${K8S_VERSION}" ]] && continue
  BOARDKUBE_TESTBIN_BINS=kubeadm bash "${HERE}/build.sh" "${version}" >&2
done < <(cd "${HERE}/../.." && node --import tsx test/testbin/catalog.ts releases)
bash "${HERE}/registry.sh" >&2
bash "${HERE}/gitea.sh" >&2
log "all test binaries ready in $((SECONDS - start)) s"
printf '%s\n' "${dir}"
