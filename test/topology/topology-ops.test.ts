// Topologies, continued (topology.test.ts has the files, the start and the faults): rolling restarts and
// replicas, metrics, and the CLI.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { topologyMetrics, type TimelineEntry, type TopologyResult, type WorkloadSample } from '../../src/index.js';
import { scratch } from '../helpers.js';
import { CLI, EXAMPLE, KVSTORE, run } from './kv-topology.js';

describe('rolling restarts and replicas', () => {
  it('kills and restarts each replica in turn, each back before the next goes down', async () => {
    const result = await run({
      version: 1,
      timeoutMs: 15_000,
      durationMs: 2_000,
      ports: { store: 3 },
      services: [
        {
          name: 'store',
          replicas: 3,
          command: KVSTORE,
          args: ['--listen', '127.0.0.1:${ports.store[replica]}', '--dir', '${dir}/store-${replica}'],
          ready: { port: '${ports.store[replica]}' },
        },
      ],
      events: [{ at: 100, kill: 'store', signal: 'SIGTERM', restartAfterMs: 50, pauseMs: 20 }],
    });
    expect(result.reason).toBe('duration');
    expect(result.ports.store).toHaveLength(3);
    expect(new Set(result.ports.store).size).toBe(3);
    const lifecycle = result.timeline.filter((e) => ['kill', 'exit', 'restart', 'ready'].includes(e.kind) && e.tMs > (result.readyMs ?? 0));
    const steps = lifecycle.filter((e) => !(e.kind === 'exit' && e.reason === 'stop')).map((e) => `${e.kind} ${e.serviceId}`);
    expect(steps).toEqual([
      'kill store.0', 'exit store.0', 'restart store.0', 'ready store.0',
      'kill store.1', 'exit store.1', 'restart store.1', 'ready store.1',
      'kill store.2', 'exit store.2', 'restart store.2', 'ready store.2',
    ]);
    for (const inst of result.instances) {
      expect(inst.incarnations.map((i) => [i.endedBy, i.exit?.signal])).toEqual([
        ['event', 'SIGTERM'],
        ['stop', 'SIGTERM'],
      ]);
      const env = readFileSync(inst.incarnations[1]?.logFile ?? '', 'utf8');
      expect(env).toContain(`service=${inst.serviceId}`);
    }
    expect(result.metrics.windows.map((w) => `${w.kind} ${w.serviceId}`)).toEqual(['restart store.0', 'restart store.1', 'restart store.2']);
  });
});

describe('metrics', () => {
  it('computes windows, error rate, latency and recovery from a timeline and samples', () => {
    const t = (tMs: number, kind: TimelineEntry['kind'], extra: Partial<TimelineEntry> = {}): TimelineEntry => ({
      seq: tMs,
      tMs,
      kind,
      topologyId: 't',
      ...extra,
    });
    const fault = (tMs: number): TimelineEntry =>
      t(tMs, 'fault', {
        service: 'db',
        serviceId: 'db.0',
        fault: { seq: 0, rule: 'r', syscall: 'fsync', pid: 1, tid: 1, fd: 3, target: '', action: 'errno:EIO', tMs, runId: 'x' },
      });
    const timeline = [fault(100), fault(150), fault(1000), t(2000, 'kill', { service: 'db', serviceId: 'db.0', incarnation: 0 }), t(2300, 'ready', { service: 'db', serviceId: 'db.0', incarnation: 1 })];
    const sample = (startMs: number, latencyMs: number, ok: boolean): WorkloadSample => ({ startMs, tMs: startMs + latencyMs, latencyMs, ok });
    const samples = [
      sample(0, 10, true),
      sample(90, 20, false), // overlaps the first window
      sample(140, 30, false),
      sample(160, 10, false), // after the window, before recovery
      sample(180, 10, true),
      sample(200, 10, true),
      sample(220, 10, true),
      sample(500, 10, true),
      sample(2100, 50, false),
      sample(2310, 5, true),
      sample(2320, 5, true),
      sample(2330, 5, true),
    ];
    const m = topologyMetrics(timeline, samples, { gapMs: 100, recoveryStreak: 3 });
    expect(m.windows.map((w) => [w.kind, w.startMs, w.endMs, w.faults])).toEqual([
      ['fault', 100, 150, 2],
      ['fault', 1000, 1000, 1],
      ['restart', 2000, 2300, 0],
    ]);
    const [a, b, c] = m.windows;
    expect(a?.during).toEqual({ count: 2, errors: 2, errorRate: 1, latencyMs: { mean: 25, p50: 20, p90: 30, p99: 30, max: 30 } });
    expect(a?.firstErrorMs).toBe(10);
    expect(a?.errorsAfter).toBe(2); // the 140+30 and 160+10 samples
    expect(a?.recoveredAtMs).toBe(190);
    expect(a?.recoveryMs).toBe(40);
    expect(b?.during.count).toBe(0);
    expect(b?.recoveryMs).toBe(1315); // first sample after 1000 that starts a streak: 2310 + 5
    expect(c?.during).toMatchObject({ count: 1, errors: 1, errorRate: 1 });
    expect(c?.recoveryMs).toBe(15);
    expect(m.overall).toMatchObject({ count: 12, errors: 4, errorRate: 0.333 });
    expect(m.baseline).toMatchObject({ count: 6, errors: 0 }); // clear of every window and its recovery
  });
});

describe('CLI', () => {
  it('sysfault topology run: the example topology, with --json and --jsonl', async () => {
    const dir = scratch();
    const json = join(dir, 'result.json');
    const jsonl = join(dir, 'timeline.jsonl');
    const exec = promisify(execFile);
    const { stderr } = await exec(process.execPath, [CLI, 'topology', 'run', '--dir', dir, '--json', json, '--jsonl', jsonl, '--timeout', '20000', join(EXAMPLE, 'kv.yaml')], {
      env: { ...process.env, SYSFAULT_FIXTURES: join(import.meta.dirname, '..', 'fixtures', '.build') },
      timeout: 30_000,
    });
    expect(stderr).toMatch(/^sysfault topology kv: workload-exit after \d+ ms/);
    expect(stderr).toMatch(/store\.0 +\d+,\d+ +2 +preload/);
    const entries = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TimelineEntry);
    const kinds = new Set(entries.map((e) => e.kind));
    for (const k of ['topology-start', 'start', 'ready', 'fault', 'kill', 'restart', 'exit', 'workload-error', 'workload-exit', 'topology-end']) {
      expect(kinds).toContain(k);
    }
    const result = JSON.parse(readFileSync(json, 'utf8')) as TopologyResult;
    expect(result.reason).toBe('workload-exit');
    expect(result.workload?.exit).toEqual({ code: 0, signal: null });
    expect(result.samples.length).toBeGreaterThan(20);
    expect(result.timeline).toEqual(entries);
  });

  it('bad files exit 125 with one line', async () => {
    const dir = scratch();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'version: 1\nservices:\n  - name: a\n    command: /bin/true\n    engin: seccomp\n');
    const exec = promisify(execFile);
    const err = await exec(process.execPath, [CLI, 'topology', 'run', file]).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 125 });
    expect((err as { stderr: string }).stderr).toBe(`sysfault: ${file}:5:5: services[0].engin: unknown field "engin" (did you mean "engine"?)\n`);
  });
});
