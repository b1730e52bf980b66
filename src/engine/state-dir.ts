import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where progress and logs live: $BOARDKUBE_STATE_DIR, else conf's place ($XDG_CONFIG_HOME or ~/.config)/boardkube. */
export function defaultStateDir(): string {
  if (process.env.BOARDKUBE_STATE_DIR) return process.env.BOARDKUBE_STATE_DIR;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'boardkube');
}
