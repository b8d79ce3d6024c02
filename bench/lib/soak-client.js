// One round of the soak's Rust client (bench/workload/client-rs) under sysfault's `auto` engine (a libc-linked
// program: the preload library, with the supervisor as its net), and the exact agreement of sysfault's counts
// with what the client printed.
//
// Why the faults are placed as they are: a reset injected into a read of a response drops the connection
// before the client knows the response's status, while the server did answer it (its file read, and a 500 if
// that read failed, happened all the same). So resets are injected only on the probe connections (GET /healthz
// on the server's second address, which reads no file): every GET /item the client sent is answered and read,
// and the server's injected file errors equal the 500s the clients saw, exactly. A send error is injected
// before the request leaves (one send(2) carries a whole request), so the server never sees that request.

/** The client's plan for one round: every rule's numbers are compared with the client's own tally. */
export function clientPlan(seed, itemAddr, probeAddr) {
  return {
    version: 1,
    seed,
    rules: [
      { id: 'connect-refused', syscalls: ['connect'], probability: 0.1, action: { errno: 'ECONNREFUSED' } },
      { id: 'probe-reset', syscalls: ['recvfrom'], fd: 'socket', addr: probeAddr, probability: 0.005, action: { errno: 'ECONNRESET' } },
      { id: 'item-slow', syscalls: ['recvfrom'], fd: 'socket', addr: itemAddr, probability: 0.002, action: { delayMs: 2 } },
      { id: 'send-epipe', syscalls: ['sendto'], fd: 'socket', probability: 0.002, action: { errno: 'EPIPE' } },
    ],
  };
}

/** The client's summary line as numbers, and its `*_errnos` fields as { NAME: count }. */
export function parseClientLine(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('client '));
  if (!line) return null;
  const tally = {};
  for (const [, key, value] of line.matchAll(/(\w+)=(\S*)/g)) {
    tally[key] = key.endsWith('_errnos')
      ? Object.fromEntries(value.split(',').filter(Boolean).map((p) => [p.split(':')[0], Number(p.split(':')[1])]))
      : Number(value);
  }
  return tally;
}

/**
 * The comparisons of one round, each [what, expected, seen]: sysfault's number then the client's, or (the last
 * four) what the plan allows then what the client saw. All must be equal.
 */
export function clientComparisons(result, tally) {
  const rule = Object.fromEntries(result.rules.map((r) => [r.id, r]));
  const counts = (name) => result.counts[name] ?? { calls: NaN, faulted: NaN, delayed: NaN };
  return [
    ['connect calls', counts('connect').calls, tally.connects],
    ['connect-refused matched', rule['connect-refused'].matched, tally.connects],
    ['connect-refused fired', rule['connect-refused'].fired, tally.connect_errors],
    ['connect errors ECONNREFUSED', rule['connect-refused'].fired, tally.connect_errnos.ECONNREFUSED ?? 0],
    ['connect faulted', counts('connect').faulted, tally.connect_errors],
    ['recvfrom calls', counts('recvfrom').calls, tally.recv_calls],
    ['probe-reset matched (probe connections)', rule['probe-reset'].matched, tally.probe_recv_calls],
    ['probe-reset fired', rule['probe-reset'].fired, tally.read_errors],
    ['read errors ECONNRESET', rule['probe-reset'].fired, tally.read_errnos.ECONNRESET ?? 0],
    ['recvfrom faulted', counts('recvfrom').faulted, tally.read_errors],
    ['item-slow matched (item connections)', rule['item-slow'].matched, tally.recv_calls - tally.probe_recv_calls],
    ['recvfrom delayed', counts('recvfrom').delayed, rule['item-slow'].fired],
    ['sendto calls', counts('sendto').calls, tally.send_calls],
    ['send-epipe matched', rule['send-epipe'].matched, tally.send_calls],
    ['send-epipe fired', rule['send-epipe'].fired, tally.write_errors],
    ['write errors EPIPE', rule['send-epipe'].fired, tally.write_errnos.EPIPE ?? 0],
    ['sendto faulted', counts('sendto').faulted, tally.write_errors],
    // nothing the plan did not cause: no end of stream, no malformed answer, only 200 and the 500s
    ['requests answered', tally.items + tally.probes, tally.requests - tally.aborted],
    ['responses aborted', tally.read_errors, tally.aborted],
    ['end-of-stream and protocol errors', 0, tally.eofs + tally.protocol_errors],
    ['statuses other than 200 and 500', 0, tally.other_status],
  ];
}

/**
 * Runs the client for `seconds` against the server's two addresses under the round's plan.
 * Resolves to { ok, tally, result, mismatches: [what, expected, seen][], problems: string[] }.
 */
export async function clientRound(api, bin, { itemAddr, probeAddr, rate, seconds, conns, seed }) {
  const launch = api.prepareLaunch(bin, [itemAddr, probeAddr, String(rate), String(seconds), String(conns)], {
    plan: clientPlan(seed, itemAddr, probeAddr),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const problems = [];
  if (launch.engine !== 'preload' || !launch.net) problems.push(`engine ${launch.engine}${launch.net ? ' with the net' : ' without the net'}`);
  const handle = api.spawn(launch);
  let stdout = '';
  handle.stdout.on('data', (d) => (stdout += d));
  const result = await handle.result;
  const tally = parseClientLine(stdout);
  if (result.exit.code !== 0) problems.push(`client exit ${JSON.stringify(result.exit)}`);
  if (result.warnings.length) problems.push(`warnings ${JSON.stringify(result.warnings)}`);
  if (!tally) problems.push(`no summary line in ${JSON.stringify(stdout.slice(-200))}`);
  const mismatches = tally ? clientComparisons(result, tally).filter(([, a, b]) => a !== b) : [];
  return { ok: problems.length === 0 && mismatches.length === 0, tally, result, mismatches, problems };
}
