// packages_fanout_ratio: the packages stage's upload step (the room check, SFTP of every package into root's
// /var/cache as an ordinary user with sudo, the sha256 read back on the board) on five real OpenSSH test boards at
// once over the same on one board, with the same packages (stand-ins of 8 MiB each, five of them: the upload never
// looks inside). 1.0 would be perfect fan-out; the aim is 1.5 or less. Median of 3 runs each.
import * as fs from 'node:fs';
import { BOARD_PACKAGE_DIR } from '../../flows/packages/options.ts';
import { uploadStep } from '../../flows/packages/upload.ts';
import { uploadRig } from '../harness/pacman-boards.ts';
import { median, type Metric } from './stats.ts';

export async function benchPackages(runs = 3): Promise<Metric[]> {
  const rig = await uploadRig(5, 8);
  try {
    const once = async (n: number): Promise<number> => {
      for (const b of rig.boards) fs.rmSync(b.path(BOARD_PACKAGE_DIR), { recursive: true, force: true });
      const nodes = rig.nodes.slice(0, n);
      const t0 = performance.now();
      await Promise.all(
        nodes.map(async (node) => {
          const ctx = rig.ctx(node);
          const missing = (await uploadStep.needs!(ctx)).filter((c) => !c.ok);
          if (missing.length) throw new Error(missing[0]!.what);
          await uploadStep.run!(ctx, []);
          if (!(await uploadStep.verify(ctx))) throw new Error(`the upload to ${node.name} does not verify`);
        }),
      );
      return performance.now() - t0;
    };
    await once(1); // connections up, caches warm
    const one: number[] = [];
    const five: number[] = [];
    for (let i = 0; i < runs; i++) {
      one.push(await once(1));
      five.push(await once(5));
    }
    const ratio = Math.round((median(five) / median(one)) * 100) / 100;
    return [{ metric: 'packages_fanout_ratio', median: ratio, unit: 'ratio', runs, one_board_ms: median(one), five_boards_ms: median(five), packages: rig.files.length, mib_per_package: 8, boards: 'real OpenSSH test boards (system-board harness), ordinary user with sudo' }];
  } finally {
    await rig.stop();
  }
}
