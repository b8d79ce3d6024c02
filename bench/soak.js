// Soak of the fast paths (not a test): `node bench/soak.js [--minutes 30] [--round-sec 10] [--rate 300]`.
// For the whole duration:
// - a Go net/http server (bench/workload/httpd, on two loopback addresses) runs under `auto` (the Go agent, the
//   supervisor as its net) with a mixed plan: rare errors on its file reads, rare delays on its socket writes,
//   reads and writes named;
// - every round, a Rust HTTP/1.1 client (bench/workload/client-rs, std only) puts a bounded load on it under
//   `auto` (the preload library, the supervisor as its net) with a plan that refuses connects, resets reads and
//   fails sends at small probabilities (bench/lib/soak-client.js); sysfault's counts must equal what the client
//   printed, exactly;
// - every round, a Go storage storm (test/fixtures/goold agentstorm: writes, fsyncs, CPU profile, GC) runs under
//   `auto` with a mixed plan, and sysfault's counts must equal what the program reports;
// - every round, the memory of this process (the supervisor's monitor lives here) and of the server (the agent
//   lives there), and the descriptors of both, are sampled: they must stay flat (no leak).
// At the end the server's injected file errors must equal the 500s all the clients saw. Exit 0 when every
// check held, else 1. Needs `npm run build`, the fixtures (node test/fixtures/build.mjs), go and cargo.
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chooseMode, api, ROOT } from './lib/exec.js';
import { clientRound } from './lib/soak-client.js';
import { median } from './lib/stats.js';
import { buildClient, buildHttpd, freePort } from './lib/workload.js';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, 'round-sec': { type: 'string' }, rate: { type: 'string' } } });
const MINUTES = Number(values.minutes ?? 30);
const ROUND_SEC = Number(values['round-sec'] ?? 10);
const RATE = Number(values.rate ?? 300);
const CLIENT_CONNS = 4;
const log = (line) => process.stderr.write(`${line}\n`);

const serverPlan = {
  version: 1,
  seed: 11,
  rules: [
    { id: 'item-eio', syscalls: ['read'], path: '**/item.json', probability: 0.002, action: { errno: 'EIO' } },
    { id: 'sock-slow', syscalls: ['write'], fd: 'socket', probability: 0.001, action: { delayMs: 1 } },
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
const [httpd, client] = await Promise.all([buildHttpd(), buildClient()]);
const data = mkdtempSync(join(tmpdir(), 'sysfault-soak-httpd-'));
const itemPort = await freePort();
let probePort = await freePort();
while (probePort === itemPort) probePort = await freePort(); // the kernel may hand the same free port out twice
const [itemAddr, probeAddr] = [`127.0.0.1:${itemPort}`, `127.0.0.1:${probePort}`];
const server = api().spawn(httpd, [`${itemAddr},${probeAddr}`, data], { plan: serverPlan, stdio: 'ignore' });
const serverResult = server.result.catch((e) => ({ error: e.message }));
const up = (addr) => fetch(`http://${addr}/healthz`).then((r) => r.ok, () => false);
for (let i = 0; i < 300 && !((await up(itemAddr)) && (await up(probeAddr))); i++) await new Promise((r) => setTimeout(r, 50));
log(
  `soak: ${MINUTES} min, rounds of ${ROUND_SEC} s; server pid ${server.pid} on ${itemAddr} (items) and ${probeAddr} ` +
    `(probes); each round a client of ${CLIENT_CONNS} threads at ${RATE} req/s and a storm`,
);

const samples = [];
let failures = 0;
const sum = { requests: 0, items: 0, status500: 0, connects: 0, connectErrors: 0, readErrors: 0, writeErrors: 0 };
const end = Date.now() + MINUTES * 60_000;
for (let round = 0; Date.now() < end || round === 0; round++) {
  const [load, storm] = await Promise.all([
    clientRound(api(), client, { itemAddr, probeAddr, rate: RATE, seconds: ROUND_SEC, conns: CLIENT_CONNS, seed: 1000 + round }),
    stormRound(),
  ]);
  const t = load.tally ?? {};
  sum.requests += t.requests ?? 0;
  sum.items += t.items ?? 0;
  sum.status500 += t.status500 ?? 0;
  sum.connects += t.connects ?? 0;
  sum.connectErrors += t.connect_errors ?? 0;
  sum.readErrors += t.read_errors ?? 0;
  sum.writeErrors += t.write_errors ?? 0;
  const sample = { round, nodeRssKb: rssKb(process.pid), serverRssKb: rssKb(server.pid), nodeFds: fds(process.pid), serverFds: fds(server.pid) };
  samples.push(sample);
  if (!storm.ok || !load.ok) failures++;
  const disagree = [...load.problems, ...load.mismatches.map(([what, want, seen]) => `${what}: sysfault ${want}, client ${seen}`)];
  log(
    `  round ${round}: storm counts ${storm.ok ? 'agree' : `DISAGREE ${JSON.stringify(storm)}`}; client counts ` +
      `${load.ok ? 'agree' : `DISAGREE (${disagree.join('; ')})`}: ${t.requests} requests, ${t.status500} 500s, ` +
      `${t.connects} connects (${t.connect_errors} refused), ${t.read_errors} reads reset, ${t.write_errors} sends failed; ` +
      `rss node ${sample.nodeRssKb} kB, server ${sample.serverRssKb} kB; fds node ${sample.nodeFds}, server ${sample.serverFds}`,
  );
}
server.kill('SIGTERM');
const final = await serverResult;
rmSync(data, { recursive: true, force: true });

// Flat memory: the allocator keeps growing for a while (every run's monitor thread may take another malloc arena
// of this process, up to 8 per core), then stops; a leak keeps growing. So the median RSS over the last quarter
// of the rounds must be within 5% (+4 MB) of the median over the second quarter. Descriptors do not warm up:
// the last sample within 4 of round 1's.
function quarterMedian(q, key) {
  const from = Math.floor((q * samples.length) / 4);
  const to = Math.max(Math.floor(((q + 1) * samples.length) / 4), from + 1);
  return median(samples.slice(from, to).map((x) => x[key]));
}
const rss = Object.fromEntries(['nodeRssKb', 'serverRssKb'].map((k) => [k, { from: quarterMedian(1, k), to: quarterMedian(3, k) }]));
const base = samples[Math.min(1, samples.length - 1)];
const last = samples.at(-1);
const grew = ({ from, to }) => to > from * 1.05 + 4096;
const leaks = [
  grew(rss.nodeRssKb) && 'supervisor memory grew',
  grew(rss.serverRssKb) && 'server memory grew',
  last.nodeFds > base.nodeFds + 4 && 'supervisor descriptors grew',
  last.serverFds > base.serverFds + 4 && 'server descriptors grew',
].filter(Boolean);
// the server: every injected file error is one 500 a client read; every fault and delay it counted is a rule's
const rule = Object.fromEntries((final.rules ?? []).map((r) => [r.id, r]));
const serverChecks = [
  ['item-eio fired = 500s the clients saw', rule['item-eio']?.fired, sum.status500],
  ['read faulted = item-eio fired', final.counts?.read?.faulted, rule['item-eio']?.fired],
  ['write delayed = sock-slow fired', final.counts?.write?.delayed, rule['sock-slow']?.fired],
  ['write faulted', final.counts?.write?.faulted, 0],
];
const serverBad = serverChecks.filter(([, a, b]) => a !== b || a === undefined);
if (!final.fastPath?.length) serverBad.push(['fast path', JSON.stringify(final.fastPath), 'non-empty']);
log(
  `soak: ${samples.length} rounds; clients: ${sum.requests} requests, ${sum.items} items, ${sum.status500} 500s, ` +
    `${sum.connects} connects (${sum.connectErrors} refused), ${sum.readErrors} reads reset, ${sum.writeErrors} sends failed; ` +
    `rounds disagreeing: ${failures}`,
);
log(
  `soak: server: fast path ${JSON.stringify(final.fastPath)}; item-eio fired ${rule['item-eio']?.fired} of ` +
    `${rule['item-eio']?.matched} item reads (500s seen by the clients ${sum.status500}), sock-slow fired ` +
    `${rule['sock-slow']?.fired} of ${rule['sock-slow']?.matched}; ` +
    `${serverBad.length ? `DISAGREE (${serverBad.map(([w, a, b]) => `${w}: ${a} vs ${b}`).join('; ')})` : 'counts agree'}; ` +
    `warnings ${JSON.stringify((final.warnings ?? []).map((w) => w.message))}; ` +
    `${leaks.length ? leaks.join(', ') : 'memory and descriptors flat'} (rss node ${rss.nodeRssKb.from} -> ` +
    `${rss.nodeRssKb.to} kB, server ${rss.serverRssKb.from} -> ${rss.serverRssKb.to} kB; fds node ${base.nodeFds} -> ` +
    `${last.nodeFds}, server ${base.serverFds} -> ${last.serverFds})`,
);
process.exit(failures || leaks.length || serverBad.length ? 1 : 0);
