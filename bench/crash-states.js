#!/usr/bin/env node
// Crash states against crash points on the same small store (docs/crash-consistency.md "Crash states"):
// a pessimistic sweep (one state per point: a run of the workload plus a verify) against a sweep verifying 16
// further states per point (each one verify in a copy of the pessimistic directory, the workload not rerun).
//
// Usage: node bench/crash-states.js [--points N] [--states N] [--rounds N]   (needs dist/ and the fixtures)
// Prints points/s, states/s and their ratio, and the duration of the --states sweep, as JSON and a table.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/exec.js';

const { values } = parseArgs({ options: { points: { type: 'string' }, states: { type: 'string' }, rounds: { type: 'string' } } });
const records = Number(values.points ?? 29); // N records: N+1 fsyncs (the directory's, then one per record)
const states = Number(values.states ?? 16);
const rounds = Number(values.rounds ?? 3);
const { crashSweep } = await import(join(ROOT, 'dist', 'index.js'));
const bin = join(ROOT, 'test', 'fixtures', '.build', 'go', 'tornwal-static');
const sweep = (n) =>
  crashSweep({
    command: bin,
    args: ['work', '.', String(records)],
    verify: `${bin} check . "$SYSFAULT_SWEEP_STDOUT" --recovery truncate`,
    calls: ['fsync'],
    powercut: '*',
    states: n,
    block: 512,
    seed: 1,
  });

const rows = [];
for (let round = 0; round < rounds; round++) {
  for (const n of [0, states]) {
    const t0 = performance.now();
    const r = await sweep(n);
    const seconds = (performance.now() - t0) / 1000;
    rows.push({ round, states: n, points: r.tried, verified: r.states, failed: r.failed.length, seconds });
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pessimistic = rows.filter((r) => r.states === 0);
const explored = rows.filter((r) => r.states === states);
const pointsPerSecond = median(pessimistic.map((r) => r.points / r.seconds));
// the states sweep minus what its points cost (the same runs as the pessimistic sweep): the cost of the states
const extraStates = median(explored.map((r) => r.verified - r.points));
const extraSeconds = median(explored.map((r) => r.seconds)) - median(pessimistic.map((r) => r.seconds));
const statesPerSecond = extraStates / extraSeconds;
const summary = {
  store: `tornwal (Go, seccomp) work . ${records}: ${records + 1} crash points, block 512`,
  pointsPerSecond: Math.round(pointsPerSecond * 10) / 10,
  statesPerSecond: Math.round(statesPerSecond * 10) / 10,
  ratio: Math.round((statesPerSecond / pointsPerSecond) * 10) / 10,
  statesSweepSeconds: Math.round(median(explored.map((r) => r.seconds)) * 10) / 10,
  statesVerified: median(explored.map((r) => r.verified)),
  rows,
};
console.log(JSON.stringify(summary, null, 2));
console.log(`points/s (pessimistic sweep): ${summary.pointsPerSecond}`);
console.log(`states/s (each further state):  ${summary.statesPerSecond}  (${summary.ratio}x)`);
console.log(`--states ${states} over ${records + 1} points: ${summary.statesSweepSeconds} s, ${summary.statesVerified} states verified`);
