/**
 * Storage crash consistency (docs/crash-consistency.md), in both engines: kills before and after a call, torn writes, the power
 * cut (exact last-synced bytes, unsynced creations and renames undone), fsync failures that drop dirty data,
 * and crash sweeps that flag the buggy write-ahead-logged stores (Go and Rust) and pass the correct ones, with
 * a replay command that reproduces a failing point.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compilePlan, crashSweep, normalizePlan, parseFault, run, type SweepProgress } from '../../src/index.js';
import { binding } from '../../src/native/binding.js';
import type { Engine } from '../../src/common/run-result.js';
import { fixture, runFixture, scratch } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const engines: Engine[] = ['preload', 'seccomp'];

function sh(command: string, cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', command], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

function sysfault(args: string[], cwd: string) {
  return sh([process.execPath, cli, ...args].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' '), cwd);
}

describe('storage actions in plans', () => {
  it('compile to the wire codes the C decoder accepts', () => {
    const plan = normalizePlan({
      version: 1,
      rules: [
        { syscalls: ['fsync'], action: { kill: 'SIGKILL', when: 'after' } },
        { syscalls: ['write', 'pwritev2'], action: { torn: 10 } },
        { syscalls: ['writev'], action: { torn: { fraction: 0.25 } } },
        { syscalls: ['pwrite64'], action: { torn: 'seeded' } },
        { syscalls: ['fdatasync'], action: { powercut: true } },
        { syscalls: ['read'], action: { powercut: true, when: 'after' } },
      ],
    });
    const decoded = binding().decodePlan(compilePlan(plan, 1));
    if (typeof decoded === 'string') throw new Error(decoded);
    expect(decoded.rules.map((r) => [r.action, r.value, r.flags, r.value2])).toEqual([
      [4, 9, 1, 0],
      [10, 10, 0, 0],
      [10, 0, 0, 250_000],
      [10, 0, 0, -1],
      [11, 0, 2, 0],
      [11, 0, 3, 0],
    ]);
    expect(parseFault('fsync:after=2=kill-after=SIGTERM')).toEqual({ syscalls: ['fsync'], after: 2, action: { kill: 'SIGTERM', when: 'after' } });
    expect(parseFault('write=torn=50%')).toEqual({ syscalls: ['write'], action: { torn: { fraction: 0.5 } } });
    expect(parseFault('fsync=powercut-after')).toEqual({ syscalls: ['fsync'], action: { powercut: true, when: 'after' } });
  });

  it('are refused where they cannot apply', async () => {
    const bad = (rule: object) => () => normalizePlan({ version: 1, rules: [rule as never] });
    expect(bad({ syscalls: ['fsync'], action: { torn: 1 } })).toThrow(
      'rules[0].syscalls: a torn write applies to write, pwrite64, writev, pwritev, pwritev2; got fsync',
    );
    expect(bad({ syscalls: ['openat'], action: { kill: 9, when: 'after' } })).toThrow(/"when": "after" applies to fsync, .*; got openat/);
    expect(bad({ syscalls: ['fsync'], action: { errno: 'EIO', when: 'after' } })).toThrow('"when" goes with kill or powercut');
    expect(bad({ syscalls: ['write'], action: { torn: { fraction: 2 } } })).toThrow('rules[0].action.torn');
    await expect(run('/bin/true', [], { faults: ['fsync=powercut'] })).rejects.toThrow(/a powercut action needs the powercut option/);
  });
});

describe.each(engines)('crash points (%s)', (engine) => {
  it('kills before a write (nothing written) or after it (all written)', async () => {
    const dir = scratch();
    const before = await runFixture('rust/writeall', [join(dir, 'before.bin'), '5000'], {
      engine,
      faults: ['write:path=*.bin=kill'],
    });
    const after = await runFixture('rust/writeall', [join(dir, 'after.bin'), '5000'], {
      engine,
      faults: ['write:path=*.bin=kill-after'],
    });
    expect(before.result.exit.signal).toBe('SIGKILL');
    expect(after.result.exit.signal).toBe('SIGKILL');
    expect(statSync(join(dir, 'before.bin')).size).toBe(0);
    expect(statSync(join(dir, 'after.bin')).size).toBe(5000);
    expect(after.lines).not.toContain(`write ${join(dir, 'after.bin')} ok 5000`); // killed before returning
  });

  it('a power cut before the 3rd fsync and one after the 2nd leave the same synced bytes', async () => {
    // pcut basic: fsync DIR, then 3 x (change data.db, fsync, copy it to data.synced)
    const cutBefore = scratch();
    const cutAfter = scratch();
    const a = await runFixture('c/pcut', [cutBefore, 'basic'], {
      engine,
      cwd: cutBefore,
      faults: ['fsync:path=*.db:after=2:limit=1=powercut'],
      powercut: '*.db',
    });
    const b = await runFixture('c/pcut', [cutAfter, 'basic'], {
      engine,
      cwd: cutAfter,
      faults: ['fsync:path=*.db:after=1:limit=1=powercut-after'],
      powercut: '*.db',
    });
    expect(a.result.faults.map((f) => f.action)).toEqual(['powercut']);
    expect(b.result.faults.map((f) => f.action)).toEqual(['powercut']);
    expect(a.result.powercut?.applied).toBe(true);
    expect(a.lines.filter((l) => l.startsWith('fsync data.db'))).toHaveLength(2);
    expect(b.lines.filter((l) => l.startsWith('fsync data.db'))).toHaveLength(1); // the 2nd happened, unreported
    const synced2 = readFileSync(join(cutBefore, 'data.synced')); // the program's copy after its 2nd fsync
    expect(readFileSync(join(cutBefore, 'data.db')).equals(synced2)).toBe(true);
    expect(readFileSync(join(cutAfter, 'data.db')).equals(synced2)).toBe(true);
  });

  it('a handled signal runs, then the call proceeds (before and after the call)', async () => {
    for (const spec of ['fsync:path=*.db=kill=SIGUSR1', 'fsync:path=*.db=kill-after=SIGUSR1']) {
      const dir = scratch();
      const out = await runFixture('c/pcut', [dir, 'signal'], { engine, faults: [spec] });
      expect(out.result.exit.code).toBe(0);
      expect(out.lines).toContain('fsync sig.db ok handled 1');
    }
  });
});

describe.each(engines)('torn writes (%s)', (engine) => {
  it('keep exactly their first N bytes, or a fraction, then SIGKILL', async () => {
    const dir = scratch();
    const cases: [string, string, number][] = [
      ['n.bin', 'write:path=*.bin=torn=1234', 1234],
      ['p.bin', 'write:path=*.bin=torn=25%', 2500],
      ['z.bin', 'write:path=*.bin=torn=0', 0],
    ];
    for (const [name, spec, size] of cases) {
      const out = await runFixture('rust/writeall', [join(dir, name), '10000'], { engine, faults: [spec] });
      expect(out.result.exit.signal).toBe('SIGKILL');
      expect(out.result.faults.map((f) => f.action)).toEqual([`torn:${size}`]);
      const data = readFileSync(join(dir, name));
      expect(data.length).toBe(size);
      expect([...data].every((byte, j) => byte === j % 251)).toBe(true); // writeall's pattern, from the start
    }
    const seeded = await runFixture('rust/writeall', [join(dir, 's.bin'), '10000'], {
      engine,
      seed: 5,
      faults: ['write:path=*.bin=torn=seeded'],
    });
    const kept = Number(seeded.result.faults[0]?.action.slice('torn:'.length));
    expect(statSync(join(dir, 's.bin')).size).toBe(kept);
  });
});

describe.each(engines)('power cut (%s)', (engine) => {
  it('restores the exact last-synced bytes and removes what was created and never synced', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'before.db'), 'here before the run\n'); // the baseline counts as synced
    const out = await runFixture('c/pcut', [dir, 'basic'], { engine, cwd: dir, powercut: { glob: '*.db', when: 'always' } });
    expect(out.lines.at(-1)).toBe('done');
    expect(out.result.powercut).toMatchObject({ applied: true, glob: '*.db', restored: [join(dir, 'data.db')], removed: [join(dir, 'fresh.db')] });
    const synced = readFileSync(join(dir, 'data.synced'));
    expect(synced.length).toBe(4700);
    expect(readFileSync(join(dir, 'data.db')).equals(synced)).toBe(true);
    expect(existsSync(join(dir, 'fresh.db'))).toBe(false);
    expect(readFileSync(join(dir, 'before.db'), 'utf8')).toBe('here before the run\n');
    expect(readdirSync(dir).sort()).toEqual(['before.db', 'data.db', 'data.synced']);
  });

  it('undoes a rename in a directory never fsynced, keeps it once the directory is', async () => {
    const plain = scratch();
    const synced = scratch();
    for (const d of [plain, synced]) writeFileSync(join(d, 'old.db'), 'old contents\n');
    const a = await runFixture('c/pcut', [plain, 'rename'], { engine, cwd: plain, powercut: { glob: '*.db', when: 'always' } });
    const b = await runFixture('c/pcut', [synced, 'dirsync'], { engine, cwd: synced, powercut: { glob: '*.db', when: 'always' } });
    expect(a.lines).toContain('rename tmp.db ok');
    expect(readFileSync(join(plain, 'old.db'), 'utf8')).toBe('old contents\n');
    expect(existsSync(join(plain, 'tmp.db'))).toBe(false);
    expect(b.lines).toContain('fsync DIR ok');
    expect(readFileSync(join(synced, 'old.db'), 'utf8')).toBe('new contents\n');
    expect(b.result.powercut).toMatchObject({ applied: true, restored: [], removed: [] });
  });

  it('fsyncFailureDropsDirty: after an injected fsync error the retry succeeds without the data', async () => {
    const dir = scratch();
    // pcut retry: fsync DIR, fsync A (ok), write B, fsync (EIO, injected), fsync again
    const out = await runFixture('c/pcut', [dir, 'retry'], {
      engine,
      cwd: dir,
      faults: ['fsync:path=*.db:after=1:limit=1=EIO'],
      powercut: { glob: '*.db', fsyncFailureDropsDirty: true },
    });
    expect(out.lines).toEqual([
      'open data.db ok',
      'fsync DIR ok',
      'fsync A ok',
      'fsync B err EIO Input/output error',
      'fsync B ok 2',
      'size data.db ok 100',
      'done',
    ]);
    expect(readFileSync(join(dir, 'data.db')).equals(readFileSync(join(dir, 'data.synced')))).toBe(true);
    expect(out.result.powercut?.applied).toBe(false); // no power cut: the data was dropped at the failure
  });
});

/** walkv work . 8 (15 fsyncs in a fresh directory), checked against the acks of the crashed run. */
async function sweepWalkv(binary: string, bug: string, engine?: Engine) {
  const events: SweepProgress[] = [];
  const report = await crashSweep({
    command: binary,
    args: ['work', '.', '8', '--bug', bug],
    verify: `${binary} check . "$SYSFAULT_SWEEP_STDOUT"`,
    calls: ['fsync'],
    powercut: '*',
    seed: 1,
    jobs: 2,
    ...(engine && { engine }),
    onProgress: (e) => events.push(e),
  });
  return { report, events };
}

describe('crash sweeps of a write-ahead-logged store', () => {
  const stores: [string, Engine | undefined][] = [
    ['go/walkv-static', undefined], // auto: seccomp (Go)
    ['rust/walkv', 'preload'],
    ['rust/walkv', 'seccomp'],
  ];
  it.each(stores)('%s (%s): the correct store passes, both planted bugs are found', async (name, engine) => {
    const binary = fixture(name);
    const correct = await sweepWalkv(binary, 'none', engine);
    expect(correct.report).toMatchObject({ version: 1, points: 15, tried: 15, failed: [] });
    expect(correct.events[0]).toEqual({ type: 'counted', points: 15, total: 15 });
    expect(correct.events.filter((e) => e.type === 'point')).toHaveLength(15);

    const ack = await sweepWalkv(binary, 'ack-before-fsync', engine);
    // the crash before each record's fsync loses a record already acknowledged
    expect(ack.report.failed.map((f) => f.point)).toEqual([2, 3, 4, 8, 9, 10, 14, 15]);
    expect(ack.report.failed[0]?.verifyOutput).toMatch(/^check missing k0 /);
    expect(ack.report.failed[0]?.faults.map((f) => `${f.syscall} ${f.action}`)).toEqual(['fsync kill:SIGKILL']);

    const rename = await sweepWalkv(binary, 'rename-without-dirsync', engine);
    // once the old wal is truncated, a crash undoes the unsynced rename of the snapshot: k0..k2 are gone
    expect(rename.report.points).toBe(13);
    expect(rename.report.failed.map((f) => f.point)).toEqual([7, 8, 9, 10, 11, 12, 13]);
    expect(rename.report.failed[0]?.powercut?.removed.map((p) => p.split('/').at(-1))).toEqual(['snapshot.db']);
  });

  it('a failing point replays with its one command; the CLI writes the contract JSON', async () => {
    const binary = fixture('go/walkv-static');
    const dir = scratch();
    const json = join(dir, 'sweep.json');
    const out = await sysfault(
      ['sweep', '--calls', 'fsync', '--verify', `${binary} check . "$SYSFAULT_SWEEP_STDOUT"`, '--powercut', '*', '--sample', '4',
        '--seed', '3', '--jobs', '2', '--json', json, '--', binary, 'work', '.', '8', '--bug', 'ack-before-fsync'],
      dir,
    );
    expect(out.status).toBe(1);
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      version: number; points: number; tried: number;
      failed: { point: number; verifyExit: number; verifyOutput: string; replay: string }[];
    };
    expect(report).toMatchObject({ version: 1, points: 15, tried: 4 });
    expect(report.failed.length).toBeGreaterThan(0);
    const first = report.failed[0];
    if (!first) throw new Error('no failure');
    expect(first).toMatchObject({ verifyExit: 1 });
    expect(out.stderr).toContain(`replay: ${first.replay}`);

    const replay = await sh(first.replay, scratch());
    expect(replay.status).toBe(1);
    expect(replay.stderr).toContain(`point ${first.point} FAILED`);
    expect(replay.stderr).toContain(first.verifyOutput.trim());
    const kept = /working directory kept in (\S+)\/point-\d+\/work/.exec(replay.stderr)?.[1];
    expect(kept && existsSync(kept)).toBeTruthy();
    if (kept) rmSync(kept, { recursive: true, force: true });

    const clean = await sysfault(['sweep', '--calls', 'fsync', '--verify', `${binary} check . "$SYSFAULT_SWEEP_STDOUT"`, '--powercut', '*',
      '--sample', '3', '--', binary, 'work', '.', '4'], dir);
    expect(clean.status).toBe(0);
    const bad = await sysfault(['sweep', '--calls', 'fsync', '--verify', 'true', '--sample', 'x', '--', binary], dir);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toBe('sysfault: --sample: expected a positive integer, got "x"\n');
  });
});
