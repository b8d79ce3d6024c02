/**
 * run() and spawn(): validate everything, start the target under the shim with the chosen engine, follow it
 * live, and report the result.
 *
 * Order (nothing is started until every check passed): the prepared launch (./launch.ts: options, plan,
 * seed, cwd, command, engine, native addon and kernel features) -> power cut -> compile -> session -> shim.
 * A launch prepared once can be started many times. The result is ready when both the monitor's 'exit' event and the shim process's exit have happened.
 */
import { Run, type RunHandle } from './handle.js';
import { isPreparedLaunch, prepareLaunch, type PreparedLaunch } from './launch.js';
import { discardPowercut, preparePowercut } from './powercut.js';
import { nativeFile, requireBinding } from '../native/files.js';
import type { Engine, RunResult } from '../common/run-result.js';
import type { RunOptions } from './types.js';
import type { NormalizedPlan } from '../plan/types.js';
import { compilePlan } from '../plan/compile.js';
import { seedForResult } from './result.js';

export type { RunEvents, RunHandle } from './handle.js';
export type { LaunchAdditions, PreparedLaunch } from './launch.js';

/**
 * Starts `command` under sysfault and returns a live handle.
 * Everything is validated before anything is started.
 * @throws PlanError, UsageError, CommandError (127/126), EngineError, or the AbortSignal's reason when it is
 *   already aborted.
 */
export function spawn(launch: PreparedLaunch): RunHandle;
export function spawn(command: string, args?: readonly string[], options?: RunOptions): RunHandle;
export function spawn(command: string | PreparedLaunch, args: readonly string[] = [], options: RunOptions = {}): RunHandle {
  const prepared = isPreparedLaunch(command) ? command : prepareLaunch(command, args, options);
  prepared.options.signal?.throwIfAborted();
  const { cwd, plan } = prepared;
  const native = requireBinding();
  const shim = nativeFile('shim');
  const preloadLib = prepared.engine === 'preload' ? nativeFile('preload') : undefined;
  const goAgent = prepared.fastPath ? nativeFile('goagent') : undefined;

  const powercut = preparePowercut(native, prepared.options.powercut, cwd, plan);
  try {
    return new Run({
      ...prepared,
      native,
      args: prepared.args,
      env: { ...prepared.env },
      shim,
      preloadLib,
      goAgent,
      options: prepared.options,
      powercut,
    });
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
export function dryRun(launch: PreparedLaunch): DryRun;
export function dryRun(command: string, args?: readonly string[], options?: RunOptions): DryRun;
export function dryRun(command: string | PreparedLaunch, args: readonly string[] = [], options: RunOptions = {}): DryRun {
  const { executable, engine, engineReason, plan, seed } = isPreparedLaunch(command) ? command : prepareLaunch(command, args, options);
  return { executable, engine, engineReason, plan, seed: seedForResult(seed), compiled: compilePlan(plan, seed) };
}

/**
 * Runs `command` under sysfault and resolves to the result once it is over (see {@link spawn}).
 * Rejects (never throws) with the same errors as spawn.
 */
export function run(launch: PreparedLaunch): Promise<RunResult>;
export function run(command: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>;
export function run(command: string | PreparedLaunch, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
  try {
    return spawn(command as string, args, options).result;
  } catch (err) {
    return Promise.reject(err);
  }
}
