/**
 * A prepared launch: everything run()/spawn() check and choose before starting anything (options, plan,
 * seed, cwd, command lookup, engine, native addon and kernel features), done once and kept as an immutable
 * value. Callers that start many runs of one command (a crash sweep: the clean run, every point, a replay)
 * prepare once, so a bad command, plan or seed is reported once, in run()'s wording, before anything runs,
 * and each run adds only what differs ({@link launchWith}).
 *
 * Order: options -> plan (+ extra faults) -> seed -> cwd -> command lookup (127/126) -> engine choice ->
 * native addon and kernel features.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { detectEngine, resolveCommand, type EngineDetection } from './engine.js';
import { EngineError, UsageError } from '../common/errors.js';
import { randomSeed } from '../common/seed.js';
import { checkCommand, checkOptions } from './options.js';
import { loadPlan, normalizePlan, type ExtraRules } from '../plan/load.js';
import { parseSeed } from '../plan/schema.js';
import { requireBinding, seccompProblem } from '../native/files.js';
import type { Engine } from '../common/run-result.js';
import type { RunOptions } from './types.js';
import type { NormalizedPlan } from '../plan/types.js';

/** A launch checked and chosen, nothing started (see {@link prepareLaunch}). Immutable. */
export interface PreparedLaunch {
  /** The command as given, and its arguments. */
  readonly command: string;
  readonly args: readonly string[];
  /** The executable the command resolves to. */
  readonly executable: string;
  readonly cwd: string;
  /** The target's environment (before sysfault's own variables). */
  readonly env: Readonly<Record<string, string>>;
  /** The plan in force (the plan's rules followed by the extra faults). */
  readonly plan: NormalizedPlan;
  readonly seed: bigint;
  readonly engine: Engine;
  /** Why this engine (what `auto` found in the executable, or that it was asked for). */
  readonly engineReason: string;
  /** Preload engine with the supervisor as its net. */
  readonly net: boolean;
  /** The in-process Go agent is loaded. */
  readonly fastPath: boolean;
  /** The options it was prepared from (plan, faults and seed already applied above). */
  readonly options: Readonly<RunOptions>;
}

/** What one run adds to a prepared launch (see {@link launchWith}). */
export interface LaunchAdditions {
  /** Rules appended after the plan's (fault specs or rule objects, as RunOptions.faults). */
  faults?: ExtraRules | undefined;
  cwd?: string | undefined;
  stdio?: RunOptions['stdio'];
  powercut?: RunOptions['powercut'];
}

const prepared = new WeakSet<PreparedLaunch>();

/** Whether `value` came from {@link prepareLaunch} or {@link launchWith}. */
export function isPreparedLaunch(value: unknown): value is PreparedLaunch {
  return typeof value === 'object' && value !== null && prepared.has(value as PreparedLaunch);
}

function seal(launch: PreparedLaunch): PreparedLaunch {
  Object.freeze(launch.env);
  Object.freeze(launch.options);
  Object.freeze(launch);
  prepared.add(launch);
  return launch;
}

/**
 * Checks everything spawn() checks and chooses the engine, starting nothing.
 * @throws PlanError, UsageError, CommandError (127/126), EngineError, or the AbortSignal's reason when it is
 *   already aborted.
 */
export function prepareLaunch(command: string, args: readonly string[] = [], options: RunOptions = {}): PreparedLaunch {
  checkOptions(options);
  checkCommand(command, args);
  options.signal?.throwIfAborted();

  const extra = options.faults ?? [];
  const plan =
    options.plan === undefined ? normalizePlan({ version: 1, rules: [] }, extra) : loadPlan(options.plan, extra);
  const seed = chooseSeed(options.seed, plan.seed);

  const env = buildBaseEnv(options);
  const cwd = checkCwd(options.cwd);
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
  return seal({ command, args: [...args], executable, cwd, env, plan, seed, engine, engineReason, net, fastPath, options: { ...options } });
}

/**
 * The same launch with rules appended, and another working directory, stdio or power cut: only the
 * additions are checked (the command stays resolved, the engine chosen, the seed as it was).
 * @throws PlanError (a bad added rule), UsageError (a bad addition)
 */
export function launchWith(launch: PreparedLaunch, additions: LaunchAdditions): PreparedLaunch {
  if (!isPreparedLaunch(launch)) throw new UsageError('launch: expected a value from prepareLaunch()', { field: 'launch', value: launch });
  const { faults, ...changed } = additions;
  const own = Object.fromEntries(Object.entries(changed).filter(([, v]) => v !== undefined)) as RunOptions;
  checkOptions(own);
  const rules = faults && faults.length > 0 ? normalizePlan(undefined, faults).rules : [];
  const plan = rules.length > 0 ? { ...launch.plan, rules: [...launch.plan.rules, ...rules] } : launch.plan;
  const cwd = own.cwd === undefined ? launch.cwd : checkCwd(own.cwd);
  // The net and the Go agent never run with a power cut (its shadows are the supervisor's).
  const cut = own.powercut !== undefined;
  return seal({
    ...launch,
    env: { ...launch.env },
    cwd,
    plan,
    net: launch.net && !cut,
    fastPath: launch.fastPath && !cut,
    options: { ...launch.options, ...own },
  });
}

function checkCwd(option: string | undefined): string {
  const cwd = resolve(option ?? process.cwd());
  if (!isDirectory(cwd)) throw new UsageError(`cwd: no such directory ${JSON.stringify(cwd)}`, { field: 'options.cwd', value: option });
  return cwd;
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
