/**
 * The types of scenarios: a scenario after validation (schema.ts makes it), its expectations, and the report
 * of one run of it (runner.ts fills it in; expect.ts makes its checks).
 */
import type { EngineOption } from '../run/types.js';
import type { Engine, ExitInfo, RunResult } from '../common/run-result.js';

/** Comparison operators of the counts grammar. */
export type CompareOp = '==' | '!=' | '>=' | '<=' | '>' | '<';

/** `>= 1` parsed. */
export interface Comparison {
  readonly op: CompareOp;
  readonly value: number;
  /** As written, normalized: `>= 1`. */
  readonly text: string;
}

/** Output expectations: every `matches` regex must match some line; no `notMatches` regex may. */
export interface OutputExpectation {
  readonly matches: readonly RegExp[];
  readonly notMatches: readonly RegExp[];
}

/** An exit expectation: a code, or a signal. */
export type ExitExpectation = { readonly code: number } | { readonly signal: string };

/** A counts expectation: `fsync.faulted >= 1` or `my-rule.fired == 2`. */
export interface CountExpectation {
  /** As written: `fsync.faulted`. */
  readonly key: string;
  readonly kind: 'syscall' | 'rule';
  /** Syscall name or rule id. */
  readonly name: string;
  readonly field: 'calls' | 'faulted' | 'delayed' | 'matched' | 'fired';
  readonly compare: Comparison;
}

/** A range (either end optional). */
export interface Bounds {
  readonly min: number | undefined;
  readonly max: number | undefined;
}

/** The expectations of a scenario, normalized. */
export interface ScenarioExpectations {
  readonly exit: ExitExpectation | undefined;
  readonly stdout: OutputExpectation | undefined;
  readonly stderr: OutputExpectation | undefined;
  readonly durationMs: Bounds | undefined;
  readonly counts: readonly CountExpectation[];
  readonly faults: Bounds | undefined;
  readonly verify:
    | {
        readonly command: readonly string[];
        readonly exit: number;
        readonly stdout: OutputExpectation | undefined;
        readonly timeoutMs: number;
      }
    | undefined;
  readonly workload: { readonly exit: ExitExpectation | undefined; readonly stdout: OutputExpectation | undefined } | undefined;
}

/** A scenario after validation. Paths are absolute; commands are argv arrays (variables not yet replaced). */
export interface Scenario {
  readonly version: 1;
  readonly name: string;
  readonly description: string;
  /** The scenario file, or undefined when it was given as an object. */
  readonly file: string | undefined;
  /** Base of relative paths: the scenario file's directory (or the cwd option for an object). */
  readonly dir: string;
  readonly setup: {
    readonly snapshot: string | undefined;
    readonly env: Readonly<Record<string, string>>;
    readonly limits: { readonly openFiles: number | undefined; readonly addressSpaceMb: number | undefined } | undefined;
    readonly stressors: { readonly cpu: number; readonly io: number };
  };
  readonly command: readonly string[];
  readonly workload:
    | {
        readonly command: readonly string[];
        readonly durationMs: number | undefined;
        readonly ready: RegExp | undefined;
        readonly startAfter: RegExp | undefined;
        readonly stopTarget: boolean;
        readonly readyTimeoutMs: number;
      }
    | undefined;
  /** The plan: an inline object (as written) or an absolute plan file path. */
  readonly plan: { readonly kind: 'inline'; readonly value: unknown } | { readonly kind: 'file'; readonly path: string };
  /** The plan's own seed (used when neither the scenario's seeds nor an override are given). */
  readonly planSeed: bigint | undefined;
  readonly engine: EngineOption;
  readonly seeds: readonly bigint[] | undefined;
  readonly timeoutMs: number;
  readonly expect: ScenarioExpectations;
}

/** One expectation, checked. */
export interface ScenarioCheck {
  /** What was checked: `exit`, `stdout`, `durationMs`, `counts fsync.faulted`, `verify`, ... */
  check: string;
  passed: boolean;
  /** What the scenario expected, in words: `exit 0`, `>= 1`, `a line matching /EIO/`. */
  expected: string;
  /** What happened, in words: `exit 1`, `0`, `no such line (4 lines, last: "done")`. */
  actual: string;
  /** `<check>: expected <expected>, got <actual>`. */
  message: string;
}

/** How a helper process (workload, verify) went. */
export interface ProcessOutcome {
  command: string[];
  exit: ExitInfo;
  /** sysfault stopped it (end of the target, durationMs, timeout). */
  stopped: boolean;
  stdout: string;
  stderr: string;
}

/** The report of one scenario run (one seed). */
export interface ScenarioRunReport {
  name: string;
  /** The scenario file, or null when the scenario was an object. */
  file: string | null;
  seed: number | string;
  passed: boolean;
  /** Why it failed (every failed expectation, `; `-separated), or what passed. */
  reason: string;
  /** The run could not be carried out (command not found, engine unavailable, ...): not an expectation. */
  error: boolean;
  /** Wall time of the whole run: setup, target, verify. */
  durationMs: number;
  engine: Engine | null;
  /** How the target ended (null when it did not run). */
  exit: ExitInfo | null;
  timedOut: boolean;
  checks: ScenarioCheck[];
  /** Fault-log entries (plus dropped ones). */
  faults: number;
  /** The run directory kept (`work/`, `stdout.txt`, `result.json`, ...), or null when it was removed. */
  keptDir: string | null;
  /** One command that reruns exactly this scenario with this seed (null for a scenario object). */
  rerun: string | null;
  /** The run's result, with the fault log (null when the target did not run). */
  result: RunResult | null;
  stdout: string;
  stderr: string;
  workload: ProcessOutcome | null;
  verify: ProcessOutcome | null;
}
