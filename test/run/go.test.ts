// Go programs (static and cgo-linked) make raw syscalls: only the seccomp engine sees them. These run under
// --engine auto and assert that it chose seccomp, that the program saw exactly the planned faults, and that
// counts stay exact under preemption (SIGURG) and profiling (SIGPROF) signals.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectEngine } from '../../src/index.js';
import { echoServer, fixture, plan, runFixture, scratch } from '../helpers.js';

describe.each(['static', 'cgo'])('Go %s binaries', (link) => {
  const bin = (name: string) => `go/${name}-${link}`;

  it('auto picks seccomp', () => {
    const detection = detectEngine(fixture(bin('fileio')));
    expect(detection.engine).toBe('seccomp');
    expect(detection.kind).toBe('go');
  });

  it('files + fsync: errno and after/limit, exact counts', async () => {
    const dir = scratch();
    const { lines, result } = await runFixture(bin('fileio'), [dir, '3'], {
      plan: plan([{ syscalls: ['fsync'], after: 1, limit: 1, action: { errno: 'EIO' } }]),
    });
    expect(result.engine).toBe('seccomp');
    expect(lines).toEqual([
      'open data-0.bin ok', 'write data-0.bin ok 100', 'fsync data-0.bin ok', 'read data-0.bin ok 100',
      'open data-1.bin ok', 'write data-1.bin ok 100',
      `fsync data-1.bin err EIO sync ${join(dir, 'data-1.bin')}: input/output error`,
      'read data-1.bin ok 100',
      'open data-2.bin ok', 'write data-2.bin ok 100', 'fsync data-2.bin ok', 'read data-2.bin ok 100',
      'done',
    ]);
    expect(result.counts.fsync).toEqual({ calls: 3, faulted: 1, delayed: 0 });
    expect(result.faults.map((f) => [f.syscall, f.action, f.target])).toEqual([
      ['fsync', 'errno:EIO', join(dir, 'data-1.bin')],
    ]);
  });

  it('os.ReadFile sees a failing read', async () => {
    const dir = scratch();
    const file = join(dir, 'data-0.bin');
    await runFixture(bin('fileio'), [dir, '1'], { plan: plan([]) });
    const { lines, result } = await runFixture(bin('readfile'), [file], {
      plan: plan([{ syscalls: ['read'], path: '**/data-0.bin', action: { errno: 'EIO' } }]),
    });
    expect(lines).toEqual([`read ${file} err EIO read ${file}: input/output error`, 'done']);
    expect(result.rules[0]).toEqual({ id: 'rule-0', matched: 1, fired: 1 });
  });

  it('net.Dial: a refused connect, and the data path untouched otherwise', async () => {
    const { port } = await echoServer();
    const refused = await runFixture(bin('dial'), [`127.0.0.1:${port}`, '2'], {
      plan: plan([{ syscalls: ['connect'], addr: `127.0.0.1:${port}`, action: { errno: 'ECONNREFUSED' } }]),
    });
    expect(refused.lines).toEqual([
      `connect 127.0.0.1:${port} err ECONNREFUSED dial tcp 127.0.0.1:${port}: connect: connection refused`,
    ]);
    expect(refused.result.counts.connect).toEqual({ calls: 1, faulted: 1, delayed: 0 });

    const fine = await runFixture(bin('dial'), [`127.0.0.1:${port}`, '2'], {
      plan: plan([{ syscalls: ['connect'], addr: `127.0.0.1:1`, action: { errno: 'ECONNREFUSED' } }]),
    });
    expect(fine.lines).toEqual([
      `connect 127.0.0.1:${port} ok`, 'send 0 ok', 'recv 0 ok pong 0', 'send 1 ok', 'recv 1 ok pong 1', 'done',
    ]);
    expect(fine.result.counts.connect!.faulted).toBe(0);
  });

  it('goroutine storm under SIGPROF and preemption: exact counts, delays add up, nothing restart-loops', async () => {
    const dir = scratch();
    const bare = await runFixture(bin('storm'), [dir], { plan: plan([]) });
    expect(bare.lines.at(-3)).toBe('total ok 4000 err 0');
    const bareMs = bare.result.durationMs;

    const { lines, result } = await runFixture(bin('storm'), [scratch()], {
      plan: plan(
        [
          { id: 'eio', syscalls: ['fsync'], path: '**/w*.bin', probability: 0.1, action: { errno: 'EIO' } },
          { id: 'slow', syscalls: ['fsync', 'write'], path: '**/w*.bin', limit: 200, action: { delayMs: 2 } },
        ],
        7,
      ),
    });
    const total = lines.find((l) => l.startsWith('total '))!;
    const [, ok, errs] = /total ok (\d+) err (\d+)/.exec(total)!.map(Number);
    expect(ok! + errs!).toBe(4000);
    expect(result.counts.fsync).toEqual({
      calls: 2000,
      faulted: errs,
      delayed: result.rules[1]!.fired - result.counts.write!.delayed,
    });
    expect(result.rules[0]).toEqual({ id: 'eio', matched: 2000, fired: errs });
    expect(result.rules[1]!.fired).toBe(200);
    expect(result.counts.write!.faulted).toBe(0);
    expect(result.counts.write!.calls).toBeGreaterThanOrEqual(2000);
    // 200 delays of 2 ms spread over 8 workers: at most ~400 ms if they all fell on one, plus slack
    expect(result.durationMs).toBeLessThan(bareMs + 400 + 1500);

    const again = await runFixture(bin('storm'), [scratch()], {
      plan: plan([{ id: 'eio', syscalls: ['fsync'], path: '**/w*.bin', probability: 0.1, action: { errno: 'EIO' } }], 7),
    });
    expect(again.result.rules[0]!.fired).toBe(errs);
  });
});
