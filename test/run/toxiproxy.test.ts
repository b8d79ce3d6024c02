// docs/toxiproxy.md: every plan the page shows is a file in examples/network/ (the page's block and the file
// must agree), and each one runs, as written, against the test programs with the effect the page describes.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Engine, RunResult } from '../../src/common/run-result.js';
import { echoServer, fixture, runFixture } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const page = readFileSync(join(root, 'docs', 'toxiproxy.md'), 'utf8');
const examples = [...page.matchAll(/<!-- example: (\S+) -->\n```json\n([\s\S]*?)\n```/g)].map((m) => ({ file: m[1]!, text: m[2]! }));
const WINDOW = 50;

interface Seen {
  lines: string[];
  ms: Record<string, number>;
  result: RunResult;
}

async function run(file: string, name: string, args: string[], engine?: Engine): Promise<Seen> {
  const { lines, result } = await runFixture(name, args, {
    plan: join(root, file),
    ...(engine ? { engine } : {}),
    env: { FIXTURE_MS: '1' },
    timeout: 20_000,
  });
  const ms: Record<string, number> = {};
  for (const l of lines) {
    const m = /^ms (\S+) (\S+) (\d+)(?: \d+)?$/.exec(l);
    if (m) ms[`${m[1]} ${m[2]}`] = Number(m[3]);
  }
  return { lines: lines.filter((l) => !l.startsWith('ms ')), ms, result };
}

function near(ms: number | undefined, target: number): void {
  expect(ms).toBeTypeOf('number');
  expect(ms!).toBeGreaterThanOrEqual(target - 2);
  expect(ms!).toBeLessThanOrEqual(target + WINDOW);
}

const { port } = await echoServer();
const addr = `127.0.0.1:${port}`;

describe('docs/toxiproxy.md examples', () => {
  it('each example on the page is the file it names, and every file in examples/network/ is on the page', () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const { file, text } of examples) {
      expect(JSON.parse(text), file).toEqual(JSON.parse(readFileSync(join(root, file), 'utf8')));
    }
    const files = readdirSync(join(root, 'examples', 'network')).map((f) => `examples/network/${f}`);
    expect([...new Set(examples.map((e) => e.file))].sort()).toEqual(files.sort());
  });

  const checks: Record<string, () => Promise<void>> = {
    'examples/network/latency.json': async () => {
      for (const [bin, engine] of [['rust/tokio_client', 'preload'], ['go/dial-static', undefined]] as const) {
        const r = await run('examples/network/latency.json', bin, [addr, '2', ...(bin.startsWith('go') ? [] : ['2000'])], engine);
        expect(r.lines.filter((l) => l.startsWith('recv'))).toEqual(['recv 0 ok pong 0', 'recv 1 ok pong 1']);
        const delays = r.result.faults.map((f) => Number(/^delay:(\d+)ms$/.exec(f.action)![1]));
        expect(delays.length).toBe(2);
        for (const [i, d] of delays.entries()) {
          expect(d).toBeGreaterThanOrEqual(450);
          expect(d).toBeLessThanOrEqual(550);
          near(r.ms[`recv ${i}`], d);
        }
      }
    },
    'examples/network/timeout.json': async () => {
      const r = await run('examples/network/timeout.json', 'rust/netclient', [addr, '1'], 'seccomp');
      expect(r.lines).toEqual([`connect ${addr} ok`, 'send 0 ok', 'recv 0 err UNEXPECTEDEOF connection closed kind=UnexpectedEof', 'done']);
      near(r.ms['recv 0'], 300);
    },
    'examples/network/timeout-silent.json': async () => {
      const r = await run('examples/network/timeout-silent.json', 'rust/tokio_client', [addr, '1', '200'], 'preload');
      expect(r.lines).toEqual([`connect ${addr} ok`, 'send 0 ok', 'recv 0 err TIMEDOUT deadline has elapsed kind=TimedOut', 'done']);
      near(r.ms['recv 0'], 200);
    },
    'examples/network/timeout-connect.json': async () => {
      const r = await run('examples/network/timeout-connect.json', 'go/dial-static', [addr, '1', '200']);
      expect(r.lines).toEqual([`connect ${addr} err TIMEDOUT dial tcp ${addr}: i/o timeout`]);
      near(r.ms[`connect ${addr}`], 200);
    },
    'examples/network/reset-peer.json': async () => {
      const r = await run('examples/network/reset-peer.json', 'go/dial-static', [addr, '1']);
      expect(r.lines[2]).toMatch(/^recv 0 err ECONNRESET read tcp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: read: connection reset by peer$/);
    },
    'examples/network/reset-peer-after.json': async () => {
      for (const engine of ['preload', 'seccomp'] as const) {
        const r = await run('examples/network/reset-peer-after.json', 'rust/tokio_client', [addr, '1'], engine);
        expect(r.lines).toEqual([`connect ${addr} ok`, 'send 0 ok', 'recv 0 err ECONNRESET Connection reset by peer (os error 104) kind=ConnectionReset', 'done']);
        near(r.ms['recv 0'], 300);
      }
    },
    'examples/network/slicer.json': async () => {
      const r = await run('examples/network/slicer.json', 'rust/netclient', [addr, '3'], 'preload');
      expect(r.lines).toEqual([`connect ${addr} ok`, 'send 0 ok', 'recv 0 ok pong 0', 'send 1 ok', 'recv 1 ok pong 1', 'send 2 ok', 'recv 2 ok pong 2', 'done']);
      expect(r.result.counts.recvfrom!.faulted).toBeGreaterThanOrEqual(12); // 3 replies of 7 bytes, 2 at a time
    },
    'examples/network/limit-data.json': async () => {
      // 10 bytes: "pong 0\n" and "pon", then EOF (read_line returns the partial line at EOF)
      for (const engine of ['preload', 'seccomp'] as const) {
        const r = await run('examples/network/limit-data.json', 'rust/netclient', [addr, '3'], engine);
        expect(r.lines).toEqual([
          `connect ${addr} ok`,
          'send 0 ok',
          'recv 0 ok pong 0',
          'send 1 ok',
          'recv 1 ok pon',
          'send 2 err EPIPE Broken pipe (os error 32) kind=BrokenPipe',
          'recv 2 err UNEXPECTEDEOF connection closed kind=UnexpectedEof',
          'done',
        ]);
      }
    },
    'examples/network/bandwidth-approx.json': async () => {
      const r = await run('examples/network/bandwidth-approx.json', 'go/dial-static', [addr, '3']);
      expect(r.lines.filter((l) => l.startsWith('recv'))).toEqual(['recv 0 ok pong 0', 'recv 1 ok pong 1', 'recv 2 ok pong 2']);
      for (const i of [0, 1, 2]) near(r.ms[`recv ${i}`], 100);
    },
    'examples/network/outage.json': async () => {
      const patterns: string[] = [];
      for (const engine of ['preload', 'seccomp'] as const) {
        const r = await run('examples/network/outage.json', 'rust/netclient', [addr, '12', '0', '0', 'redial'], engine);
        patterns.push(r.lines.filter((l) => l.startsWith('connect ')).map((l) => (l.includes(' ok') ? 'up' : 'down')).join(' '));
        for (const l of r.lines.filter((x) => x.startsWith('connect ') && !x.includes(' ok')))
          expect(l).toMatch(/^connect \d+ err ECONNREFUSED Connection refused \(os error 111\) kind=ConnectionRefused$/);
      }
      expect(patterns[0]).toEqual(patterns[1]);
      expect(patterns[0]).toContain('up');
      expect(patterns[0]).toContain('down');
    },
  };

  it.each(examples.map((e) => e.file).filter((f, i, all) => all.indexOf(f) === i))('%s runs as the page says', async (file) => {
    const check = checks[file];
    expect(check, `a check for ${file}`).toBeDefined();
    await check!();
  });

  it('runs from the command line as shown', async () => {
    const cli = join(root, 'dist', 'cli', 'main.js');
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'run', '--plan', 'examples/network/reset-peer.json', '--', fixture('go/dial-static'), addr, '1'], {
      cwd: root,
    }).catch((e: { stdout: string; code: number }) => ({ stdout: e.stdout, code: e.code }));
    expect(stdout).toMatch(/recv 0 err ECONNRESET .*connection reset by peer/);
  });
});
