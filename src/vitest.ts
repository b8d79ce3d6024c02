/**
 * vitest integration: run a scenario or a plan from a test and assert on the outcome with readable messages.
 *
 * @example
 * ```ts
 * import { expect, it } from 'vitest';
 * import { expectScenario, runPlan } from 'sysfault/vitest'; // also registers the matchers
 *
 * it('survives a slow disk', () => expectScenario('scenarios/slow-disk.yaml'));
 *
 * it('reports a failing fsync', async () => {
 *   const run = await runPlan('./my-db', ['--data', dir], { plan: 'plans/fsync-eio.yaml', seed: 1 });
 *   expect(run).toHaveFaulted('fsync', { atLeast: 1 });
 *   expect(run).toHaveExitCode(1);
 *   expect(run.stdout).toMatch(/EIO/);
 * });
 * ```
 *
 * Matchers take a {@link RunResult}, a {@link PlanRun}, or a scenario report (one run's, or a list of them,
 * or a catalogue report for `toPassScenario`), and support `.not`.
 */
export * from './scenario/matchers.js';
