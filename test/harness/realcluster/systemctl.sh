#!/usr/bin/env bash
# TEST STAND-IN for systemctl on a real-cluster harness node (this machine has no systemd). It knows two units,
# kubelet and containerd, and supervises each as systemd would (Restart=always, RestartSec=1): `start` spawns a
# detached supervisor that runs the unit and restarts it when it exits; `stop` ends the supervisor and the unit.
# kubeadm's own calls (daemon-reload, start, stop, restart, is-active, is-enabled, enable, status) work unchanged.
# The kubelet unit is kubelet.service plus kubeadm's 10-kubeadm.conf drop-in: it waits until kubeadm has written
# /var/lib/kubelet/config.yaml and kubeadm-flags.env, then runs the kubelet with the drop-in's flags.
# Installed per node by test/harness/realcluster/node.ts, which fills in STATE (the node's stand-in folder).
set -u
STATE='@STATE@'
CONTAINERD_CONFIG='@CONTAINERD_CONFIG@'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
UNITS=(containerd kubelet)

unit_of() {
  local u="${1%.service}" known
  for known in "${UNITS[@]}"; do [[ "${u}" == "${known}" ]] && { printf '%s\n' "${u}"; return 0; }; done
  echo "Unit ${1} could not be found. (test stand-in for systemctl knows: ${UNITS[*]})" >&2
  return 4
}

# What the unit runs (ExecStart), in the foreground.
exec_unit() {
  case "$1" in
  containerd) exec containerd --config "${CONTAINERD_CONFIG}" ;;
  kubelet)
    until [[ -f /var/lib/kubelet/config.yaml && -f /var/lib/kubelet/kubeadm-flags.env ]]; do sleep 1; done
    KUBELET_KUBEADM_ARGS="" KUBELET_EXTRA_ARGS=""
    # shellcheck disable=SC1091
    source /var/lib/kubelet/kubeadm-flags.env
    # shellcheck disable=SC1091
    [[ -f /etc/default/kubelet ]] && source /etc/default/kubelet
    # shellcheck disable=SC2086 # the drop-in splits these variables into words, as systemd does
    exec kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \
      --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml \
      ${KUBELET_KUBEADM_ARGS} ${KUBELET_EXTRA_ARGS} ;;
  esac
}

alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "${STATE}/$1.$2" 2>/dev/null; }   # pid_of UNIT supervisor|main

# The supervisor: runs the unit, restarts it a second after it exits, stops it on SIGTERM.
supervise() {
  local u="$1" child=""
  trap 'alive "${child}" && kill -TERM "${child}"; for _ in $(seq 50); do alive "${child}" || break; sleep 0.2; done; alive "${child}" && kill -KILL "${child}"; rm -f "${STATE}/${u}.main"; exit 0' TERM INT
  while :; do
    echo "stand-in: starting ${u} at $(date -u +%T)"
    (exec_unit "${u}") &
    child=$!
    echo "${child}" >"${STATE}/${u}.main"
    wait "${child}"
    echo "stand-in: ${u} exited (status $?) at $(date -u +%T); restarting in 1 s"
    rm -f "${STATE}/${u}.main"
    sleep 1
  done
}

start() {
  local u="$1"
  alive "$(pid_of "${u}" supervisor)" && return 0
  setsid bash "$0" __supervise "${u}" </dev/null >>"${STATE}/${u}.log" 2>&1 &
  echo "$!" >"${STATE}/${u}.supervisor"
}

stop() {
  local u="$1" pid
  pid="$(pid_of "${u}" supervisor)"
  if alive "${pid}"; then
    kill -TERM "${pid}"
    for _ in $(seq 60); do alive "${pid}" || break; sleep 0.2; done
  fi
  rm -f "${STATE}/${u}.supervisor"
}

state() {
  if alive "$(pid_of "$1" main)"; then echo active
  elif alive "$(pid_of "$1" supervisor)"; then echo activating
  else echo inactive; fi
}

cmd="${1:-}"
shift || true
quiet=0
now=0
units=()
for a in "$@"; do
  case "${a}" in
  -q | --quiet) quiet=1 ;;
  --now) now=1 ;;
  --no-pager | --no-block | -l | --full) ;;
  -*) echo "systemctl (test stand-in): unsupported option ${a}" >&2; exit 1 ;;
  *) units+=("${a}") ;;
  esac
done

case "${cmd}" in
__supervise) supervise "${units[0]}" ;;
daemon-reload) exit 0 ;;
start | stop | restart | enable | disable | is-active | is-enabled | status)
  ((${#units[@]} > 0)) || { echo "systemctl (test stand-in): ${cmd} needs a unit" >&2; exit 1; }
  rc=0
  for name in "${units[@]}"; do
    u="$(unit_of "${name}")" || { rc=$?; [[ "${cmd}" == status ]] && echo "Unit ${name} could not be found."; continue; }
    case "${cmd}" in
    start) start "${u}" ;;
    stop) stop "${u}" ;;
    restart) stop "${u}"; start "${u}" ;;
    enable) touch "${STATE}/${u}.enabled"; ((now)) && start "${u}" ;;
    disable) rm -f "${STATE}/${u}.enabled"; ((now)) && stop "${u}" ;;
    is-active) s="$(state "${u}")"; ((quiet)) || echo "${s}"; [[ "${s}" == active ]] || rc=3 ;;
    is-enabled)
      if [[ -f "${STATE}/${u}.enabled" ]]; then ((quiet)) || echo enabled; else ((quiet)) || echo disabled; rc=1; fi ;;
    status)
      s="$(state "${u}")"
      printf '* %s.service (test stand-in)\n     Loaded: loaded\n     Active: %s\n' "${u}" "${s}"
      tail -n 10 "${STATE}/${u}.log" 2>/dev/null
      [[ "${s}" == active ]] || rc=3 ;;
    esac
  done
  exit "${rc}" ;;
*) echo "systemctl (test stand-in): unsupported command '${cmd}'" >&2; exit 1 ;;
esac
