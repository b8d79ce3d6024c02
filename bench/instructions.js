#!/usr/bin/env node
// What an intercepted call that no rule fires on costs the preload engine, in user-space instructions per call
// (callgrind: deterministic) and in CPU time (alternated rounds against bare). The C loop (bench/tools/call-loop.c)
// makes N one-byte write()s to /dev/null; instructions per call are the difference between a run of 2N and one
// of N calls, divided by N, so start-up and first-call work cancel out.
//
// Variants (preload engine; the rule is there, it never fires):
//   kind      a rule on write whose fd filter never matches (fd: socket; the loop writes a file)
//   path      a rule on write whose path glob never matches
//   unnamed   the plan names fdatasync only: write is a syscall it does not name
//   counted   the plan names pwrite64 only: write is counted as its alternative (never faulted), so that a rule
//             that matched nothing can say what the program called instead
//   net       `path` under `auto` (the default for libc programs): the same library, its calls made from the
//             gate page that the supervisor's seccomp net lets through. Under callgrind the net itself sees
//             valgrind's syscalls (not the gate's): its counts are not checked there, only the instructions.
//
// Usage: node bench/instructions.js [--calls N] [--rounds R] [--time-calls N] [--no-time] [--json FILE]
// Needs `npm run build` (the addon, the preload library and dist/) and valgrind. docs/benchmarks.md has figures.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { positive, walkFlags } from './lib/args.js';
import { buildTool, chooseMode, execMeasured, ROOT } from './lib/exec.js';

const USAGE = `usage: node bench/instructions.js [--calls N] [--rounds R] [--time-calls N] [--no-time] [--json FILE]
  --calls N       calls per callgrind run (default 20000; the runs make N and 2N calls)
  --rounds R      alternated timing rounds, bare then each variant (default 7)
  --time-calls N  calls per timed run (default 2000000)
  --no-time       instruction counts only
  --json FILE     also write the figures as JSON`;

const VARIANTS = {
  kind: { label: 'rule on write, fd filter never matches', rule: { syscalls: ['write'], fd: 'socket', action: { errno: 'EIO' } } },
  path: { label: 'rule on write, path glob never matches', rule: { syscalls: ['write'], path: '**/never-matches', action: { errno: 'EIO' } } },
  unnamed: { label: 'write not named (plan names fdatasync)', rule: { syscalls: ['fdatasync'], action: { errno: 'EIO' } } },
  counted: { label: 'write counted as an alternative (plan names pwrite64)', rule: { syscalls: ['pwrite64'], action: { errno: 'EIO' } } },
  net: { label: 'path rule under auto (preload + the seccomp net)', engine: 'auto', rule: { syscalls: ['write'], path: '**/never-matches', action: { errno: 'EIO' } } },
};

function parseArgs(argv) {
  const o = { calls: 20000, rounds: 7, timeCalls: 2_000_000, time: true, json: null };
  const numbers = { '--calls': 'calls', '--rounds': 'rounds', '--time-calls': 'timeCalls' };
  walkFlags(argv, USAGE, (a, next) => {
    if (numbers[a] && positive(next)) return (o[numbers[a]] = positive(next)), 2;
    if (a === '--no-time') return (o.time = false), 1;
    if (a === '--json' && next) return (o.json = next), 2;
    return 0;
  });
  return o;
}

const planOf = (variant) => ({ version: 1, seed: 1, rules: [{ id: 'never', ...VARIANTS[variant].rule }] });

/** Runs cmd args bare or under the preload engine; throws unless it exits 0. */
async function runOnce(variant, cmd, args) {
  const sysfault = variant ? { engine: VARIANTS[variant].engine ?? 'preload', plan: planOf(variant) } : null;
  const r = await execMeasured(cmd, args, { sysfault, timeout: 600_000 });
  if (r.error || r.code !== 0) throw new Error(`${variant ?? 'bare'}: ${cmd} ${args.join(' ')}: ${r.error ?? `exit ${r.code}`}\n${r.stderr}`);
  if (variant && r.result) {
    const fired = (r.result.rules ?? []).reduce((n, rule) => n + (rule.fired ?? 0), 0);
    if (fired !== 0) throw new Error(`${variant}: the rule fired ${fired} times; it must never fire`);
  }
  return r;
}

/** User-space instructions inside measured_loop() for n calls. */
async function collected(variant, loop, n) {
  const out = join(ROOT, 'bench', '.build', `callgrind.${process.pid}.out`);
  const r = await runOnce(variant, 'valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`,
    '--toggle-collect=measured_loop', loop, String(n)]);
  rmSync(out, { force: true });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`${variant ?? 'bare'}: no "Collected" line from callgrind:\n${r.stderr}`);
  return Number(m[1]);
}

async function instructionsPerCall(variant, loop, n) {
  const one = await collected(variant, loop, n);
  const two = await collected(variant, loop, 2 * n);
  return (two - one) / n;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const o = parseArgs(process.argv.slice(2));
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('bench: valgrind is needed (Debian: apt-get install -y valgrind)');
    process.exit(1);
  }
  const { mode, why } = await chooseMode('api');
  if (!mode) {
    console.error(`bench: ${why}`);
    process.exit(1);
  }
  const loop = buildTool('call-loop');
  const report = { calls: o.calls, instructions: {}, time: null };
  const bare = await instructionsPerCall(null, loop, o.calls);
  report.instructions.bare = bare;
  console.log(`instructions per call (callgrind, user space, ${o.calls} and ${2 * o.calls} calls)`);
  console.log(`  ${'bare'.padEnd(46)} ${bare.toFixed(2)}`);
  for (const v of Object.keys(VARIANTS)) {
    const n = await instructionsPerCall(v, loop, o.calls);
    report.instructions[v] = n;
    console.log(`  ${`${v}: ${VARIANTS[v].label}`.padEnd(46)} ${n.toFixed(2)}  (+${(n - bare).toFixed(2)})`);
  }
  if (o.time) {
    // Alternated rounds: bare, then each variant; each round's ratio is against that round's bare run.
    const ratios = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []]));
    const ns = { bare: [], ...Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []])) };
    for (let round = 0; round < o.rounds; round++) {
      const b = Number((await runOnce(null, loop, [String(o.timeCalls), '--time'])).stdout);
      ns.bare.push(b);
      for (const v of Object.keys(VARIANTS)) {
        const t = Number((await runOnce(v, loop, [String(o.timeCalls), '--time'])).stdout);
        ns[v].push(t);
        ratios[v].push(t / b);
      }
    }
    report.time = { rounds: o.rounds, calls: o.timeCalls, ns, ratios };
    console.log(`CPU time per call (${o.rounds} alternated rounds of ${o.timeCalls} calls; median ns; median of per-round ratios to bare)`);
    console.log(`  ${'bare'.padEnd(46)} ${median(ns.bare).toFixed(1)} ns`);
    for (const v of Object.keys(VARIANTS))
      console.log(`  ${v.padEnd(46)} ${median(ns[v]).toFixed(1)} ns  ${median(ratios[v]).toFixed(3)}x`);
  }
  if (o.json) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
