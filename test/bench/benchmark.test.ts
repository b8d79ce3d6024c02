// benchmark(): alternation, medians, ratios from medians, parse vs wall clock, failures; on the C loop fixture
// (built by the global setup) with small iteration counts, under the preload engine.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { benchmark, BenchmarkError, median, type BenchmarkProgress } from '../../src/bench/benchmark.js';
import type { PlanInput } from '../../src/plan/schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const loop = join(root, 'test', 'fixtures', '.build', 'c', 'loop');
const ITERS = 2000;

/** A write rule that is evaluated on every call and never fires. */
const passThrough: PlanInput = {
  version: 1,
  seed: 1,
  rules: [{ id: 'never', syscalls: ['write'], path: '**/never-matches', action: { errno: 'EIO' } }],
};
/** Every write fails with EIO: the loop reports errors and exits 1. */
const everyWriteFails: PlanInput = { version: 1, seed: 1, rules: [{ syscalls: ['write'], action: { errno: 'EIO' } }] };

/** The loop's own ns per call: "loop write ok 312.5[ errors N]". */
function loopNs(stdout: string): number {
  const m = /^loop write ok ([\d.]+)/m.exec(stdout);
  if (!m) throw new Error(`no loop line in ${JSON.stringify(stdout)}`);
  return Number(m[1]);
}

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('benchmark()', () => {
  it('the fixture is built', () => {
    expect(existsSync(loop), `${loop} (run: node test/fixtures/build.mjs)`).toBe(true);
  });

  it('alternates the plans, drops warm-up runs, and computes ratios from the medians', async () => {
    // parse() sees the runs in order: warm-up bare, warm-up pass, then bare, pass, bare, pass, bare, pass.
    // Feeding it known figures shows which values are kept and how the ratio is made: medians 20 and 50
    // give 2.5, where the mean (60/20 = 3) or the median of paired ratios (median(5, 1.33, 4.5) = 4.5) would not.
    const figures = [999, 999, 10, 50, 30, 40, 20, 90];
    const progress: BenchmarkProgress[] = [];
    let i = 0;
    const report = await benchmark({
      command: loop,
      args: ['write', String(ITERS)],
      plans: { bare: null, pass: passThrough },
      engine: 'preload',
      runs: 3,
      warmup: 1,
      parse: (stdout) => {
        expect(loopNs(stdout)).toBeGreaterThan(0); // a real run's output
        return figures[i++]!;
      },
      onRun: (p) => progress.push(p),
    });
    expect(i).toBe(8);
    expect(progress.map((p) => `${p.plan}:${p.round}:${p.warmup}`)).toEqual([
      'bare:-1:true',
      'pass:-1:true',
      'bare:0:false',
      'pass:0:false',
      'bare:1:false',
      'pass:1:false',
      'bare:2:false',
      'pass:2:false',
    ]);
    expect(report.unit).toBe('parsed');
    expect(report.baseline).toBe('bare');
    expect(Object.keys(report.plans)).toEqual(['bare', 'pass']);
    expect(report.plans.bare).toMatchObject({ runs: [10, 30, 20], median: 20, ratio: 1, lastResult: null });
    expect(report.plans.pass).toMatchObject({ runs: [50, 40, 90], median: 50, ratio: 2.5 });
  });

  it('measures the loop\'s own figure under a plan, with the sysfault result of the last run', async () => {
    const report = await benchmark({
      command: loop,
      args: ['write', String(ITERS)],
      plans: { bare: null, pass: passThrough },
      engine: 'preload',
      runs: 3,
      warmup: 0,
      parse: loopNs,
    });
    for (const name of ['bare', 'pass'] as const) {
      const p = report.plans[name]!;
      expect(p.runs).toHaveLength(3);
      for (const ns of p.runs) expect(ns).toBeGreaterThan(0);
      expect(p.median).toBe(median(p.runs));
      expect(p.ratio).toBe(p.median / report.plans.bare!.median);
    }
    expect(report.plans.bare!.ratio).toBe(1);
    const result = report.plans.pass!.lastResult!;
    expect(result.engine).toBe('preload');
    expect(result.exit).toEqual({ code: 0, signal: null });
    // every write of the loop went through the engine (the rule never fired)
    expect(result.counts.write!.calls).toBeGreaterThanOrEqual(ITERS);
    expect(result.counts.write!.faulted).toBe(0);
    expect(result.rules).toEqual([{ id: 'never', matched: 0, fired: 0 }]);
  });

  it('uses the wall clock by default, and takes another plan as the baseline when asked', async () => {
    const report = await benchmark({
      command: loop,
      args: ['write', String(ITERS)],
      plans: { bare: null, pass: passThrough },
      engine: 'preload',
      runs: 2,
      warmup: 0,
      baseline: 'pass',
    });
    expect(report.unit).toBe('ms');
    expect(report.baseline).toBe('pass');
    expect(report.plans.pass!.ratio).toBe(1);
    expect(report.plans.bare!.ratio).toBe(report.plans.bare!.median / report.plans.pass!.median);
    for (const p of Object.values(report.plans)) {
      expect(p.runs).toHaveLength(2);
      for (const ms of p.runs) expect(ms).toBeGreaterThan(0);
    }
  });

  it('a run that exits non-zero rejects, unless allowFailure', async () => {
    const options = {
      command: loop,
      args: ['write', '100'],
      plans: { fails: everyWriteFails },
      engine: 'preload' as const,
      runs: 1,
      warmup: 0,
      parse: loopNs,
    };
    const error = await benchmark(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BenchmarkError);
    expect((error as BenchmarkError).plan).toBe('fails');
    expect((error as BenchmarkError).message).toMatch(/exited with status 1/);
    expect((error as BenchmarkError).stdout).toMatch(/loop write ok [\d.]+ errors 100/);

    const report = await benchmark({ ...options, allowFailure: true });
    expect(report.plans.fails!.runs).toHaveLength(1);
    expect(report.plans.fails!.lastResult!.counts.write!.faulted).toBe(100);
  });

  it('a figure parse cannot read rejects with the output', async () => {
    const error = await benchmark({
      command: loop,
      args: ['write', '10'],
      plans: { bare: null },
      runs: 1,
      warmup: 0,
      parse: () => Number.NaN,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BenchmarkError);
    expect((error as BenchmarkError).message).toMatch(/parse returned NaN/);
    expect((error as BenchmarkError).stdout).toMatch(/loop write ok/);
  });

  it('rejects bad options before running anything', async () => {
    await expect(benchmark({ command: loop, plans: {} })).rejects.toThrow(/at least one plan/);
    await expect(benchmark({ command: loop, plans: { bare: null }, baseline: 'x' })).rejects.toThrow(/baseline "x"/);
    await expect(benchmark({ command: loop, plans: { bare: null }, runs: 0 })).rejects.toThrow(/runs must be/);
    await expect(benchmark({ command: loop, plans: { bare: null }, warmup: -1 })).rejects.toThrow(/warmup must be/);
  });
});
