// Before `connect`, for boards flashed by hand (boardkube's flash stage puts the key on the card itself): the
// Arch Linux ARM image lets `alarm` log in with a password, but not root. With the user's consent
// (`--set first-login=arch-defaults`) this step logs in once as alarm, becomes root with `su -` and adds the key
// from the cluster file to /root/.ssh/authorized_keys; every later step logs in with the key.
import { readFileSync } from 'node:fs';
import type { ClusterSpec } from '../../src/cluster/spec.ts';
import { InputError, type Step, type StepContext } from '../../src/engine/types.ts';
import { authorizeKeyScript, HostError, publicKeyBody } from '../../src/ports/host.ts';
import { expandHome } from '../../src/util/paths.ts';
import { boardOf } from './common.ts';

/** The stage option (CLI `--set first-login=arch-defaults`) that allows logging in with the Arch defaults once. */
export const FIRST_LOGIN_OPTION = 'first-login';
export const ARCH_DEFAULTS = 'arch-defaults';
/** Arch Linux ARM's first-boot accounts (alarm/alarm, root/root); secrets of these names override the passwords. */
export const DEFAULT_USER = 'alarm';
export const DEFAULT_USER_PASSWORD_SECRET = 'default-user-password';
export const ROOT_PASSWORD_SECRET = 'root-password';

export const NOT_OPTED_IN_FIX =
  'flash it with boardkube, or rerun with --set first-login=arch-defaults to log in once as alarm/alarm and install the key';

export function optedIn(options: Record<string, unknown>): boolean {
  return options[FIRST_LOGIN_OPTION] === ARCH_DEFAULTS;
}

/** Refuses a first-login value other than arch-defaults (other --set names belong to other stages). */
export function checkFirstLoginOption(raw: Record<string, unknown>): void {
  const v = raw[FIRST_LOGIN_OPTION];
  if (v !== undefined && v !== ARCH_DEFAULTS) {
    throw new InputError(FIRST_LOGIN_OPTION, `"${String(v)}" is not a way to log in the first time`, `--set first-login=${ARCH_DEFAULTS} (log in once as alarm/alarm and install your key), or leave it out`);
  }
}

/** The public key line beside the cluster's private key. */
export function readPublicKey(cluster: ClusterSpec): string {
  const file = `${expandHome(cluster.ssh.keyPath)}.pub`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new InputError('ssh.keyPath', `the public key ${file} cannot be read`, `create the key pair with \`ssh-keygen -t ed25519 -f ${cluster.ssh.keyPath}\`, or point ssh.keyPath at an existing one`);
  }
  const line = text.split('\n').find((l) => l.trim() && !l.startsWith('#'))?.trim() ?? '';
  try {
    publicKeyBody(line);
  } catch (e) {
    throw new InputError('ssh.keyPath', `${file}: ${(e as Error).message}`, `point ssh.keyPath at a key made with ssh-keygen (its .pub beside it)`);
  }
  return line;
}

/** A HostError 'auth' from the key login, told as "not installed yet" with the two ways out. */
export function keyNotInstalled(node: string, e: HostError): HostError {
  return new HostError('auth', `${node} does not accept your key yet (${e.message.split('\n')[0]})`, NOT_OPTED_IN_FIX);
}

async function keyLoginWorks(ctx: StepContext): Promise<boolean> {
  const { host } = boardOf(ctx);
  try {
    await host.connect(ctx.signal);
    return true;
  } catch (e) {
    if (e instanceof HostError && e.kind === 'auth') return false;
    throw e;
  }
}

export const firstLoginStep: Step = {
  id: 'first-login',
  title: 'First login with the Arch defaults (boards flashed by hand)',
  explain:
    'A card flashed by hand does not carry your SSH key, and root may not log in with a password. This step logs in once as alarm (password alarm), becomes root with su (password root) and adds your public key to /root/.ssh/authorized_keys. Boards that accept your key already skip it.',
  // Only with the user's consent: without it, connect tells how to get the key onto a board that refuses it.
  nodes: (cluster, options) => (optedIn(options) ? cluster.nodes : []),
  async skip(ctx) {
    try {
      if (await keyLoginWorks(ctx)) return 'the board accepts your key already';
      return undefined;
    } catch (e) {
      // Unreachable, changed host key, ...: the connect step says so with its fixes.
      return `cannot tell yet (${(e as Error).message.split('\n')[0]}): the connect step reports it`;
    }
  },
  plan(ctx) {
    const user = ctx.cluster.ssh.user;
    const su = user === 'root' ? 'root with `su -`' : `${user} with \`su - ${user}\``;
    const file = user === 'root' ? '/root/.ssh/authorized_keys' : `~${user}/.ssh/authorized_keys`;
    let key: string;
    try {
      key = readPublicKey(ctx.cluster);
    } catch {
      // The plan still shows the script; the run refuses a missing key.
      key = 'ssh-ed25519 AAAAPUBLICKEYFROMSSHKEYPATHPUB you@computer';
    }
    return [
      {
        type: 'command',
        description: `log in as ${DEFAULT_USER} with its password, become ${su} (the password typed at su's prompt, never on a command line), then add your public key (${ctx.cluster.ssh.keyPath}.pub) to ${file}`,
        content: authorizeKeyScript(key),
        sudo: true,
      },
    ];
  },
  async run(ctx) {
    const { node, host } = boardOf(ctx);
    if (!optedIn(ctx.options)) throw new HostError('auth', `${node.name} does not accept your key yet`, NOT_OPTED_IN_FIX);
    if (!host.installKeyWithPassword) throw new Error(`this connection to ${node.name} cannot log in with a password`);
    const publicKey = readPublicKey(ctx.cluster);
    const password = ctx.secrets.get(DEFAULT_USER_PASSWORD_SECRET) ?? 'alarm';
    const rootPassword = ctx.secrets.get(ROOT_PASSWORD_SECRET) ?? 'root';
    ctx.log(`logging in as ${DEFAULT_USER} with a password, then su - to add the key`);
    await host.installKeyWithPassword({ user: DEFAULT_USER, password, rootPassword, publicKey, signal: ctx.signal });
    ctx.log(`the key is in ~${ctx.cluster.ssh.user}/.ssh/authorized_keys`);
    return { user: DEFAULT_USER, key: publicKeyBody(publicKey).split(' ')[0]! };
  },
  async verify(ctx) {
    try {
      return await keyLoginWorks(ctx);
    } catch (e) {
      if (e instanceof HostError && e.kind === 'host-key-changed') throw e;
      return false;
    }
  },
};
