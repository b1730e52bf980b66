// The practice lab's CI port: a forge and a Woodpecker that answer only as far as the lab's cluster holds them.
// A URL reaches a forge, a CI or a registry when a NodePort Service of that port has a ready Deployment behind
// it (as on the boards); the forge admin is the one the admin Job made from its Secret; the CI logs in through
// the forge's OAuth application only with the ID, secret and redirect that application has; a push to an
// activated repository makes a pipeline that does what its .woodpecker.yaml says: the build pushes the image
// named by --destination (to the lab registry), the deploy step sets the Deployment's image as kubectl would.
// Saved with the lab (world part "ci"): only hashes of secrets, never a value.
//
// Practice faults (--lab-fault ci:FAULT, on until ci:none): the forge rejects the CI's OAuth login; the agent
// cannot reach the server (it runs, the server lists no agent); pipeline steps stay pending (their volume claim
// finds no storage: a Pending PersistentVolumeClaim in the ci namespace).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { parse } from 'yaml';
import type { Json } from '../engine/types.ts';
import { ForgeError, pollFor, type CiAgent, type CiPort, type CiServer, type ForgeLogin, type OAuthApp, type PipelineRun, type RegistryAccess } from '../ports/ci.ts';
import { secretValue, type ClusterPort, type KubeObject } from '../ports/cluster.ts';
import type { LabCluster } from './cluster/port.ts';
import { labSecretHash, sameSecret } from './cluster/snapshot.ts';
import { keyOf } from './cluster/state.ts';

export const LAB_CI_FAULTS = {
  'oauth-rejected': "the forge rejects the CI's OAuth login",
  'agent-unreachable': 'the Woodpecker agent cannot reach the server',
  'pipeline-pending': 'pipeline steps stay pending: their volume claim finds no storage',
} as const;
export type LabCiFault = keyof typeof LAB_CI_FAULTS;

interface LabApp {
  id: number;
  name: string;
  owner: string;
  clientId: string;
  secretHash: string;
  redirect: string;
}

interface LabRepo {
  head: string | null;
  pipelineFile?: string;
}

interface LabPipeline extends PipelineRun {
  repo: string;
  createdAt: number;
}

interface LabCiState {
  faults: LabCiFault[];
  /** Forge admins the admin Job made: "namespace/user" -> hash of the password it was given. */
  admins: Record<string, string>;
  apps: LabApp[];
  repos: Record<string, LabRepo>;
  active: Record<string, { id: number; secrets: string[] }>;
  pipelines: LabPipeline[];
  images: Record<string, string[]>;
  nextId: number;
}

export interface LabCiWorld {
  part(name: string): Json | undefined;
  attach(name: string, snapshot: () => Json): void;
  persist(): void;
  speed: number;
}

const FORGE_VERSION = '16.0.0+gitea-1.22.0 (practice lab)';
const CI_VERSION = '3.18.0 (practice lab)';
/** How long a lab pipeline runs, at speed 1. */
const PIPELINE_MS = 8000;

function blank(): LabCiState {
  return { faults: [], admins: {}, apps: [], repos: {}, active: {}, pipelines: [], images: {}, nextId: 1 };
}

function label(o: KubeObject, key: string): string | undefined {
  return ((o.metadata.labels ?? {}) as Record<string, string>)[key];
}

function refused(url: string): ForgeError {
  const u = new URL(url);
  return new ForgeError(0, `${u.origin} cannot be reached: connect ECONNREFUSED ${u.hostname}:${u.port}`, 'check the address and that the server runs');
}

export class LabCi implements CiPort {
  readonly #s: LabCiState;

  constructor(
    private readonly world: LabCiWorld,
    private readonly cluster: ClusterPort & Pick<LabCluster, 'onJobComplete'>,
    private readonly nodeAddresses: readonly string[],
  ) {
    const saved = world.part('ci') as unknown as LabCiState | undefined;
    this.#s = saved && typeof saved === 'object' && Array.isArray(saved.apps) ? saved : blank();
    this.#s.admins ??= {};
    world.attach('ci', () => this.#s as unknown as Json);
    // The forge's admin Job: the admin is in the forge's database from then on, whatever happens to the Job.
    cluster.onJobComplete((job, get) => {
      if (label(job, 'app.kubernetes.io/name') !== 'forgejo-admin') return;
      const ns = job.metadata.namespace!;
      const secret = get(keyOf('v1', 'Secret', ns, 'forgejo-admin'));
      const user = secretValue(secret ?? null, 'user');
      const password = secretValue(secret ?? null, 'password');
      if (user && password) this.#s.admins[`${ns}/${user}`] = labSecretHash(password);
    });
  }

  static faultsOf(world: Pick<LabCiWorld, 'part'>): LabCiFault[] {
    return ((world.part('ci') as unknown as LabCiState | undefined)?.faults ?? []).slice();
  }

  /** Switches faults on ('none': all off), in the order given; kept with the lab until ci:none. */
  static setFaults(world: LabCiWorld, faults: ReadonlyArray<LabCiFault | 'none'>): void {
    const saved = world.part('ci') as unknown as LabCiState | undefined;
    const s = saved && typeof saved === 'object' && Array.isArray(saved.apps) ? saved : blank();
    for (const f of faults) s.faults = f === 'none' ? [] : [...new Set([...s.faults, f])];
    // The same object a LabCi opened later takes up (world.part returns it).
    world.attach('ci', () => s as unknown as Json);
    world.persist();
  }

  #save(): void {
    this.world.persist();
  }

  /** The namespace whose NodePort Service `name` answers at `url`, with a ready Deployment behind it. */
  async #serving(url: string, name: string): Promise<string> {
    const u = new URL(url);
    if (!this.nodeAddresses.includes(u.hostname)) throw refused(url);
    const services = await this.cluster.list('v1', 'Service');
    const svc = services.find((s) => ((s.spec as { ports?: Array<{ nodePort?: number }> } | undefined)?.ports ?? []).some((p) => p.nodePort === Number(u.port)));
    if (!svc || svc.metadata.name !== name) throw refused(url);
    const ns = svc.metadata.namespace!;
    const d = await this.cluster.get('apps/v1', 'Deployment', name, ns);
    if (((d?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) === 0) throw refused(url);
    return ns;
  }

  async #secret(ns: string, name: string, key: string): Promise<string | undefined> {
    return secretValue(await this.cluster.get('v1', 'Secret', name, ns), key);
  }

  async #auth(login: ForgeLogin): Promise<string> {
    const ns = await this.#serving(login.url, 'forgejo');
    const hash = this.#s.admins[`${ns}/${login.user}`];
    if (hash === undefined || !sameSecret(hash, login.password)) {
      throw new ForgeError(401, `the forge at ${login.url} refused the login of ${login.user} (GET /user: 401)`, 'check the user and password');
    }
    return ns;
  }

  async forgeLogin(login: ForgeLogin): Promise<{ version: string; user: string; admin: boolean }> {
    await this.#auth(login);
    return { version: FORGE_VERSION, user: login.user, admin: true };
  }

  async oauthApps(login: ForgeLogin): Promise<Array<{ id: number; name: string; clientId: string }>> {
    await this.#auth(login);
    return this.#s.apps.filter((a) => a.owner === login.user).map((a) => ({ id: a.id, name: a.name, clientId: a.clientId }));
  }

  async oauthApp(login: ForgeLogin, name: string, redirectUri: string): Promise<OAuthApp> {
    await this.#auth(login);
    this.#s.apps = this.#s.apps.filter((a) => !(a.owner === login.user && a.name === name));
    const clientSecret = `gto_${randomBytes(24).toString('base64url')}`;
    const app: LabApp = { id: this.#s.nextId++, name, owner: login.user, clientId: randomUUID(), secretHash: labSecretHash(clientSecret), redirect: redirectUri };
    this.#s.apps.push(app);
    this.#save();
    return { id: app.id, name, clientId: app.clientId, clientSecret };
  }

  async branchHead(login: ForgeLogin, name: string): Promise<string | null> {
    await this.#auth(login);
    return this.#s.repos[`${login.user}/${name}`]?.head ?? null;
  }

  async repository(login: ForgeLogin, name: string): Promise<{ cloneUrl: string; created: boolean }> {
    await this.#auth(login);
    const key = `${login.user}/${name}`;
    const created = !this.#s.repos[key];
    if (created) this.#s.repos[key] = { head: null };
    this.#save();
    return { cloneUrl: `${login.url}/${key}.git`, created };
  }

  async push(login: ForgeLogin, cloneUrl: string, _branch: string, files: Record<string, string>): Promise<{ commit: string }> {
    await this.#auth(login);
    const key = new URL(cloneUrl).pathname.replace(/^\//, '').replace(/\.git$/, '');
    const repo = this.#s.repos[key];
    if (!repo) throw new ForgeError(0, `git cannot reach ${cloneUrl}: remote: Not found`, 'check the forge URL and the login');
    const commit = createHash('sha1').update(`${repo.head ?? ''}\n${JSON.stringify(files)}\n${Date.now()}\n${randomBytes(8).toString('hex')}`).digest('hex');
    repo.head = commit;
    repo.pipelineFile = files['.woodpecker.yaml'];
    // The forge's webhook: only an activated repository has one.
    if (this.#s.active[key]) this.#s.pipelines.push({ repo: key, number: this.#s.pipelines.filter((p) => p.repo === key).length + 1, commit, status: 'pending', steps: [], createdAt: Date.now() });
    this.#save();
    return { commit };
  }

  /** The CI's namespace, once the forge admin has logged in to it through the OAuth application. */
  async #ciAuth(ci: CiServer): Promise<string> {
    const ns = await this.#serving(ci.url, 'woodpecker-server');
    await this.#auth(ci.forge);
    const client = await this.#secret(ns, 'woodpecker-secrets', 'WOODPECKER_FORGEJO_CLIENT');
    const secret = await this.#secret(ns, 'woodpecker-secrets', 'WOODPECKER_FORGEJO_SECRET');
    const app = this.#s.apps.find((a) => client !== undefined && sameSecret(client, a.clientId));
    const fix = "run the stage again: the oauth-app step makes a new application with the CI's redirect address and the CI gets its new ID and secret";
    if (this.#s.faults.includes('oauth-rejected')) throw new ForgeError(401, "the forge did not authorize the CI's OAuth application: unauthorized_client: invalid client ID or secret (practice-lab fault ci:oauth-rejected)", fix);
    if (!app) throw new ForgeError(400, "the forge did not authorize the CI's OAuth application: Client ID not registered", fix);
    if (app.redirect !== `${ci.url}/authorize`) throw new ForgeError(400, `the forge did not authorize the CI's OAuth application: Unregistered Redirect URI ${ci.url}/authorize`, fix);
    if (secret === undefined || !sameSecret(secret, app.secretHash)) throw new ForgeError(401, `the CI at ${ci.url} did not finish the OAuth login (the forge answered invalid_client: wrong client secret)`, fix);
    return ns;
  }

  async ciLogin(ci: CiServer): Promise<{ version: string; user: string }> {
    await this.#ciAuth(ci);
    return { version: CI_VERSION, user: ci.forge.user };
  }

  async agents(ci: CiServer): Promise<CiAgent[]> {
    const ns = await this.#ciAuth(ci);
    if (this.#s.faults.includes('agent-unreachable')) return [];
    const agent = await this.cluster.get('apps/v1', 'Deployment', 'woodpecker-agent', ns);
    const ready = ((agent?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) > 0;
    return ready ? [{ name: 'woodpecker-agent-lab', lastContact: Math.floor(Date.now() / 1000) }] : [];
  }

  async activated(ci: CiServer, repo: string): Promise<boolean> {
    await this.#ciAuth(ci);
    return this.#s.active[`${ci.forge.user}/${repo}`] !== undefined;
  }

  async activate(ci: CiServer, repo: string, secrets: Record<string, string>): Promise<{ id: number; hooked: boolean }> {
    await this.#ciAuth(ci);
    const key = `${ci.forge.user}/${repo}`;
    if (!this.#s.repos[key]) throw new ForgeError(404, `the CI does not see repository ${key} on the forge`, 'run the stage again (the sample step creates it)');
    const had = this.#s.active[key];
    this.#s.active[key] = { id: had?.id ?? this.#s.nextId++, secrets: [...new Set([...(had?.secrets ?? []), ...Object.keys(secrets)])] };
    this.#save();
    return { id: this.#s.active[key].id, hooked: !had };
  }

  async pipeline(ci: CiServer, repo: string, commit: string): Promise<PipelineRun | null> {
    const ns = await this.#ciAuth(ci);
    const key = `${ci.forge.user}/${repo}`;
    const p = this.#s.pipelines.find((x) => x.repo === key && x.commit === commit);
    if (!p) return null;
    if (p.status === 'pending') await this.#advance(p, ns);
    const { repo: _r, createdAt: _c, ...run } = p;
    return structuredClone(run);
  }

  /** A pending pipeline runs once an agent takes it and its workspace volume is bound. */
  async #advance(p: LabPipeline, ns: string): Promise<void> {
    if (this.#s.faults.includes('agent-unreachable')) return;
    if (this.#s.faults.includes('pipeline-pending')) {
      const claim = `wp-${p.number}-${p.commit.slice(0, 8)}-default`;
      if (!(await this.cluster.get('v1', 'PersistentVolumeClaim', claim, ns))) {
        await this.cluster.apply([{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim, namespace: ns }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1G' } } } }]);
      }
      // No provisioner and no volume: the claim stays Pending, and the step's pod with it.
      const c = await this.cluster.get('v1', 'PersistentVolumeClaim', claim, ns);
      if (c && (c.status as { phase?: string } | undefined)?.phase !== 'Pending') await this.cluster.apply([{ ...c, status: { phase: 'Pending' } }]).catch(() => undefined);
      p.steps = [{ name: 'build', state: 'pending' }, { name: 'deploy', state: 'pending' }];
      this.#save();
      return;
    }
    if (Date.now() - p.createdAt < PIPELINE_MS * this.world.speed) {
      p.status = 'running';
      p.steps = [{ name: 'build', state: 'running' }, { name: 'deploy', state: 'pending' }];
      this.#save();
      return;
    }
    await this.#run(p);
    this.#save();
  }

  async #run(p: LabPipeline): Promise<void> {
    const file = this.#s.repos[p.repo]?.pipelineFile;
    const doc = file ? (parse(file) as { steps?: Array<{ name: string; commands?: string[]; environment?: Record<string, { from_secret?: string }> }> }) : undefined;
    if (!doc?.steps?.length) {
      p.status = 'error';
      p.steps = [];
      return;
    }
    p.steps = [];
    const sub = (t: string) => t.replace(/\$\{CI_COMMIT_SHA\}/g, p.commit);
    for (const step of doc.steps) {
      const error = await this.#step(p, step, sub);
      p.steps.push({ name: step.name, state: error ? 'failure' : 'success', ...(error ? { error } : {}) });
      if (error) {
        p.status = 'failure';
        return;
      }
    }
    p.status = 'success';
  }

  async #step(p: LabPipeline, step: { commands?: string[]; environment?: Record<string, { from_secret?: string }> }, sub: (t: string) => string): Promise<string | undefined> {
    for (const secret of Object.values(step.environment ?? {})) {
      if (secret.from_secret && !this.#s.active[p.repo]?.secrets.includes(secret.from_secret)) return `secret "${secret.from_secret}" not found`;
    }
    for (const cmd of (step.commands ?? []).map(sub)) {
      const dest = /--destination "([^"]+)"/.exec(cmd)?.[1];
      if (dest) {
        const [hostPort, nameTag] = [dest.slice(0, dest.indexOf('/')), dest.slice(dest.indexOf('/') + 1)];
        const up = await this.#serving(`http://${hostPort}`, 'registry').then(() => true, () => false);
        if (!up) return `error pushing image ${dest}: dial tcp ${hostPort}: connect: connection refused`;
        const [name, tag] = nameTag.split(':') as [string, string];
        this.#s.images[name] = [...new Set([...(this.#s.images[name] ?? []), tag])];
      }
      const set = /kubectl -n (\S+) set image deployment\/(\S+) (\S+)="([^"]+)"/.exec(cmd);
      if (set) {
        const [, ns, name, container, image] = set as unknown as [string, string, string, string, string];
        const d = await this.cluster.get('apps/v1', 'Deployment', name, ns);
        if (!d) return `Error from server (NotFound): deployments.apps "${name}" not found`;
        const spec = structuredClone(d.spec) as { template: { spec: { containers: Array<{ name: string; image: string }> } } };
        const c = spec.template.spec.containers.find((x) => x.name === container);
        if (!c) return `error: unable to find container named "${container}"`;
        c.image = image;
        await this.cluster.apply([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns }, spec }]);
      }
    }
    return undefined;
  }

  async imageTags(r: RegistryAccess, name: string): Promise<string[]> {
    await this.#serving(`https://${r.hostPort}`, 'registry');
    return (this.#s.images[name] ?? []).slice();
  }

  poll<T>(probe: () => Promise<T | undefined>, o: { timeoutMs: number; pauseMs: number; signal?: AbortSignal }): Promise<T | undefined> {
    return pollFor(probe, { ...o, scale: this.world.speed });
  }
}
