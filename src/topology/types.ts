/**
 * Public types of topologies: the file format (as written and after validation), the live handle, the
 * timeline, workload samples, the result and the metrics.
 */
import type { EventEmitter } from 'node:events';
import type { RunHandle } from '../run/handle.js';
import type { EngineOption } from '../run/types.js';
import type { ExitInfo, FaultRecord, RunResult } from '../common/run-result.js';
import type { PlanInput } from '../plan/schema.js';

// ---------------------------------------------------------------------------------------------------------
// The topology file (version 1), as written. Strings in command, args, env, cwd, plan (a path, or every string
// of an inline plan), ready.port and the workload may use `${...}` variables (see docs/topologies.md):
// ${ports.NAME}, ${ports.NAME[N]}, ${ports.NAME[replica]}, ${replica}, ${dir}, ${here}, ${env.NAME},
// ${env.NAME:-default}, ${vars.NAME}, ${vars.NAME:-default}; `$${` is a literal `${`.
// ---------------------------------------------------------------------------------------------------------

/** Readiness check of a service: a TCP port that accepts, or a line on stdout matching a regex. */
export type ReadyInput =
  | { port: number | string; host?: string; timeoutMs?: number }
  | { stdoutLine: string; timeoutMs?: number };

/** What happens when a service exits on its own (not by a topology event or the end of the topology). */
export interface RestartPolicyInput {
  /** never (default), on-failure (exit code != 0 or a signal), always. */
  policy: 'never' | 'on-failure' | 'always';
  /** Wait before the restart (default 100 ms). */
  delayMs?: number;
  /** Most restarts per replica by this policy (default 3). */
  maxRestarts?: number;
}

/** One service: a command run under sysfault (one run per replica and per restart). */
export interface ServiceInput {
  /** Unique name: a letter, then letters, digits, `_` or `-` (at most 63). */
  name: string;
  command: string;
  args?: string[];
  /** Environment, merged over sysfault's own environment. */
  env?: Record<string, string>;
  /** Working directory (default: the topology file's directory, else the current directory). */
  cwd?: string;
  /** The fault plan: a plan object, or the path of a plan file (relative to the topology file). */
  plan?: PlanInput | string;
  /** Seed (overrides the plan's). */
  seed?: number | string;
  engine?: EngineOption;
  ready?: ReadyInput;
  /** Copies of the service (default 1), each with its own run, counters and fault log. */
  replicas?: number;
  restart?: RestartPolicyInput;
  /** Lines of the service's stdout or stderr matching this regex go on the timeline (kind `log`). */
  logLines?: string;
}

/** A client workload command: the topology ends when it exits. */
export interface WorkloadInput {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** When a topology event fires. */
export type EventAtInput =
  | number
  | { afterSyscall: { service: string; syscall: string; count: number } };

/** A topology event: exactly one of kill, enable, disable. */
export interface EventInput {
  /**
   * Milliseconds after every service became ready (when the workload starts), or once `service` (all its
   * replicas and restarts together) has made `count` calls of `syscall`.
   */
  at: EventAtInput;
  /** Kill this service (every replica in turn: a rolling restart, or only `replica`). */
  kill?: string;
  /** Only this replica (default: all, one after the other). */
  replica?: number;
  /** Default SIGKILL. */
  signal?: string | number;
  /** Restart each killed replica after this many ms (and wait until it is ready before the next one). */
  restartAfterMs?: number;
  /** Rolling restarts: wait this long between one replica being ready again and killing the next. */
  pauseMs?: number;
  /** Turn a plan rule on in every replica of a service (and in its later restarts). */
  enable?: { service: string; rule: string };
  /** Turn a plan rule off. */
  disable?: { service: string; rule: string };
}

/** A topology file (version 1). Unknown fields are errors. */
export interface TopologyInput {
  version: 1;
  name?: string;
  /** Hard bound on the whole topology run (default 60000): ends it with reason `timeout`. */
  timeoutMs?: number;
  /** End normally this long after every service is ready (reason `duration`). */
  durationMs?: number;
  /** Loopback ports to allocate: names, or names with a count. */
  ports?: string[] | Record<string, number>;
  /** Started in this order, each once the previous one is ready. */
  services: ServiceInput[];
  workload?: WorkloadInput;
  events?: EventInput[];
  /** End the topology when a service exits on its own and is not restarted (default false). */
  stopOnServiceExit?: boolean;
  /** At the end: SIGTERM, then SIGKILL after this many ms (default 1000). */
  stopGraceMs?: number;
}

// ---------------------------------------------------------------------------------------------------------
// After validation
// ---------------------------------------------------------------------------------------------------------

export interface ReadySpec {
  readonly kind: 'port' | 'stdoutLine' | 'none';
  /** Template of the port (kind port). */
  readonly port: string;
  readonly host: string;
  readonly pattern: RegExp | undefined;
  readonly timeoutMs: number;
}

export interface ServiceSpec {
  readonly name: string;
  readonly index: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  /** An inline plan (templates inside) or a plan file path (template), or undefined. */
  readonly plan: PlanInput | string | undefined;
  readonly seed: number | string | undefined;
  readonly engine: EngineOption;
  readonly ready: ReadySpec;
  readonly replicas: number;
  readonly restart: { readonly policy: 'never' | 'on-failure' | 'always'; readonly delayMs: number; readonly maxRestarts: number };
  readonly logLines: RegExp | undefined;
}

export type EventTrigger =
  | { readonly kind: 'time'; readonly ms: number }
  | { readonly kind: 'syscall'; readonly service: string; readonly syscall: string; readonly count: number };

export type EventSpec =
  | {
      readonly index: number;
      readonly at: EventTrigger;
      readonly action: 'kill';
      readonly service: string;
      readonly replica: number | undefined;
      readonly signal: number;
      readonly signalName: string;
      readonly restartAfterMs: number | undefined;
      readonly pauseMs: number;
    }
  | {
      readonly index: number;
      readonly at: EventTrigger;
      readonly action: 'enable' | 'disable';
      readonly service: string;
      readonly rule: string;
    };

/** A validated topology (what {@link loadTopology} returns). */
export interface TopologySpec {
  readonly version: 1;
  readonly name: string;
  /** The file it came from, if any. */
  readonly file: string | undefined;
  /** Directory relative paths are resolved against (`${here}`). */
  readonly baseDir: string;
  readonly timeoutMs: number;
  readonly durationMs: number | undefined;
  /** Port names and how many of each. */
  readonly ports: Readonly<Record<string, number>>;
  readonly services: readonly ServiceSpec[];
  readonly workload: { readonly command: string; readonly args: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly cwd: string | undefined } | undefined;
  readonly events: readonly EventSpec[];
  readonly stopOnServiceExit: boolean;
  readonly stopGraceMs: number;
  /** The `${vars.*}` values it was validated with. */
  readonly vars: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------------------

/** One request (or operation) the workload made. */
export interface WorkloadSample {
  /** When it completed, on the topology clock (ms). */
  tMs: number;
  /** When it started (tMs - latencyMs). */
  startMs: number;
  latencyMs: number;
  ok: boolean;
  op?: string;
  key?: string;
  /** HTTP status or any outcome code. */
  status?: number | string;
  /** What went wrong (for a failed sample). */
  error?: string;
}

/** What a workload function gets. */
export interface WorkloadContext {
  readonly topologyId: string;
  /** The topology's scratch directory (`${dir}`). */
  readonly dir: string;
  /** Allocated ports by name. */
  readonly ports: Readonly<Record<string, readonly number[]>>;
  /** The first port of a name (or the `index`th). */
  port(name: string, index?: number): number;
  /** Aborted when the topology ends (timeout, crash): stop then. */
  readonly signal: AbortSignal;
  /** The topology clock (ms since the topology started). */
  now(): number;
  /** Records a sample; tMs defaults to now, startMs to tMs - latencyMs. */
  record(sample: Omit<WorkloadSample, 'tMs' | 'startMs'> & { tMs?: number; startMs?: number }): WorkloadSample;
  /**
   * Times `fn` and records a sample: ok unless it throws or returns `{ok: false}`; a returned `status` and
   * `error` are kept.
   */
  timed<T extends { ok?: boolean; status?: number | string; error?: string } | void>(
    op: string,
    fn: () => Promise<T>,
    fields?: { key?: string },
  ): Promise<T>;
  /** Puts a `mark` entry on the timeline. */
  mark(label: string): void;
  /** The live topology. */
  readonly topology: TopologyHandle;
}

/** A workload written in TypeScript: the topology ends when its promise settles. */
export type WorkloadFunction = (ctx: WorkloadContext) => Promise<unknown>;

/** Options of {@link runTopology} and {@link startTopology}. */
export interface TopologyOptions {
  /** A workload function (instead of, or overriding, the file's workload command). */
  workload?: WorkloadFunction | undefined;
  /** Overrides the file's timeoutMs. */
  timeoutMs?: number | undefined;
  /** Scratch directory (`${dir}`): default a new one under the system temp directory (kept afterwards). */
  dir?: string | undefined;
  /** Values of `${vars.NAME}`. */
  vars?: Readonly<Record<string, string>> | undefined;
  /** Aborting ends the topology (reason `aborted`). */
  signal?: AbortSignal | undefined;
  /** Every timeline entry as it is recorded (faults may arrive slightly out of order). */
  onEntry?: ((entry: TimelineEntry) => void) | undefined;
  /** Also echo every service's output to this stream, each line prefixed with its service id. */
  echo?: NodeJS.WritableStream | undefined;
}

/** Kinds of timeline entries. */
export type TimelineKind =
  | 'topology-start'
  | 'start'
  | 'ready'
  | 'not-ready'
  | 'topology-ready'
  | 'workload-start'
  | 'fault'
  | 'kill'
  | 'restart'
  | 'unready'
  | 'exit'
  | 'rule-enabled'
  | 'rule-disabled'
  | 'log'
  | 'mark'
  | 'workload-error'
  | 'workload-exit'
  | 'topology-end';

/** One entry of the timeline. */
export interface TimelineEntry {
  /** Order of recording (ties on tMs are ordered by it). */
  seq: number;
  /** Milliseconds since the topology started, on one monotonic clock (performance.now()). */
  tMs: number;
  kind: TimelineKind;
  topologyId: string;
  /** The service's name (service entries). */
  service?: string;
  /** The replica's id `<name>.<replica>` (SYSFAULT_SERVICE_ID). */
  serviceId?: string;
  replica?: number;
  /** 0 for the first start, then 1, 2... per restart. */
  incarnation?: number;
  /** The process (for a fault: the process that made the call). */
  pid?: number;
  /** The sysfault run id of this incarnation (SYSFAULT_RUN_ID). */
  runId?: string;
  /** kind fault: the fault as the run logged it (its tMs is on the run's own clock). */
  fault?: FaultRecord;
  /** kind kill: the signal sent. */
  signal?: string;
  /** kind exit, workload-exit. */
  exit?: ExitInfo;
  /** Index of the topology event behind this entry (kill, restart, rule-*). */
  event?: number;
  /** Why: restart (event or policy), exit (event, stop, crash, exit), not-ready, topology-end. */
  reason?: string;
  /** kind log: the line; kind mark: the label. */
  line?: string;
  /** kind rule-enabled, rule-disabled. */
  rule?: string;
  /** kind workload-error: the failed sample. */
  sample?: WorkloadSample;
}

/** Why a topology ended. */
export type TopologyEndReason =
  | 'workload-exit'
  | 'duration'
  | 'timeout'
  | 'service-exit'
  | 'services-exited'
  | 'not-ready'
  | 'aborted'
  | 'stopped';

/** One incarnation (process lifetime) of a replica. */
export interface IncarnationReport {
  incarnation: number;
  runId: string;
  pid: number | null;
  engine: string;
  seed: number | string;
  startMs: number;
  readyMs: number | null;
  endMs: number | null;
  exit: ExitInfo | null;
  /** event (a topology kill event), stop (the end of the topology), crash (died on its own). */
  endedBy: 'event' | 'stop' | 'crash' | null;
  /** Its sysfault result (counters, rules, fault log), or null when the run failed. */
  result: RunResult | null;
  /** Its stdout + stderr, in the topology directory. */
  logFile: string;
}

/** One replica of a service with all its incarnations. */
export interface InstanceReport {
  service: string;
  serviceId: string;
  replica: number;
  incarnations: IncarnationReport[];
}

/** What a topology run resolves to (topology result version 1). */
export interface TopologyResult {
  version: 1;
  topologyId: string;
  name: string;
  /** Wall-clock time of tMs 0 (ISO 8601) and as epoch milliseconds. */
  startedAt: string;
  epochMs: number;
  durationMs: number;
  reason: TopologyEndReason;
  /** Set when the topology could not do its job (a service never ready, a workload error). */
  error: string | null;
  /** When every service was first ready (tMs), or null. */
  readyMs: number | null;
  dir: string;
  ports: Record<string, number[]>;
  instances: InstanceReport[];
  workload: {
    kind: 'command' | 'function';
    startMs: number;
    endMs: number | null;
    exit: ExitInfo | null;
    error: string | null;
    samples: number;
    logFile: string | null;
  } | null;
  samples: WorkloadSample[];
  timeline: TimelineEntry[];
  metrics: TopologyMetrics;
}

/** Events of a {@link TopologyHandle}. */
export interface TopologyEvents {
  entry: [entry: TimelineEntry];
  ready: [];
  end: [result: TopologyResult];
}

/** A running topology (see {@link startTopology}). */
export interface TopologyHandle extends EventEmitter<TopologyEvents> {
  readonly topologyId: string;
  readonly spec: TopologySpec;
  /** Resolves when everything has ended; rejects only when the topology could not be started at all. */
  readonly result: Promise<TopologyResult>;
  /** Resolves once every service is ready (rejects if one never is). */
  readonly ready: Promise<void>;
  /** Allocated ports (after start). */
  readonly ports: Readonly<Record<string, readonly number[]>>;
  readonly dir: string;
  /** The topology clock. */
  now(): number;
  /** The timeline so far, ordered. */
  timeline(): TimelineEntry[];
  /** The samples so far. */
  samples(): WorkloadSample[];
  /** The live sysfault handle of a replica's current incarnation. */
  run(service: string, replica?: number): RunHandle | undefined;
  /** Ends everything now (reason `stopped`). */
  stop(): Promise<TopologyResult>;
}

// ---------------------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------------------

export interface LatencyStats {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SampleStats {
  count: number;
  errors: number;
  /** errors / count (0 when there are none). */
  errorRate: number;
  /** Latency of every sample in the set (ok or not), or null when empty. */
  latencyMs: LatencyStats | null;
}

/** A span of trouble: a burst of faults in one service, or a service down between a kill (or crash) and ready. */
export interface DisruptionWindow {
  kind: 'fault' | 'restart' | 'crash';
  service: string;
  /** For restart/crash windows: the replica. */
  serviceId?: string;
  startMs: number;
  endMs: number;
  /** fault windows: how many faults, and their actions and rules. */
  faults: number;
  actions: string[];
  rules: string[];
  /** Samples in flight during the window (their [startMs, tMs] overlaps it). */
  during: SampleStats;
  /** First failed sample that completed after the window started: its tMs - startMs (detection), or null. */
  firstErrorMs: number | null;
  /**
   * Time to recover: from the window's end to the completion of the first successful sample that started
   * after the end and is followed by (recoveryStreak - 1) more successes; null when that never happened.
   */
  recoveryMs: number | null;
  recoveredAtMs: number | null;
  /** Failed samples that completed after the window's end, before recovery. */
  errorsAfter: number;
}

export interface TopologyMetrics {
  overall: SampleStats;
  /** Samples that overlap no window, nor the time until recovery after one. */
  baseline: SampleStats;
  windows: DisruptionWindow[];
}

export interface MetricsOptions {
  /** Faults of one service closer than this (ms) form one window (default 250). */
  gapMs?: number;
  /** Successes in a row that count as recovered (default 3). */
  recoveryStreak?: number;
  /** End of the observation (default: the last timeline entry). */
  endMs?: number;
}
