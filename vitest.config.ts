import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests spawn real processes (and the addon keeps native threads): one process per test file.
    pool: 'forks',
    testTimeout: 60_000,
    // Real processes and real timing windows: in CI a test that fails once is run once more (vitest reports it
    // as flaky), so that one scheduling hiccup on a 2-core machine does not sink the run. Locally: no retry.
    retry: process.env.CI ? 1 : 0,
    hookTimeout: 300_000,
    globalSetup: ['test/setup/global.ts'],
  },
});
