#!/usr/bin/env bash
# Builds the container images a real-cluster test node needs, as docker-archive tars that `ctr images import`
# accepts, under exactly the names kubeadm and the stages' manifests pull: there is no registry here, so every image
# is one layer holding the binaries built by build-cluster.sh (no base image; umoci + skopeo from Debian).
#
# Called by build-cluster.sh: build-images.sh OUT_DIR NAME=FOLDER...
#   env IMAGES_LIST (`kubeadm config images list`), FLANNEL_IMAGE, CNI_PLUGIN_IMAGE, REGISTRY_IMAGE (from
#   src/catalog/), K8S_VERSION.
# OUT_DIR gets NAME.tar per image and images.tsv ("REFERENCE<TAB>FILE" per line), published in one rename.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "${HERE}/lib.sh"
LOCK_NAME=cluster   # build-cluster.sh holds it

OUT="$1"
shift
declare -A DIR
for pair in "$@"; do DIR["${pair%%=*}"]="${pair#*=}"; done
for tool in umoci skopeo busybox; do
  command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' is missing: apt-get install -y umoci skopeo busybox-static"
done

BUSYBOX="$(command -v busybox)"
# The test pods' image (a shell, nslookup, wget): Debian's static busybox, tagged with its version.
BUSYBOX_VERSION="$("${BUSYBOX}" | sed -n '1s/^BusyBox v\([0-9.]*\).*/\1/p')"
TEST_BUSYBOX_IMAGE="registry.boardkube.test/busybox:${BUSYBOX_VERSION}"

work="$(new_work "${LOCK_NAME}")"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${work}/out"
start=${SECONDS}

# image REF ENTRYPOINT SRC:DST...: one single-layer image; DST paths are inside the image, SRC on this machine
# (a symlink SRC is copied as the file it points to, unless DST ends in @, which keeps it a symlink: "TARGET:DST@").
# ENTRYPOINT is split into words at spaces (the program and its arguments).
image() {
  local ref="$1" pair src dst root name word
  local -a entry=() entry_flags=()
  read -ra entry <<<"$2"
  for word in "${entry[@]}"; do entry_flags+=(--config.entrypoint "${word}"); done
  shift 2
  name="$(basename "${ref%%:*}")"
  root="${work}/${name}.rootfs"
  mkdir -p "${root}"/{etc,tmp,bin}
  chmod 1777 "${root}/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"${root}/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"${root}/etc/group"
  printf 'hosts: files dns\n' >"${root}/etc/nsswitch.conf"
  for pair in "$@"; do
    src="${pair%%:*}"
    dst="${pair#*:}"
    mkdir -p "${root}$(dirname "${dst%@}")"
    if [[ "${dst}" == *@ ]]; then
      ln -sfn "${src}" "${root}${dst%@}"
    elif [[ -d "${src}" ]]; then
      cp -rL "${src}/." "${root}${dst}"
    else
      cp -L "${src}" "${root}${dst}"
    fi
  done
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "${root}" -cf "${work}/${name}.layer.tar" .
  umoci init --layout "${work}/${name}.oci"
  umoci new --image "${work}/${name}.oci:img"
  umoci raw add-layer --image "${work}/${name}.oci:img" "${work}/${name}.layer.tar"
  umoci config --image "${work}/${name}.oci:img" --os linux --architecture amd64 \
    --config.env PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin "${entry_flags[@]}"
  skopeo copy --quiet "oci:${work}/${name}.oci:img" "docker-archive:${work}/out/${name}.tar:${ref}"
  printf '%s\t%s\n' "${ref}" "${name}.tar" >>"${work}/out/images.tsv"
  rm -rf "${root}" "${work}/${name}.oci" "${work}/${name}.layer.tar"
  log "image ${ref}"
}

# iptables for kube-proxy and flanneld: Debian's xtables-nft-multi with its extensions, every library they load
# (libxt_statistic.so needs libm) and the dynamic loader as a real file at the path the binaries ask for.
xtables=(/usr/sbin/xtables-nft-multi:/usr/sbin/xtables-nft-multi
  /usr/lib/x86_64-linux-gnu/xtables:/usr/lib/x86_64-linux-gnu/xtables)
for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  xtables+=("xtables-nft-multi:/usr/sbin/${n}@")
done
while read -r lib; do
  xtables+=("${lib}:${lib}")
done < <(ldd /usr/sbin/xtables-nft-multi /usr/lib/x86_64-linux-gnu/xtables/*.so |
  sed -n -e 's/^[[:space:]]*[^ ]* => \(\/[^ ]*\) .*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' | sort -u)

# A static busybox with the applets a script in the image may call (cp for install-cni-plugin, sh, nslookup...).
busybox_files=("${BUSYBOX}:/bin/busybox")
while read -r applet; do
  [[ "${applet}" == busybox ]] || busybox_files+=("busybox:/bin/${applet}@")
done < <("${BUSYBOX}" --list)

while read -r ref; do
  [[ -n "${ref}" ]] || continue
  case "${ref}" in
  registry.k8s.io/kube-apiserver:* | registry.k8s.io/kube-controller-manager:* | registry.k8s.io/kube-scheduler:*)
    [[ "${ref##*:}" == "${K8S_VERSION}" ]] || die "kubeadm names ${ref}, but the binaries are ${K8S_VERSION}"
    bin="$(basename "${ref%%:*}")"
    image "${ref}" "/usr/local/bin/${bin}" "${DIR[k8s]}/${bin}:/usr/local/bin/${bin}" ;;
  registry.k8s.io/kube-proxy:*)
    image "${ref}" /usr/local/bin/kube-proxy "${DIR[k8s]}/kube-proxy:/usr/local/bin/kube-proxy" "${xtables[@]}" ;;
  registry.k8s.io/etcd:*)
    image "${ref}" /usr/local/bin/etcd "${DIR[etcd]}/etcd:/usr/local/bin/etcd" ;;
  registry.k8s.io/coredns/coredns:*)
    image "${ref}" /coredns "${DIR[coredns]}/coredns:/coredns" ;;
  registry.k8s.io/pause:*)
    image "${ref}" /pause "${DIR[pause]}/pause:/pause" ;;
  *) die "kubeadm names an image this script does not know how to build: ${ref}" ;;
  esac
done <<<"${IMAGES_LIST}"

image "${FLANNEL_IMAGE}" /opt/bin/flanneld "${DIR[flannel]}/flanneld:/opt/bin/flanneld" \
  "${DIR[flannel]}/install-conf:/opt/bin/install-conf" "${xtables[@]}"
image "${CNI_PLUGIN_IMAGE}" /flannel "${DIR[cni-flannel]}/flannel:/flannel" "${busybox_files[@]}"
image "${TEST_BUSYBOX_IMAGE}" /bin/sh "${busybox_files[@]}"
# The registry stage's registry:3, as the official image runs it: `registry serve` with the image's own config file.
image "${REGISTRY_IMAGE}" "/bin/registry serve /etc/distribution/config.yml" "${DIR[registry]}/registry:/bin/registry" \
  "${HERE}/registry-config.yml:/etc/distribution/config.yml"

publish "${work}/out" "${OUT}"
record_time "images for ${K8S_VERSION}" $((SECONDS - start))
