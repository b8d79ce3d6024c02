/**
 * One crash point's states: after the crashed run (its whole tree stopped and killed), the crash image is read,
 * the power cut applied (the pessimistic state, verified in the point's working directory as before), then each
 * chosen crash state is built in a fresh copy of the pessimistic directory and verified; every failing state
 * is reduced and explained (explain.ts).
 */
import { cpSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { binding } from '../native/binding.js';
import { applyPowercut, resolveGlob } from '../run/powercut.js';
import type { PowercutReport } from '../common/run-result.js';
import { candidateStates, chooseStates, readCrashImage, writeState, type CrashImage, type CrashState } from './crash-states.js';
import { explainState, type StateReport } from './explain.js';
import type { FsModel } from '../run/fs-models.js';

/** `--states all` verifies at most this many states per point. */
export const MAX_STATES_ALL = 1024;

export interface VerifyOutcome {
  exit: number | null;
  output: string;
}

export interface PointStatesInput {
  /** The point's working directory (the crashed run's cwd and power-cut root). */
  work: string;
  /** Where the states' directories go. */
  dir: string;
  shadowDir: string;
  glob: string;
  model: FsModel;
  block: number;
  /** Further states (beyond the pessimistic one) to verify; Infinity: all, up to MAX_STATES_ALL. */
  states: number;
  /** Only this state (a replay's --state). */
  only: number | undefined;
  seed: bigint;
  keep: boolean;
  /** States verified at once. */
  parallel: number;
  verify: (dir: string) => Promise<VerifyOutcome>;
}

export interface StateFailure {
  verify: VerifyOutcome;
  state: StateReport;
  explanation: string;
  dir: string;
}

export interface PointStatesResult {
  powercut: PowercutReport;
  /** States verified (the pessimistic one included). */
  verified: number;
  failures: StateFailure[];
}

/** Verifies the point's states. */
export async function verifyPointStates(p: PointStatesInput): Promise<PointStatesResult> {
  const native = binding();
  const root = realpathSync(p.work);
  const glob = resolveGlob(p.glob, root);
  const covered = (path: string): boolean => native.globMatch(glob, path);
  const img: CrashImage = readCrashImage(root, p.shadowDir, covered, p.block);
  const powercut = applyPowercut(native, { shadowDir: p.shadowDir, glob, root });
  const candidates = candidateStates(img, p.model);
  const template = join(p.dir, 'pessimistic');
  const wanted = p.only !== undefined ? candidates.filter((s) => s.index === p.only) : [candidates[0] as CrashState, ...chooseStates(candidates, Math.min(p.states, MAX_STATES_ALL), p.seed)];
  cpSync(root, template, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true }); // before any verify changes it
  let tries = 0;
  const build = (persisted: ReadonlySet<number>, name: string): string => {
    const dir = join(p.dir, name);
    cpSync(template, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    writeState(img, persisted, dir, covered);
    return dir;
  };
  const failures: StateFailure[] = [];
  let verified = 0;
  // states are verified `parallel` at a time (each one verify: process start-up latency overlaps)
  const outcomes = new Map<CrashState, { dir: string; outcome: VerifyOutcome }>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < wanted.length) {
      const state = wanted[next++] as CrashState;
      const dir = state.index === 0 ? root : build(state.persisted, `state-${state.index}`);
      outcomes.set(state, { dir, outcome: await p.verify(dir) });
      verified++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(p.parallel, wanted.length)) }, worker));
  for (const state of wanted) {
    const { dir, outcome } = outcomes.get(state) as { dir: string; outcome: VerifyOutcome };
    if (outcome.exit === 0) {
      if (!p.keep && dir !== root) rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const { report, explanation } = await explainState(img, p.model, state, async (persisted) => {
      const tryDir = build(persisted, `try-${++tries}`);
      const o = await p.verify(tryDir);
      rmSync(tryDir, { recursive: true, force: true });
      return o.exit !== 0;
    });
    failures.push({ verify: outcome, state: report, explanation, dir });
  }
  if (!p.keep) rmSync(template, { recursive: true, force: true });
  return { powercut, verified, failures };
}
