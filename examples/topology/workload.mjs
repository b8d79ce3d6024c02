// A client workload for kv.yaml: PUTs for DURATION_MS, then GETs every acknowledged key back.
// Usage: node workload.mjs BASE_URL [DURATION_MS=2500]
// Prints one JSON line per request (the samples sysfault reads: ok, latencyMs, op, key, status, error, ts,
// startTs) and
// exits 1 if any acknowledged write was lost.
import { performance } from 'node:perf_hooks';

const [base, durationText = '2500'] = process.argv.slice(2);
if (!base) {
  console.error('usage: node workload.mjs BASE_URL [DURATION_MS]');
  process.exit(2);
}
const duration = Number(durationText);
let stopping = false;
process.on('SIGTERM', () => (stopping = true));

async function request(op, key, init) {
  const start = performance.now();
  let status = 0;
  let body = {};
  let error;
  try {
    const res = await fetch(`${base}/kv/${key}`, { ...init, signal: AbortSignal.timeout(5000) });
    status = res.status;
    body = await res.json();
    if (body.error) error = `${body.error}${body.detail ? `: ${body.detail}` : ''}`;
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const end = performance.now();
  // ts/startTs: wall-clock ms, so sysfault places the request exactly on its timeline.
  const sample = {
    op,
    key,
    ok: status === 200,
    status,
    latencyMs: Math.round((end - start) * 1000) / 1000,
    ts: performance.timeOrigin + end,
    startTs: performance.timeOrigin + start,
  };
  if (error) sample.error = error;
  console.log(JSON.stringify(sample));
  return { status, body };
}

const acked = new Map();
const end = performance.now() + duration;
for (let i = 0; performance.now() < end && !stopping; i++) {
  const key = `k${i}`;
  const value = `value-${i}`;
  const { status } = await request('put', key, { method: 'PUT', body: value });
  if (status === 200) acked.set(key, value);
  await new Promise((r) => setTimeout(r, 5));
}
let lost = 0;
for (const [key, value] of acked) {
  if (stopping) break;
  const { body } = await request('get', key, { method: 'GET' });
  if (body.value !== value) {
    lost++;
    console.error(`LOST ${key}: expected ${value}, got ${JSON.stringify(body)}`);
  }
}
console.error(`workload: ${acked.size} writes acknowledged, ${lost} lost`);
process.exit(lost === 0 && !stopping ? 0 : 1);
