#!/usr/bin/env node
// sysfault's benchmark: per-syscall cost of each engine against bare, strace and libfiu's fiu-run, the cost of
// a firing rule, thread scaling, and a Go HTTP workload under fault plans with recovery after disarm.
//
// Usage: npm run bench [-- --quick] [--update-docs] [--rounds N] [--no-workload] [--only-workload] [--via api|cli]
// Writes bench/results/latest.json, latest.md and overhead.svg; with --update-docs also docs/benchmarks.md and
// docs/overhead.svg. Needs `npm run build` (the addon and dist/), strace, and fiu-run (Debian: fiu-utils).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { positive, walkFlags } from './lib/args.js';
import { api, buildTool, chooseMode, ROOT } from './lib/exec.js';
import { machineInfo } from './lib/machine.js';
import { runMicro, VARIANTS } from './lib/micro.js';
import { chartSpec, chartSvg, computeChecks, markdown } from './lib/report.js';
import { runWorkload } from './lib/workload.js';

const USAGE = `usage: node bench/run.js [--quick] [--update-docs] [--rounds N] [--no-workload] [--only-workload] [--via api|cli] [--strict]
  --quick          3 rounds, shorter runs and workload phases (about a minute)
  --update-docs    also write docs/benchmarks.md and docs/overhead.svg
  --rounds N       alternated rounds (default 5, --quick 3)
  --no-workload    skip the HTTP workload
  --only-workload  run the HTTP workload only
  --via api|cli    run sysfault through the API's run() (default) or the CLI
  --strict         exit 1 when a headline check fails
  --cases A,B      only these loop cases (ids or prefixes: c-write, c, rust, go, c-write-t ...; see latest.json)
  --from-json FILE re-render the report (markdown, chart, docs) from a saved latest.json without measuring
  --wait-idle [S]  first wait (up to S seconds, default 300) until the CPUs are idle (other work skews figures)`;

function parseArgs(argv) {
  const o = { quick: false, updateDocs: false, rounds: null, workload: true, micro: true, via: 'api', strict: false, waitIdle: 0, cases: null, fromJson: null };
  const switches = { '--quick': ['quick', true], '--update-docs': ['updateDocs', true], '--no-workload': ['workload', false], '--only-workload': ['micro', false], '--strict': ['strict', true] };
  walkFlags(argv, USAGE, (a, next) => {
    if (switches[a]) return (o[switches[a][0]] = switches[a][1]), 1;
    if (a === '--from-json' && next) return (o.fromJson = next), 2;
    if (a === '--cases' && next) return (o.cases = next.split(',').filter(Boolean)), 2;
    if (a === '--wait-idle') return /^\d+$/.test(next ?? '') ? ((o.waitIdle = Number(next)), 2) : ((o.waitIdle = 300), 1);
    if (a === '--rounds' && positive(next)) return (o.rounds = positive(next)), 2;
    if (a === '--via' && ['api', 'cli'].includes(next)) return (o.via = next), 2;
    return 0;
  });
  o.rounds ??= o.quick ? 3 : 5;
  return o;
}

function has(cmd, args = ['--version']) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch (e) {
    return e.code !== 'ENOENT';
  }
}

const log = (msg) => process.stderr.write(`${msg}\n`);

function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  return { idle, total: f.reduce((a, b) => a + b, 0) };
}

/** CPU ticks used by this process and its waited-for children (the bench's own work). */
function selfTicks() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return f[11] + f[12] + f[13] + f[14]; // utime, stime, cutime, cstime
}

/** Measures the share of the machine's CPU time that other processes used while `fn` ran. */
async function measuringBackground(fn) {
  const a = cpuTimes();
  const s0 = selfTicks();
  const value = await fn();
  const b = cpuTimes();
  const total = Math.max(1, b.total - a.total);
  const busy = total - (b.idle - a.idle);
  return { value, background: Math.max(0, (busy - (selfTicks() - s0)) / total) };
}

/** Waits until the CPUs were at least 90% idle over 3 s, for at most `seconds`; returns the last busy share. */
async function waitIdle(seconds) {
  const deadline = Date.now() + seconds * 1000;
  let busy = 1;
  for (;;) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 3000));
    const b = cpuTimes();
    busy = 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
    if (busy < 0.1) return busy;
    if (Date.now() > deadline) {
      log(`bench: the CPUs are still ${(busy * 100).toFixed(0)}% busy after ${seconds} s; going on`);
      return busy;
    }
    log(`bench: waiting for idle CPUs (${(busy * 100).toFixed(0)}% busy)`);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  if (opts.fromJson) {
    const report = JSON.parse(readFileSync(opts.fromJson, 'utf8'));
    report.checks = computeChecks(report.micro);
    process.stdout.write(`${await writeReport(report, opts)}\n`);
    return;
  }
  const idleBusy = opts.waitIdle ? await waitIdle(opts.waitIdle) : null;
  const { mode, why } = await chooseMode(opts.via);
  if (!mode) log(`bench: WARNING: sysfault is not usable (${why}); its variants are skipped`);
  const haveStrace = has('strace', ['-V']);
  const haveFiu = has('fiu-run', ['-h']);
  if (!haveStrace) log('bench: strace is not installed; its columns are skipped. Install it: apt-get install -y strace');
  if (!haveFiu) {
    log('bench: fiu-run (libfiu) is not installed; its column is skipped. Install it: apt-get install -y fiu-utils');
  }
  const tools = {};
  try {
    tools['seccomp-floor'] = buildTool('seccomp-floor');
  } catch (e) {
    log(`bench: bench/tools/seccomp-floor.c did not build (${e.message.split('\n')[0]}); its column is skipped`);
  }

  const available = (variant) => {
    if (variant === 'seccomp-floor' && !tools['seccomp-floor']) return 'bench/tools/seccomp-floor.c did not build';
    if (!mode && VARIANTS[variant].engine) return `sysfault is not usable: ${why}`;
    if (variant.startsWith('strace') && !haveStrace) return 'strace is not installed (apt-get install -y strace)';
    if (variant === 'fiu' && !haveFiu) return 'fiu-run is not installed (apt-get install -y fiu-utils)';
    return null;
  };

  log('bench: building the fixtures (node test/fixtures/build.mjs)');
  const { buildFixtures } = await import(pathToFileURL(join(ROOT, 'test', 'fixtures', 'build.mjs')).href);
  let fixtures;
  try {
    fixtures = await buildFixtures();
  } catch (e) {
    console.error(`bench: the fixtures did not build: ${e.message}`);
    process.exit(1);
  }

  const machine = machineInfo();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  log(`bench: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}; sysfault via ${mode}; ${opts.rounds} rounds`);
  const targetMs = opts.quick ? 50 : 120;

  let micro = { cases: [], records: [] };
  const background = {};
  if (opts.micro) {
    const m = await measuringBackground(() =>
      runMicro({ fixtures, tools, rounds: opts.rounds, targetMs, available, log, only: opts.cases, quick: opts.quick }),
    );
    micro = m.value;
    background.micro = Number(m.background.toFixed(3));
    log(`bench: other processes used ${(m.background * 100).toFixed(0)}% of the CPUs during the loops`);
  }

  let workload = null;
  if (opts.workload) {
    const sf = api();
    if (!sf || typeof sf.spawn !== 'function') workload = { skipped: 'the workload needs the API (spawn and disarm); run with --via api after npm run build' };
    else {
      try {
        const w = await measuringBackground(() => runWorkload({ api: sf, phaseSec: 2, rounds: opts.quick ? 1 : 3, log }));
        workload = w.value;
        background.workload = Number(w.background.toFixed(3));
      } catch (e) {
        log(`bench: workload failed: ${e.message}`);
        workload = { skipped: e.message };
      }
    }
  }

  const report = {
    version: 1,
    date: new Date().toISOString(),
    command,
    quick: opts.quick,
    rounds: opts.rounds,
    targetMs,
    via: mode,
    cpuBusyBeforeStart: idleBusy,
    // share of the machine's CPU time used by other processes while the loops / the workload ran
    background,
    machine,
    micro,
    workload,
    checks: null,
    elapsedSec: null,
  };
  report.checks = computeChecks(micro);
  report.elapsedSec = Math.round((Date.now() - started) / 1000);
  report.loadavgEnd = os.loadavg().map((x) => Number(x.toFixed(2)));

  const md = await writeReport(report, opts);
  process.stdout.write(`${md}\n`);
  log(`bench: done in ${report.elapsedSec} s; wrote bench/results/latest.{json,md} and overhead.svg`);
  for (const c of report.checks.headline) log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.title}: ${c.detail}`);
  if (opts.strict && report.checks.headline.some((c) => !c.pass)) process.exit(1);
}

/** Writes bench/results/latest.{json,md}, overhead.svg (and the docs with --update-docs); returns the markdown. */
async function writeReport(report, opts) {
  const results = join(ROOT, 'bench', 'results');
  mkdirSync(results, { recursive: true });
  const md = `## sysfault benchmark results\n\n${markdown(report)}`;
  let svg = null;
  try {
    svg = await chartSvg(report);
  } catch (e) {
    log(`bench: the chart could not be rendered: ${e.stack}`);
  }
  writeFileSync(join(results, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(results, 'latest.md'), md);
  writeFileSync(join(results, 'overhead.vl.json'), `${JSON.stringify(chartSpec(report), null, 2)}\n`);
  if (svg) writeFileSync(join(results, 'overhead.svg'), svg);
  if (opts.updateDocs) {
    writeFileSync(join(ROOT, 'docs', 'benchmarks.md'), docsPage(report));
    if (svg) copyFileSync(join(results, 'overhead.svg'), join(ROOT, 'docs', 'overhead.svg'));
    log('bench: wrote docs/benchmarks.md and docs/overhead.svg');
  }

  return md;
}

const FIGURES_HEADING = '## Current figures';

/**
 * docs/benchmarks.md: its hand-written part (everything above the figures' heading) kept as it is, the
 * figures below it regenerated.
 */
function docsPage(report) {
  const page = readFileSync(join(ROOT, 'docs', 'benchmarks.md'), 'utf8');
  const at = page.indexOf(`\n${FIGURES_HEADING}\n`);
  if (at < 0) throw new Error(`docs/benchmarks.md has no "${FIGURES_HEADING}" heading to put the figures under`);
  return `${page.slice(0, at + 1)}${FIGURES_HEADING}\n\n${markdown(report)}`;
}

main().catch((e) => {
  console.error(`bench: ${e.stack ?? e}`);
  process.exit(1);
});
