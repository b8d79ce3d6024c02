/**
 * What the parts of a running topology (events.ts, workload.ts, report.ts) share with the run that owns them
 * (run.ts): the replicas and their incarnations, a narrow interface back to the run, and two small helpers.
 */
import type { ExitInfo, Engine, RunResult } from '../common/run-result.js';
import type { RunHandle } from '../run/handle.js';
import type { Scope } from './template.js';
import type { ServiceSpec, TimelineEntry, TopologyEndReason, TopologyHandle, TopologyOptions, TopologyResult, TopologySpec } from './types.js';

/** One start of one replica: its own sysfault run. */
export interface Incarnation {
  readonly n: number;
  readonly handle: RunHandle;
  readonly baseMs: number;
  readonly logFile: string;
  pid: number | null;
  readyMs: number | null;
  ready: boolean;
  endMs: number | null;
  exit: ExitInfo | null;
  result: RunResult | null;
  endedBy: 'event' | 'stop' | 'crash' | null;
  exited: boolean;
  readonly done: Promise<void>;
  markDone: () => void;
  readonly lineWaiters: Set<(line: string) => void>;
}

/** One replica of a service, across its incarnations. */
export interface Instance {
  readonly spec: ServiceSpec;
  readonly replica: number;
  readonly serviceId: string;
  readonly incarnations: Incarnation[];
  current: Incarnation | undefined;
  policyRestarts: number;
  planPath: string | undefined;
  engine: Engine | undefined;
}

/** The fields of a timeline entry its maker gives (the rest is stamped by the run). */
export type EntryFields = Omit<TimelineEntry, 'seq' | 'tMs' | 'topologyId'> & { tMs?: number };

/** The run as its parts see it. */
export interface TopologyHost {
  readonly topologyId: string;
  readonly spec: TopologySpec;
  readonly options: TopologyOptions;
  readonly dir: string;
  readonly ports: Record<string, number[]>;
  /** performance.timeOrigin + the topology's start, in ms. */
  readonly epochMs: number;
  /** Aborted when the topology ends. */
  readonly stopSignal: AbortSignal;
  readonly instances: readonly Instance[];
  /** The handle given to a workload function. */
  readonly handle: TopologyHandle;
  now(): number;
  ending(): boolean;
  entry(fields: EntryFields, inst?: Instance, inc?: Incarnation): TimelineEntry;
  scope(replica: number | undefined): Scope;
  expand(value: string, scope: Scope): string;
  expandEnv(env: Readonly<Record<string, string>>, scope: Scope): Record<string, string>;
  cwd(cwd: string | undefined, scope: Scope): string;
  /** The command resolved before anything started, by key (`<service>.<replica>` or `workload`). */
  command(key: string): string | undefined;
  timer(ms: number, fn: () => void): void;
  /** Sleeps, waking early when the topology ends. */
  sleep(ms: number): Promise<void>;
  /** Runs work counted as "in progress" (the topology does not end for lack of services meanwhile). */
  busyWith(work: () => Promise<void>): Promise<void>;
  restart(inst: Instance): Promise<void>;
  /** Records the first error of the topology (kept if one is already there). */
  fail(error: string): void;
  end(reason: TopologyEndReason, error?: string): Promise<TopologyResult>;
}

/** Milliseconds rounded to the microsecond. */
export const round = (n: number): number => Math.round(n * 1000) / 1000;

/** `exit code 1`, `killed by SIGKILL`. */
export function describeExit(exit: ExitInfo | null): string {
  if (!exit) return 'status unknown';
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}
