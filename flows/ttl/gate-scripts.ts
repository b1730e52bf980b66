// The shell scripts that put feature gates on a running kubeadm cluster (every one passes shellcheck in the
// tests). The master: the static pods rewritten by `kubeadm init phase control-plane all` from the new config,
// a wait until each component runs with its new flag and answers its health check, and the old manifests put
// back when one does not come back. Every node: the kubelet's config from kubeadm's kubelet-config ConfigMap
// (`kubeadm upgrade node phase kubelet-config`, the documented way to reconfigure kubelets), a restart, a wait
// for its health check, and the old config put back when it does not come back.
import { BOARD_DIR, INIT_CONFIG_PATH, q } from '../control-plane/settings.ts';

/** The new kubeadm config with the gates, written beside the one in use until it has proven itself. */
export const GATES_CONFIG_PATH = `${BOARD_DIR}/init-gates.yaml`;
export const BEFORE_GATES_DIR = `${BOARD_DIR}/before-gates`;
/** The line the scripts print when they put the old state back (the flow turns it into the step's error). */
export const ROLLED_BACK = 'rolled back:';
/** Exit code of a rollback (anything else non-zero is a failure before anything changed, or of the rollback). */
export const ROLLBACK_EXIT = 3;

/** Each control-plane component and the --feature-gates value it must run with ('' : no gate for it). */
export interface ComponentGates {
  component: 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';
  flag: string;
}

const HEALTH: Record<ComponentGates['component'], string> = {
  'kube-apiserver': 'https://127.0.0.1:6443/readyz',
  'kube-controller-manager': 'https://127.0.0.1:10257/healthz',
  'kube-scheduler': 'https://127.0.0.1:10259/healthz',
};

export function controlPlaneGatesScript(components: ComponentGates[], waitSeconds = 300): string {
  const checks = components.map((c) => {
    const flag = c.flag ? ` && pgrep -a -x ${c.component} | grep -qF -- ${q(`--feature-gates=${c.flag}`)}` : '';
    return `curl -fsk --max-time 5 ${HEALTH[c.component]} >/dev/null${flag}`;
  });
  return [
    'set -eu',
    `cfg=${INIT_CONFIG_PATH}`,
    `new=${GATES_CONFIG_PATH}`,
    `bk=${BEFORE_GATES_DIR}`,
    'rm -rf "$bk"',
    'mkdir -p "$bk/manifests"',
    'cp -a /etc/kubernetes/manifests/. "$bk/manifests/"',
    'cp "$cfg" "$bk/init.yaml"',
    // Each component up with its new flag (the kubelet restarts a static pod a few seconds after its manifest changed).
    `up() { ${checks.join(' && ')}; }`,
    `wait_up() { i=0; until up; do i=$((i + 1)); [ "$i" -ge "$1" ] && return 1; sleep 2; done; }`,
    'kubeadm init phase control-plane all --config "$new"',
    `if ! wait_up ${Math.ceil(waitSeconds / 2)}; then`,
    '  cp -a "$bk/manifests/." /etc/kubernetes/manifests/',
    `  echo "${ROLLED_BACK} a control-plane component did not come back with its new --feature-gates; the manifests of before are back"`,
    ...components.map((c) => `  crictl ps -a --name ${c.component} 2>/dev/null | tail -n 2 || true`),
    '  crictl logs --tail 5 "$(crictl ps -a --name kube-apiserver -q 2>/dev/null | head -n 1)" 2>&1 | tail -n 5 || true',
    `  exit ${ROLLBACK_EXIT}`,
    'fi',
    // Kept for upgrades and joins: kubeadm's own copy of the configuration, and the kubelets' config.
    'kubeadm init phase upload-config kubeadm --config "$new"',
    'kubeadm init phase upload-config kubelet --config "$new"',
    'mv -f "$new" "$cfg"',
    'echo "control plane up with the new feature gates"',
    '',
  ].join('\n');
}

/** Puts the kubelet-config ConfigMap back as it was (after a kubelet did not come back). */
export function restoreKubeletConfigMapScript(): string {
  return ['set -eu', `kubeadm init phase upload-config kubelet --config ${BEFORE_GATES_DIR}/init.yaml`, ''].join('\n');
}

/** On every node: the kubelet's config from the ConfigMap, restart, health, or the old config back. */
export function kubeletGatesScript(gatesLine: string, waitSeconds = 120): string {
  return [
    'set -eu',
    `bk=${BOARD_DIR}/kubelet-config-before-gates.yaml`,
    'cp /var/lib/kubelet/config.yaml "$bk"',
    'kubeadm upgrade node phase kubelet-config',
    `grep -qF -- ${q(gatesLine)} /var/lib/kubelet/config.yaml || { cp "$bk" /var/lib/kubelet/config.yaml; echo "the kubelet-config ConfigMap does not carry the gates"; exit 1; }`,
    'systemctl restart kubelet',
    'i=0',
    'until curl -sf --max-time 5 http://127.0.0.1:10248/healthz >/dev/null; do',
    '  i=$((i + 1))',
    `  if [ "$i" -ge ${waitSeconds} ]; then`,
    '    cp "$bk" /var/lib/kubelet/config.yaml',
    '    systemctl restart kubelet',
    `    echo "${ROLLED_BACK} the kubelet did not come back with its new featureGates; its config of before is back"`,
    '    journalctl -u kubelet -n 5 --no-pager 2>/dev/null || true',
    `    exit ${ROLLBACK_EXIT}`,
    '  fi',
    '  sleep 1',
    'done',
    'echo "kubelet up with the new feature gates"',
    '',
  ].join('\n');
}
