import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests spawn real processes (and the addon keeps native threads): one process per test file.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 300_000,
    globalSetup: ['test/setup/global.ts'],
  },
});
