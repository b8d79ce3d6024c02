// Shards: parsing K/N and the CI environments' variables, the deterministic share of each shard, and real
// sweeps (the Go write-ahead-logged store with its planted ack-before-fsync bug) and scenario catalogues
// split three ways and merged by the CLI into exactly what one unsplit run reports, with the same exit status.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseShard, shareOf } from '../../src/common/shard.js';
import { renderCataloguePage } from '../../src/report/catalogue-page.js';
import { renderSweepPage } from '../../src/report/sweep-page.js';
import { mergeCatalogueReports } from '../../src/shard/catalogue.js';
import { mergeSweepReports, type ShardInput } from '../../src/shard/merge.js';
import { resolveShard, SHARD_SOURCES, shardFromEnvironment } from '../../src/shard/environment.js';
import type { SweepReport } from '../../src/index.js';
import { fixture, runCli, scratch, type CliOutcome } from '../helpers.js';

/** The environment with every shard variable cleared (an empty value counts as unset), plus `vars`. */
function shardEnv(vars: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of SHARD_SOURCES) env[s.index] = env[s.total] = '';
  return { ...env, ...vars };
}

describe('--shard K/N and the environment', () => {
  it('parses K/N (1-based, as Playwright and vitest) and rejects anything else in one line', () => {
    expect(parseShard('2/3')).toMatchObject({ index: 2, total: 3 });
    expect(parseShard('1/1')).toMatchObject({ index: 1, total: 1 });
    for (const bad of ['0/3', '4/3', '1/0', '2', '1/3/4', '-1/3', 'a/b', '1 /3', '']) {
      expect(() => parseShard(bad)).toThrow(`--shard: expected K/N with 1 <= K <= N (shard K of N) or auto, got ${JSON.stringify(bad)}`);
    }
  });

  it.each([
    // [variables, shard]: each source's own index base, from its documentation
    [{ JOB_COMPLETION_INDEX: '0', SYSFAULT_SHARD_TOTAL: '3' }, '1/3'],
    [{ JOB_COMPLETION_INDEX: '2', SYSFAULT_SHARD_TOTAL: '3' }, '3/3'],
    [{ CI_NODE_INDEX: '1', CI_NODE_TOTAL: '3' }, '1/3'],
    [{ CI_NODE_INDEX: '3', CI_NODE_TOTAL: '3' }, '3/3'],
    [{ CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '4' }, '1/4'],
    [{ CIRCLE_NODE_INDEX: '3', CIRCLE_NODE_TOTAL: '4' }, '4/4'],
    [{ BUILDKITE_PARALLEL_JOB: '0', BUILDKITE_PARALLEL_JOB_COUNT: '2' }, '1/2'],
    [{ BUILDKITE_PARALLEL_JOB: '1', BUILDKITE_PARALLEL_JOB_COUNT: '2' }, '2/2'],
  ])('--shard auto reads %o as shard %s', (vars, expected) => {
    const s = resolveShard('auto', shardEnv(vars));
    expect(`${s?.index}/${s?.total}`).toBe(expected);
    expect(s?.source).toMatch(/^[A-Z_]+\/[A-Z_]+$/);
  });

  it.each([
    [{}, '--shard auto: no shard in the environment (looked for JOB_COMPLETION_INDEX, CI_NODE_INDEX, CIRCLE_NODE_INDEX, BUILDKITE_PARALLEL_JOB); give --shard K/N'],
    [{ CI_NODE_TOTAL: '1' }, /no shard in the environment/], // GitLab sets the total alone on jobs without parallel:
    [{ JOB_COMPLETION_INDEX: '1' }, "--shard auto: Kubernetes Indexed Job: JOB_COMPLETION_INDEX is set but SYSFAULT_SHARD_TOTAL is not (set it to the Job's completions)"],
    [{ CI_NODE_INDEX: '0', CI_NODE_TOTAL: '3' }, '--shard auto: CI_NODE_INDEX: expected a whole number from 1 to 3 (CI_NODE_TOTAL=3), got "0"'],
    [{ CIRCLE_NODE_INDEX: '4', CIRCLE_NODE_TOTAL: '4' }, '--shard auto: CIRCLE_NODE_INDEX: expected a whole number from 0 to 3 (CIRCLE_NODE_TOTAL=4), got "4"'],
    [{ BUILDKITE_PARALLEL_JOB: '0', BUILDKITE_PARALLEL_JOB_COUNT: 'x' }, '--shard auto: BUILDKITE_PARALLEL_JOB_COUNT: expected a whole number from 1 to 100000, got "x"'],
  ])('--shard auto with %o fails in one line', (vars, message) => {
    expect(() => shardFromEnvironment(shardEnv(vars))).toThrow(message);
  });

  it('the shares of N shards are disjoint, cover everything, and differ in size by at most one', () => {
    for (const n of [0, 1, 7, 10, 15, 100]) {
      for (const total of [1, 2, 3, 4, 7]) {
        const items = Array.from({ length: n }, (_, i) => i * 10);
        const shares = Array.from({ length: total }, (_, k) => shareOf(items, { index: k + 1, total }));
        expect(shares.flat().sort((a, b) => a - b)).toEqual(items);
        const sizes = shares.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
    expect(shareOf([1, 2, 3, 4, 5, 6, 7], { index: 2, total: 3 })).toEqual([2, 5]);
  });
});

/** Replaces what differs between any two runs of one sweep (times, pids, run ids, the temporary directory). */
function normalizeSweep(report: SweepReport): unknown {
  const text = JSON.stringify({ ...report, durationMs: 0 }, (key, value: unknown) =>
    key === 'tMs' ? 0 : key === 'pid' || key === 'tid' ? 1 : key === 'runId' ? 'run' : value,
  );
  return JSON.parse(text.replace(/\/sysfault-sweep-[A-Za-z0-9]+\//g, '/sysfault-sweep-X/')) as unknown;
}

describe('a sweep split three ways, merged', () => {
  const binary = fixture('go/walkv-static');
  const sweepArgs = (extra: string[]): string[] => [
    'sweep', '--calls', 'fsync', '--verify', `${binary} check . "$SYSFAULT_SWEEP_STDOUT"`, '--powercut', '*',
    '--sample', '10', '--seed', '5', '--jobs', '2', ...extra, '--', binary, 'work', '.', '8', '--bug', 'ack-before-fsync',
  ];

  it('reports exactly what one unsplit run reports, with the same exit status and the same page', async () => {
    const dir = scratch();
    const file = (name: string): string => join(dir, name);
    const unsplit = await runCli(sweepArgs(['--json', file('all.json'), '--html', file('all.html'), '-q']), { cwd: dir, env: shardEnv() });
    expect(unsplit.stderr).toBe('');
    expect(unsplit.status).toBe(1);
    // one shard from the flag, one from CircleCI's variables, one from a Kubernetes Indexed Job's
    const shards: CliOutcome[] = await Promise.all([
      runCli(sweepArgs(['--shard', '1/3', '--json', file('s1.json'), '--html', file('s1.html')]), { cwd: dir, env: shardEnv() }),
      runCli(sweepArgs(['--shard', 'auto', '--json', file('s2.json')]), { cwd: dir, env: shardEnv({ CIRCLE_NODE_INDEX: '1', CIRCLE_NODE_TOTAL: '3' }) }),
      runCli(sweepArgs(['--shard', 'auto', '--json', file('s3.json')]), { cwd: dir, env: shardEnv({ JOB_COMPLETION_INDEX: '2', SYSFAULT_SHARD_TOTAL: '3' }) }),
    ]);
    expect(shards[1]?.stderr).toContain('sweep: shard 2/3 (from CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL): 3 of the 10 points\n');
    expect(shards[2]?.stderr).toContain('sweep: shard 3/3 (from JOB_COMPLETION_INDEX/SYSFAULT_SHARD_TOTAL): 3 of the 10 points\n');
    const parts = [1, 2, 3].map((k) => JSON.parse(readFileSync(file(`s${k}.json`), 'utf8')) as SweepReport);
    // the same clean run and the same sample everywhere; each shard its own share
    expect(parts.map((p) => [p.points, p.tried, p.shard])).toEqual([
      [15, 4, { index: 1, total: 3, of: 10 }],
      [15, 3, { index: 2, total: 3, of: 10 }],
      [15, 3, { index: 3, total: 3, of: 10 }],
    ]);
    expect(shards.map((s) => s.status)).toEqual(parts.map((p) => (p.failed.length > 0 ? 1 : 0)));

    const merged = await runCli(['sweep', 'merge', '--json', file('merged.json'), '--html', file('merged.html'), file('s3.json'), file('s1.json'), file('s2.json')], { cwd: dir });
    expect(merged.status).toBe(unsplit.status);
    const all = JSON.parse(readFileSync(file('all.json'), 'utf8')) as SweepReport;
    const joined = JSON.parse(readFileSync(file('merged.json'), 'utf8')) as SweepReport;
    expect(all.failed.map((f) => f.point)).toEqual([3, 4, 9, 14, 15]);
    expect(Object.keys(joined)).toEqual(Object.keys(all));
    expect(normalizeSweep(joined)).toEqual(normalizeSweep(all));
    expect(merged.stderr.split('\n')[0]).toBe('sweep: 15 crash points, 10 tried, 5 failed (seed 5)');
    // the pages are the page of their report; equal reports give equal pages
    expect(readFileSync(file('all.html'), 'utf8')).toBe(renderSweepPage(all));
    expect(readFileSync(file('merged.html'), 'utf8')).toBe(renderSweepPage(joined));
    expect(renderSweepPage(normalizeSweep(joined) as SweepReport)).toBe(renderSweepPage(normalizeSweep(all) as SweepReport));

    // merge refuses what is not each shard of one sweep exactly once
    const refuse = async (files: string[]): Promise<string> => {
      const out = await runCli(['sweep', 'merge', ...files.map(file)], { cwd: dir });
      expect(out.status).toBe(125);
      return out.stderr;
    };
    expect(await refuse(['s1.json', 's2.json'])).toBe('sysfault: merge: missing shard 3/3\n');
    expect(await refuse(['s1.json', 's2.json', 's2.json', 's3.json'])).toMatch(/^sysfault: merge: shard 2\/3 given twice/);
    expect(await refuse(['all.json'])).toMatch(/not a shard's report/);
    writeFileSync(file('other.json'), JSON.stringify({ ...parts[2], seed: 6 }));
    expect(await refuse(['s1.json', 's2.json', 'other.json'])).toMatch(/disagrees with .*s1\.json on "seed": 6 vs 5\n$/);
    writeFileSync(file('recount.json'), JSON.stringify({ ...parts[1], points: 16 }));
    expect(await refuse(['s1.json', 'recount.json', 's3.json'])).toMatch(/on "points": 16 vs 15 \(the clean runs counted different numbers of crash points\)/);
  });

  it('with crash states: the states of each point stay with it, counted once, in (point, state) order', async () => {
    const dir = scratch();
    const file = (name: string): string => join(dir, name);
    const tornwal = fixture('go/tornwal-static');
    const args = (extra: string[]): string[] => [
      'sweep', '--calls', 'fsync', '--verify', `${tornwal} check . "$SYSFAULT_SWEEP_STDOUT" --recovery strict`, '--powercut', '*',
      '--states', '16', '--seed', '7', '--engine', 'seccomp', '--jobs', '2', '-q', ...extra, '--', tornwal, 'work', '.', '4',
    ];
    const outcomes = await Promise.all([
      runCli(args(['--json', file('all.json')]), { cwd: dir, env: shardEnv() }),
      runCli(args(['--shard', '1/2', '--json', file('s1.json')]), { cwd: dir, env: shardEnv() }),
      runCli(args(['--shard', '2/2', '--json', file('s2.json')]), { cwd: dir, env: shardEnv() }),
    ]);
    expect(outcomes.map((o) => o.stderr)).toEqual(['', '', '']);
    const merged = await runCli(['sweep', 'merge', '-q', '--json', file('merged.json'), file('s1.json'), file('s2.json')], { cwd: dir });
    expect(merged.status).toBe(outcomes[0]?.status);
    const all = JSON.parse(readFileSync(file('all.json'), 'utf8')) as SweepReport;
    const joined = JSON.parse(readFileSync(file('merged.json'), 'utf8')) as SweepReport;
    expect(all.states).toBeGreaterThan(all.tried);
    expect(all.failed.some((f) => f.state?.kind === 'torn')).toBe(true);
    expect(normalizeSweep(joined)).toEqual(normalizeSweep(all));
  });

  it("joins each warning's points across shards, as one sweep names them", () => {
    const shard = (index: number, warnings: SweepReport['warnings'], tried: number): ShardInput<unknown> => ({
      name: `s${index}.json`,
      report: { version: 1, points: 5, tried, failed: [], seed: 1, calls: ['fsync'], durationMs: 1, fs: 'posix', states: tried, warnings, shard: { index, total: 2, of: 5 } },
    });
    const unreached = (points: number[]) => ({ code: 'tree-crash-unreached', message: `the crash found no process tree (point ${points.join(', ')})`, points });
    const merged = mergeSweepReports([shard(1, [unreached([1, 3])], 3), shard(2, [unreached([2])], 2)]);
    expect(merged.warnings).toEqual([unreached([1, 2, 3])]);
    expect(merged.states).toBe(5);
  });

  it('a shard needs the seed, and is not a replay', async () => {
    const dir = scratch();
    const noSeed = await runCli(['sweep', '--calls', 'fsync', '--verify', 'true', '--shard', '1/2', '--', binary, 'work', '.', '2'], { cwd: dir, env: shardEnv() });
    expect([noSeed.status, noSeed.stderr]).toEqual([125, 'sysfault: --shard needs --seed N (every shard must take the same sample)\n']);
    const replay = await runCli(['sweep', '--calls', 'fsync', '--verify', 'true', '--seed', '1', '--point', '2', '--shard', '1/2', '--', binary, 'work', '.', '2'], { cwd: dir });
    expect([replay.status, replay.stderr]).toEqual([125, 'sysfault: --shard cannot be combined with --point\n']);
    const auto = await runCli(['sweep', '--calls', 'fsync', '--verify', 'true', '--seed', '1', '--shard', 'auto', '--', binary, 'work', '.', '2'], { cwd: dir, env: shardEnv() });
    expect(auto.status).toBe(125);
    expect(auto.stderr).toMatch(/^sysfault: --shard auto: no shard in the environment/);
  });
});

/** A catalogue of four scenarios and ten runs (scenario x seed) over the Rust fileio fixture. */
function catalogue(): string {
  const dir = scratch();
  const fileio = fixture('rust/fileio');
  const scenario = (name: string, seeds: number[], rule: string, expect: string): void =>
    writeFileSync(
      join(dir, `${name}.yaml`),
      `version: 1\nname: ${name}\ncommand: [${fileio}, ., "4"]\nplan:\n  version: 1\n  rules:\n${rule}\nseeds: [${seeds.join(', ')}]\nexpect:\n${expect}`,
    );
  const eio = '    - { id: eio, syscalls: [fsync], limit: 1, action: { errno: EIO } }';
  scenario('eio-is-reported', [1, 2, 3], eio, "  exit: 1\n  stdout: { matches: [' err EIO '] }\n");
  scenario('eio-claimed-harmless', [4, 5], eio, '  exit: 0\n');
  scenario('half-the-fsyncs-fail', [6, 7, 8, 9], '    - { id: coin, syscalls: [fsync], probability: 0.5, action: { errno: EIO } }', '  exit: 0\n  counts: { fsync.faulted: "== 0" }\n');
  scenario('no-fault', [10], '    - { id: none, syscalls: [fsync], limit: 0, action: { errno: EIO } }', "  exit: 0\n  stdout: { notMatches: [' err '] }\n");
  return dir;
}

/** Replaces what differs between any two runs of one catalogue (times, kept directories). */
function normalizeCatalogue(text: string): string {
  return text
    .replace(/"durationMs": [\d.]+/g, '"durationMs": 0')
    .replace(/ time="[\d.]+"/g, ' time="0"')
    .replace(/\/sysfault-scenario-[^"\s/<]*/g, '/sysfault-scenario-X');
}

describe('a scenario catalogue split three ways, merged', () => {
  it('gives the unsplit catalogue: JSON, JUnit, table, page and exit status', async () => {
    const scenarios = catalogue();
    const out = scratch();
    const file = (name: string): string => join(out, name);
    const run = (extra: string[], env = shardEnv()): Promise<CliOutcome> => runCli(['scenario', 'run', '-q', ...extra, scenarios], { cwd: out, env, timeout: 60_000 });
    const unsplit = await run(['--json', file('all.json'), '--junit', file('all.xml'), '--html', file('all.html')]);
    expect(unsplit.status).toBe(1);
    const shards = await Promise.all([
      run(['--shard', '1/3', '--json', file('s1.json')]),
      run(['--shard', 'auto', '--json', file('s2.json')], shardEnv({ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' })),
      run(['--shard', 'auto', '--json', file('s3.json')], shardEnv({ BUILDKITE_PARALLEL_JOB: '2', BUILDKITE_PARALLEL_JOB_COUNT: '3' })),
    ]);
    expect(shards.map((s) => s.status).sort()).toEqual([1, 1, 1]);
    const merged = await runCli(['scenario', 'merge', '--json', file('merged.json'), '--junit', file('merged.xml'), '--html', file('merged.html'), file('s1.json'), file('s2.json'), file('s3.json')], { cwd: out });
    expect(merged.status).toBe(unsplit.status);

    const all = readFileSync(file('all.json'), 'utf8');
    const joined = readFileSync(file('merged.json'), 'utf8');
    const report = JSON.parse(all) as { scenarios: { name: string; seed: number; passed: boolean }[]; passed: number; failed: number };
    expect(report.scenarios.map((r) => `${r.name}:${r.seed}`)).toEqual([
      'eio-claimed-harmless:4', 'eio-claimed-harmless:5', 'eio-is-reported:1', 'eio-is-reported:2', 'eio-is-reported:3',
      'half-the-fsyncs-fail:6', 'half-the-fsyncs-fail:7', 'half-the-fsyncs-fail:8', 'half-the-fsyncs-fail:9', 'no-fault:10',
    ]);
    expect(report.failed).toBeGreaterThanOrEqual(3); // both eio-claimed-harmless seeds, and seeds with a coin that came up
    expect(normalizeCatalogue(joined)).toBe(normalizeCatalogue(all));
    expect(normalizeCatalogue(readFileSync(file('merged.xml'), 'utf8'))).toBe(normalizeCatalogue(readFileSync(file('all.xml'), 'utf8')));
    const times = (text: string): string => normalizeCatalogue(text).replace(/\b\d+ ms\b|\b\d+\.\d s\b/g, 'T').replace(/ +/g, ' ');
    expect(times(merged.stdout)).toBe(times(unsplit.stdout));
    // the page of the merged report is the page of the unsplit one, times and kept directories aside
    const shardReports = [1, 2, 3].map((k) => ({ name: `s${k}`, report: JSON.parse(readFileSync(file(`s${k}.json`), 'utf8')) as unknown }));
    expect(readFileSync(file('merged.html'), 'utf8')).toBe(renderCataloguePage(mergeCatalogueReports(shardReports)));
    expect(times(readFileSync(file('merged.html'), 'utf8'))).toBe(times(readFileSync(file('all.html'), 'utf8')));
  });
});
