// Step pull-images: the images kubeadm init and the pod network need, pulled before init and only those the
// runtime does not have yet, one progress line per image. On a slow board link this is the long wait, and
// kubeadm init would otherwise do it silently inside its preflight.
import type { Step, StepContext } from '../../src/engine/types.ts';
import { boardOf, runScript } from '../configure/common.ts';
import { onMaster } from './common.ts';
import { flannelImages } from '../../src/catalog/images.ts';
import { imagesScript } from './scripts.ts';
import { INIT_CONFIG_PATH, runtimeOf } from './settings.ts';

function script(ctx: StepContext, check: boolean): string {
  const f = flannelImages(ctx.release);
  return imagesScript({ criSocket: runtimeOf(ctx.cluster).criSocket, configPath: INIT_CONFIG_PATH, extraImages: [f.flannel, f.cniPlugin], check });
}

/** "image 2/9 pulling NAME" → progress. */
export function imageProgress(line: string): { done: number; total: number; message: string } | undefined {
  const m = /^image (\d+)\/(\d+) (present|pulling|pulled|missing) (\S+)$/.exec(line.trim());
  if (!m) return undefined;
  const i = Number(m[1]);
  return { done: m[3] === 'pulling' ? i - 1 : i, total: Number(m[2]), message: `${m[3]} ${m[4]}` };
}

export const pullImagesStep: Step = {
  id: 'pull-images',
  title: 'Pull the control-plane images',
  explain:
    'etcd, the API server, controller manager, scheduler, kube-proxy, CoreDNS, pause and flannel: several hundred MB that an ARM board on a home line takes minutes to fetch. Images already there are not fetched again.',
  nodes: onMaster,
  plan(ctx) {
    return [{ type: 'command', sudo: true, description: 'pull the images kubeadm lists for this config, and flannel\'s, that are missing', content: script(ctx, false) }];
  },
  async run(ctx, actions) {
    const { host } = boardOf(ctx);
    let pulled = 0;
    await runScript(ctx, host, actions[0]!.description, actions[0]!.content!, {
      sudo: true,
      timeoutMs: 60 * 60_000,
      onStdout: (l) => {
        const p = imageProgress(l);
        if (!p) return;
        if (l.includes(' pulled ')) pulled++;
        ctx.progress({ ...p, unit: 'images' });
      },
    });
    return { pulled };
  },
  async verify(ctx) {
    const { host } = boardOf(ctx);
    const r = await host.exec(script(ctx, true), { sudo: true, signal: ctx.signal, timeoutMs: 120_000 });
    return r.code === 0;
  },
};
