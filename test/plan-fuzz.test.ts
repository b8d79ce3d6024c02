/**
 * A short libFuzzer run over the C core's untrusted-input surface (test/fuzz/plan_fuzz.c: the shared-region
 * check, the compiled-plan decoder, decide() on what it accepts, the glob matcher against a reference), built
 * with clang -fsanitize=fuzzer,address,undefined. Seeded with plans compiled by the TypeScript side and a
 * real shared region made by the addon.
 *
 * Skipped, with the reason, when clang (Debian: apt-get install clang) or its libFuzzer runtime is missing.
 * SYSFAULT_FUZZ_SECONDS sets the run's length (default 15); SYSFAULT_FUZZ_CORPUS keeps the corpus in a
 * directory of your choice across runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compilePlan } from '../src/plan/compile.js';
import { binding } from '../src/native/binding.js';
import { normalizePlan } from '../src/plan/load.js';
import type { PlanInput } from '../src/plan/schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const core = join(root, 'native', 'core');
const SECONDS = Number(process.env.SYSFAULT_FUZZ_SECONDS ?? 15);
const work = mkdtempSync(join(tmpdir(), 'sysfault-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Builds the fuzzer; returns its path, or why it cannot be built here. */
function build(): { binary: string } | { skip: string } {
  const version = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return { skip: 'clang not found (Debian: apt-get install clang)' };
  const binary = join(work, 'plan_fuzz');
  const out = spawnSync(
    'clang',
    [
      '-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined', '-D_GNU_SOURCE',
      `-I${core}`, join(root, 'test', 'fuzz', 'plan_fuzz.c'),
      ...readdirSync(core).filter((f) => f.endsWith('.c')).map((f) => join(core, f)), // the whole core
      '-o', binary,
    ],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) {
    if (/fuzzer|libclang_rt/.test(out.stderr)) return { skip: `clang has no libFuzzer runtime: ${out.stderr.split('\n')[0]}` };
    throw new Error(`building the fuzzer failed:\n${out.stderr}`);
  }
  return { binary };
}

const SEED_PLANS: PlanInput[] = [
  { version: 1, rules: [] },
  {
    version: 1,
    rules: [
      { id: 'wal-eio', syscalls: ['fsync', 'fdatasync'], path: '/var/lib/db/**/*.wal', after: 3, probability: 0.5, limit: 2, action: { errno: 'EIO' } },
      { syscalls: ['connect'], addr: '127.0.0.1:6379', action: { errno: 'ECONNREFUSED' } },
      { syscalls: ['read'], fd: 'socket', probability: 0.1, action: { delayMs: 200, jitterMs: 50 } },
      { syscalls: ['write'], path: '**/data.bin', action: { short: 1 } },
      { syscalls: ['fsync'], after: 10, limit: 1, action: { kill: 'SIGKILL' } },
    ],
  },
  { version: 1, rules: [{ syscalls: ['sendto', 'recvfrom'], addr: '[fd00::1]/64:443', fd: 'pipe', action: { delayMs: 5 } }] },
  { version: 1, rules: [{ syscalls: ['openat'], addr: ':53', path: '*.[ch]', action: { errno: 4095 } }] },
  { version: 1, rules: Array.from({ length: 64 }, (_, i) => ({ syscalls: ['write'], after: i, action: { errno: 5 } })) },
];
const SEED_GLOBS: [string, string][] = [
  ['/var/lib/db/**/*.wal', '/var/lib/db/a/b/0001.wal'],
  ['*a*a*a*a*a*b', 'a'.repeat(60)],
  ['**/x/**/x/**/y', '/x/x/x/x/x/x/x/x/x'],
  ['data-[!0-9].bin', '/tmp/data-x.bin'],
  ['/tmp/\\*?[a-', '/tmp/*z[a-'],
  // `**/NAME` is matched as NAME against the last component (sf_glob_name_part): the reference matches whole
  ['**/*.l?g', '/var/lib/x.log/y.lag'],
  ['**/[!a]*', 'a/b//c'],
];

/** Writes the seeds; returns the largest seed's size (the region's: -max_len must let it through whole). */
function seedCorpus(dir: string): number {
  mkdirSync(dir, { recursive: true });
  SEED_PLANS.forEach((plan, i) => {
    const wire = compilePlan(normalizePlan(plan), 42);
    writeFileSync(join(dir, `seed-plan-${i}`), Buffer.concat([Buffer.from([0]), wire]));
    writeFileSync(join(dir, `seed-rules-${i}`), Buffer.concat([Buffer.from([1]), wire.subarray(32)]));
  });
  const region = realRegion();
  if (region) writeFileSync(join(dir, 'seed-region'), Buffer.concat([Buffer.from([3]), region]));
  SEED_GLOBS.forEach(([pattern, text], i) => {
    writeFileSync(join(dir, `seed-glob-${i}`), Buffer.concat([Buffer.from([2]), Buffer.from(pattern), Buffer.from([0]), Buffer.from(text)]));
  });
  return 1 + (region?.length ?? 0);
}

/** A real shared region made by the addon (header, counters, plan, log), when the addon is built. */
function realRegion(): Buffer | undefined {
  let native;
  try {
    native = binding();
  } catch {
    return undefined;
  }
  const session = native.createSession({
    plan: compilePlan(normalizePlan(SEED_PLANS[1] as PlanInput), 42),
    logCapacity: 4,
    runId: 'fuzz-seed',
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

const built = build();
const skipReason = 'skip' in built ? ` [skipped: ${built.skip}]` : '';

describe.skipIf('skip' in built)(`libFuzzer on the plan decoder, decide() and the glob matcher${skipReason}`, () => {
  it(`runs ${SECONDS} s without a crash, a leak, undefined behaviour or a slow input`, () => {
    if (!('binary' in built)) return;
    const corpus = process.env.SYSFAULT_FUZZ_CORPUS ?? join(work, 'corpus');
    const maxLen = Math.max(34_000, seedCorpus(corpus) + 4096); // 65 rules, or a whole region
    const run = spawnSync(
      built.binary,
      [`-max_total_time=${SECONDS}`, '-timeout=2', `-max_len=${maxLen}`, '-rss_limit_mb=2048', '-print_final_stats=1', `-artifact_prefix=${work}/`, corpus],
      { encoding: 'utf8', cwd: work, timeout: (SECONDS + 30) * 1000, maxBuffer: 64 << 20 },
    );
    const log = run.stderr;
    const artifacts = readdirSync(work).filter((f) => /^(crash|leak|timeout|oom|slow-unit)-/.test(f));
    const stats = Object.fromEntries([...log.matchAll(/^stat::(\w+):\s+(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
    const cov = [...log.matchAll(/cov: (\d+) ft: (\d+) corp: (\d+)/g)].at(-1);
    console.log(
      `plan_fuzz: ${stats.number_of_executed_units ?? '?'} execs in ${SECONDS} s (${stats.average_exec_per_sec ?? '?'}/s), ` +
        `coverage ${cov?.[1] ?? '?'} edges, ${cov?.[2] ?? '?'} features, corpus ${cov?.[3] ?? '?'} inputs`,
    );
    expect(artifacts, log.split('\n').slice(-60).join('\n')).toEqual([]);
    expect(run.status, log.split('\n').slice(-60).join('\n')).toBe(0);
    expect(stats.number_of_executed_units ?? 0).toBeGreaterThan(1000);
  }, (SECONDS + 60) * 1000);

  it('the old exponential glob input is fast now', () => {
    if (!('binary' in built)) return;
    const input = join(work, 'stars');
    writeFileSync(input, Buffer.concat([Buffer.from([2]), Buffer.from('*a'.repeat(40) + 'b'), Buffer.from([0]), Buffer.from('a'.repeat(3000))]));
    const started = Date.now();
    execFileSync(built.binary, ['-timeout=2', input], { stdio: 'pipe' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
