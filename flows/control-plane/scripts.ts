// The shell scripts the control-plane and workers stages run on boards (every one passes shellcheck in the tests).
import { ADMIN_CONF, BOARD_DIR, BOARD_PATCHES_DIR, KUBELET_CONF, q } from './settings.ts';

export function prepareDirScript(withPatches: boolean): string {
  return [
    'set -eu',
    `install -d -m 0755 ${BOARD_DIR}`,
    // Patches left from an earlier run must not outlive the cluster file's folder.
    `rm -rf ${BOARD_PATCHES_DIR}`,
    ...(withPatches ? [`install -d -m 0755 ${BOARD_PATCHES_DIR}`] : []),
    '',
  ].join('\n');
}

/**
 * Pulls the images kubeadm needs for this config (and the pod network's), only those the runtime does not have
 * yet; prints "image I/N present|pulling|pulled NAME" lines for the progress. With check=true it pulls nothing
 * and exits 1 if one is missing.
 */
export function imagesScript(o: { criSocket: string; configPath: string; extraImages: string[]; check?: boolean }): string {
  return [
    'set -eu',
    `endpoint=${q(o.criSocket)}`,
    `images="$(kubeadm config images list --config ${q(o.configPath)})"`,
    `images="$(printf '%s\\n' "$images"${o.extraImages.map((i) => ` ${q(i)}`).join('')} | sed '/^$/d')"`,
    'total=$(printf \'%s\\n\' "$images" | wc -l)',
    'i=0',
    'missing=0',
    'for image in $images; do',
    '  i=$((i + 1))',
    '  if crictl --runtime-endpoint "$endpoint" inspecti "$image" >/dev/null 2>&1; then',
    '    echo "image $i/$total present $image"',
    ...(o.check
      ? ['  else', '    echo "image $i/$total missing $image"', '    missing=1']
      : ['  else', '    echo "image $i/$total pulling $image"', '    crictl --runtime-endpoint "$endpoint" pull "$image" >/dev/null', '    echo "image $i/$total pulled $image"']),
    '  fi',
    'done',
    'exit "$missing"',
    '',
  ].join('\n');
}

export function preflightScript(configPath: string): string {
  return ['set -eu', `kubeadm init phase preflight --config ${q(configPath)}`, ''].join('\n');
}

export function initScript(configPath: string): string {
  // --skip-token-print: kubeadm's first bootstrap token never reaches the output (the workers stage makes its own).
  return ['set -eu', `kubeadm init --config ${q(configPath)} --skip-token-print`, ''].join('\n');
}

/** Exit 0 when kubeadm init has run here and the API server answers; 3 when init has not run; 4 when it answers not. */
export function initialisedScript(): string {
  return [
    'set -u',
    `[ -f ${ADMIN_CONF} ] || exit 3`,
    `kubectl --kubeconfig ${ADMIN_CONF} --request-timeout=10s get --raw=/readyz >/dev/null 2>&1 || exit 4`,
    '',
  ].join('\n');
}

/** Leftovers of a kubeadm init that stopped half-way: what makes a second init fail with "file exists". */
export function leftoversScript(): string {
  return [
    'set -u',
    'found=""',
    'for f in /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/etcd.yaml /var/lib/etcd/member; do',
    '  if [ -e "$f" ]; then found="$found $f"; fi',
    'done',
    'echo "${found# }"',
    '',
  ].join('\n');
}

export function catAdminConfScript(): string {
  return `cat ${ADMIN_CONF}\n`;
}

/** Prints the join command with a fresh bootstrap token (its TTL in minutes); the output is a secret. */
export function tokenCreateScript(ttlMinutes: number): string {
  return ['set -eu', `kubeadm token create --ttl ${ttlMinutes}m --description 'boardkube: joins the workers of this run' --print-join-command`, ''].join('\n');
}

export function joinScript(configPath: string, criSocket: string): string {
  return [
    'set -u',
    'rc=0',
    // A join cut off half-way (boardkube killed, the board rebooted) leaves files the next join refuses; the board
    // has not joined (no kubelet.conf), so there is nothing worth keeping.
    `if [ ! -f ${KUBELET_CONF} ] && { [ -e /etc/kubernetes/pki/ca.crt ] || [ -e /etc/kubernetes/bootstrap-kubelet.conf ]; }; then`,
    `  echo "cleaning up a join that did not finish"`,
    `  kubeadm reset -f --cri-socket ${q(criSocket)} >/dev/null 2>&1 || true`,
    'fi',
    `kubeadm join --config ${q(configPath)} || rc=$?`,
    // The file holds the token: it goes whatever the join's outcome.
    `rm -f ${q(configPath)}`,
    'exit "$rc"',
    '',
  ].join('\n');
}

/** Exit 0 when this board has joined a cluster (its kubelet has a kubeconfig). */
export function joinedScript(): string {
  return `test -f ${KUBELET_CONF}\n`;
}
