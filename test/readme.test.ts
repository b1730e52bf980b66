// The README's prerequisites are what CI installs, so following the README on a fresh machine is what CI does.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const ci = readFileSync(join(root, '.ci/run'), 'utf8');

/** The words of .ci/run's packages=(...) array, comments left out. */
function ciPackages(): string[] {
  const words: string[] = [];
  for (const line of ci.slice(ci.indexOf('packages=(') + 'packages=('.length).split('\n')) {
    const code = line.split('#')[0]!;
    words.push(...code.split(')')[0]!.split(/\s+/).filter(Boolean));
    if (code.includes(')')) break;
  }
  return words;
}

/** The packages of the README's test install command (the block after "exactly the list `.ci/run` installs"). */
function readmePackages(): string[] {
  const from = readme.indexOf('exactly the list `.ci/run` installs');
  const block = readme.slice(readme.indexOf('--no-install-recommends', from), readme.indexOf('```', readme.indexOf('--no-install-recommends', from)));
  return block.replace('--no-install-recommends', '').replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
}

describe('README', () => {
  it('lists exactly the Debian packages .ci/run installs for the tests', () => {
    expect(ciPackages().length).toBeGreaterThan(20);
    expect(readmePackages()).toEqual(ciPackages());
  });

  it('lists the tools flashing needs apart from the tests\' and runs apt-get update first', () => {
    const users = readme.slice(readme.indexOf('**To use it with real boards**'), readme.indexOf('**For the tests**'));
    for (const tool of ['sfdisk', 'mkfs.vfat', 'bsdtar', 'mtools', 'mkimage']) expect(users).toContain(tool);
    expect(users).toMatch(/apt-get update && apt-get install -y fdisk util-linux dosfstools e2fsprogs libarchive-tools mtools u-boot-tools/);
  });

  it('gets Go from the same place as .ci/run, and puts Node 24 on PATH before the first command', () => {
    const url = /https:\/\/proxy\.golang\.org\/golang\.org\/toolchain\/@v\/\S+\.zip/;
    expect(readme.match(url)?.[0]).toBe(ci.match(url)?.[0]);
    expect(readme.indexOf('export PATH=/opt/node24/node_modules/.bin:$PATH')).toBeLessThan(readme.indexOf('## Stages'));
  });

  it('npm test builds the test binaries before vitest starts (no test hook waits for a cold build)', () => {
    const test = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.test!;
    expect(test.indexOf('npm run testbin')).toBeGreaterThan(-1);
    expect(test.indexOf('npm run testbin')).toBeLessThan(test.indexOf('vitest'));
  });
});
