/**
 * Crash sweeps (the CLI contract is DESIGN.md "Crash sweep", docs/crash-consistency.md the guide).
 *
 * A clean run counts the chosen calls (N). Then each crash point k (1..N, or a seeded sample) runs the command
 * in a fresh working directory (a copy of the snapshot, or empty), kills it (SIGKILL) at the k-th chosen call
 * before that call happens, applies the power cut to the files the powercut glob covers (everything they got
 * since their last sync is lost), and runs the verify command in that same directory: exit 0 means the state
 * the crash left is one the program recovers from.
 */
import { spawn as spawnChild } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CommandError, EngineError, UsageError } from '../common/errors.js';
import { checkGlob } from '../plan/glob.js';
import { spawn } from '../run/run.js';
import { launchWith, prepareLaunch, type PreparedLaunch } from '../run/launch.js';
import { sysfaultInvocation } from '../run/invocation.js';
import { CappedOutput } from '../common/child-output.js';
import { shellQuote } from '../common/shell.js';
import { firstLine, tailLines } from '../common/text.js';
import { signalGroup } from '../run/terminate.js';
import { expandSyscalls, syscallTable } from '../plan/syscalls.js';
import type { EngineOption } from '../run/types.js';
import type { ExitInfo, FaultRecord, PowercutReport, RunResult, RunWarning } from '../common/run-result.js';
import type { StateReport } from './explain.js';
import type { FsModel, FsModelName } from '../run/fs-models.js';
import { verifyPointStates } from './point-states.js';
import { checkStateOptions } from './state-options.js';
import { seededPick } from './seeded.js';
import { checkShard, shareOf, type Shard, type ShardRecord } from '../common/shard.js';

/** Options of {@link crashSweep}. */
export interface CrashSweepOptions {
  /** The program (a path, or a name looked up in PATH; a relative path is taken from the current directory). */
  command: string;
  args?: readonly string[] | undefined;
  /**
   * The verify (recovery) command, run in the point's working directory once the crashed run is over: a shell
   * command line (run by /bin/sh -c) or an argv array. Exit 0: the point is consistent. Its environment adds
   * SYSFAULT_SWEEP_POINT (k), SYSFAULT_SWEEP_STDOUT and SYSFAULT_SWEEP_STDERR (files holding what the crashed
   * run printed) and SYSFAULT_SWEEP_DIR (the working directory).
   */
  verify: string | readonly string[];
  /** The calls crash points are taken at (syscall or group names). Default ['fsync']. */
  calls?: readonly string[] | undefined;
  /** Cut the power at each crash point: files matching the glob lose what was never synced. */
  powercut?: string | { glob: string; fsyncFailureDropsDirty?: boolean | undefined } | undefined;
  /** Additive: the file-system model of the power cut and the crash states (src/run/fs-models.ts). Default 'posix'. */
  fs?: FsModelName | undefined;
  /**
   * Additive: crash states verified at each point besides the pessimistic one (with powercut): up to this many
   * of those the model allows, chosen by the seed, or 'all' (up to 1024). Default 0.
   */
  states?: number | 'all' | undefined;
  /** Additive: the block size torn writes and reordered blocks are cut at. Default 4096. */
  block?: number | undefined;
  /** Additive: with `point`, verify only this crash state (a failure's replay; 0 is the pessimistic one). */
  state?: number | undefined;
  /**
   * Additive: 'tree' (default) stops every process of the run at the crash point, then kills them all (a
   * machine crash); 'process' kills only the process making the call, the rest of the tree runs on (a worker
   * dies: a different test).
   */
  crash?: 'tree' | 'process' | undefined;
  /** Each working directory starts as a copy of this directory (default: empty). */
  snapshot?: string | undefined;
  /** Try at most this many points, chosen by the seed (default: every point). */
  sample?: number | undefined;
  /** Seed of the sample (and of the runs). Default: random, reported. */
  seed?: number | bigint | string | undefined;
  /** Points run at once (default: min(4, CPUs)). */
  jobs?: number | undefined;
  engine?: EngineOption | undefined;
  /** Per run and per verify, in milliseconds (default 60000). */
  timeout?: number | undefined;
  /** Extra environment of the runs and the verify command. */
  env?: Readonly<Record<string, string>> | undefined;
  /** Only this crash point (a failure's replay does this); its working directory is kept. */
  point?: number | undefined;
  /** Run only this shard's share of the points (`K/N`); needs `seed`, so that every shard takes the same sample. */
  shard?: string | { index: number; total: number } | undefined;
  /** Keep the working directories (default: only with `point`). */
  keep?: boolean | undefined;
  /** Progress events. */
  onProgress?: ((event: SweepProgress) => void) | undefined;
  /** Aborting stops the sweep (the runs in progress are killed); crashSweep rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** A progress event of {@link crashSweep}. */
export type SweepProgress =
  | { type: 'counted'; points: number; total: number }
  | { type: 'point'; point: number; ok: boolean; done: number; total: number; failed: number };

/** A crash point whose verify failed. */
export interface SweepFailure {
  point: number;
  /** The verify command's exit code (null when a signal or the timeout ended it). */
  verifyExit: number | null;
  /** Its stdout and stderr, interleaved (at most 64 KiB). */
  verifyOutput: string;
  /** One command that reruns this point (crash, power cut, verify), to paste in a shell. */
  replay: string;
  /** Additive: the crashed run's fault log (the kill at this point). */
  faults: FaultRecord[];
  /** Additive: how the crashed run ended. */
  exit: ExitInfo;
  /** Additive: the kill happened (false: the run ended before reaching the k-th call). */
  crashed: boolean;
  /** Additive: what the power cut did. */
  powercut?: PowercutReport;
  /** Additive: the working directory, when kept. */
  dir?: string;
  /** Additive (with powercut): the crash state that failed, and why, reduced to its smallest failing part. */
  state?: StateReport;
  explanation?: string;
}

/** What a sweep found (the `--json` document). */
export interface SweepReport {
  version: 1;
  /** Crash points: the chosen calls in the clean run. */
  points: number;
  /** Points tried. */
  tried: number;
  failed: SweepFailure[];
  /** Additive. */
  seed: number | string;
  calls: string[];
  durationMs: number;
  /** Additive: the file-system model. */
  fs: FsModelName;
  /** Additive: crash states verified in all (each point's pessimistic state counts one). */
  states: number;
  /** Additive: the runs' warnings (RunResult.warnings), one per code, naming the points that had it. */
  warnings: SweepWarning[];
  /** Additive: the swept command (absolute path, then its arguments), the verify command, the sample asked for. */
  command: string[];
  verify: string | string[];
  sample?: number;
  /** Additive, only in a shard's report: which shard, of how many points in all (`sysfault sweep merge`). */
  shard?: ShardRecord;
}

/** A sweep's warning: one code's run warning, and the points whose runs had it (in order). */
export interface SweepWarning extends RunWarning {
  /** Additive: the points, also named at the end of the message. */
  points: number[];
}

/**
 * A sweep's warnings from each code's first message and its points: the points sorted and named in the
 * message, the warnings in the order of their first point (so a sweep and its merged shards list them alike).
 */
export function sweepWarnings(found: readonly { code: string; message: string; points: readonly number[] }[]): SweepWarning[] {
  return found
    .map(({ code, message, points }) => {
      const sorted = [...points].sort((a, b) => a - b);
      return { code, message: `${message} (point ${sorted.join(', ')})`, points: sorted };
    })
    .sort((a, b) => (a.points[0] ?? 0) - (b.points[0] ?? 0));
}

const VERIFY_OUTPUT_MAX = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Runs a crash sweep. Resolves to the report (a failed point is a finding, not an error).
 * @throws UsageError (bad options), EngineError (the clean run failed, or its verify did), other SysfaultErrors
 *   from the runs; all exit 125 in the CLI.
 */
export async function crashSweep(options: CrashSweepOptions): Promise<SweepReport> {
  const started = performance.now();
  const o = checkSweepOptions(options);
  const base = mkdtempSync(join(tmpdir(), 'sysfault-sweep-'));
  let keepBase = false;
  try {
    // 1. the clean run: how many chosen calls
    const clean = await runPoint(o, base, 0);
    if (clean.result.exit.code !== 0) {
      throw new EngineError(
        `the clean run (no crash) failed: ${clean.result.exit.signal ? `signal ${clean.result.exit.signal}` : `exit ${String(clean.result.exit.code)}`}${tail(clean.stderr)}`,
      );
    }
    const cleanVerify = await runVerify(o, clean.work, 0, clean.stdoutFile, clean.stderrFile);
    if (cleanVerify.exit !== 0) {
      throw new EngineError(
        `the verify command fails after a clean run (no crash): exit ${String(cleanVerify.exit)}${tail(cleanVerify.output)}`,
      );
    }
    const total = clean.result.rules[0]?.matched ?? 0;
    if (total === 0) {
      // Nothing to crash at passes nothing: say what the program called instead (the run's own warning).
      const warning = clean.result.warnings.find((w) => w.code === 'rule-matched-nothing');
      const why = warning ? warning.message.replace(/^rule \S+ matched nothing: /, '') : `no ${o.calls.join(', ')} call`;
      throw new UsageError(`no crash points: in the clean run, ${why} (choose the calls it makes with --calls)`, {
        field: 'calls',
        value: o.calls,
      });
    }
    if (o.point !== undefined && o.point > total) {
      throw new UsageError(`--point: the clean run makes ${total} chosen calls, there is no point ${o.point}`, {
        field: 'point',
        value: o.point,
      });
    }
    if (!o.keep) rmSync(join(base, 'point-0'), { recursive: true, force: true });
    const selected = o.point !== undefined ? [o.point] : samplePoints(total, o.sample, o.seed);
    const points = o.shard ? shareOf(selected, o.shard) : selected;
    o.onProgress?.({ type: 'counted', points: total, total: points.length });

    // 2. every point, `jobs` at a time
    const failed: SweepFailure[] = [];
    let states = 0;
    const warned = new Map<string, { message: string; points: number[] }>();
    let done = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < points.length) {
        o.signal?.throwIfAborted();
        const k = points[next++] as number;
        const run = await runPoint(o, base, k);
        for (const w of run.result.warnings) {
          let seen = warned.get(w.code);
          if (!seen) warned.set(w.code, (seen = { message: w.message, points: [] }));
          seen.points.push(k);
        }
        const verified = await verifyPoint(o, base, k, run);
        states += verified.states;
        const ok = verified.failures.length === 0;
        for (const f of verified.failures) {
          const failure: SweepFailure = {
            point: k,
            verifyExit: f.verify.exit,
            verifyOutput: f.verify.output,
            replay: replayCommand(o, k, f.state?.index),
            faults: run.result.faults,
            exit: run.result.exit,
            crashed: (run.result.rules[0]?.fired ?? 0) > 0,
          };
          if (verified.powercut) failure.powercut = verified.powercut;
          if (o.keep) failure.dir = f.dir;
          if (f.state) failure.state = f.state;
          if (f.explanation) failure.explanation = f.explanation;
          failed.push(failure);
        }
        if (!o.keep) rmSync(join(base, `point-${k}`), { recursive: true, force: true });
        done++;
        o.onProgress?.({ type: 'point', point: k, ok, done, total: points.length, failed: failed.length });
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.jobs, points.length) }, worker));
    failed.sort((a, b) => a.point - b.point || (a.state?.index ?? 0) - (b.state?.index ?? 0));
    keepBase = o.keep;
    return {
      version: 1,
      points: total,
      tried: points.length,
      failed,
      seed: o.seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(o.seed) : o.seed.toString(),
      calls: o.calls,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      fs: o.fs.name,
      states,
      warnings: sweepWarnings([...warned].map(([code, w]) => ({ code, message: w.message, points: w.points }))),
      command: [o.command, ...o.args],
      verify: typeof o.verify === 'string' ? o.verify : [...o.verify],
      ...(o.sample !== undefined && { sample: o.sample }),
      ...(o.shard && { shard: { index: o.shard.index, total: o.shard.total, of: selected.length } }),
    };
  } finally {
    if (!keepBase) rmSync(base, { recursive: true, force: true });
  }
}

/** Options after checking. */
interface Sweep {
  /** The one launch every run of the sweep is made from (command resolved, engine chosen, seed parsed). */
  launch: PreparedLaunch;
  command: string; // absolute
  args: string[];
  verify: string | readonly string[];
  calls: string[];
  glob: string | undefined;
  dropDirty: boolean;
  snapshot: string | undefined; // absolute
  sample: number | undefined;
  seed: bigint;
  jobs: number;
  engine: EngineOption | undefined;
  timeout: number;
  env: Record<string, string>;
  point: number | undefined;
  shard: Shard | undefined;
  keep: boolean;
  fs: FsModel;
  states: number;
  block: number;
  state: number | undefined;
  crash: 'tree' | 'process';
  onProgress: CrashSweepOptions['onProgress'];
  signal: AbortSignal | undefined;
}

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${name}: expected a positive integer, got ${JSON.stringify(value)}`, { field: name, value });
  }
  return value;
}

function checkSweepOptions(options: CrashSweepOptions): Sweep {
  if (typeof options !== 'object' || options === null) throw new UsageError('crashSweep: expected an options object');
  const { command } = options;
  if (typeof command !== 'string' || command === '') throw new UsageError('command: expected a command', { field: 'command', value: command });
  const args = [...(options.args ?? [])];
  if (!args.every((a) => typeof a === 'string')) throw new UsageError('args: expected an array of strings', { field: 'args', value: args });
  const env: Record<string, string> = { ...options.env };
  const verify = options.verify;
  if (!(typeof verify === 'string' && verify.trim() !== '') && !(Array.isArray(verify) && verify.length > 0 && verify.every((a) => typeof a === 'string'))) {
    throw new UsageError('verify: expected a command line or an argv array', { field: 'verify', value: verify });
  }
  const calls = expandSyscalls(options.calls ?? ['fsync'], syscallTable());
  if ('unknown' in calls) {
    throw new UsageError(`calls: unknown syscall ${JSON.stringify(calls.unknown)}`, { field: 'calls', value: options.calls });
  }
  if (calls.syscalls.length === 0) throw new UsageError('calls: expected at least one syscall', { field: 'calls', value: options.calls });
  let glob: string | undefined;
  let dropDirty = false;
  if (options.powercut !== undefined) {
    const p = typeof options.powercut === 'string' ? { glob: options.powercut } : options.powercut;
    const problem = typeof p.glob === 'string' ? checkGlob(p.glob) : 'expected a glob';
    if (problem) throw new UsageError(`powercut: bad glob ${JSON.stringify(p.glob)}: ${problem}`, { field: 'powercut', value: p.glob });
    glob = p.glob;
    dropDirty = p.fsyncFailureDropsDirty === true;
  }
  let snapshot: string | undefined;
  if (options.snapshot !== undefined) {
    try {
      snapshot = realpathSync(resolve(options.snapshot));
      if (!statSync(snapshot).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new UsageError(`snapshot: no such directory ${JSON.stringify(options.snapshot)}`, { field: 'snapshot', value: options.snapshot });
    }
  }
  const sample = options.sample === undefined ? undefined : positiveInt('sample', options.sample);
  const point = options.point === undefined ? undefined : positiveInt('point', options.point);
  const shard = options.shard === undefined ? undefined : checkShard(options.shard);
  if (shard && point !== undefined) throw new UsageError('shard: cannot be combined with point', { field: 'shard', value: options.shard });
  if (shard && options.seed === undefined) {
    throw new UsageError('shard: needs a seed (every shard must take the same sample and report the same seed)', { field: 'shard', value: options.shard });
  }
  const jobs = options.jobs === undefined ? Math.max(1, Math.min(4, availableParallelism())) : positiveInt('jobs', options.jobs);
  const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT_MS : positiveInt('timeout', options.timeout);
  const engine = options.engine;
  const states = checkStateOptions(options, glob, point);
  const launch = prepareSweepLaunch(command, args, {
    seed: options.seed ?? BigInt(Math.floor(Math.random() * 2 ** 53)),
    ...(engine !== undefined && { engine }),
    env,
    timeout,
    ...(options.signal && { signal: options.signal }),
    ...(glob !== undefined && { powercut: { glob, fs: states.fs.name, fsyncFailureDropsDirty: dropDirty } }),
  });
  const seed = launch.seed;
  return {
    ...states,
    launch,
    command: launch.executable,
    args,
    verify,
    calls: calls.syscalls,
    glob,
    dropDirty,
    snapshot,
    sample,
    seed,
    jobs,
    engine,
    timeout,
    env,
    point,
    shard,
    keep: options.keep ?? point !== undefined,
    onProgress: options.onProgress,
    signal: options.signal,
  };
}

/**
 * The sweep's one launch, checked as run() checks it and in its words; a command not found or not executable
 * is a usage error here (exit 125: the sweep did not run, whatever the command's own status would be).
 */
function prepareSweepLaunch(command: string, args: readonly string[], options: Parameters<typeof prepareLaunch>[2]): PreparedLaunch {
  try {
    return prepareLaunch(command, args, options);
  } catch (err) {
    if (err instanceof CommandError) throw new UsageError(err.message, { field: 'command', value: command });
    throw err;
  }
}

/** The seeded sample of crash points (ascending), or all of 1..n. */
export function samplePoints(n: number, sample: number | undefined, seed: bigint): number[] {
  const all = Array.from({ length: n }, (_, i) => i + 1);
  if (sample === undefined || sample >= n) return all;
  return seededPick(all, sample, seed).sort((a, b) => a - b);
}

interface PointRun {
  work: string;
  result: RunResult;
  stdoutFile: string;
  stderrFile: string;
  stderr: string;
}

/** Point 0 is the clean run (counting); point k > 0 is killed at the k-th chosen call. */
async function runPoint(o: Sweep, base: string, k: number): Promise<PointRun> {
  const dir = join(base, `point-${k}`);
  const work = join(dir, 'work');
  mkdirSync(dir);
  if (o.snapshot) cpSync(o.snapshot, work, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  else mkdirSync(work);
  const stdoutFile = join(dir, 'stdout');
  const stderrFile = join(dir, 'stderr');
  const out = openSync(stdoutFile, 'w');
  const err = openSync(stderrFile, 'w');
  const rule =
    k === 0
      ? { id: 'count', syscalls: o.calls, limit: 0, action: { kill: 'SIGKILL' } }
      : { id: `crash-at-${k}`, syscalls: o.calls, after: k - 1, limit: 1, action: { kill: 'SIGKILL', scope: o.crash } };
  let result: RunResult;
  try {
    const handle = spawn(
      launchWith(o.launch, {
        faults: [rule],
        cwd: work,
        stdio: ['ignore', out, err],
        ...(o.glob !== undefined && {
        powercut: {
          glob: o.glob,
          root: work,
          fs: o.fs.name,
          fsyncFailureDropsDirty: o.dropDirty,
            ...(k > 0 && { shadowDir: ownShadowDir(dir) }),
          },
        }),
      }),
    );
    result = await handle.result;
  } finally {
    closeSync(out);
    closeSync(err);
  }
  o.signal?.throwIfAborted();
  return { work, result, stdoutFile, stderrFile, stderr: readFileSync(stderrFile, 'utf8') };
}

/** A point's shadow directory (the sweep applies its power cut and builds its crash states from it). */
function ownShadowDir(pointDir: string): string {
  const shadow = join(pointDir, 'shadow');
  mkdirSync(shadow, { mode: 0o700 });
  return shadow;
}

const SETSID = ['/usr/bin/setsid', '/bin/setsid'].find((path) => existsSync(path));

/** Runs the verify command in work; its exit code (null: signal or timeout) and output. */
function runVerify(o: Sweep, work: string, k: number, stdoutFile: string, stderrFile: string): Promise<{ exit: number | null; output: string }> {
  const [cmd, ...argv] = typeof o.verify === 'string' ? ['/bin/sh', '-c', o.verify] : o.verify;
  // Its own process group (killed whole on timeout): setsid(1) when there is one, which spawns as fast as any
  // command; Node's `detached` forks the whole Node process instead (measured: 4-10 ms more per verify).
  const [file, args] = SETSID ? [SETSID, [cmd as string, ...argv]] : [cmd as string, argv];
  return new Promise((resolvePromise, reject) => {
    const child = spawnChild(file, args, {
      cwd: work,
      env: {
        ...process.env,
        ...o.env,
        SYSFAULT_SWEEP_POINT: String(k),
        SYSFAULT_SWEEP_STDOUT: stdoutFile,
        SYSFAULT_SWEEP_STDERR: stderrFile,
        SYSFAULT_SWEEP_DIR: work,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: SETSID === undefined,
    });
    const output = new CappedOutput(VERIFY_OUTPUT_MAX);
    const collect = (chunk: Buffer): void => output.append(chunk);
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), o.timeout);
    const onAbort = (): void => {
      signalGroup(child.pid, 'SIGKILL');
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new UsageError(`verify: cannot run ${JSON.stringify(cmd)}: ${firstLine(e)}`, { field: 'verify', value: o.verify }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      resolvePromise({ exit: code, output: output.text });
    });
  });
}

/** `: last | three | lines` of a program's output, or ''. */
function tail(text: string): string {
  const lines = tailLines(text, 3, false);
  return lines.length ? `: ${lines.join(' | ')}` : '';
}

/**
 * The pessimistic state of point k, and its further crash states with powercut (src/sweep/point-states.ts):
 * how many states were verified, the failures.
 */
async function verifyPoint(o: Sweep, base: string, k: number, run: PointRun) {
  const verify = (dir: string) => runVerify(o, dir, k, run.stdoutFile, run.stderrFile);
  if (o.glob === undefined) {
    const v = await verify(run.work);
    return { states: 1, powercut: undefined, failures: v.exit === 0 ? [] : [{ verify: v, dir: run.work, state: undefined, explanation: undefined }] };
  }
  const r = await verifyPointStates({
    work: run.work,
    dir: join(base, `point-${k}`),
    shadowDir: join(base, `point-${k}`, 'shadow'),
    glob: o.glob,
    model: o.fs,
    block: o.block,
    states: o.states,
    only: o.point !== undefined ? o.state : undefined,
    seed: o.seed ^ BigInt(k),
    keep: o.keep,
    parallel: Math.max(4, o.jobs),
    verify,
  });
  return { states: r.verified, powercut: r.powercut, failures: r.failures };
}

/** The one command that reruns point k (and state s): `sysfault sweep --point k ...`. */
function replayCommand(o: Sweep, k: number, s?: number): string {
  const verify = typeof o.verify === 'string' ? o.verify : o.verify.map(shellQuote).join(' ');
  const words = [
    '--point', String(k),
    '--calls', o.calls.join(','),
    '--verify', verify,
    ...(o.glob !== undefined ? ['--powercut', o.glob] : []),
    ...(o.dropDirty ? ['--fsync-failure-drops-dirty'] : []),
    ...(o.glob !== undefined && o.fs.name !== 'posix' ? ['--fs', o.fs.name] : []),
    ...(s !== undefined && s > 0 ? ['--state', String(s), '--block', String(o.block)] : []),
    ...(o.crash === 'process' ? ['--crash', 'process'] : []),
    ...(o.snapshot !== undefined ? ['--snapshot', o.snapshot] : []),
    '--seed', o.seed.toString(),
    ...(o.engine !== undefined && o.engine !== 'auto' ? ['--engine', o.engine] : []),
    ...(o.timeout !== DEFAULT_TIMEOUT_MS ? ['--timeout', String(o.timeout)] : []),
    '--',
    o.command,
    ...o.args,
  ];
  const env = Object.entries(o.env).map(([key, value]) => shellQuote(`${key}=${value}`));
  const prefix = env.length ? `env ${env.join(' ')} ` : '';
  return `${prefix}${sysfaultInvocation()} sweep ${words.map(shellQuote).join(' ')}`;
}
