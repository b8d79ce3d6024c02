// Latency on sockets (docs/network.md) as the programs see it: a delay on socket reads against the programs' own
// deadlines (Go, tokio, blocking std::net, C poll and epoll loops), and a delay when the peer has already replied
// and closed. Timing windows: a deadline holds within WINDOW ms (network-support.ts).
import { describe, expect, it } from 'vitest';
import { echoServer, plan, runFixture } from '../helpers.js';
import { goHttpServer, lineServer, type NetRun, norm, runNet, rustEngines, WINDOW, within } from './network-support.js';

const { port } = await echoServer();
const addr = `127.0.0.1:${port}`;

describe('latency: a 500 ms delay on socket reads, against the programs\' deadlines', () => {
  const slow = (a: string, syscalls: string[]) => ({ syscalls, addr: a, limit: 1, action: { delayMs: 500 } });

  it('Go net.Conn with a 100 ms read deadline: "i/o timeout" at 100 ms; without one the reply comes at 500 ms', async () => {
    const r = await runNet('go/dial-static', [addr, '1', '100'], plan([slow(addr, ['read'])]));
    expect(norm(r.lines)).toEqual([
      'connect <addr> ok',
      'send 0 ok',
      'recv 0 err TIMEDOUT read tcp <local>-><addr>: i/o timeout',
      'done',
    ]);
    within(r.ms['recv 0'], 100);
    const patient = await runNet('go/dial-static', [addr, '2'], plan([slow(addr, ['read'])]));
    expect(patient.lines).toEqual([`connect ${addr} ok`, 'send 0 ok', 'recv 0 ok pong 0', 'send 1 ok', 'recv 1 ok pong 1', 'done']);
    within(patient.ms['recv 0'], 500);
    expect(patient.ms['recv 1']).toBeLessThan(WINDOW);
    expect(patient.result.counts.read!.delayed).toBe(1);
  });

  it('Go net/http client: Client.Timeout (100 ms) fires at 100 ms; with 2 s the response comes at 500 ms', async () => {
    const httpPort = await goHttpServer();
    const url = `http://127.0.0.1:${httpPort}/hello`;
    const a = `127.0.0.1:${httpPort}`;
    const r = await runNet('go/nethttp-static', ['get', url, '2', '100'], plan([slow(a, ['read'])]));
    expect(r.lines).toEqual([
      `get 0 err TIMEDOUT Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      'get 1 ok 200 hello',
      'done',
    ]);
    within(r.ms['get 0'], 100);
    const patient = await runNet('go/nethttp-static', ['get', url, '1', '2000'], plan([slow(a, ['read'])]));
    expect(patient.lines).toEqual(['get 0 ok 200 hello', 'done']);
    within(patient.ms['get 0'], 500);
  });

  it.each(rustEngines)('tokio::time::timeout (100 ms) under %s: TimedOut at 100 ms; with 2 s the reply comes at 500 ms', async (engine) => {
    const r = await runNet('rust/tokio_client', [addr, '1', '100'], plan([slow(addr, ['recvfrom'])]), engine);
    expect(r.lines).toEqual([`connect ${addr} ok`, 'send 0 ok', 'recv 0 err TIMEDOUT deadline has elapsed kind=TimedOut', 'done']);
    within(r.ms['recv 0'], 100);
    const patient = await runNet('rust/tokio_client', [addr, '2', '2000'], plan([slow(addr, ['recvfrom'])]), engine);
    expect(patient.lines).toEqual([`connect ${addr} ok`, 'send 0 ok', 'recv 0 ok pong 0', 'send 1 ok', 'recv 1 ok pong 1', 'done']);
    within(patient.ms['recv 0'], 500);
    expect(patient.ms['recv 1']).toBeLessThan(WINDOW);
  });

  it.each(rustEngines)('blocking std::net with set_read_timeout (100 ms) under %s: WouldBlock at 100 ms, as from a silent peer', async (engine) => {
    const silent = await lineServer('127.0.0.1', () => true);
    const real = await runNet('rust/netclient', [`127.0.0.1:${silent.port}`, '1', '100'], plan([]), engine);
    const r = await runNet('rust/netclient', [addr, '1', '100'], plan([slow(addr, ['recvfrom'])]), engine);
    expect(r.lines).toEqual([
      `connect ${addr} ok`,
      'send 0 ok',
      'recv 0 err EAGAIN Resource temporarily unavailable (os error 11) kind=WouldBlock',
      'done',
    ]);
    expect(norm(r.lines)).toEqual(norm(real.lines));
    within(r.ms['recv 0'], 100);
    // a read timeout of 200 ms: the delayed reply is still on its way for the second read, which waits for it
    const twice = await runNet('rust/netclient', [addr, '3', '200'], plan([slow(addr, ['recvfrom'])]), engine);
    expect(twice.lines.filter((l) => l.startsWith('recv'))).toEqual([
      'recv 0 err EAGAIN Resource temporarily unavailable (os error 11) kind=WouldBlock',
      'recv 1 err EAGAIN Resource temporarily unavailable (os error 11) kind=WouldBlock',
      'recv 2 ok pong 0',
    ]);
    within(twice.ms['recv 0'], 200);
    within(twice.ms['recv 1'], 200);
    // the reply was held until 500 ms after the first read began (the sends between the reads took some of that)
    within(twice.endMs['recv 2']! - (twice.endMs['recv 0']! - twice.ms['recv 0']!), 500);
    const patient = await runNet('rust/netclient', [addr, '1'], plan([slow(addr, ['recvfrom'])]), engine);
    expect(patient.lines).toEqual([`connect ${addr} ok`, 'send 0 ok', 'recv 0 ok pong 0', 'done']);
    within(patient.ms['recv 0'], 500);
  });

  it.each(rustEngines)('C, epoll edge-triggered, forking while its read is stalled (%s): both processes get their reply at 300 ms', async (engine) => {
    const { lines, result } = await runFixture('c/netfork', [String(port)], {
      engine,
      plan: plan([{ syscalls: ['read'], addr: '127.0.0.1', action: { delayMs: 300 } }]),
      timeout: 20_000,
    });
    const replies = lines.filter((l) => l.includes(' recv ')).sort();
    expect(replies.map((l) => l.replace(/ ms=\d+$/, ''))).toEqual(['child recv ok pong 1', 'parent recv ok pong 0']);
    for (const l of replies) within(Number(/ms=(\d+)$/.exec(l)![1]), 300);
    expect(lines.slice(-2)).toEqual(['wait child ok 0', 'done']);
    expect(result.counts.read!.delayed).toBe(2);
  });

  it.each(rustEngines)('seeded jitter (%s): the same seed gives the same delays, and the program sees them', async (engine) => {
    const rule = { syscalls: ['recvfrom'], addr, action: { delayMs: 50, jitterMs: 100 } };
    const a = await runNet('rust/tokio_client', [addr, '4'], plan([rule], 11), engine);
    const b = await runNet('rust/tokio_client', [addr, '4'], plan([rule], 11), engine);
    const delays = (r: NetRun) => r.result.faults.map((f) => f.action);
    expect(delays(a)).toEqual(delays(b));
    expect(new Set(delays(a)).size).toBeGreaterThan(1);
    // each reply waited for the delay of the read that asked for it
    const first = a.result.faults.filter((f) => f.syscall === 'recvfrom').map((f) => Number(/delay:(\d+)ms/.exec(f.action)![1]));
    for (const [i, d] of first.slice(0, 4).entries()) {
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(150);
      within(a.ms[`recv ${i}`], d);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('latency when the peer replied and closed: the data and the EOF come once, after the delay', () => {
  // The reply and the peer's FIN are there before the delay is over: SO_RCVLOWAT cannot hide a FIN from poll,
  // so a reader that polls must be held, not answered EAGAIN over and over (that made curl spin), and a
  // blocking read must wait for the end of the delay instead of reading at once.
  const replyAndClose = () =>
    lineServer('127.0.0.1', (socket, _i, line) => {
      socket.end(`pong ${line.split(' ')[1] ?? ''}\n`);
      return true;
    });
  const ms = (lines: string[], prefix: string) => Number(/ms=(\d+)$/.exec(lines.find((l) => l.startsWith(prefix)) ?? '')?.[1]);

  it.each(rustEngines)('C poll() loop (level-triggered) under %s: data and EOF at 300 ms, a handful of recv calls', async (engine) => {
    const peer = await replyAndClose();
    const target = `127.0.0.1:${peer.port}`;
    const rule = { syscalls: ['recvfrom'], addr: target, limit: 1, action: { delayMs: 300 } };
    const { lines, result } = await runFixture('c/pollread', [String(peer.port)], { engine, plan: plan([rule]), timeout: 20_000 });
    expect(lines.map((l) => l.replace(/ ms=\d+$/, '').replace(/^recvs \d+$/, 'recvs'))).toEqual(['data pong 0', 'eof', 'recvs']);
    within(ms(lines, 'data'), 300);
    within(ms(lines, 'eof'), 300);
    const recvs = Number(/^recvs (\d+)$/.exec(lines.at(-1)!)![1]);
    expect(recvs).toBeLessThanOrEqual(4); // no spinning: a few EAGAINs at most, then the data, then the EOF
    expect(result.counts.recvfrom).toEqual({ calls: recvs, faulted: 0, delayed: 1 });
  });

  it.each(rustEngines)('C poll() loop under %s, a delay on every read: the data at 300 ms, the EOF 300 ms later, two delays counted', async (engine) => {
    const peer = await replyAndClose();
    const rule = { syscalls: ['recvfrom'], addr: `127.0.0.1:${peer.port}`, action: { delayMs: 300 } };
    const { lines, result } = await runFixture('c/pollread', [String(peer.port)], { engine, plan: plan([rule]), timeout: 20_000 });
    expect(lines.map((l) => l.replace(/ ms=\d+$/, '').replace(/^recvs \d+$/, 'recvs'))).toEqual(['data pong 0', 'eof', 'recvs']);
    within(ms(lines, 'data'), 300);
    within(ms(lines, 'eof'), 600);
    expect(result.counts.recvfrom!.delayed).toBe(2);
    expect(result.counts.recvfrom!.calls).toBeLessThanOrEqual(6);
  });

  it.each(rustEngines)('blocking std::net under %s: the reply is read at 500 ms, not at once, and the delay is counted once', async (engine) => {
    const peer = await replyAndClose();
    const target = `127.0.0.1:${peer.port}`;
    const r = await runNet('rust/netclient', [target, '1'], plan([{ syscalls: ['recvfrom'], addr: target, limit: 1, action: { delayMs: 500 } }]), engine);
    expect(r.lines).toEqual([`connect ${target} ok`, 'send 0 ok', 'recv 0 ok pong 0', 'done']);
    within(r.ms['recv 0'], 500);
    expect(r.result.counts.recvfrom).toEqual({ calls: 1, faulted: 0, delayed: 1 });
  });
});
