// Both engines on the same libc-linked Rust and C programs: every action, every filter, timing, determinism,
// children and threads. Each assertion is about what the program itself printed plus the exact counts; the
// last block checks that both engines produced identical transcripts, counts and fault lists.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine, RunResult } from '../../src/common/run-result.js';
import { echoServer, faultSignature, plan, runFixture, scratch, unusedPort } from '../helpers.js';

const engines: Engine[] = ['preload', 'seccomp'];
const observed = new Map<string, Map<Engine, { lines: string[]; result: RunResult }>>();

function remember(key: string, engine: Engine, lines: string[], result: RunResult): void {
  if (!observed.has(key)) observed.set(key, new Map());
  const normalized = lines.map((l) => l.replace(/\/tmp\/sysfault-test-[^/]+\//g, '<dir>/').replace(/127\.0\.0\.1:\d+/g, '<addr>'));
  observed.get(key)!.set(engine, { lines: normalized, result });
}

describe.each(engines)('%s engine', (engine) => {
  it('errno: every fsync fails with EIO and the program reports it', async () => {
    const dir = scratch();
    const { lines, result } = await runFixture('rust/fileio', [dir, '3'], {
      engine,
      plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]),
    });
    expect(lines.filter((l) => l.startsWith('fsync'))).toEqual([0, 1, 2].map(
      (i) => `fsync data-${i}.bin err EIO Input/output error (os error 5) kind=Uncategorized`,
    ));
    expect(result.engine).toBe(engine);
    expect(result.exit).toEqual({ code: 1, signal: null });
    expect(result.counts.fsync).toEqual({ calls: 3, faulted: 3, delayed: 0 });
    expect(result.rules).toEqual([{ id: 'rule-0', matched: 3, fired: 3 }]);
    expect(result.faults.map((f) => [f.syscall, f.action, f.target])).toEqual(
      [0, 1, 2].map((i) => ['fsync', 'errno:EIO', join(dir, `data-${i}.bin`)]),
    );
    expect(result.dropped).toBe(0);
    remember('errno', engine, lines, result);
  });

  it('path filter, after and limit pick exactly the planned calls', async () => {
    const dir = scratch();
    const { lines, result } = await runFixture('rust/fileio', [dir, '4'], {
      engine,
      plan: plan([
        { id: 'only-2', syscalls: ['fsync'], path: '**/data-2.bin', action: { errno: 'ENOSPC' } },
        { id: 'second', syscalls: ['fsync'], after: 1, limit: 1, action: { errno: 'EIO' } },
      ]),
    });
    expect(lines.filter((l) => l.startsWith('fsync'))).toEqual([
      'fsync data-0.bin ok',
      'fsync data-1.bin err EIO Input/output error (os error 5) kind=Uncategorized',
      'fsync data-2.bin err ENOSPC No space left on device (os error 28) kind=StorageFull',
      'fsync data-3.bin ok',
    ]);
    expect(result.counts.fsync).toEqual({ calls: 4, faulted: 2, delayed: 0 });
    expect(result.rules).toEqual([
      { id: 'only-2', matched: 1, fired: 1 },
      { id: 'second', matched: 3, fired: 1 },
    ]);
    remember('filters', engine, lines, result);
  });

  it('a file renamed, then opened again under the same descriptor number, is matched by its new name', async () => {
    const dir = scratch();
    // write wal.tmp (fd 3), close, rename it to wal.log, open it again (fd 3, the same file): its write must fail
    const script = [
      'import os, sys',
      "d = sys.argv[1]",
      "f = os.open(d + '/wal.tmp', os.O_CREAT | os.O_WRONLY); os.write(f, b'a'); os.close(f)",
      "os.rename(d + '/wal.tmp', d + '/wal.log')",
      "f = os.open(d + '/wal.log', os.O_WRONLY)",
      "try: os.write(f, b'b'); print('second write ok')",
      "except OSError as e: print('second write failed', e.errno)",
    ].join('\n');
    const { lines, result } = await runFixture('/usr/bin/env', ['python3', '-c', script, dir], {
      engine,
      plan: plan([{ id: 'wal', syscalls: ['write'], path: '**/wal.log', action: { errno: 'EIO' } }]),
    });
    expect(lines).toEqual(['second write failed 5']);
    expect(result.rules).toEqual([{ id: 'wal', matched: 1, fired: 1 }]);
    expect(result.faults.map((f) => f.target)).toEqual([join(dir, 'wal.log')]);
  });

  it('delay: the call waits, then succeeds', async () => {
    const dir = scratch();
    const bare = await runFixture('rust/fileio', [dir, '2'], { engine, plan: plan([]) });
    const { lines, result } = await runFixture('rust/fileio', [dir, '2'], {
      engine,
      plan: plan([{ syscalls: ['fsync'], action: { delayMs: 150 } }]),
    });
    expect(lines).toEqual(bare.lines);
    expect(result.exit.code).toBe(0);
    expect(result.counts.fsync).toEqual({ calls: 2, faulted: 0, delayed: 2 });
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
    expect(result.durationMs).toBeLessThan(300 + 2000);
    expect(result.faults.map((f) => f.action)).toEqual(['delay:150ms', 'delay:150ms']);
  });

  it('short: write_all sees real partial writes, retries, and the file is whole', async () => {
    const dir = scratch();
    const file = join(dir, 'blob.bin');
    const bare = await runFixture('rust/writeall', [file, '1000'], { engine, plan: plan([]) });
    const { lines, result } = await runFixture('rust/writeall', [file, '1000'], {
      engine,
      plan: plan([{ syscalls: ['write'], path: '**/blob.bin', action: { short: 7 } }]),
    });
    expect(lines).toEqual(bare.lines);
    expect(lines[0]).toBe(`write ${file} ok 1000`);
    expect(statSync(file).size).toBe(1000);
    expect(result.rules[0]).toEqual({ id: 'rule-0', matched: 143, fired: 143 }); // ceil(1000 / 7) writes
    expect(result.counts.write!.faulted).toBe(143);
    remember('short', engine, lines, result);
  });

  it('kill: SIGKILL before the 2nd fsync leaves exactly what was written before it', async () => {
    const dir = scratch();
    const { lines, result } = await runFixture('rust/fileio', [dir, '3'], {
      engine,
      plan: plan([{ syscalls: ['fsync'], after: 1, action: { kill: 'SIGKILL' } }]),
    });
    expect(lines).toEqual([
      'open data-0.bin ok',
      'write data-0.bin ok 100',
      'fsync data-0.bin ok',
      'read data-0.bin ok 100',
      'open data-1.bin ok',
      'write data-1.bin ok 100',
    ]);
    expect(result.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(readFileSync(join(dir, 'data-1.bin')).length).toBe(100);
    expect(existsSync(join(dir, 'data-2.bin'))).toBe(false);
    expect(result.counts.fsync).toEqual({ calls: 2, faulted: 1, delayed: 0 });
    expect(result.faults.map((f) => f.action)).toEqual(['kill:SIGKILL']);
  });

  it('open family: openat faults on the path being opened', async () => {
    const dir = scratch();
    const { lines, result } = await runFixture('rust/fileio', [dir, '3'], {
      engine,
      plan: plan([{ syscalls: ['openat'], path: `${dir}/data-1.bin`, limit: 1, action: { errno: 'EACCES' } }]),
    });
    expect(lines).toContain('open data-1.bin err EACCES Permission denied (os error 13) kind=PermissionDenied');
    expect(result.rules[0]).toEqual({ id: 'rule-0', matched: 1, fired: 1 });
    expect(result.faults.map((f) => f.target)).toEqual([join(dir, 'data-1.bin')]);
  });

  it('fd kind and addr filters: socket sends and one peer only', async () => {
    const { port } = await echoServer();
    const other = await unusedPort();
    const refusedElsewhere = await runFixture('rust/tcpclient', [`127.0.0.1:${port}`, '2'], {
      engine,
      plan: plan([{ syscalls: ['connect'], addr: `127.0.0.1:${other}`, action: { errno: 'ECONNREFUSED' } }]),
    });
    expect(refusedElsewhere.lines).toEqual([
      `connect 127.0.0.1:${port} ok`, 'send 0 ok', 'recv 0 ok pong 0', 'send 1 ok', 'recv 1 ok pong 1', 'done',
    ]);
    expect(refusedElsewhere.result.counts.connect).toEqual({ calls: 1, faulted: 0, delayed: 0 });

    const refused = await runFixture('rust/tcpclient', [`127.0.0.1:${port}`, '2'], {
      engine,
      plan: plan([{ syscalls: ['connect'], addr: `127.0.0.1:${port}`, action: { errno: 'ECONNREFUSED' } }]),
    });
    expect(refused.lines).toEqual([
      `connect 127.0.0.1:${port} err ECONNREFUSED Connection refused (os error 111) kind=ConnectionRefused`,
    ]);
    expect(refused.result.faults.map((f) => f.target)).toEqual([`127.0.0.1:${port}`]);

    const reset = await runFixture('rust/tcpclient', [`127.0.0.1:${port}`, '2'], {
      engine,
      plan: plan([{ syscalls: ['read', 'recvfrom'], fd: 'socket', after: 1, action: { errno: 'ECONNRESET' } }]),
    });
    expect(reset.lines).toEqual([
      `connect 127.0.0.1:${port} ok`,
      'send 0 ok',
      'recv 0 ok pong 0',
      'send 1 ok',
      'recv 1 err ECONNRESET Connection reset by peer (os error 104) kind=ConnectionReset',
      'done',
    ]);
    expect(reset.result.exit.code).toBe(1);
    expect(reset.result.rules[0]).toEqual({ id: 'rule-0', matched: 2, fired: 1 });
    remember('net', engine, refused.lines, refused.result);
  });

  it('probability is a pure function of the seed: same seed, same faults; another seed, others', async () => {
    const runs: string[][] = [];
    for (const seed of [42, 42, 42, 43]) {
      const dir = scratch();
      const { lines, result } = await runFixture('rust/fileio', [dir, '30'], {
        engine,
        plan: plan([{ syscalls: ['fsync'], probability: 0.5, action: { errno: 'EIO' } }], seed),
      });
      expect(result.seed).toBe(seed);
      expect(result.counts.fsync!.faulted).toBe(lines.filter((l) => l.startsWith('fsync') && l.includes(' err ')).length);
      runs.push(lines);
      if (seed === 42) remember('seeded', engine, lines, result);
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(runs[3]).not.toEqual(runs[0]);
  });

  it("a child process is covered: its fault and its calls are in the parent's counts", async () => {
    const dir = scratch();
    const { lines, result } = await runFixture('rust/spawnchild', [dir], {
      engine,
      plan: plan([{ syscalls: ['fsync'], path: '**/child.bin', action: { errno: 'EIO' } }]),
    });
    expect(lines).toContain('child fsync child.bin err EIO Input/output error (os error 5) kind=Uncategorized');
    expect(lines).toContain('fsync parent.bin ok');
    expect(lines.at(-2)).toBe('wait child ok 1');
    expect(result.counts.fsync).toEqual({ calls: 2, faulted: 1, delayed: 0 });
    const childPid = result.faults[0]!.pid;
    expect(childPid).not.toBe(0);
  });

  it('64 threads: counts and the limit stay exact', async () => {
    const dir = scratch();
    const { lines, result } = await runFixture('rust/threads', ['64', '200', join(dir, 't')], {
      engine,
      plan: plan([{ syscalls: ['write'], path: '**/t-*', probability: 0.5, limit: 1000, action: { errno: 'EIO' } }]),
    });
    expect(lines.at(-2)).toBe('total ok 11800 err 1000');
    expect(result.rules[0]).toEqual({ id: 'rule-0', matched: 12800, fired: 1000 });
    // every one-byte write plus one write per stdout line (Rust's stdout is line-buffered)
    expect(result.counts.write).toEqual({ calls: 12800 + lines.length, faulted: 1000, delayed: 0 });
  });

  it('C aliases: pread64, writev and pwrite64 fault like read and write', async () => {
    const dir = scratch();
    const { lines, result } = await runFixture('c/cio', [dir], {
      engine,
      plan: plan([
        // a path filter: under seccomp the dynamic loader's own pread64 of libc.so is intercepted too
        { syscalls: ['pread64'], path: '**/c.bin', action: { errno: 'EIO' } },
        { syscalls: ['writev'], path: '**/c.bin', action: { errno: 'ENOSPC' } },
        { syscalls: ['pwrite64'], path: '**/c.bin', action: { errno: 'EDQUOT' } },
      ]),
    });
    expect(lines).toContain('pread c.bin err EIO Input/output error');
    expect(lines).toContain('writev c.bin err ENOSPC No space left on device');
    expect(lines).toContain('pwrite c.bin err EDQUOT Disk quota exceeded');
    expect(lines).toContain('read c.bin ok 100');
    expect(result.rules.map((r) => [r.matched, r.fired])).toEqual([[1, 1], [1, 1], [1, 1]]);
    expect(result.counts.writev).toEqual({ calls: 1, faulted: 1, delayed: 0 });
    expect(result.counts.pwrite64).toEqual({ calls: 1, faulted: 1, delayed: 0 });
  });

  it('_FORTIFY_SOURCE builds (__read_chk, __pread_chk, __recv_chk) are covered', async () => {
    const dir = scratch();
    const { lines, result } = await runFixture('c/fortify', [dir], {
      engine,
      plan: plan([
        { syscalls: ['read', 'pread64', 'recvfrom'], path: '**/fortify.bin', action: { errno: 'EIO' } },
        { syscalls: ['recvfrom'], fd: 'socket', action: { errno: 'ECONNRESET' } },
      ]),
    });
    expect(lines).toContain('read fortify.bin err EIO Input/output error');
    expect(lines).toContain('pread fortify.bin err EIO Input/output error');
    expect(lines).toContain('recv sock err ECONNRESET Connection reset by peer');
    expect(result.rules.map((r) => r.fired)).toEqual([2, 1]);
  });
});

describe('engine agreement', () => {
  it('both engines gave identical transcripts, counts and fault lists', () => {
    expect(observed.size).toBeGreaterThan(0);
    for (const [key, byEngine] of observed) {
      const a = byEngine.get('preload');
      const b = byEngine.get('seccomp');
      if (!a || !b) throw new Error(`${key}: missing a run`);
      expect(b.lines, key).toEqual(a.lines);
      expect(b.result.counts, key).toEqual(a.result.counts);
      expect(b.result.rules, key).toEqual(a.result.rules);
      expect(faultSignature(b.result), key).toEqual(faultSignature(a.result));
    }
  });
});
