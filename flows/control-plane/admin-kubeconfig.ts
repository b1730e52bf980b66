// Step admin-kubeconfig: the admin kubeconfig kubeadm wrote on the master, fetched into the state directory
// (mode 0600: it holds the admin's private key), and merged into the user's kubeconfig as a context named after
// the cluster; the old file is kept as a copy, another cluster's context is never overwritten.
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { parse } from 'yaml';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { boardOf, runScript } from '../configure/common.ts';
import { backupPathOf, localAdminConf, onMaster, userKubeconfig } from './common.ts';
import { hasContext, mergeKubeconfig } from './merge-kubeconfig.ts';
import { catAdminConfScript } from './scripts.ts';
import { ADMIN_CONF } from './settings.ts';

/** Writes a file through a temp file beside it, mode 0600 from the start. */
export function writePrivate(path: string, text: string): void {
  fs.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, path);
}

function readOr(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function serverOf(kubeconfigText: string): string {
  const doc = parse(kubeconfigText) as { clusters?: Array<{ cluster?: { server?: string } }> } | null;
  const server = doc?.clusters?.[0]?.cluster?.server;
  if (!server) throw new Error('the admin kubeconfig names no API server');
  return server;
}

/** Merges `adminText` into the user's kubeconfig at `target`, keeping a copy of the old file. */
export function mergeIntoUserKubeconfig(ctx: Pick<StepContext, 'log'>, target: string, adminText: string, cluster: string): void {
  const old = readOr(target);
  const merged = mergeKubeconfig(old, adminText, cluster);
  if (!merged.changed) {
    ctx.log(`${target} has the context ${cluster} already`);
    return;
  }
  if (old !== undefined) {
    const backup = backupPathOf(target);
    fs.copyFileSync(target, backup);
    fs.chmodSync(backup, 0o600);
    ctx.log(`kept a copy of ${target} as ${backup}`);
  }
  writePrivate(target, merged.text);
  ctx.log(`${target}: context ${cluster} ${old?.includes(`name: ${cluster}\n`) ? 'updated' : 'added'}${merged.current ? ' (the current context)' : `; use it with kubectl --context ${cluster}, or kubectl config use-context ${cluster}`}`);
}

export const adminKubeconfigStep: Step = {
  id: 'admin-kubeconfig',
  title: 'Fetch the admin kubeconfig',
  explain:
    'kubectl on your computer needs the admin credentials kubeadm made on the master. They are copied into boardkube\'s folder (readable only by you) and added to your kubeconfig as a context named after the cluster, next to the contexts you have; a copy of the old file is kept.',
  nodes: onMaster,
  plan(ctx) {
    const target = userKubeconfig(ctx);
    return [
      { type: 'local', description: `copy ${ADMIN_CONF} from the master to ${localAdminConf(ctx)} (mode 0600)`, path: localAdminConf(ctx) },
      { type: 'local', description: `add the context ${ctx.cluster.name} to ${target} (a copy of the old file is kept; another cluster's context of that name is never overwritten)`, path: target },
    ];
  },
  async run(ctx) {
    const { host } = boardOf(ctx);
    // quiet: the file holds the admin's private key.
    const r = await runScript(ctx, host, `read ${ADMIN_CONF}`, catAdminConfScript(), { sudo: true, quiet: true });
    const admin = r.stdout;
    serverOf(admin);
    writePrivate(localAdminConf(ctx), admin);
    ctx.log(`wrote ${localAdminConf(ctx)} (mode 0600)`);
    mergeIntoUserKubeconfig(ctx, userKubeconfig(ctx), admin, ctx.cluster.name);
    return { kubeconfig: userKubeconfig(ctx), context: ctx.cluster.name };
  },
  async verify(ctx) {
    const admin = readOr(localAdminConf(ctx));
    if (!admin || (fs.statSync(localAdminConf(ctx)).mode & 0o777) !== 0o600) return false;
    return hasContext(readOr(userKubeconfig(ctx)), ctx.cluster.name, serverOf(admin));
  },
};
