// Nothing silent: a rule that matched nothing is flagged in the result's `warnings` and in the summary, with
// what the program called instead (counted, never faulted); a sweep with no crash points is an error naming
// what the clean run called; the result and the summary say which engine ran and why. On Debian's sqlite3
// (it syncs with fdatasync, never fsync) and our own Rust program, under both engines.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectEngine, run } from '../../src/index.js';
import type { Engine } from '../../src/common/run-result.js';
import { sysfaultInvocation } from '../../src/run/invocation.js';
import { fixture, plan, runCli, runFixture, scratch } from '../helpers.js';

const engines: Engine[] = ['preload', 'seccomp'];
const sql = 'create table t(x); insert into t values (1); insert into t values (2);';

/** sqlite3's exact fdatasync count for `sql` on a fresh database, from a rule on fdatasync that never fires. */
async function fdatasyncCalls(engine: Engine): Promise<number> {
  const result = await run('sqlite3', [join(scratch(), 'db'), sql], {
    engine,
    stdio: 'ignore',
    plan: plan([{ syscalls: ['fdatasync'], after: 1_000_000, action: { errno: 'EIO' } }]),
  });
  return result.counts.fdatasync?.calls ?? 0;
}

describe.each(engines)('%s engine', (engine) => {
  it('a rule on fsync that matched nothing says sqlite3 called fdatasync instead, exactly how often', async () => {
    const expected = await fdatasyncCalls(engine);
    expect(expected).toBeGreaterThan(0);
    const dir = scratch();
    const result = await run('sqlite3', [join(dir, 'db'), sql], { engine, stdio: 'ignore', faults: ['fsync=EIO'] });
    expect(result.exit).toEqual({ code: 0, signal: null });
    expect(result.counts).toEqual({ fsync: { calls: 0, faulted: 0, delayed: 0 } }); // counts: what rules name, only
    expect(result.warnings).toEqual([
      {
        code: 'rule-matched-nothing',
        message: `rule rule-0 matched nothing: fsync was never called; the program called fdatasync ${expected} times instead`,
      },
    ]);
    // what sqlite3 wrote is intact: the alternative was counted, never faulted
    expect(execFileSync('sqlite3', [join(dir, 'db'), 'select count(*) from t'], { encoding: 'utf8' }).trim()).toBe('2');
  });

  it('a rule whose filters matched no call says which calls were made', async () => {
    const dir = scratch();
    const { result } = await runFixture('rust/fileio', [dir, '2'], {
      engine,
      plan: plan([
        { id: 'elsewhere', syscalls: ['fsync'], path: '**/no-such-file', action: { errno: 'EIO' } },
        { id: 'hits', syscalls: ['fsync'], after: 1, action: { errno: 'EIO' } },
      ]),
    });
    expect(result.counts.fsync?.calls).toBe(2);
    expect(result.warnings).toEqual([
      { code: 'rule-matched-nothing', message: 'rule elsewhere matched nothing: the program called fsync 2 times, none matching path **/no-such-file' },
    ]);
  });

  it('a rule whose filter missed also names the alternatives the program called (the right file, the other sync)', async () => {
    const dir = scratch();
    // fsync on a .dat file, fdatasync five times on a .log: a rule on fsync of *.log matches nothing
    const script = [
      'import os, sys',
      "log = os.open(sys.argv[1] + '/x.log', os.O_CREAT | os.O_WRONLY)",
      "dat = os.open(sys.argv[1] + '/x.dat', os.O_CREAT | os.O_WRONLY)",
      'os.fsync(dat)',
      'for _ in range(5): os.fdatasync(log)',
    ].join('\n');
    const result = await run('python3', ['-c', script, dir], {
      engine,
      stdio: 'ignore',
      plan: plan([{ id: 'wal', syscalls: ['fsync'], path: '**/*.log', action: { errno: 'EIO' } }]),
    });
    expect(result.exit).toEqual({ code: 0, signal: null });
    expect(result.warnings).toEqual([
      {
        code: 'rule-matched-nothing',
        message: 'rule wal matched nothing: the program called fsync once, none matching path **/*.log; it also called fdatasync 5 times',
      },
    ]);
  });

  it('msync, the write-back of a shared mapping: faulted as planned, and named when a rule on fsync matched nothing', async () => {
    const dir = scratch();
    // Python's mmap.flush() is msync(MS_SYNC) on the mapping
    const script = [
      'import os, sys, mmap',
      "f = os.open(sys.argv[1] + '/m', os.O_CREAT | os.O_RDWR); os.ftruncate(f, 4096)",
      "m = mmap.mmap(f, 4096); m[0:2] = b'hi'",
      "try: m.flush(); print('flush ok')",
      "except OSError as e: print('flush failed', e.errno)",
    ].join('\n');
    const { lines, result } = await runFixture('/usr/bin/env', ['python3', '-c', script, dir], { engine, plan: plan([{ syscalls: ['msync'], action: { errno: 'EIO' } }]) });
    expect(lines).toEqual(['flush failed 5']);
    expect(result.counts.msync).toEqual({ calls: 1, faulted: 1, delayed: 0 });
    expect(result.faults.map((f) => f.target)).toEqual([expect.stringMatching(/^mapping 0x[0-9a-f]+\+4096$/) as unknown as string]);
    const other = await runFixture('/usr/bin/env', ['python3', '-c', script, dir], { engine, plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]) });
    expect(other.lines).toEqual(['flush ok']);
    expect(other.result.warnings).toEqual([
      { code: 'rule-matched-nothing', message: 'rule rule-0 matched nothing: fsync was never called; the program called msync once instead' },
    ]);
  });

  it('a rule on pwrite64 that matched nothing names write: counted in-process, or said to be unwatched under seccomp', async () => {
    const dir = scratch();
    const result = await run('sh', ['-c', `echo hi > ${join(dir, 'out')}`], { engine, stdio: 'ignore', faults: ['pwrite64:path=**/out=EIO'] });
    expect(result.exit).toEqual({ code: 0, signal: null });
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('hi\n');
    const never = 'rule rule-0 matched nothing: pwrite64 was never called';
    expect(result.warnings).toEqual([
      engine === 'preload'
        ? { code: 'rule-matched-nothing', message: `${never}; the program called write once instead` }
        : {
            code: 'rule-matched-nothing',
            message: `${never} (not watched, each being a supervisor round trip under seccomp: write, writev, pwritev, pwritev2, sendto, sendmsg; name them in a rule to see whether the program called them)`,
          },
    ]);
  });

  it('a run whose rules all matched has no warnings, and says why the engine', async () => {
    const { result } = await runFixture('rust/fileio', [scratch(), '1'], { engine, plan: plan([{ syscalls: ['fsync'], action: { errno: 'EIO' } }]) });
    expect(result.warnings).toEqual([]);
    expect(result.engineReason).toBe('asked for');
  });
});

describe('the CLI', () => {
  it('the summary flags the rule, shows no row for a syscall never called, and names the engine and why', async () => {
    const dir = scratch();
    const json = join(dir, 'result.json');
    const out = await runCli(['run', '--fault', 'fsync-family:path=**/elsewhere=EIO', '--fault', 'fsync=EIO', '--json', json, '--', 'sqlite3', join(dir, 'db'), sql]);
    expect(out.status).toBe(0);
    const lines = out.stderr.split('\n');
    expect(lines[0]).toMatch(/^sysfault: preload engine \(dynamically linked ELF\), seed \d+, /);
    expect(lines.filter((l) => /^ {2}fsync |^ {2}sync_file_range /.test(l))).toEqual([]);
    expect(lines).toContain('  never called: fsync, sync_file_range');
    expect(lines.filter((l) => l.includes('warning:'))).toEqual([
      expect.stringMatching(/^ {2}warning: rule rule-0 matched nothing: the program called fdatasync \d+ times, none matching path \*\*\/elsewhere$/),
      expect.stringMatching(/^ {2}warning: rule rule-1 matched nothing: fsync was never called; the program called fdatasync \d+ times instead$/),
    ]);
    const result = JSON.parse(readFileSync(json, 'utf8')) as { engineReason: string; warnings: unknown[] };
    expect(result.engineReason).toBe('dynamically linked ELF');
    expect(result.warnings).toHaveLength(2);
  });

  it('a sweep with no crash points is an error (125) saying what the clean run called', async () => {
    const none = await runCli(['sweep', '--calls', 'fsync', '--verify', 'true', '--', 'true']);
    expect(none.stderr.trim()).toBe('sysfault: no crash points: in the clean run, fsync was never called (choose the calls it makes with --calls)');
    expect(none.status).toBe(125);
    const sqlite = await runCli(['sweep', '--calls', 'fsync', '--verify', 'true', '--', 'sqlite3', 'db', sql]);
    expect(sqlite.stderr.trim()).toMatch(
      /^sysfault: no crash points: in the clean run, fsync was never called; the program called fdatasync \d+ times instead \(choose the calls it makes with --calls\)$/,
    );
    expect(sqlite.status).toBe(125);
  });

  it('--dry-run checks everything and shows the rules and the engine, starting nothing', async () => {
    const dir = scratch();
    const marker = join(dir, 'ran');
    const out = await runCli(['run', '--dry-run', '--seed', '5', '--fault', 'fsync:after=2:limit=1=EIO', '--fault', 'write:path=**/*.log=delay=10ms', '--', 'sh', '-c', `touch ${marker}`]);
    expect(out.status).toBe(0);
    expect(out.stdout.split('\n')).toEqual([
      'sysfault run --dry-run: nothing started',
      `  command  /usr/bin/sh -c touch ${marker}`,
      '  engine   preload (dynamically linked ELF)',
      '  seed     5',
      '  plan     2 rules, 1056 bytes compiled',
      '  rule    syscalls  filters        when              action',
      '  rule-0  fsync     -              after 2, limit 1  errno EIO',
      '  rule-1  write     path **/*.log  every call        delay 10ms',
      '',
    ]);
    expect(existsSync(marker)).toBe(false);
    const bad = await runCli(['run', '--dry-run', '--fault', 'fsync=EIOO', '--', 'true']);
    expect(bad.status).toBe(125);
  });

  it('doctor CMD says which engine auto picks for CMD and why', async () => {
    const out = await runCli(['doctor', 'sqlite3']);
    expect(out.stdout).toMatch(/^auto for sqlite3 +preload: dynamically linked ELF$/m);
    const go = await runCli(['doctor', fixture('go/fileio-static')]);
    expect(go.stdout).toMatch(/^auto for \S+fileio-static +seccomp: Go binary \(\.note\.go\.buildid section\)$/m);
    expect(go.stdout).toMatch(/^Go fast path +usable/m);
    expect(go.stdout).toMatch(/^fast path for \S+fileio-static +Syscall6 found in the symbol table$/m);
    const stripped = await runCli(['doctor', fixture('gotc/agentstorm-cgo-pie-stripped')]);
    expect(stripped.stdout).toMatch(/^fast path for \S+stripped +Syscall6 found in the pclntab$/m);
    // a Go binary whose Syscall6 is not the expected instructions: said, before any run
    const copy = join(scratch(), 'reencoded');
    const bytes = readFileSync(fixture('go/fileio-static'));
    const at = bytes.indexOf(Buffer.from('4989f24889fa4889ce4889df0f05483d01f0ffff', 'hex'));
    bytes.set([0x48, 0x8b, 0xd7], at + 3);
    writeFileSync(copy, bytes, { mode: 0o755 });
    const odd = await runCli(['doctor', copy]);
    expect(odd.stdout).toMatch(/^fast path for \S+reencoded +no \(the supervisor alone\): .*instructions the agent replaces/m);
    expect(out.stdout).not.toMatch(/^fast path for/m); // sqlite3 is not a Go program
  });

  it('the demo shows every action, prints its replay in the one form, and removes its folder', async () => {
    const out = await runCli(['demo']);
    expect(out.status).toBe(0);
    const dir = /appends 5 records to (\S+)\/journal\.log/.exec(out.stdout)?.[1] ?? '';
    expect(dir).toMatch(/sysfault-demo-/);
    expect(existsSync(dir)).toBe(false);
    expect(out.stdout).toContain(`  ${sysfaultInvocation()} demo\n`);
    expect(out.stdout.match(/-> (errno:ECONNREFUSED|delay:100ms|errno:EIO|short:5|kill:SIGKILL)/g)).toHaveLength(5);
  });

  it('detectEngine finds a bare command name in PATH, as the CLI does', () => {
    expect(detectEngine('sqlite3')).toEqual({ engine: 'preload', kind: 'dynamic', reason: 'dynamically linked ELF' });
  });
});
