// boardkube's command line. Heavy parts (the wizard, the adapters) are loaded only by the command that needs
// them, so `--help` and the wizard's first frame do not wait for them.
import { resolve } from 'node:path';
import { InvalidClusterError } from '../cluster/validate.ts';
import { defaultStateDir } from '../engine/state-dir.ts';
import { InputError } from '../engine/types.ts';
import { HELP, parseCommandLine, type Parsed } from './args.ts';
import { VERSION } from './version.ts';
import { EXIT } from './exit.ts';

export async function main(argv: string[]): Promise<number> {
  let p: Parsed | undefined;
  try {
    p = parseCommandLine(argv);
    if (p.help) return process.stdout.write(HELP), EXIT.ok;
    if (p.version) return process.stdout.write(`${VERSION}\n`), EXIT.ok;
    const stateDir = resolve(p.stateDir ?? defaultStateDir());
    const commands = p.command === 'wizard' ? undefined : await import('./commands.ts');
    switch (p.command) {
      case 'init':
        return await commands!.cmdInit(p);
      case 'plan':
        return await commands!.cmdPlan(p, stateDir);
      case 'apply':
        return await commands!.cmdApply(p, stateDir);
      case 'status':
        if (p.all) return await (await import('./trainer.ts')).cmdStatusAll(p, stateDir);
        return await commands!.cmdStatus(p, stateDir);
      case 'reset':
        return await commands!.cmdReset(p, stateDir);
      case 'runbook':
        return await (await import('./trainer.ts')).cmdRunbook(p, stateDir);
      case 'workshop':
        return await (await import('./trainer.ts')).cmdWorkshop(p);
      case 'wizard': {
        const { runWizard } = await import('../../screens/run.tsx');
        return await runWizard({ clusterFile: p.file, lab: p.lab, stateDir, parallel: p.parallel, labFaults: p.labFaults, labFaultPlan: p.labFaultPlan });
      }
    }
  } catch (e) {
    if (e instanceof InputError || e instanceof InvalidClusterError) {
      process.stderr.write(`boardkube: ${e.message}\n`);
      return EXIT.input;
    }
    // By name: the state module (and conf behind it) is not loaded for --help.
    if ((e as Error).name === 'CorruptStateError') {
      process.stderr.write(`boardkube: ${(e as Error).message}\n  fix: open the wizard to start fresh (a copy of the file is kept), or move the file away\n`);
      return EXIT.input;
    }
    process.stderr.write(`boardkube: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
}
