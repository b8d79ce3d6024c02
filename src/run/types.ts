/**
 * Options of run() and spawn().
 */
import type { Stream } from 'node:stream';
import type { Engine } from '../common/run-result.js';
import type { PlanInput, RuleInput } from '../plan/schema.js';

/** Engine choice of {@link RunOptions.engine}. */
export type EngineOption = Engine | 'auto';

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
  /**
   * Additive: the file-system model (src/run/fs-models.ts): 'posix' (default, strict: a new name needs an
   * fsync of its directory), 'ext4', 'xfs' or 'btrfs' (an fsync of a file also makes its directory's entries
   * durable, as their journal commit does).
   */
  fs?: 'posix' | 'ext4' | 'xfs' | 'btrfs' | undefined;
  /**
   * Additive, advanced: record into this existing directory, which the caller owns (it is kept after the run)
   * and applies itself with {@link applyPowercut}; crashSweep does this to build crash states after the run.
   */
  shadowDir?: string | undefined;
}
