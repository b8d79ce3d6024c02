/**
 * Merging shard reports into what one unsplit run reports (`sysfault sweep merge`, `sysfault scenario merge`).
 *
 * Every shard ran the same clean counting run and took the same seeded selection, then its own share of it
 * (common/shard.ts). Merging checks that the reports are the shards of one run (same total, each shard once,
 * the same values everywhere except what each shard counted for itself), then adds the counts, puts the items
 * back in the order one run gives them, and drops the shard record. A disagreement is an error naming the
 * shard and the field: a program whose clean runs counted different numbers of crash points cannot be merged
 * into one sweep.
 */
import { isDeepStrictEqual } from 'node:util';
import { UsageError } from '../common/errors.js';
import { sweepWarnings, type SweepFailure, type SweepReport, type SweepWarning } from '../sweep/crash-sweep.js';
import type { ShardRecord } from '../common/shard.js';

/** A shard report as read from a file. */
export interface ShardInput<T> {
  /** Where it came from (for messages). */
  name: string;
  report: T;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function mergeError(message: string): never {
  throw new UsageError(`merge: ${message}`);
}

function shardOf(input: ShardInput<unknown>, what: string): ShardRecord {
  const r = input.report;
  if (!isObject(r) || r.version !== 1) mergeError(`${input.name}: not a ${what} report (version 1)`);
  const s = r.shard;
  const ok =
    isObject(s) &&
    Number.isSafeInteger(s.index) && Number.isSafeInteger(s.total) && Number.isSafeInteger(s.of) &&
    (s.index as number) >= 1 && (s.index as number) <= (s.total as number) && (s.of as number) >= 0;
  if (!ok) mergeError(`${input.name}: not a shard's report (no "shard": {index, total, of}); run with --shard K/N`);
  return s as unknown as ShardRecord;
}

/**
 * Checks that `inputs` are each shard of one run exactly once; returns them ordered by shard index.
 * `merged` names the fields each shard counts for itself; every other field must be equal in all.
 */
export function checkShards<T>(inputs: readonly ShardInput<T>[], what: string, merged: readonly string[]): { shards: ShardInput<T>[]; total: number; of: number } {
  if (inputs.length === 0) mergeError(`no ${what} reports given`);
  const records = inputs.map((i) => shardOf(i, what));
  const first = records[0] as ShardRecord;
  const byIndex = new Map<number, ShardInput<T>>();
  inputs.forEach((input, i) => {
    const rec = records[i] as ShardRecord;
    if (rec.total !== first.total) mergeError(`${input.name} is shard ${rec.index}/${rec.total}, ${inputs[0]?.name} is of ${first.total}`);
    if (rec.of !== first.of) {
      mergeError(`${input.name} (shard ${rec.index}/${rec.total}) split ${rec.of} items, ${inputs[0]?.name} ${first.of}: not shards of one run`);
    }
    const seen = byIndex.get(rec.index);
    if (seen) mergeError(`shard ${rec.index}/${rec.total} given twice (${seen.name} and ${input.name})`);
    byIndex.set(rec.index, input);
  });
  const missing = Array.from({ length: first.total }, (_, i) => i + 1).filter((k) => !byIndex.has(k));
  if (missing.length > 0) mergeError(`missing shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${first.total}`).join(', ')}`);
  const shards = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, input]) => input);
  const base = shards[0]?.report as Json;
  for (const input of shards.slice(1)) {
    const r = input.report as Json;
    for (const key of new Set([...Object.keys(base), ...Object.keys(r)])) {
      if (key === 'shard' || merged.includes(key)) continue;
      if (!isDeepStrictEqual(base[key], r[key])) {
        const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 80));
        mergeError(`${input.name} disagrees with ${shards[0]?.name} on "${key}": ${show(r[key])} vs ${show(base[key])}${key === 'points' ? ' (the clean runs counted different numbers of crash points)' : ''}`);
      }
    }
  }
  return { shards, total: first.total, of: first.of };
}

/** The shards' warnings, one per code: the first shard's message for it, the points of every shard. */
function mergeWarnings(lists: readonly { name: string; warnings: unknown }[]): SweepWarning[] {
  const byCode = new Map<string, { code: string; message: string; points: number[] }>();
  for (const { name, warnings } of lists) {
    if (!Array.isArray(warnings)) mergeError(`${name}: "warnings" is not a list`);
    for (const w of warnings as SweepWarning[]) {
      const ok = isObject(w) && typeof w.code === 'string' && typeof w.message === 'string' && Array.isArray(w.points) && w.points.every(Number.isSafeInteger);
      if (!ok) mergeError(`${name}: a warning without its code, message and points`);
      const suffix = ` (point ${w.points.join(', ')})`;
      const message = w.message.endsWith(suffix) ? w.message.slice(0, -suffix.length) : w.message;
      const seen = byCode.get(w.code);
      if (seen) seen.points.push(...w.points);
      else byCode.set(w.code, { code: w.code, message, points: [...w.points] });
    }
  }
  return sweepWarnings([...byCode.values()]);
}

/** Report fields that are wall time: the merge takes the longest shard's. */
const WALL_TIME = 'durationMs';

/**
 * Sweep shard reports -> the report of the unsplit sweep: `tried` (and `states`, crash states verified) added
 * up, `failed` in point order, each warning's points joined, `durationMs` the longest shard's, no `shard`.
 * @throws UsageError when the reports are not each shard of one sweep exactly once.
 */
export function mergeSweepReports(inputs: readonly ShardInput<unknown>[]): SweepReport {
  const counted = ['tried', 'states'] as const;
  const { shards, of } = checkShards(inputs, 'sweep', [...counted, 'failed', 'warnings', WALL_TIME]);
  const reports = shards.map((s) => s.report as Json);
  for (const [i, r] of reports.entries()) {
    if (!Array.isArray(r.failed) || typeof r.tried !== 'number') mergeError(`${shards[i]?.name}: not a sweep report (no "tried" and "failed")`);
  }
  const sum = (key: string): number => reports.reduce((n, r) => n + (r[key] as number), 0);
  const tried = sum('tried');
  if (tried !== of) mergeError(`the shards tried ${tried} points, the sweep has ${of}`);
  const failed = reports.flatMap((r) => r.failed as SweepFailure[]);
  // Stable: one point's failures (its crash states) come from one shard, in that shard's order.
  failed.sort((a, b) => a.point - b.point);
  const { shard: _shard, ...rest } = reports[0] as Json;
  const merged: Json = { ...rest, tried, failed, [WALL_TIME]: Math.max(...reports.map((r) => Number(r[WALL_TIME]) || 0)) };
  if (typeof rest.states === 'number') merged.states = sum('states');
  if (Array.isArray(rest.warnings)) merged.warnings = mergeWarnings(reports.map((r, i) => ({ name: shards[i]?.name ?? '', warnings: r.warnings })));
  return merged as unknown as SweepReport;
}
