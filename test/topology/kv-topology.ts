// What the topology tests share (topology.test.ts, topology-ops.test.ts): the Go API in front of the Rust store,
// a client of its HTTP API, and small readers of a run's timeline.
import { join } from 'node:path';
import { runTopology, type PlanInput, type TimelineEntry, type TopologyInput, type TopologyResult, type WorkloadContext, type WorkloadSample } from '../../src/index.js';
import { fixture, scratch } from '../helpers.js';

export const KVSTORE = fixture('rust/kvstore');
export const API = fixture('go/api-static');
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
export const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'topology');

export interface KvOptions {
  storePlan?: PlanInput;
  apiPlan?: PlanInput;
  apiArgs?: string[];
  events?: TopologyInput['events'];
  store?: Partial<TopologyInput['services'][number]>;
  timeoutMs?: number;
}

/** The Go API in front of the Rust store, on allocated loopback ports. */
export function kv(o: KvOptions = {}): TopologyInput {
  return {
    version: 1,
    name: 'kv',
    timeoutMs: o.timeoutMs ?? 20_000,
    ports: ['api', 'store'],
    services: [
      {
        name: 'store',
        command: KVSTORE,
        args: ['--listen', '127.0.0.1:${ports.store}', '--dir', '${dir}/store'],
        ready: { stdoutLine: '^listening ' },
        logLines: ' err ',
        ...(o.storePlan && { plan: o.storePlan }),
        ...o.store,
      },
      {
        name: 'api',
        command: API,
        args: ['--listen', '127.0.0.1:${ports.api}', '--store', '127.0.0.1:${ports.store}', ...(o.apiArgs ?? [])],
        ready: { port: '${ports.api}' },
        logLines: ' err |^breaker ',
        ...(o.apiPlan && { plan: o.apiPlan }),
      },
    ],
    ...(o.events && { events: o.events }),
  };
}

export interface Reply {
  ok: boolean;
  status: number;
  error?: string;
  body: Record<string, unknown>;
  attempts: number;
}

export async function call(ctx: WorkloadContext, method: 'PUT' | 'GET', key: string, value?: string): Promise<Reply> {
  return ctx.timed(
    method.toLowerCase(),
    async () => {
      const res = await fetch(`http://127.0.0.1:${ctx.port('api')}/kv/${key}`, {
        method,
        ...(value !== undefined && { body: value }),
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await res.json()) as Record<string, unknown>;
      const error = typeof body.error === 'string' ? `${body.error}${body.detail ? `: ${String(body.detail)}` : ''}` : undefined;
      return { ok: res.status === 200, status: res.status, ...(error && { error }), body, attempts: Number(res.headers.get('x-attempts') ?? 0) };
    },
    { key },
  );
}

/** runTopology in a scratch directory removed after the tests. */
export const run = (topology: TopologyInput, options: Parameters<typeof runTopology>[1] = {}) => runTopology(topology, { dir: scratch(), ...options });
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const of = (result: TopologyResult, kind: TimelineEntry['kind'], service?: string) =>
  result.timeline.filter((e) => e.kind === kind && (service === undefined || e.service === service));
export const first = (result: TopologyResult, kind: TimelineEntry['kind'], service?: string): TimelineEntry => {
  const e = of(result, kind, service)[0];
  if (!e) throw new Error(`no ${kind} entry${service ? ` for ${service}` : ''}`);
  return e;
};
export const failed = (samples: readonly WorkloadSample[]) => samples.filter((s) => !s.ok);
