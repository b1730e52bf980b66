// Step credentials: the registry password, generated here and written to a 0600 file the user chose. It never
// reaches the progress, a log or a command line; the cluster gets only its bcrypt hash (and the pull Secrets).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, type Step, type StepContext } from '../../src/engine/types.ts';
import { optionsOf } from './common.ts';

export const PASSWORD_SECRET = 'registry-password';

/** The password in the file, after checking the file is the user's alone. */
export function readPasswordFile(file: string): string {
  const st = fs.statSync(file);
  if ((st.mode & 0o077) !== 0) throw new InputError('password-file', `${file} can be read by others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 600 ${file}`);
  const pw = fs.readFileSync(file, 'utf8').split('\n')[0]!.trim();
  if (pw.length < 12) throw new InputError('password-file', `${file} does not hold a password of 12 or more characters`, 'remove the file to have a new one generated, or name another with --set password-file=PATH');
  return pw;
}

function wroteItBefore(ctx: StepContext, file: string): boolean {
  return ctx.outputOf('registry', 'credentials')?.passwordFile === file;
}

/** The refusal when the password file exists and this stage did not write it (never overwritten, never read). */
export function foreignPasswordFile(ctx: StepContext): InputError | undefined {
  const file = optionsOf(ctx).passwordFile;
  if (!fs.existsSync(file) || wroteItBefore(ctx, file)) return undefined;
  return new InputError('password-file', `${file} exists already and was not written by this stage`, 'name another file with --set password-file=PATH, or move that one away');
}

export const credentialsStep: Step = {
  id: 'credentials',
  title: 'Make the registry password',
  explain: 'Pushing images needs a password. boardkube makes a long random one and writes it to a file only you can read; the cluster keeps only its bcrypt hash.',
  plan(ctx) {
    const o = optionsOf(ctx);
    return [{ type: 'local', description: `generate a random password for user ${o.user} and write it to ${o.passwordFile} (mode 0600; an existing file of yours is never overwritten)`, path: o.passwordFile }];
  },
  async run(ctx) {
    const o = optionsOf(ctx);
    const foreign = foreignPasswordFile(ctx);
    if (foreign) throw foreign;
    if (fs.existsSync(o.passwordFile)) {
      ctx.secrets.set(PASSWORD_SECRET, readPasswordFile(o.passwordFile));
      ctx.log(`the password in ${o.passwordFile} is kept`);
    } else {
      const password = randomBytes(24).toString('base64url');
      fs.mkdirSync(path.dirname(o.passwordFile), { recursive: true, mode: 0o700 });
      // wx: never replace a file that appeared meanwhile.
      fs.writeFileSync(o.passwordFile, `${password}\n`, { mode: 0o600, flag: 'wx' });
      ctx.secrets.set(PASSWORD_SECRET, password);
      ctx.log(`wrote the registry password to ${o.passwordFile} (mode 0600)`);
    }
    return { passwordFile: o.passwordFile, user: o.user };
  },
  async verify(ctx) {
    const o = optionsOf(ctx);
    try {
      ctx.secrets.set(PASSWORD_SECRET, readPasswordFile(o.passwordFile));
      return true;
    } catch {
      return false;
    }
  },
};
