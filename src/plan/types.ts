/**
 * The plan after validation (normalized). The plan as written (PlanInput, RuleInput, ActionInput) is typed
 * beside its schema in schema.ts.
 */
import type { AddrFilter } from './addr.js';

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
      /** Additive: 'tree' stops every process of the run at this instant, then kills them all (a machine
       * crash; native/core/tree.h); default 'process' (only the calling process gets the signal). */
      readonly scope?: 'process' | 'tree';
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
