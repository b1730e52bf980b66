// A download that cannot be reached: the real downloader against a port where nothing listens (this machine has no
// internet either). The message names the URL and the way out without internet (source=bundle=DIR); a bundle that
// lacks a file is refused naming it.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalMachine } from '../../../src/adapters/local/local.ts';
import { LocalWorkbench } from '../../../src/adapters/local/workbench.ts';
import { findBoard } from '../../../src/boards/index.ts';
import { DEFAULT_RELEASE } from '../../../src/catalog/versions.ts';
import { defaultCluster } from '../../../src/cluster/spec.ts';
import { MemorySecrets } from '../../../src/engine/secrets.ts';
import type { Ports, StepContext } from '../../../src/engine/types.ts';
import type { OpOptions } from '../../../src/ports/disks.ts';
import { downloadStep } from '../../../flows/packages/download.ts';
import { parsePackagesOptions } from '../../../flows/packages/options.ts';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

class Unreachable extends LocalWorkbench {
  constructor(dir: string, private readonly port: number) {
    super(dir, new LocalMachine());
  }
  #map = (url: string) => url.replace(/^https:\/\//, `http://127.0.0.1:${this.port}/`);
  override fetch(url: string, dest: string, opts?: OpOptions) {
    return super.fetch(this.#map(url), dest, { ...opts });
  }
  override fetchText(url: string, signal?: AbortSignal) {
    return super.fetchText(this.#map(url), signal);
  }
}

function ctx(wb: LocalWorkbench, raw: Record<string, unknown>): StepContext {
  const cluster = defaultCluster('/nonexistent');
  return {
    cluster,
    board: findBoard(cluster.board)!,
    release: DEFAULT_RELEASE,
    node: null,
    ports: { mode: 'real', workbench: wb, local: new LocalMachine() } as unknown as Ports,
    signal: new AbortController().signal,
    log: () => {},
    progress: () => {},
    outputOf: () => undefined,
    options: parsePackagesOptions(raw, cluster) as unknown as Record<string, unknown>,
    secrets: new MemorySecrets(),
  };
}

describe('downloads that cannot be had', () => {
  it('names the URL and suggests bundle=DIR when the host cannot be reached', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packages-unreachable-'));
    const c = ctx(new Unreachable(dir, await closedPort()), {});
    await expect(downloadStep.run!(c, [])).rejects.toThrow(/cannot fetch the checksum https:\/\/dl\.k8s\.io\/release\/v1\.37\.2\/bin\/linux\/arm64\/kubeadm\.sha256: [\s\S]*fix: .*source=bundle=DIR/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses a bundle folder without the files, naming the one missing', async () => {
    const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'packages-bundle-'));
    const c = ctx(new Unreachable(fs.mkdtempSync(path.join(os.tmpdir(), 'packages-wb-')), await closedPort()), { source: `bundle=${bundle}` });
    await expect(downloadStep.run!(c, [])).rejects.toThrow(/the bundle .* has no kubeadm\.sha256/);
    fs.writeFileSync(path.join(bundle, 'kubeadm.sha256'), `${'a'.repeat(64)}  kubeadm\n`);
    await expect(downloadStep.run!(c, [])).rejects.toThrow(/the bundle .* has no kubeadm \(fix: copy the bundle again/);
  });
});
