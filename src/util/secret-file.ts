// A generated secret in a file only the user can read (mode 0600), which the user chose: written once, never over
// a file that was there already (unless this very step wrote it before), and read back only when it is still
// the user's alone.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../engine/types.ts';

/** The secret in `file` (its first line), after checking the file is its owner's alone; `field` names the option. */
export function readSecretFile(file: string, field: string, minLength = 12): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new InputError(field, `${file} does not exist`, `write the password to it (chmod 600) or name another file with --set ${field}=PATH`);
  }
  if ((st.mode & 0o077) !== 0) throw new InputError(field, `${file} can be read by others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 600 ${file}`);
  const value = fs.readFileSync(file, 'utf8').split('\n')[0]!.trim();
  if (value.length < minLength) throw new InputError(field, `${file} does not hold a password of ${minLength} or more characters`, `remove the file to have a new one generated, or name another with --set ${field}=PATH`);
  return value;
}

/**
 * The secret of `file`: a new random one written with mode 0600 when the file is missing, the one in it when
 * `wroteBefore` (this step made it on an earlier run); any other existing file is the user's and is refused.
 */
export function ensureSecretFile(file: string, field: string, wroteBefore: boolean): { value: string; created: boolean } {
  const foreign = foreignSecretFile(file, field, wroteBefore);
  if (foreign) throw foreign;
  if (fs.existsSync(file)) return { value: readSecretFile(file, field), created: false };
  const value = randomBytes(24).toString('base64url');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // wx: never replace a file that appeared meanwhile.
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, created: true };
}

/** The refusal when `file` exists and this stage did not write it (never overwritten, never read), else undefined. */
export function foreignSecretFile(file: string, field: string, wroteBefore: boolean): InputError | undefined {
  if (wroteBefore || !fs.existsSync(file)) return undefined;
  return new InputError(field, `${file} exists already and was not written by this stage`, `name another file with --set ${field}=PATH, or move that one away`);
}

/** A random secret for machines (agent secrets and the like), never shown. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}
