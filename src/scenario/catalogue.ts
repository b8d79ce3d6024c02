/**
 * Scenario catalogues: `runScenario()`, `runCatalogue()`, their reports (table, JSON, JUnit XML) and the
 * `sysfault scenario` command. The file format is in src/scenario/schema.ts, one run in src/scenario/runner.ts,
 * and the user's guide in docs/scenarios.md.
 *
 * Exit statuses of `sysfault scenario run`: 0 when every run passed, 1 when any failed (or was not run
 * within the catalogue's timebox), 125 for sysfault's own errors (bad flags, an invalid scenario file: nothing
 * is run; or a run that could not be carried out, such as a command not found).
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { durationMs, seedText, wholeNumber, writableFile } from '../cli/flags.js';
import { EXIT_SYSFAULT, UsageError } from '../common/errors.js';
import { randomSeed } from '../common/seed.js';
import { shellQuote } from '../common/shell.js';
import { firstLine, tailChars } from '../common/text.js';
import { runOne, type ScenarioRunReport } from './runner.js';
import { loadScenario, type Scenario } from './schema.js';
import { parseSeed } from '../plan/schema.js';
import { table } from '../run/summary.js';

export { loadScenario, parseComparison, SCENARIO_VARIABLES, DEFAULT_SCENARIO_TIMEOUT_MS } from './schema.js';
export type { Scenario, Comparison, CompareOp, ScenarioExpectations, CountExpectation, OutputExpectation, ExitExpectation } from './schema.js';
export type { ScenarioRunReport, ScenarioCheck, ProcessOutcome } from './runner.js';

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
  const jobs: Job[] = scenarios.flatMap((scenario) =>
    (override !== undefined ? [override] : (scenario.seeds ?? [scenario.planSeed ?? randomSeed()])).map((seed) => ({ scenario, seed })),
  );
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
  };
}

/** `npx sysfault scenario run --seed 7 path/to/file.yaml` (path relative to the cwd when inside it). */
function rerunCommand(s: Scenario, seed: bigint): string | null {
  if (!s.file) return null;
  const rel = relative(process.cwd(), s.file);
  const path = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : s.file;
  return `npx sysfault scenario run --seed ${seed} ${shellQuote(path)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Reports

/** The JSON report: `{"version":1,"scenarios":[{"name","seed","passed","reason",...}],...}` (no outputs). */
export function catalogueJson(report: CatalogueReport): object {
  return {
    version: 1,
    passed: report.passed,
    failed: report.failed,
    errors: report.errors,
    durationMs: report.durationMs,
    scenarios: report.scenarios.map((r) => ({
      name: r.name,
      seed: r.seed,
      passed: r.passed,
      reason: r.reason,
      file: r.file,
      error: r.error,
      durationMs: r.durationMs,
      engine: r.engine,
      exit: r.exit,
      timedOut: r.timedOut,
      faults: r.faults,
      checks: r.checks,
      keptDir: r.keptDir,
      rerun: r.rerun,
    })),
  };
}

/** A run's outcome in one word. */
function verdict(r: ScenarioRunReport): string {
  return r.passed ? 'pass' : r.error ? 'ERROR' : 'FAIL';
}

/** The pass/fail table, a summary line, and for each failure its reason, kept directory and rerun command. */
export function formatCatalogue(report: CatalogueReport, maxReason = 90): string[] {
  const cut = (s: string): string => (s.length > maxReason ? `${s.slice(0, maxReason - 3)}...` : s);
  const lines = table(
    ['scenario', 'seed', 'result', 'time', 'reason'],
    report.scenarios.map((r) => [r.name, String(r.seed), verdict(r), seconds(r.durationMs), cut(r.reason)]),
    '',
  );
  const total = report.scenarios.length;
  lines.push(
    '',
    `${total} run${total === 1 ? '' : 's'}: ${report.passed} passed, ${report.failed} failed${report.errors ? `, ${report.errors} errors` : ''} (${seconds(report.durationMs)})`,
  );
  for (const r of report.scenarios.filter((x) => !x.passed)) {
    lines.push('', `${verdict(r)} ${r.name} (seed ${r.seed})${r.file ? ` ${displayPath(r.file)}` : ''}`);
    for (const c of r.checks.filter((x) => !x.passed)) lines.push(`  ${c.check}: expected ${c.expected}`, `  ${' '.repeat(c.check.length)}       got ${c.actual}`);
    if (r.checks.every((c) => c.passed)) lines.push(`  ${r.reason}`);
    if (r.keptDir) lines.push(`  kept:  ${r.keptDir}`);
    if (r.rerun) lines.push(`  rerun: ${r.rerun}`);
  }
  return lines;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') ? rel : file;
}

/** Characters XML 1.0 cannot hold at all. */
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escapes text for an XML element or a double-quoted attribute (and drops characters XML cannot hold). */
export function xmlEscape(text: string, attribute = false): string {
  const clean = text.replace(XML_INVALID, '\uFFFD');
  const out = clean.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return attribute ? out.replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;') : out;
}

const JUNIT_OUTPUT_CAP = 64 * 1024;

/** JUnit XML: one testsuite per scenario, one testcase per seed; failures carry the reason, kept dir, rerun. */
export function catalogueJUnit(report: CatalogueReport): string {
  const attr = (pairs: Record<string, string | number>): string =>
    Object.entries(pairs)
      .map(([k, v]) => ` ${k}="${xmlEscape(String(v), true)}"`)
      .join('');
  const groups = new Map<string, ScenarioRunReport[]>();
  for (const r of report.scenarios) {
    const key = `${r.file ?? ''}\0${r.name}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attr({ name: 'sysfault scenarios', tests: report.scenarios.length, failures: report.failed, errors: report.errors, time: secs(report.durationMs) })}>`,
  );
  for (const runs of groups.values()) {
    const first = runs[0] as ScenarioRunReport;
    const file = first.file ? displayPath(first.file) : '';
    out.push(
      `  <testsuite${attr({
        name: first.name,
        tests: runs.length,
        failures: runs.filter((r) => !r.passed && !r.error).length,
        errors: runs.filter((r) => r.error).length,
        skipped: 0,
        time: secs(runs.reduce((t, r) => t + r.durationMs, 0)),
        ...(file ? { file } : {}),
      })}>`,
    );
    for (const r of runs) {
      const head = `    <testcase${attr({ name: `${r.name} (seed ${r.seed})`, classname: first.name, time: secs(r.durationMs), ...(file ? { file } : {}) })}`;
      if (r.passed) {
        out.push(`${head}/>`);
      } else {
        out.push(`${head}>`);
        const body = [
          ...r.checks.filter((c) => !c.passed).map((c) => c.message),
          ...(r.checks.every((c) => c.passed) ? [r.reason] : []),
          ...(r.keptDir ? [`kept: ${r.keptDir}`] : []),
          ...(r.rerun ? [`rerun: ${r.rerun}`] : []),
        ].join('\n');
        const tag = r.error ? 'error' : 'failure';
        out.push(`      <${tag}${attr({ message: r.reason, type: r.error ? 'ScenarioError' : 'ExpectationFailed' })}>${xmlEscape(body)}</${tag}>`);
        if (r.stdout) out.push(`      <system-out>${xmlEscape(tailChars(r.stdout, JUNIT_OUTPUT_CAP))}</system-out>`);
        if (r.stderr) out.push(`      <system-err>${xmlEscape(tailChars(r.stderr, JUNIT_OUTPUT_CAP))}</system-err>`);
        out.push('    </testcase>');
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

// ---------------------------------------------------------------------------------------------------------
// CLI

const SCENARIO_HELP = `Usage: sysfault scenario run [options] FILE|DIR...
       sysfault scenario check FILE|DIR...

run: runs each scenario (a DIR's *.yaml, *.yml and *.json files) with each of its seeds, from a fresh copy of
its snapshot, and prints a pass/fail table with the reason. Failed runs keep their directory (the working
directory, outputs, result and fault log) and print a command that reruns exactly that scenario and seed.
check: validates the scenario files only.

Options of run:
  --seed N                 run every scenario with this seed only (instead of its seeds)
  --jobs N                 runs at once (default: min(4, CPUs))
  --timeout MS             timebox of the whole catalogue (or Ns): runs going are killed, the rest not run
  --scenario-timeout MS    timebox of each run's target, instead of each scenario's timeoutMs
  --json FILE              write the JSON report (version 1)
  --junit FILE             write a JUnit XML report
  --keep                   keep every run's directory (default: only failed runs')
  -q, --quiet              no progress lines on stderr
  -h, --help               this help

Exit status: 0 when every run passed, 1 when any failed, 125 for sysfault's own errors (bad flags, an
invalid scenario file, a run that could not be carried out).
`;

const RUN_FLAGS = {
  seed: { type: 'string' },
  jobs: { type: 'string' },
  timeout: { type: 'string' },
  'scenario-timeout': { type: 'string' },
  json: { type: 'string' },
  junit: { type: 'string' },
  keep: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `sysfault scenario ...`; resolves to the exit status. */
export async function scenarioCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    if (sub === undefined) throw new UsageError('scenario: missing subcommand run or check (see sysfault scenario --help)');
    process.stdout.write(SCENARIO_HELP);
    return 0;
  }
  if (sub !== 'run' && sub !== 'check') throw new UsageError(`scenario: unknown subcommand ${JSON.stringify(sub)} (expected run or check)`);
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: RUN_FLAGS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`scenario ${sub}: ${firstLine(err).split('. ')[0] ?? 'bad arguments'} (see sysfault scenario --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(SCENARIO_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`scenario ${sub}: no scenario files given (usage: sysfault scenario ${sub} [options] FILE|DIR...)`);
  if (sub === 'check') {
    if (Object.keys(values).length > 0) throw new UsageError('scenario check: takes no options');
    const files = collectScenarioFiles(positionals);
    for (const file of files) loadScenario(file);
    process.stdout.write(`${files.length} scenario file${files.length === 1 ? '' : 's'} valid\n`);
    return 0;
  }
  const seed = seedText('--seed', values.seed);
  const jobs = wholeNumber('--jobs', values.jobs, { min: 1, max: 9999 });
  const timeoutMs = durationMs('--timeout', values.timeout);
  const scenarioTimeoutMs = durationMs('--scenario-timeout', values['scenario-timeout']);
  for (const [flag, file] of [['--json', values.json], ['--junit', values.junit]] as const) if (file !== undefined) writableFile(flag, file);

  const quiet = values.quiet === true;
  const report = await runCatalogue(positionals, {
    seed,
    jobs,
    timeoutMs,
    scenarioTimeoutMs,
    keep: values.keep ? 'all' : 'failed',
    onRun: quiet ? undefined : (r) => process.stderr.write(`${verdict(r).padEnd(5)} ${r.name} (seed ${r.seed}, ${seconds(r.durationMs)})\n`),
  });
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(catalogueJson(report), null, 2)}\n`);
  if (values.junit !== undefined) writeFileSync(values.junit, catalogueJUnit(report));
  process.stdout.write(`${formatCatalogue(report).join('\n')}\n`);
  if (report.errors > 0) return EXIT_SYSFAULT;
  return report.failed > 0 ? 1 : 0;
}
