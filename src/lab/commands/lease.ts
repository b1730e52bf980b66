// The practice lab's answers to the engine's board-lease scripts (src/engine/lease.ts): the lab's boards keep
// a lease file like real ones, with the same compare-and-swap, so the same rules hold in a rehearsal.
import { createHash } from 'node:crypto';
import type { LabBoardData } from '../board.ts';
import { registerLabCommands } from '../commands.ts';
import { boardClock, bootId } from './configure.ts';

/** The script's `name='value'` assignments (values single-quoted the way the engine quotes them). */
function vars(script: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of script.matchAll(/^(\w+)='((?:[^']|'\\'')*)'$/gm)) out[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  return out;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Whole seconds since the board's current boot (the lab starts counting when it first sees a boot id). */
function uptime(b: LabBoardData): number {
  const boot = bootId(b);
  const seen = b.facts.leaseBoot as { boot?: string; at?: number } | undefined;
  if (seen?.boot !== boot || typeof seen.at !== 'number') b.facts.leaseBoot = { boot, at: Date.now() };
  return Math.floor((Date.now() - (b.facts.leaseBoot as { at: number }).at) / 1000);
}

const clocks = (b: LabBoardData) => `boot=${bootId(b)}\nuptime=${uptime(b)}\n`;

const FOREIGN_RUN = 'lab-another-computer';

/**
 * The leased-elsewhere fault: another computer's run holds the board, renewing its lease on every look, until a
 * run takes it over (--force-unlock), which ends the fault.
 */
function foreignLease(b: LabBoardData, path: string): void {
  if (!b.faults.includes('leased-elsewhere')) return;
  const current = b.files[path];
  if (current !== undefined && !current.includes(`\nrun=${FOREIGN_RUN}\n`)) {
    b.faults = b.faults.filter((f) => f !== 'leased-elsewhere');
    return;
  }
  const started = new Date(Date.now() - 5 * 60_000).toISOString();
  const lease = [`node=${b.node}`, 'cluster=homelab', 'computer=trainer-laptop', 'progress=/home/trainer/.config/boardkube/homelab.json', `run=${FOREIGN_RUN}`, 'command=boardkube apply -f homelab.yaml (practice lab: the leased-elsewhere fault)', 'pid=4242', `started=${started}`, 'ttl=90'];
  b.files[path] = `${lease.join('\n')}\n${clocks(b)}renewed=${boardClock(b)}\n`;
}

registerLabCommands([
  {
    name: 'board lease: read',
    match: /^# boardkube board lease: read\n/,
    run: (b, _m, script) => {
      const path = vars(script).f ?? '';
      foreignLease(b, path);
      const file = b.files[path] ?? '';
      return { stdout: `now=${boardClock(b)}\n${clocks(b)}hash=${sha256(file)}\n--\n${file}`, ms: 60 };
    },
  },
  {
    name: 'board lease: write (compare and swap)',
    match: /^# boardkube board lease: write\n/,
    run: (b, _m, script) => {
      const v = vars(script);
      const path = v.f ?? '';
      if (sha256(b.files[path] ?? '') !== v.expected) return { stdout: 'changed\n', ms: 60 };
      if (/^remove=yes$/m.test(script)) {
        delete b.files[path];
        return { stdout: 'removed\n', ms: 60 };
      }
      b.files[path] = `${v.content ?? ''}\n${clocks(b)}renewed=${boardClock(b)}\n`;
      // Taken over from the other computer (--force-unlock): that run has lost the board.
      foreignLease(b, path);
      return { stdout: `written ${sha256(b.files[path])}\n`, ms: 60 };
    },
  },
]);
