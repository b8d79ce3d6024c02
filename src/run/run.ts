/**
 * run() and spawn(): validate everything, start the target under the shim with the chosen engine, follow it
 * live, and report the result.
 *
 * Order (nothing is started until every check passed): options -> plan (+ extra faults) -> seed -> cwd ->
 * command lookup (127/126) -> engine choice -> native addon and kernel features -> compile -> session ->
 * shim. The result is ready when both the monitor's 'exit' event and the shim process's exit have happened.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { detectEngine, resolveCommand, type EngineDetection } from './engine.js';
import { EngineError, UsageError } from '../common/errors.js';
import { randomSeed } from '../common/seed.js';
import { Run, type RunHandle } from './handle.js';
import { checkCommand, checkOptions } from './options.js';
import { loadPlan, normalizePlan } from '../plan/load.js';
import { discardPowercut, preparePowercut } from './powercut.js';
import { parseSeed } from '../plan/schema.js';
import { nativeFile, requireBinding, seccompProblem } from '../native/files.js';
import type { Engine, RunResult } from '../common/run-result.js';
import type { RunOptions } from './types.js';
import type { NormalizedPlan } from '../plan/types.js';
import { compilePlan } from '../plan/compile.js';
import { seedForResult } from './result.js';

export type { RunEvents, RunHandle } from './handle.js';

/**
 * Starts `command` under sysfault and returns a live handle.
 * Everything is validated before anything is started.
 * @throws PlanError, UsageError, CommandError (127/126), EngineError, or the AbortSignal's reason when it is
 *   already aborted.
 */
export function spawn(command: string, args: readonly string[] = [], options: RunOptions = {}): RunHandle {
  const prepared = prepareRun(command, args, options);
  const { native, cwd, plan } = prepared;
  const shim = nativeFile('shim');
  const preloadLib = prepared.engine === 'preload' ? nativeFile('preload') : undefined;
  const goAgent = prepared.fastPath ? nativeFile('goagent') : undefined;

  const powercut = preparePowercut(native, options.powercut, cwd, plan);
  try {
    return new Run({ ...prepared, command, args, shim, preloadLib, goAgent, options, powercut });
  } catch (err) {
    discardPowercut(powercut);
    throw err;
  }
}

/** What a run would do, checked, without starting it (see {@link dryRun}). */
export interface DryRun {
  /** The executable the command resolves to. */
  executable: string;
  engine: Engine;
  /** Why this engine (what `auto` found in the executable, or that it was asked for). */
  engineReason: string;
  /** The plan in force (the plan's rules followed by the extra faults). */
  plan: NormalizedPlan;
  /** The seed the run would use. */
  seed: number | string;
  /** The plan as the engines receive it. */
  compiled: Uint8Array;
}

/**
 * Checks everything {@link spawn} checks (options, plan, seed, command, engine) and says what it would run,
 * starting nothing.
 * @throws as spawn does.
 */
export function dryRun(command: string, args: readonly string[] = [], options: RunOptions = {}): DryRun {
  const { executable, engine, engineReason, plan, seed } = prepareRun(command, args, options);
  return { executable, engine, engineReason, plan, seed: seedForResult(seed), compiled: compilePlan(plan, seed) };
}

/** Everything checked and chosen before a run starts. */
function prepareRun(command: string, args: readonly string[], options: RunOptions) {
  checkOptions(options);
  checkCommand(command, args);
  options.signal?.throwIfAborted();

  const extra = options.faults ?? [];
  const plan =
    options.plan === undefined ? normalizePlan({ version: 1, rules: [] }, extra) : loadPlan(options.plan, extra);
  const seed = chooseSeed(options.seed, plan.seed);

  const env = buildBaseEnv(options);
  const cwd = resolve(options.cwd ?? process.cwd());
  if (!isDirectory(cwd)) throw new UsageError(`cwd: no such directory ${JSON.stringify(cwd)}`, { field: 'options.cwd', value: options.cwd });
  const executable = resolveCommand(command, env.PATH, cwd);

  const choice = options.engine ?? 'auto';
  let detection: EngineDetection | undefined;
  let engine: Engine;
  if (choice === 'auto') {
    detection = detectEngine(executable, env.PATH);
    engine = detection.engine;
  } else {
    engine = choice;
  }
  const native = requireBinding();
  // auto on anything else: the preload library, with the supervisor as its net for what it cannot see
  // (glibc's own calls, a child that dropped LD_PRELOAD, a static or Go child). SYSFAULT_NET=0 turns it off.
  const net =
    choice === 'auto' &&
    engine === 'preload' &&
    options.powercut === undefined &&
    env.SYSFAULT_NET !== '0' &&
    seccompProblem(native.kernelFeatures()) === undefined;
  if (engine === 'seccomp') {
    const problem = seccompProblem(native.kernelFeatures());
    if (problem) {
      throw new EngineError(detection ? `${problem} (needed for ${command}: ${detection.reason})` : problem);
    }
  }
  const engineReason = detection ? detection.reason : 'asked for';
  // auto on a Go binary, or on anything with the net: the in-process agent decides what it can in every Go
  // program of the tree (exec followed), the supervisor the rest (no power cut: its shadows are the
  // supervisor's). SYSFAULT_FAST_PATH=0 turns it off.
  const fastPath = (detection?.kind === 'go' || net) && options.powercut === undefined && env.SYSFAULT_FAST_PATH !== '0';
  return { native, executable, cwd, env, plan, seed, engine, engineReason, net, fastPath };
}

/**
 * Runs `command` under sysfault and resolves to the result once it is over (see {@link spawn}).
 * Rejects (never throws) with the same errors as spawn.
 */
export function run(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
  try {
    return spawn(command, args, options).result;
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The seed: the option, else the plan's, else 53 random bits. */
function chooseSeed(option: RunOptions['seed'], planSeed: bigint | undefined): bigint {
  if (option !== undefined) {
    const seed = parseSeed(option);
    if (seed === undefined) {
      throw new UsageError(
        `options.seed: expected a non-negative integer below 2^53 (or a decimal string up to 2^64-1), got ${JSON.stringify(String(option))}`,
        { field: 'options.seed', value: option },
      );
    }
    return seed;
  }
  return planSeed ?? randomSeed();
}

function buildBaseEnv(options: RunOptions): Record<string, string> {
  const merged: Record<string, string | undefined> =
    options.extendEnv === false ? { ...options.env } : { ...process.env, ...options.env };
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(merged)) if (value !== undefined) env[key] = value;
  return env;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
