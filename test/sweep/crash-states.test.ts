/**
 * Crash states a real machine can leave (docs/crash-consistency.md "Crash states"): the whole tree stops at a
 * crash point, file-system models (posix, ext4, ...), torn and reordered unsynced writes built from the crash
 * image, and the explanation of every failing state, on real programs: the Go and Rust tornwal fixtures and
 * Debian's sqlite3 driven by a shell loop.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crashSweep } from '../../src/index.js';
import { FS_MODELS } from '../../src/run/fs-models.js';
import { fixture, runCli, scratch } from '../helpers.js';

const tornwal = { go: fixture('go/tornwal-static'), rust: fixture('rust/tornwal') };
const engineOf = { go: 'seccomp', rust: 'preload' } as const;

/** The shell loop of six sqlite3 commits, each acknowledged once sqlite3 returned (as the report). */
function sqliteLoop(synchronous: 'FULL' | 'EXTRA', rows = 6): { dir: string; work: string; verify: string; snapshot: string } {
  const dir = scratch();
  const snapshot = join(dir, 'snap');
  mkdirSync(snapshot);
  execFileSync('sqlite3', [join(snapshot, 'db'), 'CREATE TABLE t(i INTEGER);']);
  const work = join(dir, 'work.sh');
  writeFileSync(
    work,
    `#!/bin/sh\nfor i in $(seq 1 ${rows}); do\n  sqlite3 db "PRAGMA synchronous=${synchronous}; INSERT INTO t VALUES($i);" && echo acked $i\ndone\n`,
  );
  chmodSync(work, 0o755);
  const verify = join(dir, 'verify.sh');
  writeFileSync(
    verify,
    `#!/bin/sh\nfor i in $(sed -n 's/^acked //p' "$SYSFAULT_SWEEP_STDOUT"); do\n  n=$(sqlite3 db "SELECT count(*) FROM t WHERE i=$i;" 2>&1) || { echo "db unreadable: $n"; exit 1; }\n  [ "$n" = 1 ] || { echo "acked $i missing"; exit 1; }\ndone\n`,
  );
  chmodSync(verify, 0o755);
  return { dir, work, verify, snapshot };
}

describe('whole-tree crash', () => {
  for (const engine of ['preload', 'seccomp'] as const) {
    it(`stops every process of a shell loop at the crash point (${engine}); --crash process lets the loop run on`, async () => {
      const s = sqliteLoop('FULL');
      const base = { command: s.work, verify: s.verify, calls: ['fsync', 'fdatasync', 'write'], powercut: '**/db*', snapshot: s.snapshot, point: 3, seed: 1, engine };
      expect((await crashSweep(base)).failed).toEqual([]);
      // what the crashed run printed, as the verify of point 3 sees it (it fails on purpose, to show it)
      const show = `cat "$SYSFAULT_SWEEP_STDOUT"; test "$SYSFAULT_SWEEP_POINT" = 0`;
      const acked = (r: Awaited<ReturnType<typeof crashSweep>>) => (r.failed[0]?.verifyOutput ?? '').split('\n').filter((l) => l !== '');
      // the crash was inside the first sqlite3: nothing after it ran, so nothing was acknowledged
      const tree = await crashSweep({ ...base, verify: show });
      expect(tree.failed.map((f) => f.point)).toEqual([3]);
      expect(acked(tree)).toEqual([]);
      const perProcess = await crashSweep({ ...base, verify: show, crash: 'process' });
      expect(acked(perProcess)).toEqual(['acked 2', 'acked 3', 'acked 4', 'acked 5', 'acked 6']);
      expect(perProcess.failed[0]?.replay).toContain('--crash process');
    });
  }
});

describe('torn tails: recoveries told apart by crash states', () => {
  for (const lang of ['go', 'rust'] as const) {
    it(`${lang}: strict recovery passes the pessimistic sweep and fails torn states; truncate passes every state`, async () => {
      const bin = tornwal[lang];
      const sweep = (recovery: string, states: number | 'all') =>
        crashSweep({ command: bin, args: ['work', '.', '4'], verify: `${bin} check . "$SYSFAULT_SWEEP_STDOUT" --recovery ${recovery}`, calls: ['fsync'], powercut: '*', states, seed: 7, engine: engineOf[lang] });
      const pessimistic = await sweep('strict', 0);
      expect(pessimistic).toMatchObject({ points: 5, tried: 5, states: 5, failed: [], fs: 'posix' });
      const strict = await sweep('strict', 16);
      expect(strict.states).toBeGreaterThan(strict.tried);
      expect(strict.failed.length).toBeGreaterThan(0);
      const torn = strict.failed.find((f) => f.state?.kind === 'torn');
      expect(torn?.verifyOutput).toMatch(/corrupt log: bad record at offset \d+/);
      expect(torn?.explanation).toMatch(/wal\.log: the write persisted only \[\d+,\d+\) \(1 block\), not \[\d+,\d+\): torn at a 4096-byte block boundary/);
      expect(torn?.state?.persisted.some((p) => /^append wal\.log \[/.test(p))).toBe(true);
      expect(torn?.state?.dropped.length).toBeGreaterThan(0);
      const all = await sweep('truncate', 'all');
      expect(all.failed).toEqual([]);
      expect(all.states).toBeGreaterThanOrEqual(strict.states);

      // the replay reproduces the exact (point, state)
      const replay = execFileSync('/bin/sh', ['-c', `${torn?.replay} 2>&1; echo "exit $?"`], { cwd: scratch(), encoding: 'utf8' });
      expect(replay).toContain(`point ${torn?.point} state ${torn?.state?.index} (torn) FAILED`);
      expect(replay).toContain(torn?.verifyOutput.trim());
      expect(replay).toContain('why: wal.log: the write persisted only');
      expect(replay.trim().endsWith('exit 1')).toBe(true);
    });
  }
});

describe('file-system models', () => {
  it('a log whose directory is never fsynced fails under posix, with the file and its directory named, and passes under ext4', async () => {
    const bin = tornwal.go;
    const sweep = (fs: 'posix' | 'ext4' | 'xfs' | 'btrfs') =>
      crashSweep({ command: bin, args: ['work', '.', '3', '--no-dirsync'], verify: `${bin} check . "$SYSFAULT_SWEEP_STDOUT" --recovery truncate`, calls: ['fsync'], powercut: '*', fs, states: 8, seed: 3 });
    const posix = await sweep('posix');
    expect(posix.fs).toBe('posix');
    expect(posix.failed.length).toBeGreaterThan(0);
    const first = posix.failed[0];
    expect(first?.state?.kind).toBe('pessimistic');
    expect(first?.state?.culprit).toEqual(['create wal.log']);
    expect(first?.explanation).toBe(
      'create wal.log was lost: wal.log was created but its directory ./ was never fsynced afterwards: under posix its name can be lost (ext4, xfs, btrfs keep it once the file itself is fsynced: --fs ext4)',
    );
    for (const fs of ['ext4', 'xfs', 'btrfs'] as const) {
      const r = await sweep(fs);
      expect(r).toMatchObject({ fs, failed: [] });
      expect(r.states).toBeGreaterThan(r.tried);
    }
    expect(Object.keys(FS_MODELS)).toEqual(['posix', 'ext4', 'xfs', 'btrfs']);
  });

  it('the power-cut run option takes the model (sysfault run --fs)', async () => {
    const dir = scratch();
    const bin = tornwal.go;
    const run = (fs: string) =>
      runCli(['run', '--powercut', '*', '--powercut-when', 'crash', '--fs', fs, '--fault', 'fsync:after=2=kill', '--', bin, 'work', '.', '3', '--no-dirsync'], { cwd: dir });
    const posix = await run('posix');
    expect(posix.status).toBe(137);
    expect(() => readFileSync(join(dir, 'wal.log'))).toThrow(/ENOENT/);
    const ext4 = await run('ext4');
    expect(ext4.status).toBe(137);
    expect(readFileSync(join(dir, 'wal.log')).length).toBe(2 * 5008);
  });
});

describe('SQLite (Debian sqlite3), DELETE journal mode, as sqlite.org documents PRAGMA synchronous', () => {
  const sweep = (synchronous: 'FULL' | 'EXTRA') => {
    const s = sqliteLoop(synchronous, 3);
    return crashSweep({ command: s.work, verify: s.verify, calls: ['fsync', 'fdatasync'], powercut: '**/db*', snapshot: s.snapshot, seed: 1 });
  };
  it('FULL can lose the last commit (the journal is unlinked, its directory not synced); EXTRA cannot', async () => {
    const full = await sweep('FULL');
    expect(full.failed.length).toBeGreaterThan(0);
    const f = full.failed[0];
    expect(f?.verifyOutput).toMatch(/acked \d missing/);
    expect(f?.explanation).toMatch(/db-journal was lost: .*db-journal.* since its directory \.\/ was last fsynced/);
    const extra = await sweep('EXTRA');
    expect(extra.points).toBeGreaterThan(full.points); // EXTRA's directory syncs
    expect(extra.failed).toEqual([]);
  });
});
