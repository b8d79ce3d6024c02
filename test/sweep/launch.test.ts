/**
 * A sweep prepares its launch once (src/run/launch.ts): a bad command or seed is reported before anything
 * runs, once, in the words `sysfault run` and run() use, and the sweep exits 125.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crashSweep, launchWith, prepareLaunch, run, UsageError } from '../../src/index.js';
import { scratch } from '../helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');

function sysfault(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr });
    });
  });
}

describe('a sweep prepared once', () => {
  it('reports a bad command once, as sysfault run does, and runs nothing (125)', async () => {
    const dir = scratch();
    const marker = join(dir, 'verified');
    for (const command of [join(dir, 'missing'), dir]) {
      const ran = await sysfault(['run', '--', command]);
      const swept = await sysfault(['sweep', '--calls', 'fsync', '--verify', `touch ${marker}`, '--', command]);
      expect(ran.status).not.toBe(125);
      expect(swept.status).toBe(125);
      expect(swept.stderr).toBe(ran.stderr);
      expect(swept.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a bad seed and a bad engine as run() does, before anything runs', async () => {
    const dir = scratch();
    const marker = join(dir, 'verified');
    const progress: unknown[] = [];
    for (const bad of [{ seed: 'x' }, { engine: 'bogus' as 'auto' }]) {
      const fromRun = await run('true', [], bad).catch((e: unknown) => e);
      const fromSweep = await crashSweep({ command: 'true', verify: `touch ${marker}`, onProgress: (e) => progress.push(e), ...bad }).catch(
        (e: unknown) => e,
      );
      expect(fromRun).toBeInstanceOf(UsageError);
      expect((fromSweep as Error).message).toBe((fromRun as Error).message);
      expect((fromSweep as UsageError).exitCode).toBe(125);
    }
    expect(progress).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('makes each run from one launch, adding only its rules, directory and stdio', async () => {
    const dir = scratch();
    const launch = prepareLaunch('/bin/sh', ['-c', 'echo x > out'], { seed: 7, stdio: 'ignore' });
    expect(Object.isFrozen(launch)).toBe(true);
    const results = [];
    for (const k of [1, 2]) {
      const cwd = join(dir, String(k));
      mkdirSync(cwd);
      const point = launchWith(launch, { cwd, faults: [{ id: 'count', syscalls: ['openat', 'open', 'creat'], limit: 0, action: { errno: 'EIO' } }] });
      expect(point.executable).toBe(launch.executable);
      expect(point.plan.rules).toHaveLength(1);
      results.push(await run(point));
      expect(existsSync(join(cwd, 'out'))).toBe(true);
    }
    expect(launch.plan.rules).toHaveLength(0);
    expect(results.map((r) => r.seed)).toEqual([7, 7]);
    expect(results[0]?.rules[0]?.matched).toBe(results[1]?.rules[0]?.matched);
    expect(results[0]?.rules[0]?.matched).toBeGreaterThan(0);
    expect(() => launchWith({ ...launch }, {})).toThrow(UsageError);
  });
});
