/**
 * One scenario run (one scenario, one seed): a fresh working directory from the snapshot, stressors, the
 * workload, the target under sysfault, the verify command, then every expectation checked (expect.ts). The
 * run's variables are put in once, before anything starts (variables.ts). The run directory (`work/` plus the
 * outputs, the result and the fault log) is kept when the run failed.
 *
 * Order: mkdtemp RUN/ -> copy the snapshot to RUN/work -> stressors -> [workload, if it has `ready`: wait for
 * its line] -> target -> [workload, after the target's `startAfter` line, or at once] -> target ends (the
 * workload is stopped; with `stopTarget` the workload's end stops the target) -> stressors stopped -> verify
 * (in RUN/work) -> checks -> keep or remove RUN/.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { detectEngine, resolveCommand } from '../run/engine.js';
import { seedForResult } from '../run/result.js';
import { spawn } from '../run/run.js';
import { formatSummary } from '../run/summary.js';
import { killGroupRemains, signalGroup } from '../run/terminate.js';
import type { EngineOption } from '../run/types.js';
import { CappedOutput } from '../common/child-output.js';
import { freePort } from '../common/ports.js';
import type { ExitInfo } from '../common/run-result.js';
import { firstLine } from '../common/text.js';
import { check, checkExpectations, describeLines } from './expect.js';
import type { ProcessOutcome, Scenario, ScenarioRunReport } from './types.js';
import { runInputs, type ScenarioRunInputs } from './variables.js';

/** Most bytes of each output stream kept (the rest is dropped and noted). */
export const OUTPUT_CAP = 1 << 20;

/** Options of one run. */
export interface RunOneOptions {
  seed: bigint;
  /** Timebox of the target (the scenario's timeoutMs unless overridden). */
  timeoutMs: number;
  /** Keep the run directory: 'failed' (default), 'all' or 'none'. */
  keep: 'failed' | 'all' | 'none';
  /** Where run directories are made. */
  tmpDir: string;
  rerun: string | null;
  /** Aborting ends the run (the reason's message names why). */
  signal: AbortSignal | undefined;
}

/** Runs one scenario with one seed. Never rejects: problems are reported as an error run. */
export async function runOne(s: Scenario, o: RunOneOptions): Promise<ScenarioRunReport> {
  const t0 = performance.now();
  const seed = seedForResult(o.seed);
  const report: ScenarioRunReport = {
    name: s.name,
    file: s.file ?? null,
    seed,
    passed: false,
    reason: '',
    error: false,
    durationMs: 0,
    engine: null,
    exit: null,
    timedOut: false,
    checks: [],
    faults: 0,
    keptDir: null,
    rerun: o.rerun,
    result: null,
    stdout: '',
    stderr: '',
    workload: null,
    verify: null,
  };
  let root: string | undefined;
  let problem: string | undefined;
  try {
    root = realpathSync(mkdtempSync(join(o.tmpDir, `sysfault-scenario-${slug(s.name)}-`)));
    const work = join(root, 'work');
    if (s.setup.snapshot) cpSync(s.setup.snapshot, work, { recursive: true, verbatimSymlinks: true });
    else mkdirSync(work);
    const vars = { workdir: work, port: String(await freePort()), seed: String(seed), scenarioDir: s.dir };
    problem = await execute(s, o, report, { root, work, ...runInputs(s, vars, process.env) });
  } catch (err) {
    problem = firstLine(err);
  }
  report.durationMs = round(performance.now() - t0);
  finish(s, report, problem, o.signal);
  if (root) {
    if (!report.passed || o.keep === 'all') {
      if (o.keep !== 'none') {
        keepArtifacts(root, report);
        report.keptDir = root;
      } else rmSync(root, { recursive: true, force: true });
    } else {
      rmSync(root, { recursive: true, force: true });
    }
  }
  return report;
}

/** One run's directories and what it starts, with the run's variables in place. */
interface Context extends ScenarioRunInputs {
  readonly root: string;
  readonly work: string;
}

/** Runs everything; fills in the report; returns a problem (error) if the run could not be carried out. */
async function execute(s: Scenario, o: RunOneOptions, report: ScenarioRunReport, c: Context): Promise<string | undefined> {
  o.signal?.throwIfAborted();
  const stressors = startStressors(s.setup.stressors, join(c.root, 'stress'));
  let workload: Helper | undefined;
  try {
    const w = c.workload;
    if (w?.ready) {
      workload = startHelper(w.command, c, w.durationMs);
      await waitForLine(workload.out, w.ready, w.readyTimeoutMs, workload.done, 'workload', o.signal);
    }
    let [command, ...args] = c.command as [string, ...string[]];
    let engine: EngineOption = s.engine;
    if (s.setup.limits) {
      if (engine === 'auto') engine = detectEngine(resolveCommand(command, c.env.PATH, c.work), c.env.PATH).engine;
      const prlimit = resolveCommand('prlimit', c.env.PATH, c.work);
      const { openFiles, addressSpaceMb } = s.setup.limits;
      const flags = [
        ...(openFiles === undefined ? [] : [`--nofile=${openFiles}:${openFiles}`]),
        ...(addressSpaceMb === undefined ? [] : [`--as=${addressSpaceMb * 1024 * 1024}:${addressSpaceMb * 1024 * 1024}`]),
      ];
      args = [...flags, '--', command, ...args];
      command = prlimit;
    }
    const handle = spawn(command, args, {
      plan: c.plan,
      seed: o.seed,
      engine,
      timeout: o.timeoutMs,
      env: c.env,
      extendEnv: false,
      cwd: c.work,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: o.signal,
    });
    report.engine = handle.engine;
    const out = new Capture(handle.stdout);
    const err = new Capture(handle.stderr);
    const over = handle.result.then(
      () => undefined,
      () => undefined,
    );
    if (w && !w.ready) {
      const start = async (): Promise<void> => {
        if (w.startAfter) await waitForLine(out, w.startAfter, w.readyTimeoutMs, over, 'target', o.signal);
        workload = startHelper(w.command, c, w.durationMs);
      };
      try {
        await start();
      } catch (e) {
        handle.kill('SIGKILL');
        await over;
        throw e;
      }
    }
    if (workload && w?.stopTarget) void workload.done.then(() => handle.kill('SIGTERM'));
    const result = await handle.result;
    await Promise.all([out.closed, err.closed]);
    report.result = result;
    report.exit = result.exit;
    report.timedOut = result.timedOut;
    report.faults = result.faults.length + result.dropped;
    report.stdout = out.text;
    report.stderr = err.text;
  } finally {
    if (workload) report.workload = await workload.stop();
    await stressors.stop();
  }
  if (c.verify && report.result && !report.result.aborted) {
    const v = c.verify;
    const helper = startHelper(v.command, c, v.timeoutMs);
    await helper.done;
    report.verify = await helper.stop();
  }
  return undefined;
}

/** Sets passed and reason: the run could not be carried out, was aborted, or is judged by its expectations. */
function finish(s: Scenario, r: ScenarioRunReport, problem: string | undefined, signal: AbortSignal | undefined): void {
  const checks = r.checks;
  const result = r.result;
  if (problem !== undefined || !result) {
    const aborted = signal?.aborted === true;
    r.error = !aborted;
    r.passed = false;
    r.reason = aborted ? `not finished: ${abortReason(signal)}` : `error: ${problem ?? 'the target did not run'}`;
    return;
  }
  if (result.aborted) {
    // Killed from outside (the catalogue's timebox): the expectations say nothing.
    checks.push(check('run', false, 'to finish', abortReason(signal)));
    r.passed = false;
    r.reason = checks[0]?.message ?? 'aborted';
    return;
  }
  checks.push(...checkExpectations(s, { result, stdout: r.stdout, stderr: r.stderr, faults: r.faults, workload: r.workload, verify: r.verify }));
  const failed = checks.filter((c) => !c.passed);
  r.passed = failed.length === 0;
  r.reason = r.passed ? `all ${checks.length} expectation${checks.length === 1 ? '' : 's'} met` : failed.map((c) => c.message).join('; ');
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
}

/** Collects a stream's text (up to OUTPUT_CAP) and announces each line. */
class Capture {
  readonly #output = new CappedOutput(OUTPUT_CAP);
  readonly closed: Promise<void>;
  #partial = '';
  #listeners = new Set<(line: string) => void>();

  constructor(stream: Readable | null) {
    if (!stream) {
      this.closed = Promise.resolve();
      return;
    }
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.#output.append(chunk);
      if (this.#listeners.size === 0) return;
      const parts = (this.#partial + chunk).split('\n');
      this.#partial = parts.pop() ?? '';
      for (const line of parts) for (const l of this.#listeners) l(line);
    });
    this.closed = new Promise((ok) => {
      stream.once('close', ok);
      stream.once('end', ok);
      stream.once('error', () => ok());
    });
  }

  get text(): string {
    return this.#output.text;
  }

  get truncated(): boolean {
    return this.#output.truncated;
  }

  /** Calls fn for each complete line, the ones already seen first. */
  onLine(fn: (line: string) => void): () => void {
    const seen = this.text.split('\n');
    this.#partial = seen.pop() ?? '';
    for (const line of seen) fn(line);
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}

/** Waits for a line matching `re`; rejects when `ended` settles first, on timeout, or on abort. */
function waitForLine(out: Capture, re: RegExp, timeoutMs: number, ended: Promise<unknown>, who: string, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((ok, fail) => {
    let done = false;
    let off: (() => void) | undefined;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off?.();
      signal?.removeEventListener('abort', onAbort);
      if (err) fail(err);
      else ok();
    };
    const timer = setTimeout(() => finish(new Error(`${who} printed no line matching ${re} within ${timeoutMs} ms (${describeLines(out.text.split('\n').filter(Boolean))})`)), timeoutMs);
    const onAbort = (): void => finish(new Error(abortReason(signal)));
    signal?.addEventListener('abort', onAbort);
    off = out.onLine((line) => {
      if (re.test(line)) finish();
    });
    if (done) off();
    void ended.then(() => finish(new Error(`${who} ended before printing a line matching ${re} (${describeLines(out.text.split('\n').filter(Boolean))})`)));
  });
}

/** A helper process (workload or verify) in its own process group. */
interface Helper {
  readonly out: Capture;
  /** Settles when it has exited. */
  readonly done: Promise<void>;
  /**
   * Stops it if still running (SIGTERM to its group, SIGKILL 1 s later), then SIGKILLs whatever is left in its
   * group, and reports how it went.
   */
  stop(): Promise<ProcessOutcome>;
}

function startHelper(command: string[], c: Context, limitMs: number | undefined): Helper {
  const [file, ...args] = command as [string, ...string[]];
  const child: ChildProcess = spawnChild(file, args, { cwd: c.work, env: c.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = new Capture(child.stdout);
  const err = new Capture(child.stderr);
  let exit: ExitInfo = { code: null, signal: null };
  let stopped = false;
  let spawnError: string | undefined;
  const done = new Promise<void>((ok) => {
    child.once('error', (e) => {
      spawnError = `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : e.message}`;
      ok();
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      ok();
    });
  });
  let exited = false;
  void done.then(() => (exited = true));
  const kill = (sig: NodeJS.Signals): void => {
    if (!exited) signalGroup(child.pid, sig);
  };
  const stopNow = (): void => {
    if (exited) return;
    stopped = true;
    kill('SIGTERM');
    setTimeout(() => kill('SIGKILL'), 1000).unref();
  };
  const timer = limitMs === undefined ? undefined : setTimeout(stopNow, limitMs);
  return {
    out,
    done,
    async stop() {
      stopNow();
      await done;
      if (timer) clearTimeout(timer);
      killGroupRemains(child); // a background process it left behind in its group
      await Promise.all([out.closed, err.closed]);
      if (spawnError) throw new Error(spawnError);
      return { command, exit, stopped, stdout: out.text, stderr: err.text };
    },
  };
}

/** CPU and I/O stressors: child Node processes named sysfault-stressor-cpu / sysfault-stressor-io. */
function startStressors(n: { cpu: number; io: number }, dir: string): { stop(): Promise<void> } {
  const children: ChildProcess[] = [];
  const spawnNode = (code: string, args: string[]): void => {
    children.push(spawnChild(process.execPath, ['-e', code, ...args], { stdio: 'ignore' }));
  };
  // Each one exits by itself if sysfault dies (its parent changes), so none is ever left spinning.
  const orphaned = 'const parent = process.ppid; const orphaned = () => process.ppid !== parent;';
  for (let i = 0; i < n.cpu; i++) spawnNode(`${orphaned} for (let i = 1; ; i++) if (i % 1e7 === 0 && orphaned()) process.exit();`, ['sysfault-stressor-cpu']);
  if (n.io > 0) mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n.io; i++) {
    // 1 MiB writes + fdatasync, cycling over a 64 MiB file.
    spawnNode(
      `${orphaned} const fs = require('fs'); const b = Buffer.alloc(1 << 20, 120); const fd = fs.openSync(process.argv[2], 'w');` +
        'for (let n = 0; !orphaned(); n++) { fs.writeSync(fd, b, 0, b.length, (n % 64) * b.length); fs.fdatasyncSync(fd); }',
      ['sysfault-stressor-io', join(dir, `io-${i}.bin`)],
    );
  }
  return {
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((ok) => {
              if (child.exitCode !== null || child.signalCode !== null) return ok();
              child.once('exit', () => ok());
              child.once('error', () => ok());
              child.kill('SIGKILL');
            }),
        ),
      );
      if (n.io > 0) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes the outputs, the result (with the fault log) and the report next to work/. */
function keepArtifacts(root: string, r: ScenarioRunReport): void {
  const write = (name: string, text: string): void => {
    try {
      writeFileSync(join(root, name), text);
    } catch {
      /* best effort */
    }
  };
  write('stdout.txt', r.stdout);
  write('stderr.txt', r.stderr);
  if (r.result) {
    write('result.json', `${JSON.stringify(r.result, null, 2)}\n`);
    write('summary.txt', `${formatSummary(r.result, Number.MAX_SAFE_INTEGER).join('\n')}\n`);
  }
  if (r.workload) {
    write('workload.stdout.txt', r.workload.stdout);
    write('workload.stderr.txt', r.workload.stderr);
  }
  if (r.verify) {
    write('verify.stdout.txt', r.verify.stdout);
    write('verify.stderr.txt', r.verify.stderr);
  }
  const { result: _result, stdout: _o, stderr: _e, workload: _w, verify: _v, ...rest } = r;
  write('report.json', `${JSON.stringify({ ...rest, keptDir: root }, null, 2)}\n`);
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'scenario';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
