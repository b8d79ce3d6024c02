/**
 * A shard of a run: `K/N` (1-based, as Playwright and vitest write it), and the share of a list it runs. A
 * shard's share is every N-th item from its position (round robin), so that the long runs at the end of a sweep
 * (late crash points) spread over every shard instead of landing on the last one. `--shard auto` (the shard from
 * a CI's or Kubernetes' environment) is in shard/environment.ts; merging shard reports in shard/merge.ts.
 */
import { UsageError } from './errors.js';

/** One shard of N: `index` from 1 to `total`. */
export interface Shard {
  index: number;
  total: number;
  /** Where it came from: `--shard` or the environment variables read. */
  source: string;
}

/** What a shard report records of its shard (merge checks that the shards together are the whole). */
export interface ShardRecord {
  index: number;
  total: number;
  /** Items (crash points, scenario runs) of the whole, unsplit run. */
  of: number;
}

/** Most shards accepted (far more machines than anyone runs a sweep on; keeps the numbers sane). */
export const MAX_SHARDS = 100_000;

/** `123` -> 123: digits only (at most 9), else undefined. */
export function parseWhole(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

/**
 * `K/N` -> shard K of N.
 * @throws UsageError `<flag>: expected K/N with 1 <= K <= N (shard K of N), got "<text>"`
 */
export function parseShard(text: string, flag = '--shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = parseWhole(m?.[1]);
  const total = parseWhole(m?.[2]);
  if (index === undefined || total === undefined || index < 1 || index > total || total > MAX_SHARDS) {
    throw new UsageError(`${flag}: expected K/N with 1 <= K <= N (shard K of N) or auto, got ${JSON.stringify(text)}`, { field: flag, value: text });
  }
  return { index, total, source: flag };
}

/** The positions (0-based) of a list of `count` items that `shard` runs: K-1, K-1+N, K-1+2N, ... */
export function shardPositions(count: number, shard: Pick<Shard, 'index' | 'total'>): number[] {
  const out: number[] = [];
  for (let i = shard.index - 1; i < count; i += shard.total) out.push(i);
  return out;
}

/** The items of `items` that `shard` runs (see {@link shardPositions}). */
export function shareOf<T>(items: readonly T[], shard: Pick<Shard, 'index' | 'total'>): T[] {
  return shardPositions(items.length, shard).map((i) => items[i] as T);
}

/**
 * A shard given to the API: `K/N` or `{index, total}` (index from 1).
 * @throws UsageError `<field>: expected K/N or {index, total} with 1 <= index <= total, got ...`
 */
export function checkShard(value: string | { index: number; total: number }, field = 'shard'): Shard {
  if (typeof value === 'string') return parseShard(value, field);
  const ok =
    typeof value === 'object' && value !== null &&
    Number.isSafeInteger(value.index) && Number.isSafeInteger(value.total) &&
    value.index >= 1 && value.index <= value.total && value.total <= MAX_SHARDS;
  if (!ok) throw new UsageError(`${field}: expected K/N or {index, total} with 1 <= index <= total, got ${JSON.stringify(value)}`, { field, value });
  return { index: value.index, total: value.total, source: field };
}
