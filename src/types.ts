/**
 * Public types: the plan as written (input), the plan after validation (normalized), run options and the
 * run result (result v1 of the contract, plus additive fields).
 */
import type { Stream } from 'node:stream';
import type { z } from 'zod';
import type { AddrFilter } from './addr.js';
import type { actionSchema, planSchema, ruleSchema } from './schema.js';

/** A plan as written in a file or passed as an object (plan v1). */
export type PlanInput = z.input<ReturnType<typeof planSchema>>;
/** One rule as written. */
export type RuleInput = z.input<ReturnType<typeof ruleSchema>>;
/** One action as written: exactly one of `errno`, `delayMs` (with optional `jitterMs`), `short`, `kill`. */
export type ActionInput = z.input<typeof actionSchema>;

/** What kind of file descriptor a rule applies to. */
export type FdKind = 'any' | 'file' | 'socket' | 'pipe';

/** An action after validation. */
export type NormalizedAction =
  | { readonly type: 'errno'; readonly errno: number; readonly name: string }
  | { readonly type: 'delay'; readonly ms: number; readonly jitterMs: number }
  | { readonly type: 'short'; readonly bytes: number }
  | {
      readonly type: 'kill';
      readonly signal: number;
      readonly name: string;
      /** Additive: 'after' signals once the call has completed (default: before it happens). */
      readonly when?: 'before' | 'after';
    }
  /** A torn write: keeps its first `bytes` (or `fraction` of the bytes asked; 'seeded': drawn per call), then SIGKILL. */
  | { readonly type: 'torn'; readonly bytes?: number; readonly fraction?: number | 'seeded' }
  /** A power cut: SIGKILL to the whole tree, and the run's `powercut` discards what was never synced. */
  | { readonly type: 'powercut'; readonly when?: 'before' | 'after' }
  /** Network (connect): the kernel refuses the connection (ECONNREFUSED, as from a closed port). */
  | { readonly type: 'refuse' }
  /** Network (connect): the connection never completes (SYNs dropped); the program's own timeout ends it. */
  | { readonly type: 'blackhole' }
  /** Network (socket I/O): the connection is reset (RST) once `afterBytes` bytes (0: at once) have passed; with
   * `afterMs`, after that long a silence (no data reaches the program) from the call that fired. */
  | { readonly type: 'reset'; readonly afterBytes: number; readonly afterMs: number }
  /** Network (socket I/O): the connection is closed (FIN: EOF, EPIPE), likewise. */
  | { readonly type: 'close'; readonly afterBytes: number; readonly afterMs: number };

/** A rule after validation: groups expanded, defaults filled in. */
export interface NormalizedRule {
  /** The rule's id (default `rule-<index>`). */
  readonly id: string;
  /** Syscall names after group expansion, deduplicated, in the order first named. */
  readonly syscalls: readonly string[];
  /** Path glob, or null for none. */
  readonly path: string | null;
  readonly fd: FdKind;
  /** Address filter, or null for none. */
  readonly addr: AddrFilter | null;
  readonly after: number;
  /** At most this many faults; null for no limit. */
  readonly limit: number | null;
  readonly probability: number;
  readonly action: NormalizedAction;
}

/** A plan after validation. */
export interface NormalizedPlan {
  readonly version: 1;
  /** The plan's seed as an unsigned 64-bit integer, or undefined when the plan has none. */
  readonly seed: bigint | undefined;
  readonly rules: readonly NormalizedRule[];
}

/** Which engine runs the target. */
export type Engine = 'preload' | 'seccomp';
/** Engine choice of {@link RunOptions.engine}. */
export type EngineOption = Engine | 'auto';

/** Per-syscall counters. */
export interface SyscallCounts {
  /** Calls intercepted (whole process tree). */
  calls: number;
  /** Calls that got an errno, a short transfer or a kill. */
  faulted: number;
  /** Calls that were delayed. */
  delayed: number;
}

/** Per-rule counters. */
export interface RuleStats {
  id: string;
  /** Calls that matched the rule's filters. */
  matched: number;
  /** Faults the rule injected. */
  fired: number;
}

/** Text form of an injected action: `errno:EIO`, `delay:200ms`, `short:1`, `kill:SIGKILL`. */
export type FaultAction =
  | `errno:${string}`
  | `delay:${number}ms`
  | `short:${number}`
  | `kill:${string}`
  | `torn:${number}`
  | 'powercut'
  | 'refuse'
  | 'blackhole'
  | 'reset'
  | `reset:after=${number}`
  | 'close'
  | `close:after=${number}`;

/** One entry of the fault log. */
export interface FaultRecord {
  /** Sequence number across the whole run (gaps mean dropped entries). */
  seq: number;
  /** Id of the rule that fired. */
  rule: string;
  syscall: string;
  pid: number;
  tid: number;
  /** The call's fd, or -1 when it has none (open). */
  fd: number;
  /** The file or address the call was about, or "" when unknown. */
  target: string;
  action: FaultAction;
  /** Milliseconds since the run started. */
  tMs: number;
  /** Additive: the run's id (the result's `runId`, SYSFAULT_RUN_ID in the target's environment). */
  runId: string;
}

/** How the target ended. */
export interface ExitInfo {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** Name of the signal that ended it (e.g. "SIGKILL"), or null. */
  signal: string | null;
}

/** What a run reports (result v1 of the contract, plus additive fields). */
export interface RunResult {
  version: 1;
  engine: Engine;
  /** The seed used: a number, or a decimal string when it is 2^53 or more. */
  seed: number | string;
  durationMs: number;
  exit: ExitInfo;
  /** An entry for every syscall a rule names (after group expansion). */
  counts: Record<string, SyscallCounts>;
  rules: RuleStats[];
  faults: FaultRecord[];
  /** Fault-log entries lost to a full log (counts are never lost). */
  dropped: number;
  /** Additive: the run's id (also in the target's SYSFAULT_RUN_ID). */
  runId: string;
  /** Additive: the `timeout` ended the target. */
  timedOut: boolean;
  /** Additive: the AbortSignal ended the target. */
  aborted: boolean;
  /** Additive: present when the run had a `powercut` option. */
  powercut?: PowercutReport;
  /** Additive: what the engines could not see or do in this run (each also in the CLI summary). */
  warnings: RunWarning[];
  /** Additive: the processes that ran on the in-process fast path (the Go agent), one line each. */
  fastPath: string[];
}

/** Something the run could not see or do, e.g. `fast-path-unavailable`. */
export interface RunWarning {
  code: string;
  message: string;
}

/** One stdio entry, as child_process takes it. */
export type StdioEntry = 'pipe' | 'ignore' | 'inherit' | Stream | number | null | undefined;

/** Options of {@link run} and {@link spawn}. */
export interface RunOptions {
  /** The plan: an object, or the path of a .json/.yaml/.yml file. */
  plan?: PlanInput | string | undefined;
  /** Extra rules, appended after the plan's: one-line `--fault` specs or rule objects. */
  faults?: readonly (string | RuleInput)[] | undefined;
  /** Seed (overrides the plan's): a non-negative integer < 2^53, a bigint or a decimal string of a u64. */
  seed?: number | bigint | string | undefined;
  /**
   * io_uring, whose I/O no syscall interception sees: 'report' (default) says so in the warnings when a process
   * sets it up (engines with a seccomp filter); 'deny' makes io_uring_setup fail with ENOSYS (every engine), so
   * that programs able to fall back to plain syscalls do.
   */
  ioUring?: 'report' | 'deny' | undefined;
  /** Engine: 'auto' (default) picks seccomp for static and Go binaries, preload otherwise. */
  engine?: EngineOption | undefined;
  /** Kill the target's whole tree (SIGKILL) after this many milliseconds; the result has timedOut. */
  timeout?: number | undefined;
  /** Environment of the target, merged over process.env unless extendEnv is false. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Default true: env is merged over process.env. */
  extendEnv?: boolean | undefined;
  /** Working directory of the target. */
  cwd?: string | undefined;
  /** Default 'inherit'. */
  stdio?: 'inherit' | 'pipe' | 'ignore' | readonly [StdioEntry, StdioEntry, StdioEntry] | undefined;
  /** Aborting kills the target's whole tree (SIGKILL); the result has aborted. */
  signal?: AbortSignal | undefined;
  /** Fault-log capacity in entries (default 10000). */
  logCapacity?: number | undefined;
  /**
   * Power cut (docs/crash-consistency.md): which files lose what was never synced when the power is cut. A glob
   * string is `{ glob }`. Needed by `powercut` actions.
   */
  powercut?: string | PowercutOptions | undefined;
}

/** The `powercut` run option. */
export interface PowercutOptions {
  /** Files covered: a glob on absolute paths (as a rule's `path`); a relative one with a '/' is taken from `root`. */
  glob: string;
  /** The directory tree the power cut restores (default: the run's cwd). */
  root?: string | undefined;
  /**
   * When the power is cut: 'action' (default) when a `powercut` action fired; 'crash' also when a signal ended
   * the target; 'always' whenever the run ends (even after a clean exit).
   */
  when?: 'action' | 'crash' | 'always' | undefined;
  /** PostgreSQL's fsync surprise: after an injected fsync/fdatasync error the file's unsynced data is dropped. */
  fsyncFailureDropsDirty?: boolean | undefined;
}

/** What a power cut did (the result's additive `powercut`). */
export interface PowercutReport {
  /** The power was cut (see PowercutOptions.when). */
  applied: boolean;
  glob: string;
  root: string;
  /** Files put back to their last synced contents (absolute paths). */
  restored: string[];
  /** Files removed: created, or renamed into their directory, since that directory was last synced. */
  removed: string[];
}
