// The supervisor as the preload engine's net (`auto` on a libc program): the library decides and counts what its
// wrappers see and makes those calls from the gate page, which the seccomp filter lets through; everything else
// (glibc's own calls, a child that dropped LD_PRELOAD, a static or Go child) reaches the supervisor. Real
// programs, exact counts: each call counted once. And io_uring, which no syscall interception sees.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatSummary } from '../../src/run/summary.js';
import { fixture, plan, runFixture, scratch } from '../helpers.js';

describe('auto: preload with the supervisor as its net', () => {
  it('sort -o: glibc writes the output file itself, and that write fails as planned', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'in'), 'b\na\nc\n');
    const sort = execFileSync('sh', ['-c', 'command -v sort'], { encoding: 'utf8' }).trim();
    const out = await runFixture(sort, ['-o', join(dir, 'out'), join(dir, 'in')], {
      plan: plan([{ syscalls: ['write'], path: '**/out', action: { errno: 'EIO' } }]),
    });
    expect(out.result.engine).toBe('preload');
    expect(out.result.exit.code).not.toBe(0);
    expect(out.stderr).toMatch(/Input\/output error|write error/);
    expect(out.result.counts.write?.faulted).toBeGreaterThanOrEqual(1);
    expect(out.result.faults[0]?.target).toBe(join(dir, 'out'));
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('');
  });

  it('sh -c ./go-binary: the Go child is faulted and counted under the default engine', async () => {
    const dir = scratch();
    const out = await runFixture('/bin/sh', ['-c', `${fixture('go/fileio-static')} ${dir} 3`], {
      plan: plan([{ syscalls: ['fsync', 'fdatasync'], action: { errno: 'EIO' } }]),
    });
    expect(out.lines.filter((l) => l.startsWith('fsync ')).map((l) => l.split(' ').slice(0, 4).join(' '))).toEqual([
      'fsync data-0.bin err EIO', 'fsync data-1.bin err EIO', 'fsync data-2.bin err EIO',
    ]);
    expect(out.result.counts.fsync).toEqual({ calls: 3, faulted: 3, delayed: 0 });
    expect(out.result.fastPath).toEqual([expect.stringContaining('(exec followed): Syscall6 patched') as unknown as string]);
    // and without the fast path, the supervisor alone: the same
    const alone = await runFixture('/bin/sh', ['-c', `${fixture('go/fileio-static')} ${scratch()} 3`], {
      plan: plan([{ syscalls: ['fsync', 'fdatasync'], action: { errno: 'EIO' } }]),
      env: { SYSFAULT_FAST_PATH: '0' },
    });
    expect(alone.result.fastPath).toEqual([]);
    expect(alone.result.counts.fsync).toEqual({ calls: 3, faulted: 3, delayed: 0 });
  });

  it('a shell loop of Go programs: every one gets the fast path; the summary lists three, the result all', async () => {
    const dir = scratch();
    const script = `for i in 1 2 3 4 5; do ${fixture('go/fileio-static')} ${dir} 1; done`;
    const out = await runFixture('/bin/sh', ['-c', script], { plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]) });
    expect(out.result.counts.fsync).toEqual({ calls: 5, faulted: 5, delayed: 0 });
    expect(out.result.fastPath).toHaveLength(5);
    const summary = formatSummary(out.result).filter((l) => l.startsWith('  fast path: '));
    expect(summary).toHaveLength(4);
    expect(summary[3]).toBe('  fast path: ... and 2 more processes (--json FILE has them all)');
  });

  it('an exec of a Go file that fails (not executable), then the next one on PATH: followed only when it is Go', async () => {
    const dir = scratch();
    const rules = plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]);
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    copyFileSync(fixture('go/loop-static'), join(dir, 'a', 'prog'));
    chmodSync(join(dir, 'a', 'prog'), 0o644); // execvp tries it (EACCES), then goes on along PATH
    const path = `PATH=${join(dir, 'a')}:${join(dir, 'b')}`;
    copyFileSync(fixture('c/loop'), join(dir, 'b', 'prog'));
    const c = await runFixture('/usr/bin/env', [path, 'prog', 'fsync', '3'], { plan: rules });
    expect(c.result.counts.fsync).toEqual({ calls: 3, faulted: 3, delayed: 0 });
    expect(c.result.fastPath).toEqual([]);
    expect(c.result.warnings).toEqual([]); // before: "the Go fast path is off for this process" about a C program
    rmSync(join(dir, 'b', 'prog'));
    copyFileSync(fixture('go/loop-static'), join(dir, 'b', 'prog'));
    const go = await runFixture('/usr/bin/env', [path, 'prog', 'fsync', '3'], { plan: rules });
    expect(go.result.counts.fsync).toEqual({ calls: 3, faulted: 3, delayed: 0 });
    expect(go.result.fastPath).toEqual([expect.stringContaining('(exec followed): Syscall6 patched') as unknown as string]);
    expect(go.result.warnings).toEqual([]);
  });

  it("the loader's work on sysfault's own library is neither counted nor faulted: counts equal the supervisor alone's", async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'f'), 'hello\n');
    const rules = plan([
      { id: 'own', syscalls: ['openat', 'read'], path: '**/libsysfault-preload.so', action: { errno: 'EIO' } },
      { id: 'f', syscalls: ['read'], path: '**/f', action: { errno: 'EIO' } },
    ]);
    const auto = await runFixture('/bin/cat', [join(dir, 'f')], { plan: rules });
    expect(auto.stderr).not.toContain('cannot be preloaded'); // before: ld.so's open of the library failed
    expect(auto.result.rules).toEqual([
      { id: 'own', matched: 0, fired: 0 },
      { id: 'f', matched: 1, fired: 1 },
    ]);
    const alone = await runFixture('/bin/cat', [join(dir, 'f')], { plan: rules, engine: 'seccomp' });
    expect(alone.result.rules).toEqual(auto.result.rules);
    // and nothing of sysfault's own is counted: not the library's loading, not its open of the shared region
    expect(auto.result.counts).toEqual(alone.result.counts);
  });

  it('a child started with env -i (no LD_PRELOAD left) and a static child are still counted exactly', async () => {
    const dir = scratch();
    const rules = plan([{ syscalls: ['fsync'], after: 1, action: { errno: 'EIO' } }]);
    const envi = await runFixture('/usr/bin/env', ['-i', fixture('c/pacer'), dir, '4', '0'], { plan: rules });
    expect(envi.lines.filter((l) => l.startsWith('fsync '))).toEqual([
      'fsync 0 ok', 'fsync 1 err EIO Input/output error', 'fsync 2 err EIO Input/output error', 'fsync 3 err EIO Input/output error',
    ]);
    expect(envi.result.counts.fsync).toEqual({ calls: 4, faulted: 3, delayed: 0 });
    const stat = await runFixture('/bin/sh', ['-c', `${fixture('c/static-loop')} fsync 50`], { plan: rules });
    expect(stat.result.counts.fsync).toEqual({ calls: 50, faulted: 49, delayed: 0 });
  });

  it('calls the library counted are not counted again by the supervisor', async () => {
    const out = await runFixture('c/loop', ['fsync', '200'], { plan: plan([{ syscalls: ['fsync'], after: 150, action: { errno: 'EIO' } }]) });
    expect(out.result.engine).toBe('preload');
    expect(out.result.counts.fsync).toEqual({ calls: 200, faulted: 50, delayed: 0 });
  });
});

describe('--engine preload (no filter) says what it cannot see', () => {
  it('a Go child, a static child and a child without LD_PRELOAD: warnings, nothing counted from them', async () => {
    const dir = scratch();
    const script = [
      `${fixture('go/fileio-static')} ${dir} 1`,
      `env -i ${fixture('c/pacer')} ${dir} 1 0`,
      `${fixture('c/static-loop')} fsync 3`,
    ].join('; ');
    const out = await runFixture('/bin/sh', ['-c', script], {
      plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]),
      engine: 'preload',
    });
    expect(out.result.counts.fsync).toEqual({ calls: 0, faulted: 0, delayed: 0 });
    expect(out.result.faults).toEqual([]);
    // what it could not see first, then the rule nothing reached (main's rule-matched-nothing)
    expect(out.result.warnings.map((w) => w.code)).toEqual(['preload-bypassed', 'preload-dropped', 'preload-bypassed', 'rule-matched-nothing']);
    expect(out.result.warnings.slice(0, 3)).toEqual([
      { code: 'preload-bypassed', message: `${fixture('go/fileio-static')} is a Go executable, which bypasses libc: the preload engine does not see its calls (--engine auto or seccomp does)` },
      { code: 'preload-dropped', message: `${fixture('c/pacer')} was started without LD_PRELOAD: the preload engine does not see its calls (--engine auto or seccomp does)` },
      { code: 'preload-bypassed', message: `${fixture('c/static-loop')} is a static executable, which bypasses libc: the preload engine does not see its calls (--engine auto or seccomp does)` },
    ]);
    // under auto the net sees them all, and there is nothing to warn about
    const auto = await runFixture('/bin/sh', ['-c', script], { plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]) });
    expect(auto.result.warnings).toEqual([]);
    expect(auto.result.counts.fsync).toEqual({ calls: 1 + 1 + 3, faulted: 5, delayed: 0 });
  });
});

describe('--engine preload watches every way libc starts a program', () => {
  // execl* build their argv and call glibc's internal execve; system and popen run a shell, whose exec is seen
  it.each(['execl', 'execlp', 'execle', 'system', 'popen'])('%s of a static program is reported', async (how) => {
    const out = await runFixture('c/execl', [how, fixture('c/static-loop'), 'fsync', '3'], {
      plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]),
      engine: 'preload',
    });
    expect(out.lines).toContain('done');
    expect(out.result.exit).toEqual({ code: 0, signal: null });
    expect(out.result.counts.fsync).toEqual({ calls: 0, faulted: 0, delayed: 0 });
    expect(out.result.warnings[0]).toEqual({
      code: 'preload-bypassed',
      message: `${fixture('c/static-loop')} is a static executable, which bypasses libc: the preload engine does not see its calls (--engine auto or seccomp does)`,
    });
  });
});

describe('io_uring', () => {
  const rules = plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]);

  it('a program that sets up io_uring is reported', async () => {
    const out = await runFixture('c/uring', [], { plan: rules });
    expect(out.lines).toEqual(['io_uring_setup ok']);
    // the plan's fsync rule is never reached: the program makes no fsync
    expect(out.result.warnings.map((w) => w.code)).toEqual(['io-uring', 'rule-matched-nothing']);
    expect(out.result.warnings[0]?.message).toMatch(/^uring \(pid \d+\) set up io_uring: its I\/O is invisible/);
  });

  it('each process that sets one up is named, once', async () => {
    const uring = fixture('c/uring');
    const out = await runFixture('/bin/sh', ['-c', `${uring}; ${uring} & ${uring}; wait`], { plan: rules, engine: 'seccomp' });
    const said = out.result.warnings.filter((w) => w.code === 'io-uring').map((w) => /\(pid (\d+)\)/.exec(w.message)?.[1]);
    expect(said).toHaveLength(3);
    expect(new Set(said).size).toBe(3);
  });

  it('under --engine preload alone (no filter): a ring held for a while is found in the tree and reported', async () => {
    const out = await runFixture('c/uring', ['700'], { plan: rules, engine: 'preload' });
    expect(out.lines).toEqual(['io_uring_setup ok']);
    expect(out.result.warnings.map((w) => w.code)).toEqual(['io-uring', 'rule-matched-nothing']);
    expect(out.result.warnings[0]?.message).toMatch(/^uring \(pid \d+\) set up io_uring: .* every 200 ms/);
  });

  it('--io-uring deny: io_uring_setup fails with ENOSYS, under every engine', async () => {
    for (const engine of ['auto', 'preload', 'seccomp'] as const) {
      const out = await runFixture('c/uring', [], { plan: rules, engine, ioUring: 'deny' });
      expect(out.lines).toEqual(['io_uring_setup err ENOSYS']);
      expect(out.result.warnings.map((w) => w.code)).toEqual(['rule-matched-nothing']);
    }
  });
});
