// Bundles the CLI into one ESM file (bin/boardkube.js): one file to read at start-up is what makes the
// wizard's first frame fast. Native optional modules stay outside the bundle.
import { build } from 'esbuild';
import { chmodSync, mkdirSync } from 'node:fs';

mkdirSync('bin', { recursive: true });
await build({
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'bin/boardkube.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  jsx: 'automatic',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  external: ['cpu-features', 'react-devtools-core', '*.node'],
  define: { 'process.env.NODE_ENV': '"production"' },
  banner: {
    // Bundled CommonJS dependencies (ssh2) call require(); give them one.
    js: "#!/usr/bin/env node\nimport { createRequire as __bkCreateRequire } from 'node:module';\nconst require = __bkCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
chmodSync('bin/boardkube.js', 0o755);
