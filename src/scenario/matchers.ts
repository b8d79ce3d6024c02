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
import { expect } from 'vitest';
import { spawn } from '../run/run.js';
import { runScenario, type CatalogueReport, type ScenarioInput, type ScenarioRunOptions } from './catalogue.js';
import type { ScenarioRunReport } from './types.js';
import { describeExit } from '../run/summary.js';
import { signalName, signalNumber } from '../plan/signals.js';
import type { RunOptions } from '../run/types.js';
import type { RunResult } from '../common/run-result.js';

/** What {@link runPlan} resolves to: the result and what the target printed. */
export interface PlanRun {
  result: RunResult;
  stdout: string;
  stderr: string;
  /** stdout split into lines, without the empty last one. */
  lines: string[];
}

/** A count bound for {@link SysfaultMatchers.toHaveFaulted}: at least 1 when empty. */
export interface CountBound {
  atLeast?: number;
  atMost?: number;
  exactly?: number;
}

/** The custom matchers (registered on import). */
export interface SysfaultMatchers<R = unknown> {
  /** The syscall was faulted (errno, short, kill) a number of times (default: at least once). */
  toHaveFaulted(syscall: string, bound?: CountBound): R;
  /** The syscall was delayed a number of times (default: at least once). */
  toHaveDelayed(syscall: string, bound?: CountBound): R;
  /** The target exited with this code (not by a signal, not timed out). */
  toHaveExitCode(code: number): R;
  /** A signal ended the target. */
  toHaveBeenKilledBy(signal: string | number): R;
  /** Every run of the scenario report(s) passed; the message lists each failed expectation. */
  toPassScenario(): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any
  interface Matchers<T = any> extends SysfaultMatchers<T> {}
}

/**
 * Runs a command under a plan, capturing its stdout and stderr (stdin is closed).
 * @param options run() options; stdio is always piped; `timeout` defaults to 60 s.
 */
export async function runPlan(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<PlanRun> {
  const handle = spawn(command, args, { timeout: 60_000, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const closed = Promise.all(
    [handle.stdout, handle.stderr].map(
      (stream, i) =>
        new Promise<void>((ok) => {
          if (!stream) return ok();
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => (i === 0 ? (stdout += chunk) : (stderr += chunk)));
          stream.once('close', ok);
          stream.once('error', () => ok());
        }),
    ),
  );
  const result = await handle.result;
  await closed;
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { result, stdout, stderr, lines };
}

/**
 * Runs a scenario (each seed) and fails the test, listing every failed expectation, unless all passed.
 * @returns the reports, for further assertions.
 */
export async function expectScenario(source: string | ScenarioInput, options: ScenarioRunOptions = {}): Promise<ScenarioRunReport[]> {
  const reports = await runScenario(source, options);
  expect(reports).toPassScenario();
  return reports;
}

type Received = RunResult | PlanRun | ScenarioRunReport;

function resultOf(received: unknown): RunResult | undefined {
  if (received === null || typeof received !== 'object') return undefined;
  const r = received as Partial<PlanRun & ScenarioRunReport & RunResult>;
  if (r.result && typeof r.result === 'object') return r.result as RunResult;
  if (r.counts && r.exit && r.version === 1) return received as RunResult;
  return undefined;
}

function notARun(name: string, received: unknown): { pass: false; message: () => string } {
  return {
    pass: false,
    message: () => `${name}: expected a sysfault RunResult, runPlan() result or scenario run report, got ${typeof received === 'object' ? JSON.stringify(received)?.slice(0, 80) : String(received)}`,
  };
}

function times(n: number): string {
  return `${n} time${n === 1 ? '' : 's'}`;
}

function describeBound(b: CountBound): string {
  if (b.exactly !== undefined) return `exactly ${times(b.exactly)}`;
  if (b.atLeast !== undefined && b.atMost !== undefined) return `between ${b.atLeast} and ${times(b.atMost)}`;
  if (b.atMost !== undefined) return `at most ${times(b.atMost)}`;
  return `at least ${times(b.atLeast ?? 1)}`;
}

function within(n: number, b: CountBound): boolean {
  if (b.exactly !== undefined) return n === b.exactly;
  if (b.atMost !== undefined && n > b.atMost) return false;
  return n >= (b.atLeast ?? (b.atMost !== undefined ? 0 : 1));
}

/** stdout's last lines, for context in messages. */
function outputTail(received: unknown): string {
  const stdout = (received as { stdout?: unknown } | null)?.stdout;
  if (typeof stdout !== 'string' || stdout === '') return '';
  const lines = stdout.trimEnd().split('\n');
  const last = lines.slice(-5);
  return `\nstdout${lines.length > last.length ? ` (last ${last.length} of ${lines.length} lines)` : ''}:\n${last.map((l) => `  | ${l}`).join('\n')}`;
}

function faultList(result: RunResult, syscall?: string): string {
  const faults = result.faults.filter((f) => syscall === undefined || f.syscall === syscall);
  if (faults.length === 0) return 'no faults logged';
  const shown = faults.slice(0, 5).map((f) => `${f.syscall}${f.target ? ` ${f.target}` : ''} -> ${f.action} (${f.rule})`);
  return `faults: ${shown.join(', ')}${faults.length > shown.length ? `, ... ${faults.length - shown.length} more` : ''}`;
}

function countMatcher(field: 'faulted' | 'delayed', verb: string) {
  return function (this: { isNot: boolean }, received: Received, syscall: string, bound: CountBound = {}) {
    const name = field === 'faulted' ? 'toHaveFaulted' : 'toHaveDelayed';
    const result = resultOf(received);
    if (!result) return notARun(name, received);
    const counts = result.counts[syscall];
    if (!counts) {
      return {
        pass: false,
        message: () =>
          `expected ${syscall} to have ${verb} ${describeBound(bound)}, but the plan names no rule for ${syscall} (counts has: ${Object.keys(result.counts).join(', ') || 'nothing'})`,
      };
    }
    const n = counts[field];
    const pass = within(n, bound);
    return {
      pass,
      actual: n,
      expected: bound,
      message: () =>
        `expected ${syscall} ${this.isNot ? 'not ' : ''}to have ${verb} ${describeBound(bound)}, but it ${verb} ${times(n)} ` +
        `(${syscall}: ${counts.calls} calls, ${counts.faulted} faulted, ${counts.delayed} delayed; ${faultList(result, syscall)})`,
    };
  };
}

/** The matchers, for `expect.extend(matchers)` (done on import). */
export const matchers = {
  toHaveFaulted: countMatcher('faulted', 'faulted'),
  toHaveDelayed: countMatcher('delayed', 'been delayed'),

  toHaveExitCode(this: { isNot: boolean }, received: Received, code: number) {
    const result = resultOf(received);
    if (!result) return notARun('toHaveExitCode', received);
    const pass = result.exit.code === code && result.exit.signal === null && !result.timedOut;
    return {
      pass,
      actual: result.exit,
      expected: { code, signal: null },
      message: () =>
        `expected the target ${this.isNot ? 'not ' : ''}to exit with code ${code}, but it ended: ${describeExit(result)} ` +
        `(${faultList(result)})${outputTail(received)}`,
    };
  },

  toHaveBeenKilledBy(this: { isNot: boolean }, received: Received, signal: string | number) {
    const result = resultOf(received);
    if (!result) return notARun('toHaveBeenKilledBy', received);
    const n = signalNumber(signal);
    const want = n === undefined ? String(signal) : signalName(n);
    const pass = result.exit.signal === want;
    return {
      pass,
      actual: result.exit,
      expected: { code: null, signal: want },
      message: () =>
        `expected the target ${this.isNot ? 'not ' : ''}to be killed by ${want}, but it ended: ${describeExit(result)} (${faultList(result)})${outputTail(received)}`,
    };
  },

  toPassScenario(this: { isNot: boolean }, received: ScenarioRunReport | ScenarioRunReport[] | CatalogueReport) {
    const runs: ScenarioRunReport[] = Array.isArray(received)
      ? received
      : received && typeof received === 'object' && 'scenarios' in received
        ? received.scenarios
        : [received as ScenarioRunReport];
    if (runs.some((r) => !r || typeof r !== 'object' || typeof r.passed !== 'boolean')) {
      return { pass: false, message: () => 'toPassScenario: expected scenario run reports (from runScenario or runCatalogue)' };
    }
    const failed = runs.filter((r) => !r.passed);
    const pass = failed.length === 0;
    const names = [...new Set(runs.map((r) => r.name))].join(', ');
    return {
      pass,
      message: () => {
        if (pass) return `expected scenario ${names} not to pass, but all ${runs.length} run${runs.length === 1 ? '' : 's'} passed`;
        const lines = [`expected scenario ${names} to pass, but ${failed.length} of ${runs.length} run${runs.length === 1 ? '' : 's'} failed:`];
        for (const r of failed) {
          lines.push(`  ${r.name} (seed ${r.seed}):`);
          const bad = r.checks.filter((c) => !c.passed);
          if (bad.length === 0) lines.push(`    ${r.reason}`);
          for (const c of bad) lines.push(`    ${c.check}: expected ${c.expected}`, `    ${' '.repeat(c.check.length)}       got ${c.actual}`);
          if (r.keptDir) lines.push(`    kept:  ${r.keptDir}`);
          if (r.rerun) lines.push(`    rerun: ${r.rerun}`);
        }
        return lines.join('\n');
      },
    };
  },
};

expect.extend(matchers);
