/**
 * A topology's workload: a command (its stdout lines that are JSON samples are recorded, the rest logged) or
 * a function given a WorkloadContext; its end ends the topology.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { UsageError } from '../common/errors.js';
import type { ExitInfo } from '../common/run-result.js';
import { killGroupRemains } from '../run/terminate.js';
import { round, type TopologyHost } from './host.js';
import type { WorkloadContext, WorkloadSample } from './types.js';

/** How the workload went. */
export interface WorkloadState {
  kind: 'command' | 'function';
  startMs: number;
  endMs: number | null;
  exit: ExitInfo | null;
  error: string | null;
  logFile: string | null;
  child: ChildProcess | undefined;
  done: Promise<void>;
}

export class Workload {
  readonly #host: TopologyHost;
  /** null until the workload started (or when the topology has none). */
  state: WorkloadState | null = null;
  readonly samples: WorkloadSample[] = [];

  constructor(host: TopologyHost) {
    this.#host = host;
  }

  start(): void {
    const host = this.#host;
    const fn = host.options.workload;
    const w = host.spec.workload;
    if (!fn && !w) return;
    const startMs = host.now();
    host.entry({ kind: 'workload-start' });
    if (fn) {
      const state: WorkloadState = { kind: 'function', startMs, endMs: null, exit: null, error: null, logFile: null, child: undefined, done: Promise.resolve() };
      this.state = state;
      state.done = (async () => {
        try {
          await fn(this.#context());
          state.exit = { code: 0, signal: null };
        } catch (err) {
          state.exit = { code: 1, signal: null };
          state.error = err instanceof Error ? err.message : String(err);
        }
        state.endMs = host.now();
        host.entry({ kind: 'workload-exit', exit: state.exit, ...(state.error !== null && { reason: state.error }) });
        if (state.error !== null && !host.stopSignal.aborted) host.fail(`the workload failed: ${state.error}`);
        void host.end('workload-exit');
      })();
      return;
    }
    const spec = w as NonNullable<typeof w>;
    const scope = host.scope(undefined);
    const logFile = join(host.dir, 'logs', 'workload.log');
    const env = {
      ...process.env,
      ...host.expandEnv(spec.env, scope),
      SYSFAULT_TOPOLOGY_ID: host.topologyId,
      SYSFAULT_TOPOLOGY_DIR: host.dir,
    };
    const command = host.command('workload') ?? host.expand(spec.command, scope);
    const child = spawnChild(command, spec.args.map((a) => host.expand(a, scope)), {
      cwd: host.cwd(spec.cwd, scope),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const state: WorkloadState = { kind: 'command', startMs, endMs: null, exit: null, error: null, logFile, child, done: Promise.resolve() };
    this.state = state;
    const log = createWriteStream(logFile);
    log.on('error', () => {});
    const out = createInterface({ input: child.stdout as Readable, crlfDelay: Infinity });
    out.on('line', (line) => {
      const sample = parseSampleLine(line);
      if (sample) {
        const { ts, startTs, ...fields } = sample;
        // A wall-clock `ts` (ms since the epoch, as performance.timeOrigin + performance.now() gives it) is
        // mapped onto the topology clock; never later than the line arrived.
        const now = host.now();
        const tMs = ts === undefined ? now : Math.min(now, ts - host.epochMs);
        this.#record({ ...fields, tMs, ...(startTs !== undefined && { startMs: Math.min(tMs, startTs - host.epochMs) }) });
      } else {
        log.write(`${line}\n`);
        host.options.echo?.write(`[workload] ${line}\n`);
      }
    });
    const err = createInterface({ input: child.stderr as Readable, crlfDelay: Infinity });
    err.on('line', (line) => {
      log.write(`${line}\n`);
      host.options.echo?.write(`[workload] ${line}\n`);
    });
    const closed = Promise.all([new Promise((r) => out.once('close', r)), new Promise((r) => err.once('close', r))]);
    state.done = new Promise<void>((resolveDone) => {
      let settled = false;
      const finish = (exit: ExitInfo, error: string | null): void => {
        if (settled) return;
        settled = true;
        void closed.then(() => {
          log.end();
          state.exit = exit;
          state.error = error;
          state.endMs = host.now();
          host.entry({ kind: 'workload-exit', exit, ...(error !== null && { reason: error }) });
          resolveDone();
          void host.end('workload-exit');
        });
      };
      child.once('error', (e) => finish({ code: 127, signal: null }, e.message));
      child.once('exit', (code, signal) => {
        // The workload is over when its command is: what it left running in its group goes too (and lets go of
        // the output pipes, which would otherwise hold the workload's end until it exits).
        killGroupRemains(child);
        finish({ code, signal }, null);
      });
    });
  }

  #record(input: Parameters<WorkloadContext['record']>[0]): WorkloadSample {
    const host = this.#host;
    const tMs = round(input.tMs ?? host.now());
    const latencyMs = round(input.latencyMs);
    const sample: WorkloadSample = { ...input, tMs, startMs: round(input.startMs ?? tMs - latencyMs), latencyMs, ok: input.ok };
    this.samples.push(sample);
    if (!sample.ok) host.entry({ kind: 'workload-error', tMs, sample });
    return sample;
  }

  #context(): WorkloadContext {
    const host = this.#host;
    const ports = host.ports;
    return {
      topologyId: host.topologyId,
      dir: host.dir,
      ports,
      port: (name, index = 0) => {
        const port = ports[name]?.[index];
        if (port === undefined) throw new UsageError(`no port ${JSON.stringify(name)}[${index}] (ports: ${Object.keys(ports).join(', ') || 'none'})`);
        return port;
      },
      signal: host.stopSignal,
      now: () => host.now(),
      record: (sample) => this.#record(sample),
      timed: async (op, fn, fields = {}) => {
        const start = host.now();
        try {
          const value = await fn();
          const v = (value ?? {}) as { ok?: boolean; status?: number | string; error?: string };
          this.#record({
            op,
            ...fields,
            ok: v.ok ?? true,
            latencyMs: host.now() - start,
            startMs: start,
            ...(v.status !== undefined && { status: v.status }),
            ...(v.error !== undefined && { error: v.error }),
          });
          return value;
        } catch (err) {
          this.#record({ op, ...fields, ok: false, latencyMs: host.now() - start, startMs: start, error: err instanceof Error ? err.message : String(err) });
          throw err;
        }
      },
      mark: (label) => void host.entry({ kind: 'mark', line: label }),
      topology: host.handle,
    };
  }
}

/** A sample as a workload command prints it. */
export type SampleLine = Omit<WorkloadSample, 'tMs' | 'startMs'> & { ts?: number; startTs?: number };

/**
 * A workload command's stdout line as a sample: a JSON object with a boolean `ok` and a numeric `latencyMs`
 * (optional: op, key, status, error; `ts` and `startTs`, wall-clock ms since the epoch of its end and start,
 * e.g. performance.timeOrigin + performance.now()). Without `ts` it is stamped when the line arrives.
 */
export function parseSampleLine(line: string): SampleLine | undefined {
  if (!line.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.ok !== 'boolean' || typeof v.latencyMs !== 'number' || !Number.isFinite(v.latencyMs) || v.latencyMs < 0) return undefined;
  return {
    ok: v.ok,
    latencyMs: v.latencyMs,
    ...(typeof v.op === 'string' && { op: v.op }),
    ...(typeof v.key === 'string' && { key: v.key }),
    ...((typeof v.status === 'number' || typeof v.status === 'string') && { status: v.status }),
    ...(typeof v.error === 'string' && { error: v.error }),
    ...(typeof v.ts === 'number' && Number.isFinite(v.ts) && { ts: v.ts }),
    ...(typeof v.startTs === 'number' && Number.isFinite(v.startTs) && { startTs: v.startTs }),
  };
}
