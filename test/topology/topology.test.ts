// Topologies: a Go net/http API (test/fixtures/go/cmd/api, seccomp engine: Go makes raw syscalls) in front of
// a Rust tokio storage service (test/fixtures/rust/src/bin/kvstore.rs, preload engine), each under its own
// plan and its own sysfault run, with a TypeScript workload (fetch over loopback) recording every request.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InMemorySpanExporter, BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import {
  exportTopologyToOtel,
  loadTopology,
  parseTopologyText,
  TopologyError,
  type TimelineEntry,
  type TopologyResult,
} from '../../src/index.js';
import { liveStart, scratch } from '../helpers.js';
import { call, failed, first, KVSTORE, kv, of, run, sleep } from './kv-topology.js';

/** Shared with the OpenTelemetry test. */
let fsyncRun: TopologyResult | undefined;

describe('topology files', () => {
  it('validates strictly, with file:line:col like plans', () => {
    const dir = scratch();
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const base = `version: 1\nservices:\n  - name: store\n    command: ${KVSTORE}\n`;
    const cases: [string, RegExp][] = [
      [`${base}    replica: 2\n`, /t\.yaml:5:5: services\[0\]\.replica: unknown field "replica" \(did you mean "replicas"\?\)$/],
      [`${base}events:\n  - at: 10\n    kill: api\n`, /t\.yaml:7:11: events\[0\]\.kill: unknown service "api" \(services: store\)/],
      [`${base}    args: ["\${ports.store}"]\n`, /t\.yaml:5:12: services\[0\]\.args\[0\]: unknown port "store" \(declare it under ports:\)/],
      [`${base}    plan:\n      version: 1\n      rules:\n        - syscalls: [fsync]\n          action: {errno: EIOO}\n`, /t\.yaml:9:27: services\[0\]\.plan\.rules\[0\]\.action\.errno: unknown errno "EIOO"/],
      [`${base}  - name: store\n    command: x\n`, /t\.yaml:5:11: services\[1\]\.name: duplicate service name "store", already used by services\[0\]/],
      [`${base}    ready: {port: 1, stdoutLine: x}\n`, /t\.yaml:5:12: services\[0\]\.ready: expected exactly one of port, stdoutLine; got port and stdoutLine/],
      [`${base}    env: {A: "\${env.SYSFAULT_SURELY_UNSET}"}\n`, /services\[0\]\.env\.A: environment variable SYSFAULT_SURELY_UNSET is not set/],
      [`${base}events:\n  - at: {afterSyscall: {service: store, syscall: fsynk, count: 1}}\n    kill: store\n`, /events\[0\]\.at\.afterSyscall\.syscall: unknown syscall "fsynk"/],
      [`${base}    plan: {version: 1, rules: [{id: eio, syscalls: [fsync], action: {errno: EIO}}]}\nevents:\n  - {at: 5, enable: {service: store, rule: eoi}}\n`, /events\[0\]\.enable\.rule: service "store" has no rule "eoi" \(rules: eio\)/],
      [`${base}    logLines: "(("\n`, /services\[0\]\.logLines: bad regular expression "\(\(": /],
      ['version: 1\nservices: []\n', /t\.yaml:2:11: services: expected at least one service, got \[\]/],
    ];
    for (const [text, message] of cases) {
      expect(() => loadTopology(file('t.yaml', text))).toThrow(message);
    }
    // JSON: strict JSON, and positions too.
    expect(() => loadTopology(file('t.json', '{"version": 1, "services": [{"name": "a", "command": "x", "bogus": 1}]}'))).toThrow(
      /t\.json:1:59: services\[0\]\.bogus: unknown field "bogus"/,
    );
    const err = (() => {
      try {
        parseTopologyText('version: 2\nservices: []\n', 'x.yaml');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TopologyError);
    expect(err).toMatchObject({ code: 'PLAN_INVALID', exitCode: 125, file: 'x.yaml', line: 1, field: 'version' });

    // ${vars.*} and defaults; replicas with their own ports.
    const spec = loadTopology(
      file('ok.yaml', `version: 1\nports: {store: 2}\nservices:\n  - name: store\n    replicas: 2\n    command: ${KVSTORE}\n    args: ["\${ports.store[replica]}", "\${vars.x}", "\${env.SYSFAULT_SURELY_UNSET:-d}"]\n`),
      { vars: { x: '1' } },
    );
    expect(spec.services[0]?.replicas).toBe(2);
    expect(() => loadTopology(join(dir, 'ok.yaml'))).toThrow(/no value for \$\{vars\.x\}/);
  });
});

describe('starting', () => {
  it('a service never ready ends the topology (not-ready), and what was started is stopped', async () => {
    const result = await run({
      version: 1,
      ports: ['nothing'],
      services: [
        { name: 'sleeper', command: '/bin/sleep', args: ['30'], ready: { stdoutLine: '^never' , timeoutMs: 300 } },
        { name: 'after', command: '/bin/sleep', args: ['30'] },
      ],
    });
    expect(result.reason).toBe('not-ready');
    expect(result.error).toBe('sleeper.0 not ready after 300 ms: no stdout line matched /^never/');
    expect(result.instances.map((i) => i.incarnations.length)).toEqual([1, 0]);
    expect(result.instances[0]?.incarnations[0]).toMatchObject({ endedBy: 'stop', exit: { code: null, signal: 'SIGTERM' } });
    expect(of(result, 'not-ready').map((e) => e.serviceId)).toEqual(['sleeper.0']);
    expect(result.readyMs).toBeNull();
  });

  it('a workload command that leaves a background process in its group leaves nothing running', async () => {
    const result = await run({
      version: 1,
      services: [{ name: 'a', command: '/bin/sleep', args: ['30'] }],
      // One background sleep lets go of the output pipe, the other keeps it (so waiting for the output to close
      // waits for it) and ends sooner, so that the first is still there to be seen.
      workload: { command: 'sh', args: ['-c', 'sleep 60 >/dev/null 2>&1 & echo "background $!"; sleep 30 &'] },
    });
    expect(result.reason).toBe('workload-exit');
    expect(result.durationMs).toBeLessThan(20_000);
    const pid = Number(/^background (\d+)$/m.exec(readFileSync(result.workload?.logFile ?? '', 'utf8'))?.[1]);
    expect(pid).toBeGreaterThan(1);
    await expect.poll(() => liveStart(pid), { timeout: 2000 }).toBeUndefined();
  });

  it('a command that is not found rejects before anything starts', async () => {
    const err = await run({
      version: 1,
      services: [
        { name: 'a', command: '/bin/sleep', args: ['30'] },
        { name: 'b', command: './no-such-program' },
      ],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'COMMAND_NOT_FOUND', exitCode: 127 });
  });
});

describe('Go API + Rust store', () => {
  it('fsync faults in the store surface as the API’s 503 storage_error, cause before effect', async () => {
    const result = await run(
      kv({
        storePlan: {
          version: 1,
          seed: 3,
          rules: [{ id: 'wal-eio', syscalls: ['fsync'], path: '**/kv.log', after: 4, limit: 3, action: { errno: 'EIO' } }],
        },
      }),
      {
        workload: async (ctx) => {
          for (let i = 0; i < 12; i++) await call(ctx, 'PUT', `k${i}`, `value ${i}`);
          // Writes that were not acknowledged were not applied either.
          for (let i = 0; i < 12; i++) await call(ctx, 'GET', `k${i}`);
        },
      },
    );
    fsyncRun = result;
    expect(result.reason).toBe('workload-exit');
    expect(result.error).toBeNull();
    const puts = result.samples.filter((s) => s.op === 'put');
    expect(puts.map((s) => s.status)).toEqual([200, 200, 200, 200, 503, 503, 503, 200, 200, 200, 200, 200]);
    for (const s of failed(puts)) expect(s.error).toMatch(/^storage_error: fsync EIO Input\/output error/);
    const gets = result.samples.filter((s) => s.op === 'get');
    expect(gets.map((s) => s.status)).toEqual([200, 200, 200, 200, 404, 404, 404, 200, 200, 200, 200, 200]);

    // Each service has its own run, counters and fault log; ids in the environment.
    const [store, api] = result.instances;
    expect(store?.incarnations[0]?.engine).toBe('preload');
    expect(api?.incarnations[0]?.engine).toBe('seccomp');
    expect(store?.incarnations[0]?.result?.counts.fsync).toEqual({ calls: 12, faulted: 3, delayed: 0 });
    expect(store?.incarnations[0]?.result?.faults).toHaveLength(3);
    expect(api?.incarnations[0]?.result?.faults).toHaveLength(0);
    expect(readFileSync(store?.incarnations[0]?.logFile ?? '', 'utf8')).toMatch(/^replayed 0 records\nlistening \d+ service=store\.0\n/);

    // The timeline: every fault, ordered, each followed by the store's error line, then the API's, then the
    // client's 503: cause before effect, on one clock.
    const faults = of(result, 'fault');
    expect(faults).toHaveLength(3);
    for (const f of faults) {
      expect(f).toMatchObject({ service: 'store', serviceId: 'store.0', incarnation: 0, topologyId: result.topologyId, pid: store?.incarnations[0]?.pid });
      expect(f.runId).toBe(store?.incarnations[0]?.runId);
      expect(f.fault).toMatchObject({ syscall: 'fsync', action: 'errno:EIO', rule: 'wal-eio' });
    }
    const apiErrors = of(result, 'log', 'api');
    const clientErrors = of(result, 'workload-error').filter((e) => e.sample?.op === 'put');
    expect(apiErrors).toHaveLength(3);
    expect(clientErrors).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const [fault, apiLog, client] = [faults[i], apiErrors[i], clientErrors[i]] as [TimelineEntry, TimelineEntry, TimelineEntry];
      expect(apiLog.line).toMatch(new RegExp(`^put k${4 + i} err 503 storage_error fsync EIO`));
      expect(fault.tMs).toBeLessThan(apiLog.tMs);
      expect(apiLog.tMs).toBeLessThanOrEqual(client.tMs);
      // The fault happened while the failing request was in flight (the clocks agree).
      expect(fault.tMs).toBeGreaterThanOrEqual(client.sample?.startMs ?? Infinity);
    }
    const seqs = result.timeline.map((e) => e.tMs);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(result.timeline[0]?.kind).toBe('topology-start');
    expect(result.timeline.at(-1)?.kind).toBe('topology-end');
    expect(first(result, 'ready', 'store').tMs).toBeLessThan(first(result, 'start', 'api').tMs);

    // Metrics: one fault window, the failures in it, recovered after.
    const w = result.metrics.windows;
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ kind: 'fault', service: 'store', faults: 3, actions: ['errno:EIO'], rules: ['wal-eio'] });
    expect(w[0]?.during.errors).toBe(3);
    expect(w[0]?.recoveryMs).not.toBeNull();
    expect(result.metrics.overall).toMatchObject({ count: 24, errors: 6 }); // 3 PUTs, and the 3 GETs (404) of what they did not write
  });

  it('a refused store trips the API’s retries, then its circuit breaker, then recovers', async () => {
    const result = await run(
      kv({
        // The first 9 connects from the API to the store are refused (the store is up all along).
        apiPlan: { version: 1, rules: [{ id: 'refuse', syscalls: ['connect'], addr: '127.0.0.1:${ports.store}', limit: 9, action: { errno: 'ECONNREFUSED' } }] },
        apiArgs: ['--attempts', '3', '--backoff-ms', '5', '--breaker-failures', '3', '--breaker-cooldown-ms', '300'],
      }),
      {
        workload: async (ctx) => {
          for (let i = 0; i < 60 && !ctx.signal.aborted; i++) {
            const reply = await call(ctx, 'PUT', `k${i}`, `v${i}`);
            if (reply.ok && i > 5) break;
            await sleep(20);
          }
        },
      },
    );
    expect(result.reason).toBe('workload-exit');
    const statuses = result.samples.map((s) => s.status);
    // Three requests use up their 3 attempts each (9 refusals): 502; the breaker opens; fail fast; then a
    // half-open trial succeeds and closes it.
    expect(statuses.slice(0, 3)).toEqual([502, 502, 502]);
    for (const s of result.samples.slice(0, 3)) expect(s.error).toMatch(/^store_unavailable: ECONNREFUSED: dial tcp 127\.0\.0\.1:\d+: connect: connection refused/);
    const open = statuses.slice(3, -1);
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(new Set(open)).toEqual(new Set([503]));
    for (const s of result.samples.slice(3, -1)) expect(s.error).toMatch(/^circuit_open: /);
    expect(statuses.at(-1)).toBe(200);
    const apiRun = result.instances[1]?.incarnations[0]?.result;
    expect(apiRun?.counts.connect).toMatchObject({ faulted: 9 });
    const breaker = of(result, 'log', 'api').filter((e) => e.line?.startsWith('breaker'));
    expect(breaker.map((e) => e.line)).toEqual(['breaker open', 'breaker half-open', 'breaker closed']);
    // Cause before effect: the 9th refusal, then the breaker opening.
    const refusals = of(result, 'fault', 'api');
    expect(refusals).toHaveLength(9);
    expect(refusals.at(-1)?.tMs).toBeLessThan(breaker[0]?.tMs ?? 0);
    const w = result.metrics.windows.find((x) => x.service === 'api');
    expect(w?.kind).toBe('fault');
    expect(w?.recoveryMs).not.toBeNull();
  });

  it('a slow store (fsync held 1.5 s) trips the API’s per-attempt timeout', async () => {
    const result = await run(
      kv({
        storePlan: { version: 1, rules: [{ id: 'slow-disk', syscalls: ['fsync'], path: '**/kv.log', limit: 1, action: { delayMs: 1500 } }] },
        apiArgs: ['--timeout-ms', '200', '--attempts', '2', '--backoff-ms', '10', '--breaker-failures', '100'],
      }),
      {
        workload: async (ctx) => {
          for (let i = 0; i < 100 && !ctx.signal.aborted; i++) {
            const reply = await call(ctx, 'PUT', `k${i}`, `v${i}`);
            if (reply.ok) break;
          }
          for (let i = 0; i < 5; i++) await call(ctx, 'PUT', `after${i}`, 'v');
        },
      },
    );
    expect(result.reason).toBe('workload-exit');
    const [firstSample] = result.samples;
    expect(firstSample?.status).toBe(504);
    expect(firstSample?.error).toMatch(/^store_timeout: TIMEDOUT: read tcp .* i\/o timeout$/);
    expect(firstSample?.latencyMs).toBeGreaterThanOrEqual(400); // 2 attempts x 200 ms
    expect(result.samples.slice(-5).every((s) => s.ok)).toBe(true);
    const delay = first(result, 'fault', 'store');
    expect(delay.fault?.action).toBe('delay:1500ms');
    expect(delay.tMs).toBeLessThan(first(result, 'log', 'api').tMs);
    const w = result.metrics.windows[0];
    expect(w).toMatchObject({ kind: 'fault', service: 'store', faults: 1 });
    expect((w?.endMs ?? 0) - (w?.startMs ?? 0)).toBeCloseTo(1500, 0);
    expect(w?.during.errors).toBeGreaterThanOrEqual(1);
    expect(w?.during.latencyMs?.max).toBeGreaterThanOrEqual(400);
  });

  it('a store restart mid-load loses no acknowledged write', async () => {
    const acked = new Map<string, string>();
    const lost: string[] = [];
    const result = await run(
      kv({
        // SIGKILL the store at its 15th fsync (mid-load), bring it back 200 ms later on the same port and dir.
        events: [{ at: { afterSyscall: { service: 'store', syscall: 'fsync', count: 15 } }, kill: 'store', signal: 'SIGKILL', restartAfterMs: 200 }],
        apiArgs: ['--attempts', '3', '--backoff-ms', '20', '--breaker-failures', '3', '--breaker-cooldown-ms', '200'],
      }),
      {
        workload: async (ctx) => {
          const deadline = ctx.now() + 6_000;
          let i = 0;
          // Load until the store has been back for a while.
          while (!ctx.signal.aborted && ctx.now() < deadline) {
            const key = `k${i}`;
            const value = `v${i}-${'x'.repeat(i % 7)}`;
            const reply = await call(ctx, 'PUT', key, value);
            if (reply.ok) acked.set(key, value);
            i++;
            const back = ctx.topology.timeline().find((e) => e.kind === 'ready' && e.service === 'store' && e.incarnation === 1);
            if (back && ctx.now() - back.tMs > 500) break;
            await sleep(5);
          }
          ctx.mark('verify');
          for (const [key, value] of acked) {
            const reply = await call(ctx, 'GET', key);
            if (reply.body.value !== value) lost.push(`${key}: ${reply.status} ${JSON.stringify(reply.body)}`);
          }
        },
      },
    );
    expect(result.reason).toBe('workload-exit');
    expect(lost).toEqual([]);
    expect(acked.size).toBeGreaterThan(20);
    const store = result.instances[0];
    expect(store?.incarnations.map((i) => i.endedBy)).toEqual(['event', 'stop']);
    expect(store?.incarnations[0]?.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(store?.incarnations[1]?.pid).not.toBe(store?.incarnations[0]?.pid);
    expect(readFileSync(store?.incarnations[1]?.logFile ?? '', 'utf8')).toMatch(/^replayed (\d+) records\nlistening \d+ service=store\.0\n/);
    expect(store?.incarnations[0]?.result?.counts.fsync?.calls).toBeGreaterThanOrEqual(15);

    // kill -> unready -> exit -> restart -> start -> ready, in that order; the first client error after the kill.
    const kill = first(result, 'kill', 'store');
    expect(kill).toMatchObject({ signal: 'SIGKILL', event: 0, incarnation: 0 });
    const sequence = result.timeline.filter((e) => e.service === 'store' && e.tMs >= kill.tMs && e.kind !== 'log' && e.kind !== 'fault');
    expect(sequence.slice(0, 6).map((e) => `${e.kind}${e.incarnation ?? ''}`)).toEqual(['kill0', 'unready0', 'exit0', 'restart', 'start1', 'ready1']);
    const firstError = first(result, 'workload-error');
    expect(firstError.tMs).toBeGreaterThan(kill.tMs);
    const w = result.metrics.windows.find((x) => x.kind === 'restart');
    const back = of(result, 'ready', 'store').find((e) => e.incarnation === 1);
    expect(w).toMatchObject({ service: 'store', serviceId: 'store.0', startMs: kill.tMs, endMs: back?.tMs });
    expect(w?.recoveryMs).not.toBeNull();
    expect(result.metrics.overall.errors).toBeGreaterThan(0);
    expect(result.metrics.baseline.errors).toBe(0);
  });

  it('a crash restarted by policy; the topology ends when it crashes for good (stopOnServiceExit)', async () => {
    const topology = kv({
      // Each incarnation is killed by its own plan at its 3rd fsync: a crash, not a topology event.
      storePlan: { version: 1, rules: [{ id: 'crash', syscalls: ['fsync'], path: '**/kv.log', after: 2, limit: 1, action: { kill: 'SIGKILL' } }] },
      store: { restart: { policy: 'on-failure', delayMs: 50, maxRestarts: 1 } },
      apiArgs: ['--breaker-failures', '1000', '--backoff-ms', '50'],
    });
    topology.stopOnServiceExit = true;
    const result = await run(topology, {
      workload: async (ctx) => {
        for (let i = 0; i < 200 && !ctx.signal.aborted; i++) {
          await call(ctx, 'PUT', `k${i}`, 'v').catch(() => undefined);
          await sleep(10);
        }
      },
    });
    expect(result.reason).toBe('service-exit');
    expect(result.error).toBe('store.0 exited (killed by SIGKILL)');
    const store = result.instances[0];
    expect(store?.incarnations.map((i) => [i.endedBy, i.exit?.signal])).toEqual([
      ['crash', 'SIGKILL'],
      ['crash', 'SIGKILL'],
    ]);
    expect(of(result, 'restart', 'store').map((e) => e.reason)).toEqual(['policy']);
    expect(result.metrics.windows.filter((w) => w.kind === 'crash')).toHaveLength(2);
    expect(result.instances[1]?.incarnations[0]?.endedBy).toBe('stop');
  });

  it('rule switches by time: errors only while the rule is on; time to recover after it is off', async () => {
    const result = await run(
      kv({
        storePlan: { version: 1, rules: [{ id: 'eio', syscalls: ['fsync'], path: '**/kv.log', action: { errno: 'EIO' } }] },
        events: [
          { at: 0, disable: { service: 'store', rule: 'eio' } },
          { at: 400, enable: { service: 'store', rule: 'eio' } },
          { at: 800, disable: { service: 'store', rule: 'eio' } },
        ],
      }),
      {
        workload: async (ctx) => {
          const end = ctx.now() + 1_300;
          for (let i = 0; ctx.now() < end && !ctx.signal.aborted; i++) {
            await call(ctx, 'PUT', `k${i}`, 'v');
            await sleep(10);
          }
        },
      },
    );
    const on = first(result, 'rule-enabled', 'store').tMs;
    const off = of(result, 'rule-disabled', 'store')[1]?.tMs ?? 0;
    expect(off - on).toBeGreaterThan(350);
    for (const s of result.samples) {
      if (s.tMs < on) expect(s.ok).toBe(true);
      if (s.startMs > off) expect(s.ok).toBe(true);
      if (!s.ok) expect(s.status).toBe(503);
    }
    const w = result.metrics.windows;
    expect(w).toHaveLength(1);
    expect(w[0]?.during.errorRate).toBeGreaterThan(0.8);
    expect(w[0]?.startMs).toBeGreaterThanOrEqual(on);
    expect(w[0]?.endMs).toBeLessThanOrEqual(off);
    expect(w[0]?.recoveryMs).not.toBeNull();
    expect(w[0]?.recoveryMs).toBeLessThan(200);
    expect(result.metrics.baseline.errors).toBe(0);
  });

  it('exports the timeline as OpenTelemetry spans and events in order', () => {
    const result = fsyncRun;
    if (!result) throw new Error('the fsync test did not run');
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const out = exportTopologyToOtel(result, { tracerProvider: provider });
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['sysfault.service', 'sysfault.service', 'sysfault.topology', 'sysfault.workload']);
    expect(out).toMatchObject({ spans: 4, events: result.timeline.length });
    const root = spans.find((s) => s.name === 'sysfault.topology');
    expect(root?.attributes['sysfault.topology.id']).toBe(result.topologyId);
    for (const s of spans) {
      expect(s.spanContext().traceId).toBe(out.traceId);
      if (s !== root) expect(s.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
    }
    const store = spans.find((s) => s.attributes['sysfault.service.name'] === 'store');
    expect(store?.attributes).toMatchObject({ 'sysfault.service.id': 'store.0', 'sysfault.engine': 'preload', 'process.pid': result.instances[0]?.incarnations[0]?.pid });
    const faultEvents = store?.events.filter((e) => e.name === 'fault') ?? [];
    expect(faultEvents).toHaveLength(3);
    expect(faultEvents[0]?.attributes).toMatchObject({ 'sysfault.fault.syscall': 'fsync', 'sysfault.fault.action': 'errno:EIO', 'sysfault.fault.rule': 'wal-eio' });
    expect(store?.events.map((e) => e.name).slice(0, 2)).toEqual(['start', 'ready']);
    const workload = spans.find((s) => s.name === 'sysfault.workload');
    const errors = workload?.events.filter((e) => e.name === 'workload-error' && e.attributes?.['sysfault.sample.op'] === 'put') ?? [];
    expect(errors).toHaveLength(3);
    expect(errors[0]?.attributes).toMatchObject({ 'sysfault.sample.status': 503, 'sysfault.sample.key': 'k4' });
    const ns = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
    for (let i = 0; i < 3; i++) expect(ns(faultEvents[i]!.time)).toBeLessThan(ns(errors[i]!.time));
    expect(ns(store!.startTime)).toBeGreaterThanOrEqual(ns(root!.startTime));
    expect(ns(store!.endTime)).toBeLessThanOrEqual(ns(root!.endTime));
  });
});
