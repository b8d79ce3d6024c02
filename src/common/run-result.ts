/**
 * The shape of a run's result (result v1 of the contract, plus additive fields): types only. It sits at the
 * bottom because errors carry the result of the run they ended (see errors.ts); run/result.ts builds it.
 */

/** Which engine runs the target. */
export type Engine = 'preload' | 'seccomp';
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
  /** Additive: why this engine (what `auto` found in the executable, or that it was asked for). */
  engineReason: string;
  /** Additive: what the run could not do or see, and rules that matched nothing (see RunWarning). */
  warnings: RunWarning[];
  /** Additive: the processes that ran on the in-process fast path (the Go agent), one line each. */
  fastPath: string[];
}

/**
 * Something a run's user should know, with a stable `code` and a one-line `message`. Codes:
 * - `rule-matched-nothing`: a rule matched no call; the message says what the program called instead when the
 *   engines counted it (a named syscall's alternatives: fdatasync for fsync, ...).
 * - `log-dropped`: fault-log entries were lost to a full log (the counts are exact).
 * - `tree-crash-unreached`: a crash point meant to stop the whole tree (a power cut, a kill with scope
 *   'tree') found no tree to stop (no sysfault-shim above the process, or the process runs in a PID namespace
 *   of its own): only that process died, the rest of the tree ran on.
 * - `preload-bypassed`, `preload-dropped`: under the preload engine a program bypassed libc (static or Go) or
 *   was started without LD_PRELOAD: none of its calls were seen (--engine auto or seccomp sees them).
 * - `io-uring`: a process set up io_uring, whose I/O no syscall interception sees (`ioUring: 'deny'`).
 * - `fast-path-unavailable`: the Go agent could not be loaded into a Go program (ptrace not allowed, a stub
 *   that did not match): the supervisor alone handled its calls, slower.
 * - `tree-remains`: the target exited while processes of its tree ran on (a background job, a daemon); the
 *   run waited for them (a timeout or a kill ends them all). Emitted as a `warning` event when it happens.
 */
export interface RunWarning {
  code: string;
  message: string;
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
