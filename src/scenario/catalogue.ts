/**
 * Scenario catalogues: `runScenario()` and `runCatalogue()`. The file format is in schema.ts (its types in
 * types.ts, the `${...}` variables in variables.ts), one run in runner.ts (checked against its expectations by
 * expect.ts), the reports (table, JSON, JUnit XML) in formats.ts, the `sysfault scenario` command in
 * cli/scenario.ts, and the user's guide in docs/scenarios.md.
 */
import { sysfaultInvocation } from '../run/invocation.js';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageError } from '../common/errors.js';
import { randomSeed } from '../common/seed.js';
import { checkShard, shareOf, type ShardRecord } from '../common/shard.js';
import { shellQuote } from '../common/shell.js';
import { runOne } from './runner.js';
import { loadScenario } from './schema.js';
import type { Scenario, ScenarioRunReport } from './types.js';
import { parseSeed } from '../plan/schema.js';

export { loadScenario, parseComparison, DEFAULT_SCENARIO_TIMEOUT_MS } from './schema.js';
export { SCENARIO_VARIABLES } from './variables.js';
export type { Scenario, Comparison, CompareOp, ScenarioExpectations, CountExpectation, OutputExpectation, ExitExpectation } from './types.js';
export type { ScenarioRunReport, ScenarioCheck, ProcessOutcome } from './types.js';

/** Options of {@link runScenario} and {@link runCatalogue}. */
export interface ScenarioRunOptions {
  /** Run every scenario with this seed only, instead of its `seeds`. */
  seed?: number | bigint | string | undefined;
  /** Runs at once (default: min(4, CPUs)). */
  jobs?: number | undefined;
  /** Timebox of the whole call: when it expires, runs still going are killed and the rest are not started. */
  timeoutMs?: number | undefined;
  /** Timebox of each run's target, instead of each scenario's own `timeoutMs`. */
  scenarioTimeoutMs?: number | undefined;
  /** Keep run directories: 'failed' (default), 'all' or 'none'. */
  keep?: 'failed' | 'all' | 'none' | undefined;
  /** Where run directories are made (default: the OS temporary directory). */
  tmpDir?: string | undefined;
  /** Base of relative paths of a scenario given as an object (default: the current directory). */
  cwd?: string | undefined;
  /** Aborting kills the runs going and reports the rest as not run. */
  signal?: AbortSignal | undefined;
  /** Called as each run finishes (in completion order). */
  onRun?: ((report: ScenarioRunReport) => void) | undefined;
  /** Run only this shard's share (`K/N`) of the runs (scenario x seed, in catalogue order). */
  shard?: string | { index: number; total: number } | undefined;
}

/** What {@link runCatalogue} resolves to; its JSON form is {@link catalogueJson}. */
export interface CatalogueReport {
  version: 1;
  /** Runs (scenario x seed) that passed, failed (an expectation, or not run in time), or errored. */
  passed: number;
  failed: number;
  errors: number;
  durationMs: number;
  /** One entry per scenario x seed, in catalogue order (files sorted, then seeds in order). */
  scenarios: ScenarioRunReport[];
  /** Only in a shard's report: which shard, of how many runs in all (`sysfault scenario merge`). */
  shard?: ShardRecord;
}

/** A scenario as written (see docs/scenarios.md); validated by {@link loadScenario}. */
export type ScenarioInput = Record<string, unknown>;

/**
 * Runs one scenario with each of its seeds (or `options.seed`).
 * @param source a scenario file (.yaml, .yml, .json) or a scenario object.
 * @returns one report per seed, in seed order.
 * @throws PlanError (rejects) when the scenario is invalid; nothing is run then.
 */
export async function runScenario(source: string | ScenarioInput, options: ScenarioRunOptions = {}): Promise<ScenarioRunReport[]> {
  const scenario = loadScenario(source, options.cwd);
  return (await runAll([scenario], options)).scenarios;
}

/**
 * Runs every scenario of the given files and directories (a directory's `*.yaml`, `*.yml` and `*.json` files,
 * not its subdirectories), each with each of its seeds, at most `jobs` at once.
 * @throws PlanError (rejects) when any scenario is invalid, UsageError when a path is not a file or
 *   directory; nothing is run then.
 */
export async function runCatalogue(paths: readonly string[], options: ScenarioRunOptions = {}): Promise<CatalogueReport> {
  const scenarios = collectScenarioFiles(paths).map((file) => loadScenario(file));
  return runAll(scenarios, options);
}

/** The scenario files named by `paths`: files as given, directories' *.yaml, *.yml, *.json sorted. */
export function collectScenarioFiles(paths: readonly string[]): string[] {
  if (paths.length === 0) throw new UsageError('no scenario files given');
  const out: string[] = [];
  for (const path of paths) {
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new UsageError(`${path}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const files = readdirSync(path)
        .filter((f) => ['.yaml', '.yml', '.json'].includes(extname(f).toLowerCase()))
        .sort()
        .map((f) => join(path, f))
        .filter((f) => statSync(f).isFile());
      if (files.length === 0) throw new UsageError(`${path}: no scenario files (*.yaml, *.yml, *.json) in this directory`);
      out.push(...files);
    } else {
      out.push(path);
    }
  }
  const seen = new Set<string>();
  return out.filter((f) => {
    const key = resolve(f);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

interface Job {
  scenario: Scenario;
  seed: bigint;
}

async function runAll(scenarios: readonly Scenario[], options: ScenarioRunOptions): Promise<CatalogueReport> {
  const t0 = performance.now();
  const override = options.seed === undefined ? undefined : parseSeed(options.seed);
  if (options.seed !== undefined && override === undefined) {
    throw new UsageError(`seed: expected a non-negative integer below 2^64, got ${JSON.stringify(String(options.seed))}`);
  }
  const shard = options.shard === undefined ? undefined : checkShard(options.shard);
  const all: Job[] = scenarios.flatMap((scenario) =>
    (override !== undefined ? [override] : (scenario.seeds ?? [scenario.planSeed ?? randomSeed()])).map((seed) => ({ scenario, seed })),
  );
  const jobs = shard ? shareOf(all, shard) : all;
  for (const key of ['jobs', 'timeoutMs', 'scenarioTimeoutMs'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 0x7fffffff)) {
      throw new UsageError(`options.${key}: expected a whole number of at least 1, got ${JSON.stringify(value)}`);
    }
  }
  const width = options.jobs ?? Math.min(4, availableParallelism());

  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) onAbort();
  const timebox =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(new Error(`catalogue timebox of ${options.timeoutMs} ms exceeded`)), options.timeoutMs);

  const reports: ScenarioRunReport[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const job = jobs[i];
      if (!job) return;
      const report = await runOne(job.scenario, {
        seed: job.seed,
        timeoutMs: options.scenarioTimeoutMs ?? job.scenario.timeoutMs,
        keep: options.keep ?? 'failed',
        tmpDir: options.tmpDir ?? tmpdir(),
        rerun: rerunCommand(job.scenario, job.seed),
        signal: controller.signal,
      });
      reports[i] = report;
      options.onRun?.(report);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  } finally {
    if (timebox) clearTimeout(timebox);
    options.signal?.removeEventListener('abort', onAbort);
  }
  return {
    version: 1,
    passed: reports.filter((r) => r.passed).length,
    failed: reports.filter((r) => !r.passed && !r.error).length,
    errors: reports.filter((r) => r.error).length,
    durationMs: Math.round((performance.now() - t0) * 10) / 10,
    scenarios: reports,
    ...(shard && { shard: { index: shard.index, total: shard.total, of: all.length } }),
  };
}

/** `sysfault scenario run --seed 7 path/to/file.yaml` (path relative to the cwd when inside it). */
function rerunCommand(s: Scenario, seed: bigint): string | null {
  if (!s.file) return null;
  const rel = relative(process.cwd(), s.file);
  const path = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : s.file;
  return `${sysfaultInvocation()} scenario run --seed ${seed} ${shellQuote(path)}`;
}
