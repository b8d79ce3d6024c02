// Workload benchmark: a Go net/http item store (bench/workload/httpd) on loopback under autocannon, bare and
// under sysfault's seccomp engine (Go makes raw syscalls: only seccomp sees them) with a pass-through plan, a
// latency plan and an error plan; then the time it takes to recover after handle.disarm().
import { spawn as spawnChild, execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { ROOT } from './exec.js';
import { toolEnv } from './machine.js';
import { median, quantile } from './stats.js';

const SRC = join(ROOT, 'bench', 'workload', 'httpd');
const OUT = join(ROOT, 'bench', '.build', 'httpd');
const CLIENT_SRC = join(ROOT, 'bench', 'workload', 'client-rs');
const CLIENT_OUT = join(ROOT, 'bench', '.build', 'client');
const CONNECTIONS = 10;

export const WORKLOAD_PLANS = {
  // names only fsync, which the server never calls: its reads and writes are not intercepted at all
  unnamed: {
    version: 1,
    seed: 7,
    rules: [{ id: 'other', syscalls: ['fsync'], action: { errno: 'EIO' } }],
  },
  'pass-through': {
    version: 1,
    seed: 7,
    rules: [{ id: 'never', syscalls: ['read', 'write'], path: '**/never-matches', action: { errno: 'EIO' } }],
  },
  latency: {
    version: 1,
    seed: 7,
    rules: [{ id: 'slow-write', syscalls: ['write'], fd: 'socket', probability: 0.02, action: { delayMs: 20 } }],
  },
  error: {
    version: 1,
    seed: 7,
    rules: [{ id: 'eio-read', syscalls: ['read'], path: '**/item.json', probability: 0.05, action: { errno: 'EIO' } }],
  },
  recovery: {
    version: 1,
    seed: 7,
    rules: [{ id: 'slow-write', syscalls: ['write'], fd: 'socket', probability: 0.05, action: { delayMs: 50 } }],
  },
};

/** The newest modification time of the files under `dir` (recursively). */
function newest(dir) {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

/** Builds bench/.build/httpd (static, CGO_ENABLED=0) when it is missing or older than its source. */
export async function buildHttpd() {
  if (existsSync(OUT) && statSync(OUT).mtimeMs >= newest(SRC)) return OUT;
  mkdirSync(join(ROOT, 'bench', '.build'), { recursive: true });
  await promisify(execFile)('go', ['build', '-o', OUT, '.'], {
    cwd: SRC,
    env: { ...toolEnv(), CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' },
  });
  return OUT;
}

/**
 * Builds bench/.build/client (the soak's Rust HTTP client, std only, so offline) when it is missing or older
 * than its source; cargo's own output stays in bench/.build/cargo-target.
 */
export async function buildClient() {
  if (existsSync(CLIENT_OUT) && statSync(CLIENT_OUT).mtimeMs >= newest(CLIENT_SRC)) return CLIENT_OUT;
  const target = join(ROOT, 'bench', '.build', 'cargo-target');
  mkdirSync(target, { recursive: true });
  await promisify(execFile)('cargo', ['build', '--release', '--offline', '--quiet'], {
    cwd: CLIENT_SRC,
    env: { ...toolEnv(), CARGO_TARGET_DIR: target },
  });
  copyFileSync(join(target, 'release', 'client'), CLIENT_OUT); // a fresh mtime even when cargo had nothing to do
  return CLIENT_OUT;
}

/** A port the kernel just handed out (and took back): not one a client socket holds. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 500 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

async function waitReady(base, isDead) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (isDead()) throw new Error('the server exited before it was ready');
    if ((await get(`${base}/healthz`)) === 200) return;
    await sleep(50);
  }
  throw new Error('the server was not ready within 15 s');
}

/** Starts the server bare or under sysfault; resolves to { base, handle|child, stop() }. */
async function startServer(bin, plan, api) {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const data = mkdtempSync(join(tmpdir(), 'sysfault-httpd-'));
  const base = `http://${addr}`;
  let stderr = '';
  if (!plan) {
    const child = spawnChild(bin, [addr, data], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d) => (stderr += d));
    let dead = false;
    const closed = new Promise((resolve) => child.on('close', () => resolve((dead = true))));
    child.on('error', () => (dead = true));
    try {
      await waitReady(base, () => dead);
    } catch (e) {
      child.kill('SIGKILL');
      rmSync(data, { recursive: true, force: true });
      throw new Error(`${e.message}${stderr ? `: ${stderr.trim()}` : ''}`);
    }
    return {
      base,
      handle: null,
      async stop() {
        child.kill('SIGTERM');
        await closed;
        rmSync(data, { recursive: true, force: true });
        return null;
      },
    };
  }
  const handle = api.spawn(bin, [addr, data], { engine: 'seccomp', plan, stdio: ['ignore', 'ignore', 'pipe'] });
  handle.stderr?.on('data', (d) => (stderr += d));
  let dead = false;
  const result = handle.result.then(
    (r) => ((dead = true), r),
    (e) => ((dead = true), Promise.reject(e)),
  );
  result.catch(() => {});
  try {
    await waitReady(base, () => dead);
  } catch (e) {
    handle.kill('SIGKILL');
    await result.catch(() => {});
    rmSync(data, { recursive: true, force: true });
    throw new Error(`${e.message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  return {
    base,
    handle,
    async stop() {
      handle.kill('SIGTERM');
      const r = await result.catch((e) => ({ error: e.message }));
      rmSync(data, { recursive: true, force: true });
      return r;
    },
  };
}

/** Runs autocannon for `seconds`, recording every response: { t (completion, ms), ms (latency), status }. */
async function load(base, seconds, onStart) {
  const times = [];
  const lat = [];
  const statuses = [];
  const t0 = performance.now();
  const instance = autocannon({ url: `${base}/item`, connections: CONNECTIONS, duration: seconds, timeout: 10 });
  instance.on('response', (_client, status, _bytes, ms) => {
    times.push(performance.now() - t0);
    lat.push(ms);
    statuses.push(status);
  });
  onStart?.(t0);
  const r = await instance;
  return { times, lat, statuses, elapsedMs: performance.now() - t0, errors: r.errors, timeouts: r.timeouts };
}

function summarize(l) {
  const n = l.lat.length;
  const non2xx = l.statuses.filter((s) => s < 200 || s > 299).length;
  return {
    requests: n,
    reqPerSec: Math.round(n / (l.elapsedMs / 1000)),
    p50Ms: quantile(l.lat, 0.5),
    p90Ms: quantile(l.lat, 0.9),
    p99Ms: quantile(l.lat, 0.99),
    p999Ms: quantile(l.lat, 0.999),
    maxMs: n ? Math.max(...l.lat) : NaN,
    non2xx,
    errorRate: n ? non2xx / n : 0,
    connErrors: l.errors,
    timeouts: l.timeouts,
  };
}

function countsOf(result) {
  if (!result || result.error) return result?.error ? { error: result.error } : null;
  return { counts: result.counts, rules: result.rules };
}

/** One run of a phase: a fresh server, a warm-up, `seconds` of load. Resolves to { load, result }. */
async function phaseRun(bin, plan, api, seconds) {
  const server = await startServer(bin, plan, api);
  let l;
  let result;
  try {
    await load(server.base, 0.5); // warm-up: connections, Go's heap and threads
    l = await load(server.base, seconds);
  } finally {
    result = await server.stop();
  }
  return { load: l, result };
}

/** Pools a phase's runs: req/s is the median of the runs' rates; latencies are pooled for the percentiles. */
function pooled(runs) {
  const rates = runs.map((r) => r.load.lat.length / (r.load.elapsedMs / 1000));
  const all = {
    lat: runs.flatMap((r) => r.load.lat),
    statuses: runs.flatMap((r) => r.load.statuses),
    elapsedMs: runs.reduce((a, r) => a + r.load.elapsedMs, 0),
    errors: runs.reduce((a, r) => a + r.load.errors, 0),
    timeouts: runs.reduce((a, r) => a + r.load.timeouts, 0),
  };
  return { ...summarize(all), reqPerSec: Math.round(median(rates)), runsReqPerSec: rates.map(Math.round) };
}

/** Recovery: faults for `faultSec`, then handle.disarm(), load for `afterSec` more; windows of `windowMs`. */
async function recovery(bin, api, faultSec, afterSec, baselineP99, log) {
  const windowMs = 100;
  const plan = WORKLOAD_PLANS.recovery;
  const server = await startServer(bin, plan, api);
  let l;
  let disarmAt = null;
  let delayedAtDisarm = null;
  let result;
  try {
    await load(server.base, 0.5);
    l = await load(server.base, faultSec + afterSec, (t0) => {
      setTimeout(() => {
        delayedAtDisarm = server.handle.counts().write?.delayed ?? null;
        server.handle.disarm();
        disarmAt = performance.now() - t0;
      }, faultSec * 1000);
    });
  } finally {
    result = await server.stop();
  }
  const delayedTotal = result?.counts?.write?.delayed ?? null;
  const windows = [];
  const end = l.elapsedMs;
  for (let start = 0; start < end; start += windowMs) {
    const lat = [];
    for (let i = 0; i < l.times.length; i++) if (l.times[i] >= start && l.times[i] < start + windowMs) lat.push(l.lat[i]);
    windows.push({ startMs: start, requests: lat.length, p99Ms: lat.length ? quantile(lat, 0.99) : null });
  }
  const threshold = Math.max(1.5 * baselineP99, baselineP99 + 1);
  // Recovered: windows of 100 ms aligned on the disarm; the first window whose p99 is within the threshold and
  // whose next window is too (so that one lucky window does not count).
  const after100 = [];
  for (let t = disarmAt; t < end; t += windowMs) {
    const lat = [];
    for (let i = 0; i < l.times.length; i++) if (l.times[i] >= t && l.times[i] < t + windowMs) lat.push(l.lat[i]);
    after100.push(lat.length ? quantile(lat, 0.99) : null);
  }
  const good = (p) => p !== null && p <= threshold;
  let k = after100.findIndex((p, i) => good(p) && (i + 1 >= after100.length || good(after100[i + 1])));
  if (k < 0) k = after100.length;
  const recoveredAt = disarmAt + k * windowMs;
  // The last response delayed by a fault decided before the disarm (latency at least the delay).
  const delayMs = plan.rules[0].action.delayMs;
  const lastDelayed = l.times.reduce((acc, t, i) => (t >= disarmAt && l.lat[i] >= delayMs ? t : acc), disarmAt);
  const before = l.lat.filter((_, i) => l.times[i] < disarmAt && l.times[i] >= disarmAt - faultSec * 1000 + 500);
  const after = l.lat.filter((_, i) => l.times[i] >= recoveredAt);
  const out = {
    plan,
    faultSec,
    afterSec,
    windowMs,
    baselineP99Ms: baselineP99,
    thresholdMs: threshold,
    recoveryMs: recoveredAt - disarmAt,
    lastDelayedResponseMs: lastDelayed - disarmAt,
    p99AfterDisarmWindowsMs: after100,
    p99BeforeDisarmMs: quantile(before, 0.99),
    p99AfterRecoveryMs: quantile(after, 0.99),
    delayedBeforeDisarm: delayedAtDisarm,
    delayedAfterDisarm: delayedTotal !== null && delayedAtDisarm !== null ? delayedTotal - delayedAtDisarm : null,
    windows,
  };
  log(
    `  recovery: p99 ${out.p99BeforeDisarmMs.toFixed(1)} ms before disarm; 100 ms windows back under ${threshold.toFixed(2)} ms ` +
      `from +${out.recoveryMs.toFixed(0)} ms; last delayed response +${out.lastDelayedResponseMs.toFixed(0)} ms ` +
      `(delays decided after disarm: ${out.delayedAfterDisarm})`,
  );
  return out;
}

/**
 * The phases run alternated (bare, unnamed, pass-through, latency, error, bare, ...) for `rounds` rounds of
 * `phaseSec` seconds each, a fresh server every run; then the recovery run.
 */
export async function runWorkload({ api, phaseSec, rounds = 1, log }) {
  const bin = await buildHttpd();
  log(
    `workload: ${bin} under autocannon (${CONNECTIONS} connections, loopback), ` +
      `${rounds} alternated round${rounds > 1 ? 's' : ''} of ${phaseSec} s per phase`,
  );
  const names = ['bare', 'unnamed', 'pass-through', 'latency', 'error'];
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  const errors = {};
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      if (errors[name]) continue;
      try {
        runs[name].push(await phaseRun(bin, WORKLOAD_PLANS[name] ?? null, api, phaseSec));
      } catch (e) {
        log(`  ${name}: failed: ${e.message}`);
        errors[name] = e.message;
      }
    }
  }
  const phases = names.map((name) => {
    const plan = WORKLOAD_PLANS[name] ?? null;
    if (errors[name] || runs[name].length === 0) return { name, plan, error: errors[name] ?? 'not run' };
    const stats = pooled(runs[name]);
    log(
      `  ${name}: ${stats.reqPerSec} req/s, p50 ${stats.p50Ms.toFixed(2)} ms, p99 ${stats.p99Ms.toFixed(2)} ms, ` +
        `non-2xx ${stats.non2xx}`,
    );
    return { name, plan, ...stats, sysfault: countsOf(runs[name].at(-1).result) };
  });
  const pass = phases.find((p) => p.name === 'pass-through' && !p.error);
  const bare = phases.find((p) => p.name === 'bare' && !p.error);
  let rec;
  try {
    const base = pass ?? bare;
    if (!base) throw new Error('no baseline phase');
    rec = await recovery(bin, api, Math.max(1, phaseSec), Math.max(1.5, phaseSec), base.p99Ms, log);
    rec.baseline = pass ? 'pass-through' : 'bare';
  } catch (e) {
    log(`  recovery: failed: ${e.message}`);
    rec = { error: e.message };
  }
  return {
    server: 'bench/workload/httpd (Go net/http, GET /item reads a 4 KiB file)',
    engine: 'seccomp',
    connections: CONNECTIONS,
    phaseSec,
    rounds,
    phases,
    recovery: rec,
  };
}
