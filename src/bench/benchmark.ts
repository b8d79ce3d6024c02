/**
 * `benchmark()`: measure what a fault plan costs your own program. Runs the program bare and under each plan,
 * alternating the plans run by run (A B C A B C ...) so that machine drift cancels out, and reports per plan
 * the per-run figures, their median and the ratio of that median to the baseline plan's median.
 *
 * @example
 * ```ts
 * import { benchmark } from 'sysfault';
 *
 * const report = await benchmark({
 *   command: './loop',
 *   args: ['write', '200000'],
 *   plans: {
 *     bare: null,
 *     'pass-through': { version: 1, rules: [{ syscalls: ['write'], path: '**' + '/never', action: { errno: 'EIO' } }] },
 *   },
 *   engine: 'preload',
 *   runs: 5,
 *   // use the program's own figure ("loop write ok 312.5" -> 312.5 ns per call) instead of the wall clock
 *   parse: (stdout) => Number(/ok ([\d.]+)/.exec(stdout)?.[1]),
 * });
 * console.log(report.plans['pass-through'].ratio); // e.g. 1.02
 * ```
 */
import { spawn as spawnChild } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run } from '../run/run.js';
import type { EngineOption } from '../run/types.js';
import type { PlanInput } from '../plan/schema.js';
import type { RunResult } from '../common/run-result.js';
import { tailLines } from '../common/text.js';

/** Options of {@link benchmark}. */
export interface BenchmarkOptions {
  /** The program to measure. */
  command: string;
  /** Its arguments. */
  args?: readonly string[] | undefined;
  /**
   * The plans to compare, by name, in report order. A plan is a plan object or the path of a plan file, or
   * `null` for the bare program (run directly with child_process, without sysfault). The first entry is the
   * baseline of every ratio unless {@link BenchmarkOptions.baseline} names another.
   */
  plans: Readonly<Record<string, PlanInput | string | null>>;
  /** Measured runs per plan (default 5). */
  runs?: number | undefined;
  /** Discarded warm-up runs per plan, alternated the same way before the measured ones (default 1). */
  warmup?: number | undefined;
  /** Engine for the plans that are not null (default 'auto'). */
  engine?: EngineOption | undefined;
  /**
   * Turns a run's standard output into its figure (for example the ns per call the program timed itself).
   * Must return a finite number. Without it the figure is the run's wall-clock duration in milliseconds,
   * measured the same way for every plan (from spawn to exit, as seen by this process).
   */
  parse?: ((stdout: string) => number) | undefined;
  /** The plan name ratios are relative to (default: the first plan). */
  baseline?: string | undefined;
  /** Accept runs that exit with a non-zero status or a signal (default false: such a run throws). */
  allowFailure?: boolean | undefined;
  /** Environment of the program, merged over process.env. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Working directory of the program. */
  cwd?: string | undefined;
  /** Kill a run after this many milliseconds; a run that times out throws. */
  timeout?: number | undefined;
  /** Called after every run, warm-up runs included (progress reporting). */
  onRun?: ((progress: BenchmarkProgress) => void) | undefined;
}

/** What {@link BenchmarkOptions.onRun} receives. */
export interface BenchmarkProgress {
  plan: string;
  /** 0-based round; warm-up rounds are negative (-warmup .. -1). */
  round: number;
  warmup: boolean;
  /** The run's figure. */
  value: number;
}

/** The figures of one plan. */
export interface PlanBenchmark {
  /** Median of `runs`. */
  median: number;
  /** The measured figure of every run, in the order they were run (warm-up runs excluded). */
  runs: number[];
  /** `median` / the baseline plan's `median` (1 for the baseline itself). */
  ratio: number;
  /** The sysfault result of the last measured run, or null for a bare (null) plan. */
  lastResult: RunResult | null;
}

/** What {@link benchmark} resolves to. */
export interface BenchmarkReport {
  /** What the figures are: 'ms' (wall clock) or 'parsed' (the value `parse` returned). */
  unit: 'ms' | 'parsed';
  /** Name of the plan the ratios are relative to. */
  baseline: string;
  /** One entry per plan, in the order given. */
  plans: Record<string, PlanBenchmark>;
}

/** A run that failed (non-zero exit without `allowFailure`, a timeout, or a figure `parse` could not read). */
export class BenchmarkError extends Error {
  /** The plan being run. */
  readonly plan: string;
  /** Its standard output and error (tails). */
  readonly stdout: string;
  readonly stderr: string;

  constructor(message: string, plan: string, stdout: string, stderr: string) {
    super(message);
    this.name = 'BenchmarkError';
    this.plan = plan;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface OneRun {
  value: number;
  result: RunResult | null;
}

function nonNegativeInteger(value: number | undefined, fallback: number, what: string, min: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new RangeError(`benchmark: ${what} must be an integer >= ${min}, got ${n}`);
  return n;
}

function tail(text: string, lines = 20): string {
  return tailLines(text, lines).join('\n');
}

/**
 * Runs `command` bare and/or under each plan, alternating (warm-up rounds first, then `runs` measured rounds,
 * each round running every plan once in the order given), and reports per plan the per-run figures, their
 * median and the ratio of that median to the baseline's median.
 *
 * Rejects with a {@link BenchmarkError} when a run fails (see {@link BenchmarkOptions.allowFailure}) or
 * `parse` does not yield a finite number, and with sysfault's own errors (a bad plan, an unusable engine)
 * at the first run of the offending plan.
 */
export async function benchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const names = Object.keys(options.plans);
  if (names.length === 0) throw new RangeError('benchmark: plans must name at least one plan');
  const runs = nonNegativeInteger(options.runs, 5, 'runs', 1);
  const warmup = nonNegativeInteger(options.warmup, 1, 'warmup', 0);
  const baseline = options.baseline ?? names[0]!;
  if (!names.includes(baseline)) {
    throw new RangeError(`benchmark: baseline ${JSON.stringify(baseline)} is not one of the plans (${names.join(', ')})`);
  }
  const measured = new Map<string, OneRun[]>(names.map((n) => [n, []]));
  const dir = mkdtempSync(join(tmpdir(), 'sysfault-bench-'));
  try {
    for (let round = -warmup; round < runs; round++) {
      for (const name of names) {
        const one = await runOnce(options, name, options.plans[name] ?? null, dir);
        options.onRun?.({ plan: name, round, warmup: round < 0, value: one.value });
        if (round >= 0) measured.get(name)!.push(one);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const medians = new Map(names.map((n) => [n, median(measured.get(n)!.map((r) => r.value))]));
  const base = medians.get(baseline)!;
  const plans: Record<string, PlanBenchmark> = {};
  for (const name of names) {
    const list = measured.get(name)!;
    plans[name] = {
      median: medians.get(name)!,
      runs: list.map((r) => r.value),
      ratio: medians.get(name)! / base,
      lastResult: list.at(-1)!.result,
    };
  }
  return { unit: options.parse ? 'parsed' : 'ms', baseline, plans };
}

async function runOnce(
  options: BenchmarkOptions,
  name: string,
  plan: PlanInput | string | null,
  dir: string,
): Promise<OneRun> {
  const outPath = join(dir, 'stdout');
  const errPath = join(dir, 'stderr');
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  let result: RunResult | null = null;
  let failure: string | null = null;
  let start: number;
  let end: number;
  try {
    const args = [...(options.args ?? [])];
    start = performance.now();
    if (plan === null) {
      failure = await runBare(name, options.command, args, options, out, err);
    } else {
      result = await run(options.command, args, {
        plan,
        engine: options.engine,
        env: options.env,
        cwd: options.cwd,
        timeout: options.timeout,
        stdio: ['ignore', out, err],
      });
      if (result.timedOut) failure = `timed out after ${options.timeout} ms`;
      else if (result.exit.signal) failure = `killed by ${result.exit.signal}`;
      else if (result.exit.code !== 0) failure = `exited with status ${result.exit.code}`;
    }
    end = performance.now();
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const stdout = readFileSync(outPath, 'utf8');
  const stderr = readFileSync(errPath, 'utf8');
  const timedOut = failure?.startsWith('timed out') ?? false;
  if (failure && (timedOut || !options.allowFailure)) {
    throw new BenchmarkError(
      `benchmark: plan ${JSON.stringify(name)}: ${options.command} ${failure}${stderr ? `: ${tail(stderr, 3)}` : ''}`,
      name,
      tail(stdout),
      tail(stderr),
    );
  }
  if (!options.parse) return { value: end - start, result };
  let value: number;
  try {
    value = options.parse(stdout);
  } catch (e) {
    throw new BenchmarkError(
      `benchmark: plan ${JSON.stringify(name)}: parse threw: ${e instanceof Error ? e.message : String(e)}`,
      name,
      tail(stdout),
      tail(stderr),
    );
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new BenchmarkError(
      `benchmark: plan ${JSON.stringify(name)}: parse returned ${String(value)} (expected a finite number) for output: ${JSON.stringify(tail(stdout, 3))}`,
      name,
      tail(stdout),
      tail(stderr),
    );
  }
  return { value, result };
}

/** Runs the bare program; resolves to a failure description or null. */
function runBare(
  name: string,
  command: string,
  args: string[],
  options: BenchmarkOptions,
  out: number,
  err: number,
): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(command, args, {
      stdio: ['ignore', out, err],
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
    });
    let timedOut = false;
    const timer =
      options.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeout);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new BenchmarkError(`benchmark: plan ${JSON.stringify(name)}: cannot run ${command}: ${e.message}`, name, '', ''));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (timedOut) resolve(`timed out after ${options.timeout} ms`);
      else if (signal) resolve(`killed by ${signal}`);
      else if (code !== 0) resolve(`exited with status ${code}`);
      else resolve(null);
    });
  });
}
