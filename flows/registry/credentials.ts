// Step credentials: the registry password, generated here and written to a 0600 file the user chose. It never
// reaches the progress, a log or a command line; the cluster gets only its bcrypt hash (and the pull Secrets).
import { type Step, type StepContext } from '../../src/engine/types.ts';
import { ensureSecretFile, foreignSecretFile, readSecretFile } from '../../src/util/secret-file.ts';
import { optionsOf } from './common.ts';

export const PASSWORD_SECRET = 'registry-password';
const FIELD = 'password-file';

/** The password in the file, after checking the file is the user's alone. */
export function readPasswordFile(file: string): string {
  return readSecretFile(file, FIELD);
}

function wroteItBefore(ctx: StepContext, file: string): boolean {
  return ctx.outputOf('registry', 'credentials')?.passwordFile === file;
}

/** The refusal when the password file exists and this stage did not write it (never overwritten, never read). */
export function foreignPasswordFile(ctx: StepContext): ReturnType<typeof foreignSecretFile> {
  const file = optionsOf(ctx).passwordFile;
  return foreignSecretFile(file, FIELD, wroteItBefore(ctx, file));
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
    const { value, created } = ensureSecretFile(o.passwordFile, FIELD, wroteItBefore(ctx, o.passwordFile));
    ctx.secrets.set(PASSWORD_SECRET, value);
    ctx.log(created ? `wrote the registry password to ${o.passwordFile} (mode 0600)` : `the password in ${o.passwordFile} is kept`);
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
