/**
 * Topologies: several cooperating services, each under its own fault plan and its own sysfault run, started
 * in order once each is ready, with restarts as faults, an optional client workload, one timeline across all
 * of them, and metrics (see docs/topologies.md).
 *
 * @example
 * ```ts
 * import { runTopology } from 'sysfault';
 *
 * const result = await runTopology('kv.yaml', {
 *   workload: async (ctx) => {
 *     for (let i = 0; i < 100 && !ctx.signal.aborted; i++) {
 *       await ctx.timed('put', async () => {
 *         const res = await fetch(`http://127.0.0.1:${ctx.port('api')}/kv/k${i}`, { method: 'PUT', body: `v${i}` });
 *         return { ok: res.ok, status: res.status };
 *       });
 *     }
 *   },
 * });
 * for (const e of result.timeline) console.log(formatEntry(e));
 * ```
 */
import { z } from 'zod';
import { UsageError } from '../common/errors.js';
import { describePlanIssues } from '../plan/issues.js';
import { show } from '../common/text.js';
import { loadTopology } from './load.js';
import { TopologyRun } from './run.js';
import type { TimelineEntry, TopologyHandle, TopologyInput, TopologyOptions, TopologyResult, TopologySpec } from './types.js';

export { loadTopology, parseTopologyText } from './load.js';
export { TopologyError } from './schema.js';
export { expandTemplate } from './template.js';
export type { LoadTopologyOptions } from './load.js';
export { topologyMetrics, sampleStats } from './metrics.js';
export { parseSampleLine } from './workload.js';
export type * from './types.js';

const optionsSchema = z.strictObject({
  workload: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', { error: 'expected a function' }).optional(),
  timeoutMs: z.number().int().min(1).max(0x7fffffff).optional(),
  dir: z.string().min(1).optional(),
  vars: z.record(z.string(), z.string()).optional(),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { error: 'expected an AbortSignal' }).optional(),
  onEntry: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', { error: 'expected a function' }).optional(),
  echo: z.custom<NodeJS.WritableStream>((v) => v !== null && typeof v === 'object' && typeof (v as { write?: unknown }).write === 'function', { error: 'expected a writable stream' }).optional(),
});

function isSpec(source: unknown): source is TopologySpec {
  return source !== null && typeof source === 'object' && 'baseDir' in source && 'stopGraceMs' in source;
}

/**
 * Validates everything and starts a topology; returns its live handle at once.
 * @param source a topology object, the path of a topology file (.yaml, .yml, .json), or what
 *   {@link loadTopology} returned.
 * @throws TopologyError (bad topology or plan; a PlanError) or UsageError (bad options), synchronously.
 *   Starting errors (a command not found, an unusable engine) reject `result` and `ready`.
 */
export function startTopology(source: TopologyInput | string | TopologySpec, options: TopologyOptions = {}): TopologyHandle {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = describePlanIssues(parsed.error.issues, options);
    const message = issue.isKey ? `unknown option ${show(issue.path.at(-1))}` : `${issue.message}, got ${show(issue.value)}`;
    const others = issue.others.map((o) => `; options${o.field === '' ? '' : `.${o.field}`}: ${o.message}`).join('');
    throw new UsageError(`options${issue.field === '' ? '' : `.${issue.field}`}: ${message}${others}`);
  }
  const spec = isSpec(source) ? source : loadTopology(source, { vars: options.vars });
  return new TopologyRun(spec, options);
}

/** Runs a topology to its end (see {@link startTopology}); rejects (never throws) with the same errors. */
export function runTopology(source: TopologyInput | string | TopologySpec, options: TopologyOptions = {}): Promise<TopologyResult> {
  try {
    return startTopology(source, options).result;
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The timeline as JSON lines (one entry per line, in order). */
export function timelineToJsonl(timeline: readonly TimelineEntry[]): string {
  return timeline.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** One line for a person: `   812.402 ms  store.0#1  fault  fsync -> errno:EIO /dir/kv.log [store-eio] pid 4242`. */
export function formatEntry(e: TimelineEntry): string {
  const who = e.serviceId === undefined ? (e.kind.startsWith('workload') ? 'workload' : 'topology') : `${e.serviceId}${e.incarnation ? `#${e.incarnation}` : ''}`;
  let what: string;
  switch (e.kind) {
    case 'fault': {
      const f = e.fault;
      what = f ? `${f.syscall} -> ${f.action}${f.target ? ` ${f.target}` : ''} [${f.rule}]` : '';
      break;
    }
    case 'kill':
      what = `${e.signal ?? ''}${e.event !== undefined ? ` by event ${e.event}` : ''}${e.reason ? ` (${e.reason})` : ''}`;
      break;
    case 'exit':
    case 'workload-exit':
      what = `${e.exit ? (e.exit.signal ?? `code ${e.exit.code}`) : 'status unknown'}${e.reason ? ` (${e.reason})` : ''}`;
      break;
    case 'restart':
      what = e.event !== undefined ? `by event ${e.event}` : `by ${e.reason ?? 'policy'}`;
      break;
    case 'log':
    case 'mark':
      what = e.line ?? '';
      break;
    case 'rule-enabled':
    case 'rule-disabled':
      what = e.rule ?? '';
      break;
    case 'workload-error': {
      const s = e.sample;
      what = s ? `${s.op ?? 'request'}${s.key ? ` ${s.key}` : ''} ${s.status ?? ''} ${s.error ?? ''} (${s.latencyMs} ms)`.replace(/\s+/g, ' ').trim() : '';
      break;
    }
    default:
      what = e.reason ?? '';
  }
  const pid = e.pid !== undefined ? ` pid ${e.pid}` : '';
  return `${e.tMs.toFixed(3).padStart(11)} ms  ${who.padEnd(12)} ${e.kind.padEnd(14)} ${what}${pid}`.trimEnd();
}
