import { defineConfig } from 'vitest/config';

// Real servers (sshd, kube-apiserver, loop devices) make some suites slow to start; timeouts are generous,
// and files run in separate processes so a suite's servers never leak into another's.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
