// The Go fast path's figures, one run:
//   `node bench/fastpath.js [--rounds N] [--http-rounds N] [--http-sec S] [--json FILE]` (defaults 7, 7, 3).
// - per call (the Go loop fixture, static and cgo, 1-byte writes to /dev/null): bare; `auto` (the agent) with a
//   write rule that never fires; `auto` with a plan that does not name write; the kernel's seccomp floor (a
//   filter alone, bench/tools/seccomp-floor.c), for a syscall it does not name and for one it names as
//   sysfault does (the filter then runs on every call); the supervisor alone (`--engine seccomp`), for reference.
// - the Go net/http workload (bench/workload/httpd) under autocannon, reads and writes named by a rule that
//   never fires: bare, `auto` (the agent), the kernel's seccomp floor and the supervisor alone. Loopback HTTP
//   on 2 cores swings +-20% run to run: it takes 7 rounds for the median ratio to settle within a few percent.
// Variants alternate within each round (the order rotates round by round); each figure is the median of the
// per-round ratios to that round's bare run, so slow drift of the machine cancels out. Needs `npm run build`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { buildTool, chooseMode, execMeasured, ROOT, api } from './lib/exec.js';
import { median } from './lib/stats.js';
import { buildHttpd, freePort } from './lib/workload.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, 'http-sec': { type: 'string' }, 'http-rounds': { type: 'string' }, json: { type: 'string' } },
});
const ROUNDS = Number(values.rounds ?? 7);
const HTTP_SEC = Number(values['http-sec'] ?? 3);
const HTTP_ROUNDS = Number(values['http-rounds'] ?? 7);
const ITERS = 1_000_000;
const log = (line) => process.stderr.write(`${line}\n`);

const never = { version: 1, seed: 1, rules: [{ id: 'never', syscalls: ['write'], path: '**/never-matches', action: { errno: 'EIO' } }] };
const unnamed = { version: 1, seed: 1, rules: [{ id: 'other', syscalls: ['fdatasync'], action: { errno: 'EIO' } }] };
const httpNamed = {
  version: 1,
  seed: 7,
  rules: [{ id: 'never', syscalls: ['read', 'write'], path: '**/never-matches', action: { errno: 'EIO' } }],
};

const MICRO = {
  bare: { iters: ITERS },
  'agent, write named': { engine: 'auto', plan: never, iters: ITERS, fastPath: true },
  'agent, write not named': { engine: 'auto', plan: unnamed, iters: ITERS },
  'seccomp floor': { tool: 'floor', iters: ITERS },
  'seccomp floor, write named': { tool: 'floor', named: 1, iters: ITERS },
  'supervisor alone, write named': { engine: 'seccomp', plan: never, iters: ITERS / 20 },
};

async function loopOnce(exe, variant) {
  const v = MICRO[variant];
  const args = ['write', String(v.iters)];
  const r = v.tool
    ? await execMeasured(buildTool('seccomp-floor'), [...(v.named === undefined ? [] : ['--named', String(v.named)]), exe, ...args])
    : await execMeasured(exe, args, v.engine ? { sysfault: { engine: v.engine, plan: v.plan } } : {});
  const m = /^loop write ok ([\d.]+)/m.exec(r.stdout);
  if (!m) throw new Error(`${variant}: no result line (${r.error ?? r.stderr.trim().split('\n').at(-1)})`);
  if (v.fastPath && !(r.result?.fastPath?.length > 0)) throw new Error(`${variant}: the fast path did not load`);
  if (v.engine && v.plan === never && r.result.counts.write.calls < v.iters) throw new Error(`${variant}: writes not counted`);
  return Number(m[1]);
}

async function micro(program) {
  const exe = join(ROOT, 'test', 'fixtures', '.build', 'go', program);
  const names = Object.keys(MICRO);
  const ratios = Object.fromEntries(names.map((n) => [n, []]));
  const ns = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const got = {};
    for (const name of order) got[name] = await loopOnce(exe, name);
    for (const name of names) {
      ns[name].push(got[name]);
      ratios[name].push(got[name] / got.bare);
    }
  }
  const out = {};
  for (const name of names) out[name] = { nsPerCall: median(ns[name]), ratioToBare: median(ratios[name]) };
  return out;
}

async function httpOnce(bin, engine, plan) {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const data = mkdtempSync(join(tmpdir(), 'sysfault-fastpath-'));
  let stop;
  let result = null;
  if (!engine || engine === 'floor') {
    const { spawn } = await import('node:child_process');
    const child = engine ? spawn(buildTool('seccomp-floor'), [bin, addr, data], { stdio: 'ignore' }) : spawn(bin, [addr, data], { stdio: 'ignore' });
    stop = () => new Promise((resolve) => (child.once('close', resolve), child.kill('SIGTERM')));
  } else {
    const handle = api().spawn(bin, [addr, data], { engine, plan, stdio: 'ignore' });
    stop = async () => {
      handle.kill('SIGTERM');
      result = await handle.result.catch((e) => ({ error: e.message }));
    };
  }
  try {
    let ready = false;
    for (let i = 0; i < 300 && !ready; i++) {
      ready = await fetch(`http://${addr}/healthz`).then((r) => r.ok, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    if (!ready) throw new Error(`the server (${engine ?? 'bare'}) did not start on ${addr}`);
    await autocannon({ url: `http://${addr}/item`, connections: 10, duration: 0.5 });
    const r = await autocannon({ url: `http://${addr}/item`, connections: 10, duration: HTTP_SEC });
    await stop();
    stop = async () => {};
    if (r.errors && result) throw new Error(`${r.errors} connection errors; the server: ${JSON.stringify(result.exit ?? result)}`);
    return { reqPerSec: r.requests.average, non2xx: r.non2xx, errors: r.errors, result };
  } finally {
    await stop();
    rmSync(data, { recursive: true, force: true });
  }
}

async function http() {
  const bin = await buildHttpd();
  const variants = {
    bare: [null, null],
    agent: ['auto', httpNamed],
    'seccomp floor': ['floor', null],
    'supervisor alone': ['seccomp', httpNamed],
  };
  const names = Object.keys(variants);
  // a first run warms autocannon (its JIT) and the page cache; it is not counted, or round 0's bare run is slow
  await httpOnce(bin, null, null);
  const ratios = Object.fromEntries(names.map((n) => [n, []]));
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  let lastAgent = null;
  for (let round = 0; round < HTTP_ROUNDS; round++) {
    const got = {};
    for (const name of names.map((_, i) => names[(i + round) % names.length])) {
      const r = await httpOnce(bin, ...variants[name]);
      if (r.non2xx || r.errors) throw new Error(`http ${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      got[name] = r.reqPerSec;
      if (name === 'agent') lastAgent = r.result;
    }
    for (const name of names) {
      rates[name].push(got[name]);
      ratios[name].push(got[name] / got.bare);
    }
  }
  const out = {};
  for (const name of names) out[name] = { reqPerSec: Math.round(median(rates[name])), ratioToBare: median(ratios[name]) };
  out.agentRun = lastAgent && { fastPath: lastAgent.fastPath, warnings: lastAgent.warnings, counts: lastAgent.counts };
  return out;
}

const { mode, why } = await chooseMode('api');
if (mode !== 'api') throw new Error(`bench/fastpath.js needs the API: ${why}`);
const report = { rounds: ROUNDS, httpRounds: HTTP_ROUNDS, httpSec: HTTP_SEC, micro: {}, http: null };
for (const program of ['loop-static', 'loop-cgo']) {
  log(`fastpath: go/${program}, ${ROUNDS} rounds`);
  report.micro[program] = await micro(program);
  for (const [name, r] of Object.entries(report.micro[program]))
    log(`  ${name.padEnd(32)} ${r.nsPerCall.toFixed(1).padStart(8)} ns/call  ${r.ratioToBare.toFixed(3)}x bare`);
}
log(`fastpath: Go net/http workload, ${HTTP_ROUNDS} rounds of ${HTTP_SEC} s`);
report.http = await http();
for (const [name, r] of Object.entries(report.http)) {
  if (name !== 'agentRun') log(`  ${name.padEnd(32)} ${String(r.reqPerSec).padStart(8)} req/s   ${r.ratioToBare.toFixed(3)}x bare`);
}
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
