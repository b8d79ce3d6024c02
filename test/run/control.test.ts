/**
 * Live control from the API, under both engines, on a target the test steps one write+fsync at a time
 * (c/pacer in gate mode): live counts, handle.setEnabled(), handle.disarm(), fault events pushed from the
 * native side (handle.on('fault') and handle.events()), and the run id shared by the result, every fault
 * record and the target's SYSFAULT_RUN_ID.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/errors.js';
import { spawn } from '../../src/index.js';
import type { Engine, FaultRecord, RunHandle } from '../../src/index.js';
import { fixture, plan, runFixture, scratch } from '../helpers.js';

const engines: Engine[] = ['preload', 'seccomp'];

/** Lines of a stream, awaitable one predicate at a time. */
function lineReader(stream: Readable | null): { next: (pred: (line: string) => boolean, what: string) => Promise<string>; all: string[] } {
  if (!stream) throw new Error('no stream');
  const all: string[] = [];
  let waiter: { pred: (l: string) => boolean; resolve: (l: string) => void } | undefined;
  let cursor = 0;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    all.push(line);
    if (waiter && waiter.pred(line)) {
      const w = waiter;
      waiter = undefined;
      cursor = all.length;
      w.resolve(line);
    }
  });
  return {
    all,
    next(pred, what) {
      for (; cursor < all.length; cursor++) {
        const line = all[cursor] ?? '';
        if (pred(line)) {
          cursor++;
          return Promise.resolve(line);
        }
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output so far:\n${all.join('\n')}`)), 10_000);
        waiter = { pred, resolve: (l) => (clearTimeout(timer), resolve(l)) };
      });
    },
  };
}

/** Resolves with the next 'fault' event (10 s at most). */
function nextFault(handle: RunHandle): Promise<FaultRecord> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no fault event within 10 s')), 10_000);
    handle.once('fault', (f) => {
      clearTimeout(timer);
      resolve(f);
    });
  });
}

describe.each(engines)('%s engine', (engine) => {
  it('steps under live control: counts, setEnabled, disarm, pushed events, one run id', async () => {
    const dir = scratch();
    const handle = spawn(fixture('c/pacer'), [dir, '0', '0', 'gate'], {
      engine,
      plan: plan([
        { id: 'eio', syscalls: ['fsync'], path: '**/pacer.bin', action: { errno: 'EIO' } },
        { id: 'short', syscalls: ['write'], path: '**/pacer.bin', after: 100, action: { short: 1 } },
      ]),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stderr = '';
    handle.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const out = lineReader(handle.stdout);
    const pushed: FaultRecord[] = [];
    handle.on('fault', (f) => pushed.push(f));
    const started = new Promise<number>((resolve) => handle.once('started', resolve));
    const iterated = (async () => {
      const got: FaultRecord[] = [];
      for await (const f of handle.events()) got.push(f);
      return got;
    })();

    const ready = await out.next((l) => l.startsWith('ready '), 'ready');
    const [, pid, runId] = ready.split(' ');
    expect(Number(pid)).toBe(await started);
    expect(handle.pid).toBe(Number(pid));
    expect(runId).toBe(handle.runId);
    expect(handle.runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await out.next((l) => l === 'open pacer.bin ok', 'open');

    const step = async (i: number): Promise<string> => {
      handle.stdin?.write('\n');
      return out.next((l) => l.startsWith(`fsync ${i} `), `fsync ${i}`);
    };

    // 0: the rule fires; the event arrives by itself (pushed through the monitor's thread-safe function).
    const event0 = nextFault(handle);
    expect(await step(0)).toBe('fsync 0 err EIO Input/output error');
    const f0 = await event0;
    expect(f0).toMatchObject({ seq: 0, rule: 'eio', syscall: 'fsync', action: 'errno:EIO', runId: handle.runId, pid: Number(pid) });
    expect(f0.target).toBe(`${dir}/pacer.bin`);
    expect(handle.counts().fsync).toEqual({ calls: 1, faulted: 1, delayed: 0 });
    expect(handle.ruleStats()).toEqual([
      { id: 'eio', matched: 1, fired: 1 },
      { id: 'short', matched: 1, fired: 0 },
    ]);
    expect(handle.faults().map((f) => f.seq)).toEqual([0]);

    // 1: rule off: the call goes through, still counted and matched.
    handle.setEnabled('eio', false);
    expect(await step(1)).toBe('fsync 1 ok');
    expect(handle.counts().fsync).toEqual({ calls: 2, faulted: 1, delayed: 0 });
    expect(handle.ruleStats()[0]).toEqual({ id: 'eio', matched: 2, fired: 1 });

    // 2: back on.
    handle.setEnabled('eio', true);
    const event2 = nextFault(handle);
    expect(await step(2)).toBe('fsync 2 err EIO Input/output error');
    expect(await event2).toMatchObject({ seq: 1, rule: 'eio', runId: handle.runId });

    // 3, 4: disarmed: every fault off for good, counting goes on; setEnabled does not re-arm.
    handle.disarm();
    expect(await step(3)).toBe('fsync 3 ok');
    handle.setEnabled('eio', true);
    expect(await step(4)).toBe('fsync 4 ok');
    expect(handle.counts().fsync).toEqual({ calls: 5, faulted: 2, delayed: 0 });
    expect(handle.ruleStats()[0]).toEqual({ id: 'eio', matched: 5, fired: 2 });
    expect(out.all.filter((l) => l.startsWith('write ')).every((l) => / ok 10$/.test(l))).toBe(true);

    expect(() => handle.setEnabled('no-such-rule', false)).toThrow(UsageError);

    handle.stdin?.end();
    const result = await handle.result;
    expect(stderr).toBe('');
    expect(result.exit).toEqual({ code: 1, signal: null });
    expect(result.runId).toBe(handle.runId);
    expect(result.counts.fsync).toEqual({ calls: 5, faulted: 2, delayed: 0 });
    expect(result.faults.map((f) => [f.seq, f.rule, f.runId])).toEqual([
      [0, 'eio', handle.runId],
      [1, 'eio', handle.runId],
    ]);
    expect(pushed.map((f) => f.seq)).toEqual([0, 1]);
    expect((await iterated).map((f) => f.seq)).toEqual([0, 1]);
    // after the run: the handle still answers, from the result
    expect(handle.counts()).toEqual(result.counts);
    expect(handle.kill()).toBe(false);
    handle.disarm();
    handle.setEnabled('eio', false);
  });

  it('events() started late yields every fault from the first, then ends with the run', async () => {
    const dir = scratch();
    const handle = spawn(fixture('c/pacer'), [dir, '0', '0', 'gate'], {
      engine,
      plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]),
      stdio: ['pipe', 'pipe', 'ignore'],
      timeout: 30_000,
    });
    const out = lineReader(handle.stdout);
    for (let i = 0; i < 3; i++) {
      const fault = nextFault(handle);
      handle.stdin?.write('\n');
      await out.next((l) => l.startsWith(`fsync ${i} `), `fsync ${i}`);
      await fault;
    }
    const seen: number[] = [];
    const iterating = (async () => {
      for await (const f of handle.events()) {
        seen.push(f.seq);
        if (f.seq === 2) handle.stdin?.write('\n'); // one more while iterating
        if (f.seq === 3) handle.stdin?.end();
      }
    })();
    await iterating;
    expect(seen).toEqual([0, 1, 2, 3]);
    const result = await handle.result;
    expect(result.faults).toHaveLength(4);
  });

  it('live counts move while the target runs, without waiting for its exit', async () => {
    const dir = scratch();
    const handle = spawn(fixture('c/pacer'), [dir, '0', '10'], {
      engine,
      plan: plan([{ syscalls: ['fsync'], after: 1_000_000, action: { errno: 'EIO' } }]),
      stdio: ['ignore', 'ignore', 'ignore'],
      timeout: 30_000,
    });
    const seen: number[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (seen.length < 3 || (seen.at(-1) ?? 0) < 10)) {
      await new Promise((r) => setTimeout(r, 40));
      const calls = handle.counts().fsync?.calls ?? 0;
      if (seen.at(-1) !== calls) seen.push(calls);
    }
    handle.kill('SIGKILL');
    const result = await handle.result;
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(result.counts.fsync?.calls).toBeGreaterThanOrEqual(seen.at(-1) ?? 0);
    expect(result.exit.signal).toBe('SIGKILL');
  });

  it("the target's environment carries the run id (SYSFAULT_RUN_ID)", async () => {
    const { lines, result } = await runFixture('/bin/sh', ['-c', 'echo "$SYSFAULT_RUN_ID"'], {
      engine,
      plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]),
    });
    expect(lines).toEqual([result.runId]);
  });

  it('clockOrigin puts a fault on performance.now()\'s clock: after the step that caused it, before its event', async () => {
    const dir = scratch();
    const handle = spawn(fixture('c/pacer'), [dir, '0', '0', 'gate'], {
      engine,
      plan: plan([{ syscalls: ['fsync'], path: '**/pacer.bin', action: { errno: 'EIO' } }]),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    const out = lineReader(handle.stdout);
    await out.next((l) => l === 'open pacer.bin ok', 'open');
    for (let i = 0; i < 3; i++) {
      const fault = nextFault(handle);
      const stepped = performance.now();
      handle.stdin?.write('\n');
      const f = await fault;
      const seen = performance.now();
      const at = handle.clockOrigin + f.tMs;
      expect(at).toBeGreaterThanOrEqual(stepped);
      expect(at).toBeLessThanOrEqual(seen);
      await out.next((l) => l.startsWith(`fsync ${i} `), `fsync ${i}`);
    }
    handle.stdin?.end();
    await handle.result;
  });
});
