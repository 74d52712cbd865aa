import { defineConfig } from 'vitest/config';

// Integration and e2e tests share kernel state (namespaces, bpffs, cgroups):
// files run one at a time so they never race for names or CPU.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
