// The CI port: the forge (Forgejo, or any forge with Gitea's API) and the CI server (Woodpecker) the ci stage
// drives over HTTP, and the registry's image list. Real: src/adapters/ci/ (HTTP and git); the practice lab:
// src/lab/ci.ts. Flows never see which. Passwords and secrets travel in requests only, never in a URL.

export interface ForgeLogin {
  /** e.g. http://192.168.1.40:30300 */
  url: string;
  user: string;
  password: string;
}

/** A forge or CI answer that was not what was asked for; `status` 0 when it could not be reached. */
export class ForgeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fix?: string,
  ) {
    super(fix ? `${message} (fix: ${fix})` : message);
    this.name = 'ForgeError';
  }
}

export interface OAuthApp {
  id: number;
  name: string;
  clientId: string;
  clientSecret: string;
}

/** The CI server as this computer reaches it, and the OAuth application it logs in to the forge with. */
export interface CiServer {
  /** e.g. http://192.168.1.40:30800 (WOODPECKER_HOST) */
  url: string;
  forge: ForgeLogin;
}

export interface CiAgent {
  name: string;
  /** Seconds since the epoch; 0: never. */
  lastContact: number;
}

export type PipelineStatus = 'pending' | 'running' | 'success' | 'failure' | 'error' | 'killed' | 'blocked' | 'declined';

export interface PipelineRun {
  number: number;
  commit: string;
  status: PipelineStatus;
  steps: Array<{ name: string; state: string; error?: string }>;
}

/** The registry as this computer reaches it (the registry stage's HOST:PORT, CA and login). */
export interface RegistryAccess {
  hostPort: string;
  caPem: string;
  user: string;
  password: string;
}

export interface CiPort {
  /** The forge's version and who the login is (admin or not). ForgeError 0: unreachable; 401: bad login. */
  forgeLogin(login: ForgeLogin, signal?: AbortSignal): Promise<{ version: string; user: string; admin: boolean }>;
  /** The OAuth2 application the CI logs in with; an old one of the same name is replaced (its secret is unknown). */
  oauthApp(login: ForgeLogin, name: string, redirectUri: string, signal?: AbortSignal): Promise<OAuthApp>;
  /** The login's OAuth2 applications (never their secrets). */
  oauthApps(login: ForgeLogin, signal?: AbortSignal): Promise<Array<{ id: number; name: string; clientId: string }>>;
  /** The commit at the head of `branch` of the login's repository `name`, or null (no such repository or branch). */
  branchHead(login: ForgeLogin, name: string, branch: string, signal?: AbortSignal): Promise<string | null>;
  /** The login's repository `name`, created empty when missing. */
  repository(login: ForgeLogin, name: string, branch: string, signal?: AbortSignal): Promise<{ cloneUrl: string; created: boolean }>;
  /** The files committed on `branch` (on top of what is there) and pushed over git. */
  push(login: ForgeLogin, cloneUrl: string, branch: string, files: Record<string, string>, message: string, signal?: AbortSignal): Promise<{ commit: string }>;
  /** The CI answers and the forge admin can log in to it through the OAuth application. */
  ciLogin(ci: CiServer, signal?: AbortSignal): Promise<{ version: string; user: string }>;
  /** Agents the CI server knows. */
  agents(ci: CiServer, signal?: AbortSignal): Promise<CiAgent[]>;
  /** The repository activated in the CI (the CI makes the forge's push webhook) and its secrets set by name. */
  activate(ci: CiServer, repo: string, secrets: Record<string, string>, signal?: AbortSignal): Promise<{ id: number; hooked: boolean }>;
  /** Whether the repository is active in the CI (a push runs its pipeline). */
  activated(ci: CiServer, repo: string, signal?: AbortSignal): Promise<boolean>;
  /** The CI's pipeline for `commit` of the repository, or null while there is none. */
  pipeline(ci: CiServer, repo: string, commit: string, signal?: AbortSignal): Promise<PipelineRun | null>;
  /** Probes until one gives a value or `timeoutMs` is up (pollFor, on the port's own clock). */
  poll<T>(probe: () => Promise<T | undefined>, o: { timeoutMs: number; pauseMs: number; signal?: AbortSignal }): Promise<T | undefined>;
  /** The tags of image repository `name` in the registry. */
  imageTags(registry: RegistryAccess, name: string, signal?: AbortSignal): Promise<string[]>;
}

/**
 * Probes until `probe` gives a value or the time is up (then undefined). `scale` stretches both the pauses and
 * the deadline: 1 for real servers, the practice lab's speed there (0: probe once).
 */
export async function pollFor<T>(probe: () => Promise<T | undefined>, o: { timeoutMs: number; pauseMs: number; scale: number; signal?: AbortSignal }): Promise<T | undefined> {
  const deadline = Date.now() + o.timeoutMs * o.scale;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) return undefined;
    o.signal?.throwIfAborted();
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, Math.min(o.pauseMs * o.scale, deadline - Date.now()))));
  }
}
