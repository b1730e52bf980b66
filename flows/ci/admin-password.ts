// Step admin-password: the forge admin's password, generated here and written to the 0600 file the user chose
// (an existing file of the user's is never overwritten). With an existing forge it is the user's own file, only
// read. It reaches the cluster only inside a Secret; never the progress, a log or a command line.
import type { Step } from '../../src/engine/types.ts';
import { ensureSecretFile, readSecretFile } from '../../src/util/secret-file.ts';
import { optionsOf, SECRETS } from './common.ts';

export const adminPasswordStep: Step = {
  id: 'admin-password',
  title: "Make the forge admin's password",
  explain: "The forge's admin owns the sample repository and is the CI's admin. boardkube makes a long random password and writes it to a file only you can read; you log in to the forge with it.",
  plan(ctx) {
    const o = optionsOf(ctx);
    return [
      o.forgeUrl
        ? { type: 'local', description: `read the password of ${o.adminUser} on ${o.forgeUrl} from ${o.adminPasswordFile} (yours, mode 0600; never written)`, path: o.adminPasswordFile }
        : { type: 'local', description: `generate a random password for the forge admin ${o.adminUser} and write it to ${o.adminPasswordFile} (mode 0600; an existing file of yours is never overwritten)`, path: o.adminPasswordFile },
    ];
  },
  async run(ctx) {
    const o = optionsOf(ctx);
    if (o.forgeUrl) {
      ctx.secrets.set(SECRETS.admin, readSecretFile(o.adminPasswordFile, 'admin-password-file', 1));
      return { passwordFile: o.adminPasswordFile, forge: o.forgeUrl };
    }
    const wroteBefore = ctx.outputOf('ci', 'admin-password')?.passwordFile === o.adminPasswordFile;
    const { value, created } = ensureSecretFile(o.adminPasswordFile, 'admin-password-file', wroteBefore);
    ctx.secrets.set(SECRETS.admin, value);
    ctx.log(created ? `wrote the forge admin's password to ${o.adminPasswordFile} (mode 0600)` : `the password in ${o.adminPasswordFile} is kept`);
    return { passwordFile: o.adminPasswordFile, forge: '' };
  },
  async verify(ctx) {
    const o = optionsOf(ctx);
    try {
      ctx.secrets.set(SECRETS.admin, readSecretFile(o.adminPasswordFile, 'admin-password-file', o.forgeUrl ? 1 : 12));
      return true;
    } catch {
      return false;
    }
  },
};
