/**
 * `sysfault demo`: a small journal program under a plan that shows each action, narrated.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nativeFile, requireBinding } from '../native/files.js';
import { spawn } from '../run/run.js';
import { sysfaultInvocation } from '../run/invocation.js';
import { describeExit, formatSummary, table } from '../run/summary.js';
import { parseCommandLine } from './args.js';
import type { PlanInput } from '../plan/schema.js';
import type { RunResult } from '../common/run-result.js';

/** `sysfault demo`. */
export async function demoCommand(argv: readonly string[]): Promise<number> {
  const line = parseCommandLine('demo', argv);
  if (line.printedHelp()) return 0;
  requireBinding();
  const demo = nativeFile('demo');
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysfault-demo-')));
  try {
    return await showDemo(demo, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true }); // the journal and the plan: nothing is left behind
  }
}

/** The demo in `dir`: its journal and its plan. */
async function showDemo(demo: string, dir: string): Promise<number> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const journal = `${dir}/*.log`;
  const plan = {
    version: 1,
    seed: 7,
    rules: [
      { id: 'refuse-peer', syscalls: ['connect'], addr: `127.0.0.1:${port}`, action: { errno: 'ECONNREFUSED' } },
      { id: 'torn-write', syscalls: ['write'], path: journal, after: 2, limit: 1, action: { short: 5 } },
      { id: 'slow-write', syscalls: ['write'], path: journal, limit: 1, action: { delayMs: 100 } },
      { id: 'kill-at-last-fsync', syscalls: ['fsync'], after: 4, limit: 1, action: { kill: 'SIGKILL' } },
      { id: 'fsync-eio', syscalls: ['fsync'], after: 1, limit: 1, action: { errno: 'EIO' } },
    ],
  } satisfies PlanInput;
  const planFile = join(dir, 'plan.json');
  writeFileSync(planFile, `${JSON.stringify(plan, null, 2)}\n`);

  // The narration shares stdout with the demo program, so the two interleave in order.
  const say = (line = ''): void => void process.stdout.write(`${line}\n`);
  say(`sysfault demo: a small journal program appends 5 records to ${dir}/journal.log`);
  say(`(write + fsync each) after connecting to a server listening on 127.0.0.1:${port}. The plan:`);
  for (const line of table(
    ['rule', 'on', 'does'],
    [
      ['refuse-peer', `connect to 127.0.0.1:${port}`, 'ECONNREFUSED, though the server is up'],
      ['torn-write', '3rd write to the journal', 'a short write of 5 bytes'],
      ['slow-write', '1st write to the journal', 'a 100 ms delay, then the write'],
      ['kill-at-last-fsync', '5th fsync', 'SIGKILL before the call: a crash'],
      ['fsync-eio', '2nd fsync', 'EIO'],
    ],
  )) {
    say(line);
  }
  say("Rules are checked in order; the first that fires acts. The program's own output:");

  let result: RunResult;
  try {
    const handle = spawn(demo, [dir, String(port)], { plan: planFile, engine: 'preload', stdio: ['ignore', 'pipe', 'inherit'] });
    const output = handle.stdout ? createInterface({ input: handle.stdout, crlfDelay: Infinity }) : undefined;
    output?.on('line', (line) => say(`  | ${line}`));
    const closed = output ? once(output, 'close') : Promise.resolve();
    result = await handle.result;
    await closed;
  } finally {
    server.close();
  }

  say();
  say('What sysfault injected:');
  for (const f of result.faults) {
    say(`  ${f.tMs.toFixed(1).padStart(8)} ms  ${f.syscall}${f.target ? ` ${f.target}` : ''} -> ${f.action}  (${f.rule})`);
  }
  say(`The program ended: ${describeExit(result)}. The same plan and seed give the same faults every run:`);
  say(`  ${sysfaultInvocation()} demo`);
  say();
  say(formatSummary(result).join('\n'));
  return 0;
}
