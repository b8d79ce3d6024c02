/** The crash-state options of a sweep (fs, states, block, state, crash), checked. */
import { UsageError } from '../common/errors.js';
import { FS_MODEL_NAMES, fsModel, type FsModel } from '../run/fs-models.js';

export interface StateOptionsInput {
  fs?: string | undefined;
  states?: number | 'all' | undefined;
  block?: number | undefined;
  state?: number | undefined;
  crash?: string | undefined;
}

export interface StateOptions {
  fs: FsModel;
  /** Further states per point; Infinity for 'all'. */
  states: number;
  block: number;
  state: number | undefined;
  crash: 'tree' | 'process';
}

const DEFAULT_BLOCK = 4096;

function count(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${name}: expected an integer of at least ${min}, got ${JSON.stringify(value)}`, { field: name, value });
  }
  return value;
}

/** @throws UsageError */
export function checkStateOptions(o: StateOptionsInput, glob: string | undefined, point: number | undefined): StateOptions {
  const fs = fsModel(o.fs ?? 'posix');
  if (!fs) throw new UsageError(`fs: expected one of ${FS_MODEL_NAMES.join(', ')}, got ${JSON.stringify(o.fs)}`, { field: 'fs', value: o.fs });
  const states = o.states === undefined ? 0 : o.states === 'all' ? Infinity : count('states', o.states, 0);
  const block = o.block === undefined ? DEFAULT_BLOCK : count('block', o.block, 1);
  const state = o.state === undefined ? undefined : count('state', o.state, 0);
  if (glob === undefined) {
    for (const [name, given] of [['fs', o.fs], ['states', o.states], ['state', o.state]] as const) {
      if (given !== undefined) throw new UsageError(`${name} needs powercut (crash states are what a power cut leaves)`, { field: name, value: given });
    }
  }
  if (state !== undefined && point === undefined) throw new UsageError('state needs point (it replays one state of one crash point)', { field: 'state', value: state });
  const crash = o.crash ?? 'tree';
  if (crash !== 'tree' && crash !== 'process') throw new UsageError(`crash: expected tree or process, got ${JSON.stringify(o.crash)}`, { field: 'crash', value: o.crash });
  return { fs, states, block, state, crash };
}
