// Entry point of the `boardkube` command. Checks the Node version before loading anything that needs a newer one.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(`boardkube needs Node.js 22 or newer; this is ${process.version}. Install a newer one, e.g. npm install --prefix /opt/node24 node@24\n`);
  process.exit(2);
}
// V8's on-disk code cache: the second start skips compiling the wizard's chunks (Node >= 22.1).
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
// `boardkube status | head`: a reader that stops early is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
