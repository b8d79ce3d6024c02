// Shared test helpers: run a fixture under sysfault and collect what the program itself printed.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
// @ts-expect-error plain ESM helper without types
import { fixture as fixturePath } from './fixtures/build.mjs';
import { spawn } from '../src/index.js';
import type { PlanInput } from '../src/plan/schema.js';
import type { RunOptions } from '../src/run/types.js';
import type { RunResult } from '../src/common/run-result.js';

export const fixture = fixturePath as (name: string) => string;

export interface Observed {
  result: RunResult;
  stdout: string;
  stderr: string;
  /** stdout split into lines, without the empty last one. */
  lines: string[];
}

/** Runs a fixture (by its build name, or an absolute path) under sysfault, capturing its output. */
export async function runFixture(name: string, args: string[], options: RunOptions = {}): Promise<Observed> {
  const command = name.startsWith('/') ? name : fixture(name);
  const handle = spawn(command, args, { timeout: 60_000, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  handle.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  handle.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // The result comes with the target's exit; its output may still be in the pipes: wait for both ends.
  const drained = [handle.stdout, handle.stderr].map((s) =>
    s ? new Promise<void>((resolve) => (s.readableEnded ? resolve() : s.once('end', resolve).once('close', resolve))) : undefined,
  );
  const result = await handle.result;
  await Promise.all(drained);
  return { result, stdout, stderr, lines: stdout.split('\n').filter((l) => l !== '') };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh private directory, removed after the file's tests. */
export function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'sysfault-test-'));
  dirs.push(d);
  return d;
}

/** A plan from rules, with a fixed seed unless given. */
export function plan(rules: PlanInput['rules'], seed = 1): PlanInput {
  return { version: 1, seed, rules };
}

/** A line-echo TCP server on 127.0.0.1 (ephemeral port) for the client fixtures. */
export async function echoServer(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      buffered += data;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        socket.write(`pong ${buffered.slice(0, nl).split(' ')[1] ?? ''}\n`);
        buffered = buffered.slice(nl + 1);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: address.port, server };
}

/** An unused loopback port (bound then released). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The parts of a fault list that must agree between runs and engines (pids and times never do). */
export function faultSignature(result: RunResult): string[] {
  return result.faults.map((f) => `${f.rule} ${f.syscall} ${f.action} ${f.target.replace(/^\/tmp\/sysfault-test-[^/]+\//, '<dir>/').replace(/^127\.0\.0\.1:\d+$/, '<addr>')}`);
}

/** What a CLI run printed and how it ended. */
export interface CliOutcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

const cliPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');

/** Runs `node dist/cli/main.js ARGS` (with SYSFAULT_DEBUG cleared, so no stack is ever printed; `env` added) and collects it. */
export function runCli(args: readonly string[], options: { cwd?: string; timeout?: number; env?: Record<string, string> } = {}): Promise<CliOutcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { cwd: options.cwd, timeout: options.timeout ?? 30_000, env: { ...process.env, SYSFAULT_DEBUG: '', ...options.env } },
      (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

/** The start time of a live process (field 22 of /proc/PID/stat), or undefined when it is gone or a zombie. */
export function liveStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}
