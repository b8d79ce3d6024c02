// What the network tests share (network.test.ts, network-latency.test.ts): running a fixture with its timing lines
// split off, loopback servers (stopped after each test file), and the window a deadline must hold within.
import { createServer, type Server, type Socket } from 'node:net';
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { afterAll, expect } from 'vitest';
import type { Engine, RunResult } from '../../src/common/run-result.js';
import type { PlanInput } from '../../src/plan/schema.js';
import { fixture, runFixture } from '../helpers.js';

export const rustEngines: Engine[] = ['preload', 'seccomp'];
// Servers started by the tests, stopped after the file (afterAll inside a test would not run).
export const cleanups: (() => void | Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of cleanups) await stop();
});
export const WINDOW = 50; // ms: how far past a deadline (or a delay) an operation may end

export interface NetRun {
  lines: string[]; // the transcript, without the timing lines
  ms: Record<string, number>; // "<op> <label>" -> milliseconds the program measured
  endMs: Record<string, number>; // "<op> <label>" -> when it ended, in ms since the program started (where told)
  result: RunResult;
}

/** Runs a fixture with FIXTURE_MS=1 and splits its timing lines off. */
export async function runNet(name: string, args: string[], p: PlanInput, engine?: Engine, seed?: number): Promise<NetRun> {
  const { lines, result } = await runFixture(name, args, {
    plan: p,
    ...(engine ? { engine } : {}),
    ...(seed !== undefined ? { seed } : {}),
    env: { FIXTURE_MS: '1' },
    timeout: 20_000,
  });
  const ms: Record<string, number> = {};
  const endMs: Record<string, number> = {};
  const transcript: string[] = [];
  for (const line of lines) {
    const m = /^ms (\S+) (\S+) (\d+)(?: (\d+))?$/.exec(line);
    if (!m) transcript.push(line);
    else {
      ms[`${m[1]} ${m[2]}`] = Number(m[3]);
      if (m[4] !== undefined) endMs[`${m[1]} ${m[2]}`] = Number(m[4]);
    }
  }
  return { lines: transcript, ms, endMs, result };
}

/** Ports and local addresses vary from run to run. */
export function norm(lines: string[]): string[] {
  return lines.map((l) =>
    l
      .replace(/(?:127\.0\.0\.1|\[::1\]):\d+->/g, '<local>->')
      .replace(/127\.0\.0\.1:\d+/g, '<addr>')
      .replace(/\[::1\]:\d+/g, '<addr6>'),
  );
}

export function within(ms: number | undefined, target: number): void {
  expect(ms, 'the program measured this operation').toBeTypeOf('number');
  expect(ms!).toBeGreaterThanOrEqual(target - 2);
  expect(ms!).toBeLessThanOrEqual(target + WINDOW);
}

export async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const a = server.address();
  if (!a || typeof a === 'string') throw new Error('no port');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return a.port;
}

/** A line-echo server (`ping i` -> `pong i`) on host; `onLine` may answer instead (return true when it did). */
export async function lineServer(host: string, onLine?: (socket: Socket, index: number, line: string) => boolean) {
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let buffered = '';
    let index = 0;
    socket.setEncoding('utf8');
    socket.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    socket.on('data', (data: string) => {
      buffered += data;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0 && !socket.destroyed) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!onLine?.(socket, index++, line)) socket.write(`pong ${line.split(' ')[1] ?? ''}\n`);
      }
    });
  });
  const port = await listen(server, host);
  return { port, errors };
}

/** A Go net/http server (the fixture), not under sysfault. */
export async function goHttpServer(): Promise<number> {
  const child: ChildProcess = spawnChild(fixture('go/nethttp-static'), ['serve', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => void child.kill('SIGKILL'));
  return new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`nethttp serve exited: ${out}`)));
  });
}
