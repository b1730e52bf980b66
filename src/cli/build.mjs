// Bundles the CLI into bin/boardkube.js plus chunks loaded on demand: few files to read at start-up and none
// that the command does not need. Native optional modules stay outside the bundle.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';

// Ink loads React DevTools only when DEV=true and the package is installed; in one bundle its static import
// would be resolved at start-up and fail. The bundle never ships DevTools.
const noDevtools = {
  name: 'no-devtools',
  setup(b) {
    b.onResolve({ filter: /^\.\/devtools\.js$/ }, () => ({ path: 'devtools', namespace: 'no-devtools' }));
    b.onLoad({ filter: /.*/, namespace: 'no-devtools' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

// Built beside bin/ and swapped in, so a boardkube already running (a test, a wizard) keeps its chunks.
const out = `bin.build-${process.pid}`;
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/bin.ts'],
  // Code splitting: each command loads only its own chunk (the wizard, the adapters) after start-up.
  outdir: out,
  entryNames: 'boardkube',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
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
    // Bundled CommonJS dependencies (ssh2) call require() and use __dirname; give them both.
    js: "#!/usr/bin/env node\nimport { createRequire as __bkCreateRequire } from 'node:module';\nconst require = __bkCreateRequire(import.meta.url);const __filename = import.meta.filename;const __dirname = import.meta.dirname;",
  },
  plugins: [noDevtools],
  logLevel: 'warning',
});
chmodSync(`${out}/boardkube.js`, 0o755);
// Files a stage ships as text (the webhook server runs in the cluster from a ConfigMap).
copyFileSync('flows/webhook/server/job-ttl-webhook.mjs', `${out}/job-ttl-webhook.mjs`);
const old = `bin.old-${process.pid}`;
if (existsSync('bin')) renameSync('bin', old);
renameSync(out, 'bin');
rmSync(old, { recursive: true, force: true });
