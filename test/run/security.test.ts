/**
 * What sysfault leaks to its target and how it takes malformed input:
 * - the target's open descriptors are exactly those a plain child gets (no memfd, control socket or seccomp
 *   listener), under both engines, listed by the target itself (c/probe);
 * - the target's environment gains only SYSFAULT_RUN_ID (both engines), SYSFAULT_SHM and LD_PRELOAD (preload);
 * - the shared region is a memfd reached through /proc/<pid>/fd, and no code uses a predictable temp path;
 * - the preload library given a missing, garbage, truncated or corrupt region, and the shim given malformed
 *   options, let the target run without faults after one warning line, and never crash.
 */
import { spawn as spawnChild, spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compilePlan } from '../../src/plan/compile.js';
import { packageRoot } from '../../src/native/binding.js';
import { spawn } from '../../src/index.js';
import type { Engine } from '../../src/index.js';
import { binding, nativeDir } from '../../src/native/binding.js';
import { normalizePlan } from '../../src/plan/load.js';
import { fixture, plan, runFixture, scratch } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const engines: Engine[] = ['preload', 'seccomp'];
const EIO_PLAN = plan([{ id: 'eio', syscalls: ['fsync'], action: { errno: 'EIO' } }]);

/** `fd N LINK` lines of c/probe as a map. */
function fds(lines: readonly string[]): Map<number, string> {
  return new Map(lines.filter((l) => l.startsWith('fd ')).map((l) => {
    const [, n = '', ...link] = l.split(' ');
    return [Number(n), link.join(' ')] as const;
  }));
}
function env(lines: readonly string[]): Record<string, string> {
  return Object.fromEntries(lines.filter((l) => l.startsWith('env ')).map((l) => {
    const kv = l.slice(4);
    return [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)];
  }));
}
/** What a link says about the kind of file (pipe:[123] -> pipe). */
const kind = (link: string): string => link.replace(/:\[\d+\]$/, '').replace(/^\/.*/, 'file');

describe.each(engines)('%s engine: what the target sees', (engine) => {
  it('only the descriptors a plain child has: no memfd, control socket or seccomp listener', async () => {
    const plain = spawnSync(fixture('c/probe'), [], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    const expected = fds(plain.stdout.split('\n'));
    expect([...expected.keys()].slice(0, 3)).toEqual([0, 1, 2]);
    const { lines, result } = await runFixture('c/probe', [], { engine, plan: EIO_PLAN });
    expect(result.exit.code).toBe(0);
    const got = fds(lines);
    expect([...got.keys()]).toEqual([...expected.keys()]);
    expect([...got.values()].map(kind)).toEqual([...expected.values()].map(kind));
    // 0, 1 and 2 are the test's pipes (Node makes them socket pairs); nothing else may be a socket, memfd, ...
    const special = (m: Map<number, string>): string[] =>
      [...m].filter(([n, l]) => n > 2 && /memfd:|seccomp|anon_inode|socket:/.test(l)).map(([n, l]) => `${n} ${kind(l)}`);
    expect(special(got)).toEqual(special(expected));
    expect([...got.values()].filter((l) => /memfd:|seccomp/.test(l))).toEqual([]);
  });

  it(`the environment gains only ${engine === 'preload' ? 'SYSFAULT_RUN_ID, SYSFAULT_SHM and LD_PRELOAD' : 'SYSFAULT_RUN_ID'}`, async () => {
    const { lines, result } = await runFixture('c/probe', [], { engine, plan: EIO_PLAN, extendEnv: false, env: { FOO: 'bar baz' } });
    const seen = env(lines);
    const expected: Record<string, unknown> = { FOO: 'bar baz', SYSFAULT_RUN_ID: result.runId };
    if (engine === 'preload') {
      expected.LD_PRELOAD = join(nativeDir(), 'libsysfault-preload.so');
      expected.SYSFAULT_SHM = expect.stringMatching(new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
    }
    expect(seen).toEqual(expected);
  });

  it('an LD_PRELOAD of the caller is kept, after the engine library (preload) or untouched (seccomp)', async () => {
    const libc = '/lib/x86_64-linux-gnu/libc.so.6';
    const { lines } = await runFixture('c/probe', [], { engine, plan: EIO_PLAN, env: { LD_PRELOAD: libc } });
    const seen = env(lines);
    expect(seen.LD_PRELOAD).toBe(engine === 'preload' ? `${join(nativeDir(), 'libsysfault-preload.so')}:${libc}` : libc);
  });
});

describe('the shared region', () => {
  it('is a memfd the target reaches through /proc/<controller>/fd, not a path anyone can predict', async () => {
    const dir = scratch();
    const handle = spawn(fixture('c/pacer'), [dir, '0', '0', 'gate'], {
      engine: 'preload',
      plan: EIO_PLAN,
      stdio: ['pipe', 'pipe', 'ignore'],
      timeout: 20_000,
    });
    const ready = await new Promise<string>((resolve) => {
      if (!handle.stdout) throw new Error('no stdout');
      createInterface({ input: handle.stdout }).on('line', (l) => l.startsWith('ready ') && resolve(l));
    });
    const pid = Number(ready.split(' ')[1]);
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const shm = environ.find((e) => e.startsWith('SYSFAULT_SHM='))?.slice('SYSFAULT_SHM='.length) ?? '';
    expect(shm).toMatch(new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
    expect(readlinkSync(shm)).toBe('/memfd:sysfault (deleted)');
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    expect(maps).toContain('/memfd:sysfault (deleted)');
    // nothing mapped from a shared temporary directory (the package's own files may live anywhere, /tmp too)
    const mapped = maps.split('\n').filter((l) => !l.includes(packageRoot));
    expect(mapped.join('\n')).not.toMatch(/ \/(tmp|dev\/shm|var\/tmp)\//);
    // the target holds no descriptor of it: the mapping is all it keeps
    const targetFds = readdirSync(`/proc/${pid}/fd`).filter((n) => Number(n) > 2).map((n) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${n}`);
      } catch {
        return '';
      }
    });
    expect(targetFds.filter((l) => /memfd|socket|anon_inode/.test(l))).toEqual([]);
    handle.stdin?.end();
    await handle.result;
  });

  it('no source uses a predictable temporary path', () => {
    const files = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));
    const sources = [...files(join(root, 'src')), ...files(join(root, 'native'))].filter((f) => /\.(ts|c|cc|h)$/.test(f));
    // Known uses that are not files anyone creates, each with its reason.
    const allowed = new Map([
      ['src/topology/load.ts', "'/tmp/sysfault-topology' is the stand-in directory templates are test-expanded with; nothing is created there"],
    ]);
    const problems: string[] = [];
    for (const file of sources) {
      const name = relative(root, file);
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*(\/\/|\*).*$/gm, '');
      const literals = [...code.matchAll(/["'`](\/(?:tmp|var\/tmp|dev\/shm)\b[^"'`]*)["'`]/g)].map((m) => m[1] ?? '');
      for (const lit of literals) {
        const template = /X{6}/.test(lit) || (lit === '/tmp' && /\bmk[ds]temp\(/.test(code));
        if (!template && !allowed.has(name)) problems.push(`${name}: literal ${JSON.stringify(lit)}`);
      }
      for (const m of code.matchAll(/\b(tmpnam|tempnam|mktemp|shm_open|tmpfile)\s*\(/g)) problems.push(`${name}: ${m[1]}()`);
      for (const line of code.split('\n')) {
        if (/join\(\s*(os\.)?tmpdir\(\)/.test(line) && !/mkdtemp(Sync)?\(/.test(line)) problems.push(`${name}: ${line.trim()}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

/** A real region (header, counters, plan, log) made by the addon for `planInput`, as bytes. */
function realRegion(rules: Parameters<typeof plan>[0]): Buffer {
  const session = binding().createSession({
    plan: compilePlan(normalizePlan(plan(rules)), 7),
    logCapacity: 16,
    runId: 'security-test',
    seccomp: false,
    onEvent: () => {},
  });
  try {
    session.releaseChildEnd();
    return readFileSync(session.shmPath);
  } finally {
    session.close();
  }
}

function runPreloaded(dir: string, shm: string | undefined): { status: number | null; signal: string | null; stdout: string[]; stderr: string[] } {
  const out = spawnSync(fixture('c/pacer'), [dir, '3', '0'], {
    env: { PATH: process.env.PATH, LD_PRELOAD: join(nativeDir(), 'libsysfault-preload.so'), ...(shm === undefined ? {} : { SYSFAULT_SHM: shm }) },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return {
    status: out.status,
    signal: out.signal,
    stdout: out.stdout.split('\n').filter((l) => l !== ''),
    stderr: out.stderr.split('\n').filter((l) => l !== ''),
  };
}

describe('malformed input to the preload library: no faults, one warning, no crash', () => {
  const dir = scratch();
  const region = realRegion([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]);
  const at = (name: string, bytes: Buffer | string): string => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };
  const patched = (offset: number, value: number): Buffer => {
    const copy = Buffer.from(region);
    copy.writeUInt32LE(value, offset);
    return copy;
  };
  const planOffset = region.readUInt32LE(32);
  const corruptPlan = Buffer.from(region);
  corruptPlan[planOffset + 32 + 450] = 1; // a reserved byte of rule 0
  execFileSync('mkfifo', [join(dir, 'fifo')]);

  const CASES: [name: string, shm: string, warning: RegExp][] = [
    ['a missing file', join(dir, 'nope'), /cannot open the shared region .*nope: No such file or directory/],
    ['a directory', dir, /cannot open the shared region .*: Is a directory/],
    ['an empty file', at('empty', ''), /cannot map the shared region/],
    ['a FIFO', join(dir, 'fifo'), /cannot map the shared region/],
    ['/dev/zero', '/dev/zero', /cannot map the shared region/],
    ['garbage', at('garbage', Buffer.alloc(region.length, 0xa5)), /shared region: not a sysfault region/],
    ['a region cut short', at('truncated', region.subarray(0, region.length - 64)), /shared region: size mismatch/],
    ['half a region', at('half', region.subarray(0, 1000)), /cannot map the shared region/],
    ['a region grown by a byte', at('longer', Buffer.concat([region, Buffer.from([0])])), /shared region: size mismatch/],
    ['a region with its plan out of bounds', at('plan-oob', patched(32, 0x7fff_0000)), /shared region: plan out of bounds/],
    ['a region with a huge log', at('log-oob', patched(28, 0xffff_ffff)), /shared region: log out of bounds/],
    ['a region with bad plan bytes', at('bad-plan', corruptPlan), /compiled plan: rule 0: reserved bytes set/],
    ['a region of another version', at('version', patched(8, 2)), /shared region: not a sysfault region/],
  ];

  it.each(CASES)('%s', (_name, shm, warning) => {
    const out = runPreloaded(dir, shm);
    expect(out.signal).toBeNull();
    expect(out.status).toBe(0);
    expect(out.stdout.filter((l) => l.startsWith('fsync '))).toEqual(['fsync 0 ok', 'fsync 1 ok', 'fsync 2 ok']);
    expect(out.stderr).toHaveLength(1);
    expect(out.stderr[0]).toMatch(/^sysfault: preload: .*; running without faults$/);
    expect(out.stderr[0]).toMatch(warning);
  });

  it('no SYSFAULT_SHM at all: silently inactive', () => {
    const out = runPreloaded(dir, undefined);
    expect([out.status, out.stderr]).toEqual([0, []]);
  });

  it('a sound copy of a region works (the control case): faults, no warning', () => {
    const out = runPreloaded(dir, at('good', region));
    expect(out.stderr).toEqual([]);
    expect(out.status).toBe(1);
    expect(out.stdout.filter((l) => l.startsWith('fsync '))).toEqual([0, 1, 2].map((i) => `fsync ${i} err EIO Input/output error`));
  });
});

describe('malformed options to the shim: the target runs without faults after one warning, or one line and 125', () => {
  const shim = (): string => join(nativeDir(), 'sysfault-shim');

  /** Runs the shim as sysfault would (control socket as fd 3, from a session that is never started). */
  function runShim(args: string[], withControl = true): Promise<{ status: number | null; signal: string | null; stdout: string[]; stderr: string[] }> {
    const session = binding().createSession({
      plan: compilePlan(normalizePlan(EIO_PLAN), 1),
      logCapacity: 4,
      runId: 'shim-test',
      seccomp: false,
      onEvent: () => {},
    });
    const child = spawnChild(shim(), args, { stdio: ['ignore', 'pipe', 'pipe', withControl ? session.childFd : 'ignore'] });
    session.releaseChildEnd();
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve) => {
      child.on('close', (status, signal) => {
        session.close();
        resolve({
          status,
          signal,
          stdout: stdout.split('\n').filter((l) => l !== ''),
          stderr: stderr.split('\n').filter((l) => l !== ''),
        });
      });
    });
  }

  const dir = scratch();
  const target = (): string[] => ['--', fixture('c/pacer'), 'pacer', dir, '2', '0'];
  const RUNS: [name: string, args: () => string[], warning: string][] = [
    ['an unknown option', () => ['--frobnicate', ...target()], 'sysfault-shim: unknown option "--frobnicate"; running the target without faults'],
    ['a bad --seccomp list', () => ['--seccomp', '74,abc', ...target()], 'sysfault-shim: bad --seccomp list "74,abc"; running the target without faults'],
    ['a negative syscall number', () => ['--seccomp', '-1', ...target()], 'sysfault-shim: bad --seccomp list "-1"; running the target without faults'],
    ['too many syscall numbers', () => ['--seccomp', Array(65).fill('74').join(','), ...target()], expect.stringMatching(/^sysfault-shim: bad --seccomp list "74,74,.*"; running the target without faults$/) as unknown as string],
    ['--preload without its value', () => ['--preload', ...target()], 'sysfault-shim: option --preload needs a value; running the target without faults'],
  ];

  it.each(RUNS)('%s', async (_name, args, warning) => {
    const out = await runShim(args());
    expect(out.signal).toBeNull();
    expect(out.status).toBe(0);
    expect(out.stdout.filter((l) => l.startsWith('fsync '))).toEqual(['fsync 0 ok', 'fsync 1 ok']);
    expect(out.stderr).toEqual([warning]);
  });

  it('no command: one line, 125', async () => {
    const out = await runShim(['--seccomp', '74', '--']);
    expect([out.status, out.signal, out.stdout, out.stderr]).toEqual([125, null, [], ['sysfault-shim: missing PATH ARGV0 after --']]);
  });

  it('no control socket (run by hand): one line, 125, nothing started', async () => {
    const marker = join(dir, 'ran');
    const out = await runShim(['--', '/bin/sh', 'sh', '-c', `touch '${marker}'`], false);
    expect([out.status, out.signal, out.stdout]).toEqual([125, null, []]);
    expect(out.stderr).toEqual(['sysfault-shim: fd 3 is not the control socket (this program is started by sysfault)']);
    expect(() => statSync(marker)).toThrow();
  });

  it('a --preload library that is not one: the loader says so in one line, the target runs', async () => {
    const notLib = join(dir, 'not-a-library.so');
    writeFileSync(notLib, 'not an ELF file');
    chmodSync(notLib, 0o755);
    const out = await runShim(['--preload', notLib, ...target()]);
    expect(out.status).toBe(0);
    expect(out.stdout.filter((l) => l.startsWith('fsync '))).toEqual(['fsync 0 ok', 'fsync 1 ok']);
    expect(out.stderr).toHaveLength(1);
    expect(out.stderr[0]).toContain('cannot be preloaded');
  });

  it('a descriptor 3 that is something else than the control socket is refused', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    const fd = openSync(file, 'r');
    try {
      const child = spawnSync(shim(), target(), { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
      expect(child.status).toBe(125);
      expect(child.stderr).toBe('sysfault-shim: fd 3 is not the control socket (this program is started by sysfault)\n');
    } finally {
      closeSync(fd);
    }
  });
});
