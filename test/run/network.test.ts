// Network faults (docs/network.md) as the programs see them: refused connects, connects that never complete, resets,
// latency against the programs' own deadlines, partial outages by seed, and address scoping. Each program
// reports what its runtime says (Go's net and net/http, tokio, blocking std::net); where a real counterpart can
// be made on loopback (a closed port, a peer that resets, a peer that never answers), the program's transcript
// under the fault must be the same as under the real thing. Timing windows: a deadline holds within 50 ms.
import { createConnection, type Socket } from 'node:net';
import { execFileSync, spawn as spawnChild } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizePlan, parseFault } from '../../src/index.js';
import type { Engine } from '../../src/common/run-result.js';
import type { PlanInput } from '../../src/plan/schema.js';
import { echoServer, fixture, plan, runFixture, scratch, unusedPort } from '../helpers.js';
import { goHttpServer, lineServer, type NetRun, norm, runNet, rustEngines, within } from './network-support.js';

const { port } = await echoServer();
const echo6 = await lineServer('::1');
const addr = `127.0.0.1:${port}`;

// ---------------------------------------------------------------------------------------------------------

describe('refuse: the kernel refuses the connect', () => {
  const rule = { syscalls: ['connect'], addr, action: { refuse: true as const } };

  it.each(rustEngines)('blocking std::net and tokio (non-blocking) under %s: ConnectionRefused, as from a closed port', async (engine) => {
    const closed = await unusedPort();
    for (const bin of ['rust/netclient', 'rust/tokio_client']) {
      const real = await runNet(bin, [`127.0.0.1:${closed}`, '1'], plan([]), engine);
      const faulted = await runNet(bin, [addr, '1'], plan([rule]), engine);
      expect(faulted.lines).toEqual([`connect ${addr} err ECONNREFUSED Connection refused (os error 111) kind=ConnectionRefused`]);
      expect(norm(faulted.lines)).toEqual(norm(real.lines));
      expect(faulted.result.counts.connect).toEqual({ calls: 1, faulted: 1, delayed: 0 });
      expect(faulted.result.faults.map((f) => [f.syscall, f.action, f.target])).toEqual([['connect', 'refuse', addr]]);
    }
  });

  it('Go net.Dial (netpoller, non-blocking connect): "connect: connection refused", as from a closed port', async () => {
    const closed = await unusedPort();
    const real = await runNet('go/dial-static', [`127.0.0.1:${closed}`, '1'], plan([]));
    const faulted = await runNet('go/dial-static', [addr, '1'], plan([rule]));
    expect(faulted.result.engine).toBe('seccomp');
    expect(faulted.lines).toEqual([`connect ${addr} err ECONNREFUSED dial tcp ${addr}: connect: connection refused`]);
    expect(norm(faulted.lines)).toEqual(norm(real.lines));
  });

  it('Go net/http client: the dial error inside the request error', async () => {
    const httpPort = await goHttpServer();
    const url = `http://127.0.0.1:${httpPort}/hello`;
    const faulted = await runNet('go/nethttp-static', ['get', url, '2'], plan([{ ...rule, addr: `127.0.0.1:${httpPort}` }]));
    expect(faulted.lines).toEqual([
      `get 0 err ECONNREFUSED Get "${url}": dial tcp 127.0.0.1:${httpPort}: connect: connection refused`,
      `get 1 err ECONNREFUSED Get "${url}": dial tcp 127.0.0.1:${httpPort}: connect: connection refused`,
      'done',
    ]);
    const fine = await runNet('go/nethttp-static', ['get', url, '1'], plan([]));
    expect(fine.lines).toEqual(['get 0 ok 200 hello', 'done']);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('blackhole: the connect never completes and the program\'s own timeout fires', () => {
  const rule = { syscalls: ['connect'], addr, action: { blackhole: true as const } };

  it('Go net.DialTimeout (300 ms): "i/o timeout" at 300 ms', async () => {
    const r = await runNet('go/dial-static', [addr, '1', '300'], plan([rule]));
    expect(r.lines).toEqual([`connect ${addr} err TIMEDOUT dial tcp ${addr}: i/o timeout`]);
    within(r.ms[`connect ${addr}`], 300);
  });

  it('Go net/http client with a 300 ms dial timeout', async () => {
    const httpPort = await goHttpServer();
    const url = `http://127.0.0.1:${httpPort}/hello`;
    const r = await runNet('go/nethttp-static', ['get', url, '1', '2000', '300'], plan([{ ...rule, addr: `127.0.0.1:${httpPort}` }]));
    expect(r.lines).toEqual([`get 0 err TIMEDOUT Get "${url}": dial tcp 127.0.0.1:${httpPort}: i/o timeout`, 'done']);
    within(r.ms['get 0'], 300);
  });

  it.each(rustEngines)('tokio::time::timeout and TcpStream::connect_timeout (300 ms) under %s', async (engine) => {
    const tokio = await runNet('rust/tokio_client', [addr, '1', '300'], plan([rule]), engine);
    expect(tokio.lines).toEqual([`connect ${addr} err TIMEDOUT deadline has elapsed kind=TimedOut`]);
    within(tokio.ms[`connect ${addr}`], 300);
    const std = await runNet('rust/netclient', [addr, '1', '0', '300'], plan([rule]), engine);
    expect(std.lines).toEqual([`connect ${addr} err TIMEDOUT connection timed out kind=TimedOut`]);
    within(std.ms[`connect ${addr}`], 300);
    expect(std.result.faults.map((f) => f.action)).toEqual(['blackhole']);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('reset: ECONNRESET, then a dead connection, exactly as after a peer\'s RST', () => {
  /** A peer that resets the connection when it gets its second line (after answering the first). */
  async function resettingPeer() {
    return lineServer('127.0.0.1', (socket, index) => {
      if (index !== 1) return false;
      socket.resetAndDestroy();
      return true;
    });
  }
  // the first reply ("pong 0\n") is 7 bytes: the reset comes on the read after it, whatever the read calls
  const readReset = (a: string, syscalls: string[]) => ({ syscalls, addr: a, action: { reset: true as const, afterBytes: 7 } });
  const writeReset = (a: string, syscalls: string[]) => ({ syscalls, addr: a, after: 1, limit: 1, action: { reset: true as const } });

  it('Go: read reset mid-stream, then broken pipe and EOF; the peer sees the RST', async () => {
    const real = await resettingPeer();
    const realRun = await runNet('go/dial-static', [`127.0.0.1:${real.port}`, '3'], plan([]));
    const peer = await lineServer('127.0.0.1');
    const a = `127.0.0.1:${peer.port}`;
    const r = await runNet('go/dial-static', [a, '3'], plan([readReset(a, ['read'])]));
    expect(norm(r.lines)).toEqual([
      'connect <addr> ok',
      'send 0 ok',
      'recv 0 ok pong 0',
      'send 1 ok',
      'recv 1 err ECONNRESET read tcp <local>-><addr>: read: connection reset by peer',
      'send 2 err EPIPE write tcp <local>-><addr>: write: broken pipe',
      'recv 2 err EOF EOF',
      'done',
    ]);
    expect(norm(r.lines)).toEqual(norm(realRun.lines));
    await new Promise((res) => setTimeout(res, 50));
    expect(peer.errors).toEqual(['ECONNRESET']);
    expect(r.result.faults.map((f) => [f.syscall, f.action, f.target])).toEqual([['read', 'reset:after=7', a]]);
  });

  it('Go: write reset: "write: connection reset by peer", then EOF and broken pipe', async () => {
    const peer = await lineServer('127.0.0.1');
    const a = `127.0.0.1:${peer.port}`;
    const r = await runNet('go/dial-static', [a, '3'], plan([writeReset(a, ['write'])]));
    expect(norm(r.lines)).toEqual([
      'connect <addr> ok',
      'send 0 ok',
      'recv 0 ok pong 0',
      'send 1 err ECONNRESET write tcp <local>-><addr>: write: connection reset by peer',
      'recv 1 err EOF EOF',
      'send 2 err EPIPE write tcp <local>-><addr>: write: broken pipe',
      'recv 2 err EOF EOF',
      'done',
    ]);
  });

  it.each(rustEngines)('std::net and tokio under %s: ConnectionReset, then BrokenPipe and EOF, as with a real RST', async (engine) => {
    const real = await resettingPeer();
    for (const bin of ['rust/netclient', 'rust/tokio_client']) {
      const realRun = await runNet(bin, [`127.0.0.1:${real.port}`, '3'], plan([]), engine);
      const peer = await lineServer('127.0.0.1');
      const a = `127.0.0.1:${peer.port}`;
      const r = await runNet(bin, [a, '3'], plan([readReset(a, ['recvfrom'])]), engine);
      expect(norm(r.lines)).toEqual([
        'connect <addr> ok',
        'send 0 ok',
        'recv 0 ok pong 0',
        'send 1 ok',
        'recv 1 err ECONNRESET Connection reset by peer (os error 104) kind=ConnectionReset',
        'send 2 err EPIPE Broken pipe (os error 32) kind=BrokenPipe',
        'recv 2 err UNEXPECTEDEOF connection closed kind=UnexpectedEof',
        'done',
      ]);
      expect(norm(r.lines)).toEqual(norm(realRun.lines));
      await new Promise((res) => setTimeout(res, 50));
      expect(peer.errors).toEqual(['ECONNRESET']);
    }
  });

  it.each(rustEngines)('after N bytes (%s): the program reads exactly N bytes, then the reset', async (engine) => {
    // "pong 0\n" is 7 bytes: with afterBytes 10 the second reply is cut after "pon", then reset.
    const a = addr;
    const rule = { syscalls: ['recvfrom'], addr: a, action: { reset: true as const, afterBytes: 10 } };
    const r = await runNet('rust/netclient', [a, '3'], plan([rule]), engine);
    expect(r.lines.slice(0, 5)).toEqual([
      `connect ${a} ok`,
      'send 0 ok',
      'recv 0 ok pong 0',
      'send 1 ok',
      'recv 1 err ECONNRESET Connection reset by peer (os error 104) kind=ConnectionReset',
    ]);
    expect(r.result.faults.map((f) => f.action)).toEqual(['reset:after=10']);
    // the same against a peer that really sends those 10 bytes and resets
    const real = await lineServer('127.0.0.1', (socket, index) => {
      if (index !== 1) return false;
      socket.write('pon', () => socket.resetAndDestroy());
      return true;
    });
    const realRun = await runNet('rust/netclient', [`127.0.0.1:${real.port}`, '3'], plan([]), engine);
    expect(norm(r.lines)).toEqual(norm(realRun.lines));
  });

  it.each(rustEngines)('after N bytes with `after: 1` (%s): the call at N goes by, the next one resets, and the log says where', async (engine) => {
    // byte 10 is reached mid-reply ("pon" of "pong 1"): that call is let by, the reply completes (14 bytes), and
    // the next read resets; the fault log gives the offset the stream was cut at, not the rule's threshold
    const rule = { syscalls: ['recvfrom'], addr, after: 1, action: { reset: true as const, afterBytes: 10 } };
    const r = await runNet('rust/netclient', [addr, '3'], plan([rule]), engine);
    expect(r.lines.slice(0, 7)).toEqual([
      `connect ${addr} ok`,
      'send 0 ok',
      'recv 0 ok pong 0',
      'send 1 ok',
      'recv 1 ok pong 1',
      'send 2 ok',
      'recv 2 err ECONNRESET Connection reset by peer (os error 104) kind=ConnectionReset',
    ]);
    expect(r.result.faults.map((f) => f.action)).toEqual(['reset:after=14']);
  });

  it('Go: close (FIN) after N bytes: the program sees EOF mid-line', async () => {
    const rule = { syscalls: ['read'], addr, action: { close: true as const, afterBytes: 10 } };
    const r = await runNet('go/dial-static', [addr, '2'], plan([rule]));
    expect(norm(r.lines)).toEqual(['connect <addr> ok', 'send 0 ok', 'recv 0 ok pong 0', 'send 1 ok', 'recv 1 err EOF EOF', 'done']);
  });

  it.each(rustEngines)('accepted sockets (%s): a tokio server\'s reads from its peer are reset; the client sees the RST', async (engine) => {
    const { runFixtureBackground } = await backgroundRunner();
    const server = await runFixtureBackground('rust/tokio_server', ['0'], engine, [
      { syscalls: ['recvfrom'], addr: '127.0.0.0/8', limit: 1, action: { reset: true } },
    ]);
    const client = await new Promise<string>((resolve) => {
      const s = createConnectionTo(server.port);
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.on('data', () => resolve('data'));
      s.on('close', () => resolve('close'));
    });
    expect(client).toBe('ECONNRESET');
    await server.output(/^recv /m);
    const { lines, result } = await server.stop();
    expect(lines.find((l) => l.startsWith('recv '))).toMatch(/^recv 127\.0\.0\.1:\d+ err ECONNRESET Connection reset by peer \(os error 104\) kind=ConnectionReset$/);
    expect(result.faults.map((f) => [f.syscall, f.action])).toEqual([['recvfrom', 'reset']]);
    expect(result.faults[0]!.target).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

// ---------------------------------------------------------------------------------------------------------


describe('socket-read and socket-write match sockets only', () => {
  // The groups hold read and write, which files and pipes use too: a rule naming them gets fd socket.
  it.each(rustEngines)('socket-read=ECONNRESET under %s: read() of the socket fails, read() of a file does not', async (engine) => {
    const file = join(scratch(), 'data.txt');
    writeFileSync(file, 'hello\n');
    const { lines, result } = await runFixture('c/pollread', [String(port), file, 'read'], {
      engine,
      plan: plan([parseFault('socket-read=ECONNRESET')]),
      timeout: 20_000,
    });
    expect(lines).toEqual(['file ok 6', 'recv err ECONNRESET', 'recvs 1']);
    expect(result.counts.read!.faulted).toBe(1);
    if (engine === 'preload') expect(result.counts.read!.calls).toBe(2); // (seccomp also sees the loader's reads)
  });

  it.each(rustEngines)('socket-write=EPIPE under %s: send() fails, write() to a file leaves the same bytes as a bare run', async (engine) => {
    const sent = await runFixture('c/pollread', [String(port)], { engine, plan: plan([parseFault('socket-write=EPIPE')]) });
    expect(sent.result.counts.sendto).toEqual({ calls: 1, faulted: 1, delayed: 0 });
    const bare = scratch();
    execFileSync(fixture('c/cio'), [bare]);
    const dir = scratch();
    const { result } = await runFixture('c/cio', [dir], { engine, plan: plan([parseFault('socket-write=EPIPE')]) });
    expect(readFileSync(join(dir, 'c.bin'))).toEqual(readFileSync(join(bare, 'c.bin')));
    expect(result.counts.write!.calls).toBeGreaterThanOrEqual(1);
    // the only writes faulted are the transcript's, to stdout: the test runner's end of it is a socket (libuv);
    // under the preload engine stdio's own writes are glibc-internal and not seen at all
    for (const f of result.faults) expect(f.target).toMatch(/^socket:/);
  });

  it('the group implies fd socket; another fd kind, or a syscall that acts on files, contradicts it', () => {
    const rules = normalizePlan(plan([parseFault('socket-read=ECONNRESET'), { syscalls: ['socket-write', 'sendmsg'], action: { errno: 'EIO' } }, { syscalls: ['read'], action: { errno: 'EIO' } }])).rules;
    expect(rules.map((r) => r.fd)).toEqual(['socket', 'socket', 'any']);
    // a syscall that acts on files too would silently lose them in a sockets-only rule: it is an error instead
    expect(() => normalizePlan(plan([{ syscalls: ['socket-write', 'fsync'], action: { errno: 'EIO' } }]))).toThrow(
      'rules[0].syscalls: socket-write matches sockets only and cannot share a rule with fsync, which acts on files too: give fsync a rule of its own',
    );
    expect(() => normalizePlan(plan([{ syscalls: ['socket-read'], fd: 'file', action: { errno: 'EIO' } }]))).toThrow(
      'rules[0].fd: socket-read matches sockets only, got fd "file" (read-family and write-family match any descriptor)',
    );
  });
});

describe('a Go net/http server under faults, a plain Go client', () => {
  async function clientGet(url: string, count: number, timeoutMs: number): Promise<{ lines: string[]; ms: Record<string, number> }> {
    const out = await new Promise<string>((resolve) => {
      const child = spawnChild(fixture('go/nethttp-static'), ['get', url, String(count), String(timeoutMs)], {
        env: { ...process.env, FIXTURE_MS: '1' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.once('close', () => resolve(text));
    });
    const ms: Record<string, number> = {};
    const lines: string[] = [];
    for (const l of out.split('\n').filter((x) => x !== '')) {
      const m = /^ms (\S+) (\S+) (\d+)$/.exec(l);
      if (m) ms[`${m[1]} ${m[2]}`] = Number(m[3]);
      else lines.push(l);
    }
    return { lines, ms };
  }

  it('the server\'s read of the request is reset: the client sees "connection reset by peer"; then it serves again', async () => {
    const { runFixtureBackground } = await backgroundRunner();
    const server = await runFixtureBackground('go/nethttp-static', ['serve', '0'], 'seccomp', [
      // after the request's first byte: the client's connect is surely done, its read gets the reset
      { syscalls: ['read'], addr: '127.0.0.1', limit: 1, action: { reset: true, afterBytes: 1 } },
    ]);
    const url = `http://127.0.0.1:${server.port}/hello`;
    const { lines } = await clientGet(url, 2, 2000);
    expect(lines[0]).toMatch(new RegExp(`^get 0 err ECONNRESET Get "${url.replace(/[.?]/g, '\\$&')}": read tcp 127\\.0\\.0\\.1:\\d+->127\\.0\\.0\\.1:${server.port}: read: connection reset by peer$`));
    expect(lines.slice(1)).toEqual(['get 1 ok 200 hello', 'done']);
    const { result } = await server.stop();
    expect(result.faults.map((f) => [f.syscall, f.action])).toEqual([['read', 'reset:after=1']]);
  });

  it('the server reads the request 500 ms late: the client\'s Client.Timeout (100 ms) fires at 100 ms', async () => {
    const { runFixtureBackground } = await backgroundRunner();
    const server = await runFixtureBackground('go/nethttp-static', ['serve', '0'], 'seccomp', [
      { syscalls: ['read'], addr: '127.0.0.1', limit: 1, action: { delayMs: 500 } },
    ]);
    const url = `http://127.0.0.1:${server.port}/hello`;
    const { lines, ms } = await clientGet(url, 1, 100);
    expect(lines).toEqual([`get 0 err TIMEDOUT Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, 'done']);
    within(ms['get 0'], 100);
    await server.stop();
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('partial outage: a probability per address, reproducible by seed', () => {
  const outage = (a: string) => ({ syscalls: ['connect'], addr: a, probability: 0.5, action: { refuse: true as const } });
  const pattern = (r: NetRun, op: string) =>
    r.lines.filter((l) => l.startsWith(`${op} `)).map((l) => (/ ok/.test(l) ? 'ok' : 'refused')).join(' ');

  it('Go net/http, a new connection per request: some requests refused, the same ones for the same seed', async () => {
    const httpPort = await goHttpServer();
    const url = `http://127.0.0.1:${httpPort}/hello`;
    const args = ['get', url, '16', '2000', '1000', 'redial'];
    const a = await runNet('go/nethttp-static', args, plan([outage(`127.0.0.1:${httpPort}`)], 7));
    const b = await runNet('go/nethttp-static', args, plan([outage(`127.0.0.1:${httpPort}`)], 7));
    const c = await runNet('go/nethttp-static', args, plan([outage(`127.0.0.1:${httpPort}`)], 8));
    expect(pattern(a, 'get')).toEqual(pattern(b, 'get'));
    expect(pattern(a, 'get')).not.toEqual(pattern(c, 'get'));
    expect(pattern(a, 'get')).toContain('ok');
    expect(pattern(a, 'get')).toContain('refused');
    expect(a.lines.filter((l) => l.includes(' err '))).toEqual(
      a.lines.filter((l) => l.includes(' err ')).map((l) => l.replace(/^get (\d+) .*$/, `get $1 err ECONNREFUSED Get "${url}": dial tcp 127.0.0.1:${httpPort}: connect: connection refused`)),
    );
    expect(a.result.rules[0]).toEqual({ id: 'rule-0', matched: 16, fired: a.lines.filter((l) => l.includes(' err ')).length });
  });

  it('std::net under both engines: the same seed gives the same outage pattern, engine after engine', async () => {
    const args = [addr, '16', '0', '0', 'redial'];
    const runs = [];
    for (const engine of rustEngines) runs.push(await runNet('rust/netclient', args, plan([outage(addr)], 7), engine));
    expect(pattern(runs[0]!, 'connect')).toEqual(pattern(runs[1]!, 'connect'));
    expect(pattern(runs[0]!, 'connect')).toContain('refused');
    // and only that address: another one is untouched
    const other = await runNet('rust/netclient', [`[::1]:${echo6.port}`, '4', '0', '0', 'redial'], plan([outage(addr)], 7), 'preload');
    expect(pattern(other, 'connect')).toEqual('ok ok ok ok');
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('address scoping: connect\'s address and the peer of a connected socket, IPv4 and IPv6', () => {
  const v4 = addr;
  const v6 = `[::1]:${echo6.port}`;
  // [filter, matches the IPv4 peer, matches the IPv6 peer]
  const forms: [string, boolean, boolean][] = [
    [`127.0.0.1:${port}`, true, false], // host:port
    ['127.0.0.1', true, false], // host
    ['localhost', true, false],
    [`:${port}`, true, false], // :port (any host)
    [`:${echo6.port}`, false, true],
    ['127.0.0.0/8', true, false], // CIDR
    [`127.0.0.0/8:${port}`, true, false], // CIDR with a port
    ['10.0.0.0/8', false, false],
    ['127.0.0.1:1', false, false],
    [`[::1]:${echo6.port}`, false, true], // [v6]:port
    ['::1', false, true], // v6 host
    ['::/0', false, true], // every IPv6 address
    [`[::1]/128:${echo6.port}`, false, true],
    ['fd00::/8', false, false],
  ];

  it.each(rustEngines)('connect (%s): a refuse rule fires exactly for the addresses its filter names', async (engine) => {
    for (const [filter, m4, m6] of forms) {
      const rule = { syscalls: ['connect'], addr: filter, action: { refuse: true as const } };
      for (const [target, expected] of [[v4, m4], [v6, m6]] as const) {
        const r = await runNet('rust/netclient', [target, '1'], plan([rule]), engine);
        expect([filter, target, r.lines[0]]).toEqual([
          filter,
          target,
          expected ? `connect ${target} err ECONNREFUSED Connection refused (os error 111) kind=ConnectionRefused` : `connect ${target} ok`,
        ]);
      }
    }
  });

  it.each(rustEngines)('reads (%s): a reset rule fires for the peer of the connected socket', async (engine) => {
    for (const [filter, m4, m6] of forms) {
      const rule = { syscalls: ['recvfrom'], addr: filter, action: { reset: true as const } };
      for (const [target, expected] of [[v4, m4], [v6, m6]] as const) {
        const r = await runNet('rust/netclient', [target, '1'], plan([rule]), engine);
        expect([filter, target, r.lines[2]]).toEqual([
          filter,
          target,
          expected ? 'recv 0 err ECONNRESET Connection reset by peer (os error 104) kind=ConnectionReset' : 'recv 0 ok pong 0',
        ]);
        if (expected) expect(r.result.faults[0]!.target).toBe(target);
      }
    }
  });

  it('Go (seccomp): connect and read filters on IPv4 forms', async () => {
    for (const [filter, m4] of forms.filter(([, , m6]) => !m6)) {
      const rule = { syscalls: ['read'], addr: filter, action: { reset: true as const } };
      const r = await runNet('go/dial-static', [v4, '1'], plan([rule]));
      expect([filter, norm(r.lines)[2]]).toEqual([
        filter,
        m4 ? 'recv 0 err ECONNRESET read tcp <local>-><addr>: read: connection reset by peer' : 'recv 0 ok pong 0',
      ]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

/** A fixture server running under sysfault in the background until stop(). */
async function backgroundRunner() {
  const { spawn } = await import('../../src/index.js');
  return {
    async runFixtureBackground(name: string, args: string[], engine: Engine, rules: PlanInput['rules']) {
      const handle = spawn(fixture(name), args, { plan: plan(rules), engine, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
      let out = '';
      handle.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      const ended = new Promise<void>((resolve) => handle.stdout!.once('end', resolve));
      const serverPort = await new Promise<number>((resolve, reject) => {
        const check = () => {
          const m = /listening (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        };
        handle.stdout!.on('data', check);
        handle.result.then(() => reject(new Error(`server exited: ${out}`)), reject);
      });
      return {
        port: serverPort,
        /** Waits (up to 5 s) until the server has printed a line matching re. */
        async output(re: RegExp) {
          for (let i = 0; i < 500 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 10));
        },
        async stop() {
          handle.kill('SIGKILL');
          const result = await handle.result;
          await ended;
          return { lines: out.split('\n').filter((l) => l !== ''), result };
        },
      };
    },
  };
}

function createConnectionTo(p: number): Socket {
  const s = createConnection(p, '127.0.0.1', () => s.write('ping 0\n'));
  return s;
}
