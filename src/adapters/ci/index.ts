// The real CI port: the forge's API and git (flows/ci/forge.ts), Woodpecker's API (woodpecker.ts) and the
// registry's tag list over TLS checked with the cluster CA.
import * as https from 'node:https';
import { branchHead, checkLogin, ensureOAuthApp, ensureRepo, listOAuthApps, pushFiles } from '../../../flows/ci/forge.ts';
import { ForgeError, pollFor, type CiPort, type RegistryAccess } from '../../ports/ci.ts';
import { woodpeckerActivate, woodpeckerActivated, woodpeckerAgents, woodpeckerLogin, woodpeckerPipeline } from './woodpecker.ts';

export function registryTags(r: RegistryAccess, name: string, signal?: AbortSignal): Promise<string[]> {
  const [host, port] = [r.hostPort.slice(0, r.hostPort.lastIndexOf(':')), Number(r.hostPort.slice(r.hostPort.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host, port, path: `/v2/${name}/tags/list`, ca: r.caPem, auth: `${r.user}:${r.password}`, signal, timeout: 30_000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          if (res.statusCode === 404) return resolve([]);
          if (res.statusCode !== 200) return reject(new ForgeError(res.statusCode ?? 0, `the registry at ${r.hostPort} answered ${res.statusCode} for /v2/${name}/tags/list`, res.statusCode === 401 ? 'check the registry password file (registry stage)' : undefined));
          resolve(((JSON.parse(body) as { tags?: string[] | null }).tags ?? []).slice());
        });
      },
    );
    req.on('error', (err) => reject(new ForgeError(0, `the registry at ${r.hostPort} cannot be reached: ${err.message}`, 'run the registry stage again')));
  });
}

export class RealCi implements CiPort {
  forgeLogin = checkLogin;
  oauthApp = ensureOAuthApp;
  oauthApps = listOAuthApps;
  branchHead = branchHead;
  repository = ensureRepo;
  push = pushFiles;
  ciLogin = woodpeckerLogin;
  agents = woodpeckerAgents;
  activate = woodpeckerActivate;
  activated = woodpeckerActivated;
  pipeline = woodpeckerPipeline;
  imageTags = registryTags;
  poll<T>(probe: () => Promise<T | undefined>, o: { timeoutMs: number; pauseMs: number; signal?: AbortSignal }): Promise<T | undefined> {
    return pollFor(probe, { ...o, scale: 1 });
  }
}
