// Soak of the Go fast path (not a test): `node bench/soak.js [--minutes 30] [--round-sec 10] [--rate 300]`.
// For the whole duration:
// - a Go net/http server (bench/workload/httpd) runs under `auto` (the agent, the supervisor as its net) with a
//   mixed plan (reads and writes named, rare errors on its file reads), under a bounded autocannon load;
// - every round, a Go storage storm (test/fixtures/goold agentstorm: writes, fsyncs, CPU profile, GC) runs under
//   `auto` with a mixed plan, and sysfault's counts must equal what the program reports;
// - every round, the memory of this process (the supervisor's monitor lives here) and of the server (the agent
//   lives there), and the descriptors of both, are sampled: they must stay flat (no leak).
// Exit 0 when every round's counts agreed and nothing grew past the allowance, else 1. Needs `npm run build` and
// the fixtures (node test/fixtures/build.mjs).
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { chooseMode, api, ROOT } from './lib/exec.js';
import { buildHttpd, freePort } from './lib/workload.js';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, 'round-sec': { type: 'string' }, rate: { type: 'string' } } });
const MINUTES = Number(values.minutes ?? 30);
const ROUND_SEC = Number(values['round-sec'] ?? 10);
const RATE = Number(values.rate ?? 300);
const log = (line) => process.stderr.write(`${line}\n`);

const serverPlan = {
  version: 1,
  seed: 11,
  rules: [
    { id: 'item-eio', syscalls: ['read'], path: '**/item.json', probability: 0.002, action: { errno: 'EIO' } },
    { id: 'sock-pass', syscalls: ['read', 'write'], path: '**/never-matches', action: { errno: 'EIO' } },
  ],
};
const stormPlan = {
  version: 1,
  seed: 5,
  rules: [
    { id: 'sync', syscalls: ['fsync'], probability: 0.1, action: { errno: 'EIO' } },
    { id: 'data', syscalls: ['write'], path: '**/w*.bin', probability: 0.05, action: { errno: 'EIO' } },
    { id: 'slow', syscalls: ['write'], path: '**/w*.bin', limit: 20, action: { delayMs: 1 } },
  ],
};

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

async function stormRound() {
  const dir = mkdtempSync(join(tmpdir(), 'sysfault-soak-'));
  const bin = join(ROOT, 'test', 'fixtures', '.build', 'gotc', 'agentstorm-go1.22-cgo');
  let out = '';
  const handle = api().spawn(bin, ['storm', dir, '4', '250'], { plan: stormPlan, stdio: ['ignore', 'pipe', 'inherit'] });
  handle.stdout.on('data', (d) => (out += d));
  const result = await handle.result;
  rmSync(dir, { recursive: true, force: true });
  const seen = Object.fromEntries([...out.matchAll(/^(\w+) ok=(\d+) err=(\d+)$/gm)].map((m) => [m[1], { ok: +m[2], err: +m[3] }]));
  const ok =
    result.fastPath.length === 1 &&
    result.counts.fsync.calls === 1000 &&
    result.counts.fsync.faulted === seen.fsync?.err &&
    result.rules[1].matched === 1000 &&
    result.rules[1].fired === seen.write?.err;
  return { ok, fsync: result.counts.fsync, seen };
}

const { mode, why } = await chooseMode('api');
if (mode !== 'api') throw new Error(`bench/soak.js needs the API: ${why}`);
const httpd = await buildHttpd();
const data = mkdtempSync(join(tmpdir(), 'sysfault-soak-httpd-'));
const port = await freePort();
const server = api().spawn(httpd, [`127.0.0.1:${port}`, data], { plan: serverPlan, stdio: 'ignore' });
const serverResult = server.result.catch((e) => ({ error: e.message }));
for (let i = 0; i < 300 && !(await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)); i++) {
  await new Promise((r) => setTimeout(r, 50));
}
log(`soak: ${MINUTES} min, rounds of ${ROUND_SEC} s, ${RATE} req/s on the server (pid ${server.pid}); fast path: checked below`);

const samples = [];
let failures = 0;
let requests = 0;
let non2xx = 0;
const end = Date.now() + MINUTES * 60_000;
for (let round = 0; Date.now() < end || round === 0; round++) {
  const load = autocannon({ url: `http://127.0.0.1:${port}/item`, connections: 4, overallRate: RATE, duration: ROUND_SEC });
  const storm = await stormRound();
  const r = await load;
  requests += r.requests.total;
  non2xx += r.non2xx;
  const sample = { round, nodeRssKb: rssKb(process.pid), serverRssKb: rssKb(server.pid), nodeFds: fds(process.pid), serverFds: fds(server.pid) };
  samples.push(sample);
  if (!storm.ok) failures++;
  log(
    `  round ${round}: storm counts ${storm.ok ? 'agree' : `DISAGREE ${JSON.stringify(storm)}`}; ${r.requests.total} requests ` +
      `(${r.non2xx} non-2xx: the planned EIO); rss node ${sample.nodeRssKb} kB, server ${sample.serverRssKb} kB; ` +
      `fds node ${sample.nodeFds}, server ${sample.serverFds}`,
  );
}
server.kill('SIGTERM');
const final = await serverResult;
rmSync(data, { recursive: true, force: true });

// flat: after the first round (warm-up), memory within 20% (+8 MB) and descriptors within 4 of the first sample
const base = samples[Math.min(1, samples.length - 1)];
const last = samples.at(-1);
const grew = (a, b, pct, abs) => b > a * (1 + pct) + abs;
const leaks = [
  grew(base.nodeRssKb, last.nodeRssKb, 0.2, 8192) && 'supervisor memory grew',
  grew(base.serverRssKb, last.serverRssKb, 0.2, 8192) && 'server memory grew',
  last.nodeFds > base.nodeFds + 4 && 'supervisor descriptors grew',
  last.serverFds > base.serverFds + 4 && 'server descriptors grew',
].filter(Boolean);
const itemErrors = final.rules?.[0]?.fired;
log(
  `soak: ${samples.length} rounds, ${requests} requests, ${non2xx} non-2xx; server: fast path ${JSON.stringify(final.fastPath)}, ` +
    `item-eio fired ${itemErrors} (non-2xx seen ${non2xx}: ${itemErrors === non2xx ? 'equal' : 'DIFFERENT'}); ` +
    `storm rounds disagreeing: ${failures}; ${leaks.length ? leaks.join(', ') : 'memory and descriptors flat'}`,
);
process.exit(failures || leaks.length || itemErrors !== non2xx || !final.fastPath?.length ? 1 : 0);
