/**
 * The `powercut` run option (model in docs/crash-consistency.md and native/core/shadow.h): a private
 * shadow directory records the last synced state of the files the glob covers (the engines copy them at each
 * successful fsync/fdatasync), and once the target's whole tree is gone the power cut puts every covered file
 * under the root back to that state.
 */
import { mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EngineError, UsageError } from '../common/errors.js';
import type { NativeBinding } from '../native/binding.js';
import { firstLine } from '../common/text.js';
import type { NormalizedPlan } from '../plan/types.js';
import type { PowercutOptions, RunOptions } from './types.js';
import type { PowercutReport, RunResult } from '../common/run-result.js';
import { FS_MODELS, fsShadowFlags } from './fs-models.js';

/** fsyncFailureDropsDirty (SF_SHADOW_DROP_DIRTY). */
export const POWERCUT_DROP_DIRTY = 1;
/** Longest glob once resolved (SF_SHADOW_GLOB_MAX less the NUL). */
const GLOB_MAX_BYTES = 255;

/** A run's power cut, ready: the shadow directory exists and holds the baseline. */
export interface PowercutSetup {
  readonly glob: string;
  readonly root: string;
  readonly when: NonNullable<PowercutOptions['when']>;
  readonly flags: number;
  readonly shadowDir: string;
  /** The caller owns shadowDir and applies the power cut itself (PowercutOptions.shadowDir). */
  readonly owned: boolean;
}

/** The option as an object. */
export function powercutOptions(option: RunOptions['powercut']): PowercutOptions | undefined {
  if (option === undefined) return undefined;
  return typeof option === 'string' ? { glob: option } : option;
}

/**
 * Checks the option against the plan and records the baseline (the state before the run counts as synced).
 * @throws UsageError (a powercut action without the option, a bad root or glob), EngineError (the baseline).
 */
export function preparePowercut(
  native: NativeBinding,
  option: RunOptions['powercut'],
  cwd: string,
  plan: NormalizedPlan,
): PowercutSetup | undefined {
  const o = powercutOptions(option);
  if (o === undefined) {
    const rule = plan.rules.find((r) => r.action.type === 'powercut');
    if (rule) {
      throw new UsageError(
        `rule ${JSON.stringify(rule.id)}: a powercut action needs the powercut option (which files lose their unsynced writes: RunOptions.powercut, --powercut GLOB)`,
        { field: 'options.powercut', value: undefined },
      );
    }
    return undefined;
  }
  let root: string;
  try {
    root = realpathSync(resolve(cwd, o.root ?? '.'));
    if (!statSync(root).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new UsageError(`powercut.root: no such directory ${JSON.stringify(o.root ?? cwd)} (${firstLine(err)})`, {
      field: 'options.powercut.root',
      value: o.root,
    });
  }
  const glob = resolveGlob(o.glob, root);
  if (Buffer.byteLength(glob, 'utf8') > GLOB_MAX_BYTES) {
    throw new UsageError(`powercut.glob: ${JSON.stringify(glob)} is longer than ${GLOB_MAX_BYTES} bytes`, {
      field: 'options.powercut.glob',
      value: o.glob,
    });
  }
  const shadowDir = o.shadowDir ?? mkdtempSync(join(tmpdir(), 'sysfault-shadow-'));
  const setup: PowercutSetup = {
    glob,
    root,
    when: o.when ?? 'action',
    flags: (o.fsyncFailureDropsDirty ? POWERCUT_DROP_DIRTY : 0) | fsShadowFlags(FS_MODELS[o.fs ?? 'posix']),
    shadowDir,
    owned: o.shadowDir !== undefined,
  };
  try {
    native.shadowBaseline(shadowDir, glob, root);
  } catch (err) {
    discardPowercut(setup);
    throw new EngineError(`power cut: cannot record the state before the run: ${firstLine(err)}`, { cause: err });
  }
  return setup;
}

/** A glob with a "/" that is neither absolute nor starts with "**" is taken from the root. */
export function resolveGlob(glob: string, root: string): string {
  if (glob.startsWith('/') || !glob.includes('/') || glob.startsWith('**')) return glob;
  return `${root === '/' ? '' : root}/${glob.replace(/^\.\//, '')}`;
}

/** Was the power cut, for this result? */
export function powercutApplies(setup: PowercutSetup, plan: NormalizedPlan, result: RunResult): boolean {
  if (setup.when === 'always') return true;
  const fired = plan.rules.some((rule, i) => rule.action.type === 'powercut' && (result.rules[i]?.fired ?? 0) > 0);
  if (fired) return true;
  return setup.when === 'crash' && result.exit.signal !== null;
}

/**
 * After the run (its whole tree gone): cuts the power if it applies, and removes the shadow directory.
 * @throws EngineError when the restore fails.
 */
export function finishPowercut(
  native: NativeBinding,
  setup: PowercutSetup,
  plan: NormalizedPlan,
  result: RunResult,
): PowercutReport {
  try {
    const applied = !setup.owned && powercutApplies(setup, plan, result);
    if (applied) return applyPowercut(native, setup);
    return { applied: false, glob: setup.glob, root: setup.root, restored: [], removed: [] };
  } finally {
    discardPowercut(setup);
  }
}

/**
 * Cuts the power now: every covered file under root goes back to its recorded durable state.
 * @throws EngineError when the restore fails.
 */
export function applyPowercut(native: NativeBinding, setup: Pick<PowercutSetup, 'shadowDir' | 'glob' | 'root'>): PowercutReport {
  let changes: { restored: string[]; removed: string[] };
  try {
    changes = native.shadowRestore(setup.shadowDir, setup.glob, setup.root);
  } catch (err) {
    throw new EngineError(`power cut: cannot restore the synced state: ${firstLine(err)}`, { cause: err });
  }
  return { applied: true, glob: setup.glob, root: setup.root, restored: changes.restored.sort(), removed: changes.removed.sort() };
}

/** Removes the shadow directory (unless the caller owns it). */
export function discardPowercut(setup: PowercutSetup | undefined): void {
  if (setup && !setup.owned) rmSync(setup.shadowDir, { recursive: true, force: true });
}
