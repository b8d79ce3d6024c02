/**
 * What a scenario expected against what its run did: one {@link ScenarioCheck} per expectation, each saying
 * what was expected and what happened in words (`exit 0` / `exit 1`, `>= 1` / `0`, `a line matching /EIO/` /
 * `no such line (4 lines, last: "done")`).
 */
import type { ExitInfo, RunResult } from '../common/run-result.js';
import type { Bounds, Comparison, ExitExpectation, OutputExpectation, ProcessOutcome, Scenario, ScenarioCheck } from './types.js';

/** What a run did, as far as its expectations look. */
export interface Observed {
  readonly result: RunResult;
  readonly stdout: string;
  readonly stderr: string;
  /** Fault-log entries (plus dropped ones). */
  readonly faults: number;
  readonly workload: ProcessOutcome | null;
  readonly verify: ProcessOutcome | null;
}

/** Checks a finished (not aborted) run against the scenario's timebox and every expectation it names. */
export function checkExpectations(s: Pick<Scenario, 'expect' | 'timeoutMs'>, o: Observed): ScenarioCheck[] {
  const checks: ScenarioCheck[] = [];
  const { result } = o;
  const e = s.expect;
  if (result.timedOut) {
    checks.push(check('timeout', false, `to end within ${s.timeoutMs} ms`, `timed out after ${Math.round(result.durationMs)} ms (killed)`));
  }
  if (e.exit) checks.push(checkExit('exit', e.exit, result.exit));
  if (e.stdout) checks.push(...checkOutput('stdout', e.stdout, o.stdout));
  if (e.stderr) checks.push(...checkOutput('stderr', e.stderr, o.stderr));
  if (e.durationMs) checks.push(checkBounds('durationMs', e.durationMs, Math.round(result.durationMs * 10) / 10, ' ms'));
  for (const c of e.counts) {
    const actual =
      c.kind === 'syscall'
        ? result.counts[c.name]?.[c.field as 'calls' | 'faulted' | 'delayed']
        : result.rules.find((rule) => rule.id === c.name)?.[c.field as 'matched' | 'fired'];
    const value = actual ?? 0;
    checks.push(check(`counts ${c.key}`, compare(value, c.compare), c.compare.text, String(value)));
  }
  if (e.faults) checks.push(checkBounds('faults', e.faults, o.faults, ''));
  if (e.verify) {
    const v = o.verify;
    if (!v) checks.push(check('verify', false, `exit ${e.verify.exit}`, 'not run'));
    else {
      const got = v.stopped ? `timed out after ${e.verify.timeoutMs} ms` : describeExitInfo(v.exit);
      const detail = v.exit.code === e.verify.exit ? '' : outputHint(v.stdout + v.stderr);
      checks.push(check('verify', v.exit.code === e.verify.exit && !v.stopped, `exit ${e.verify.exit}`, `${got}${detail}`));
      if (e.verify.stdout) checks.push(...checkOutput('verify stdout', e.verify.stdout, v.stdout));
    }
  }
  if (e.workload) {
    const w = o.workload;
    if (!w) checks.push(check('workload', false, 'a workload run', 'none'));
    else {
      if (e.workload.exit) {
        const c = checkExit('workload exit', e.workload.exit, w.exit);
        checks.push(w.stopped && !c.passed ? check(c.check, false, c.expected, `${c.actual} (stopped by sysfault: the command ended or durationMs elapsed)`) : c);
      }
      if (e.workload.stdout) checks.push(...checkOutput('workload stdout', e.workload.stdout, w.stdout));
    }
  }
  return checks;
}

/** Whether `actual OP value` holds. */
export function compare(actual: number, c: Comparison): boolean {
  switch (c.op) {
    case '==':
      return actual === c.value;
    case '!=':
      return actual !== c.value;
    case '>=':
      return actual >= c.value;
    case '<=':
      return actual <= c.value;
    case '>':
      return actual > c.value;
    case '<':
      return actual < c.value;
  }
}

/** One check, with its message: `<check>: expected <expected>, got <actual>`. */
export function check(name: string, passed: boolean, expected: string, actual: string): ScenarioCheck {
  return { check: name, passed, expected, actual, message: `${name}: expected ${expected}, got ${actual}` };
}

function describeExitInfo(exit: ExitInfo): string {
  return exit.signal ? `signal ${exit.signal}` : exit.code === null ? 'no exit status' : `exit ${exit.code}`;
}

function checkExit(name: string, want: ExitExpectation, got: ExitInfo): ScenarioCheck {
  const passed = 'code' in want ? got.code === want.code && got.signal === null : got.signal === want.signal;
  return check(name, passed, 'code' in want ? `exit ${want.code}` : `signal ${want.signal}`, describeExitInfo(got));
}

function checkBounds(name: string, b: Bounds, value: number, unit: string): ScenarioCheck {
  const lo = b.min === undefined || value >= b.min;
  const hi = b.max === undefined || value <= b.max;
  const want =
    b.min !== undefined && b.max !== undefined ? `${b.min}..${b.max}${unit}` : b.min !== undefined ? `>= ${b.min}${unit}` : `<= ${b.max}${unit}`;
  return check(name, lo && hi, want, `${value}${unit}`);
}

function checkOutput(name: string, want: OutputExpectation, text: string): ScenarioCheck[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out: ScenarioCheck[] = [];
  for (const re of want.matches) {
    const hit = lines.find((l) => re.test(l));
    out.push(check(name, hit !== undefined, `a line matching ${re}`, hit !== undefined ? JSON.stringify(hit) : `no such line (${describeLines(lines)})`));
  }
  for (const re of want.notMatches) {
    const index = lines.findIndex((l) => re.test(l));
    out.push(check(name, index < 0, `no line matching ${re}`, index < 0 ? 'none' : `line ${index + 1}: ${JSON.stringify(lines[index])}`));
  }
  return out;
}

/** `4 lines, last: "done"` or `no output`. */
export function describeLines(lines: readonly string[]): string {
  if (lines.length === 0) return 'no output';
  const last = lines.at(-1) ?? '';
  return `${lines.length} line${lines.length === 1 ? '' : 's'}, last: ${JSON.stringify(last.length > 80 ? `${last.slice(0, 77)}...` : last)}`;
}

function outputHint(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const pick = lines.find((l) => / err |error|fail/i.test(l)) ?? lines.at(-1);
  return pick === undefined ? '' : ` (${JSON.stringify(pick.length > 100 ? `${pick.slice(0, 97)}...` : pick)})`;
}
