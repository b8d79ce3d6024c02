/**
 * `--shard K/N` (common/shard.ts) or `--shard auto`, which reads the shard from the environment a CI matrix or
 * a Kubernetes Indexed Job gives each copy of the job. Each source's index
 * base is the one its documentation states:
 * - Kubernetes Indexed Job: JOB_COMPLETION_INDEX, 0 to completions-1 ("Indexed Job for Parallel Processing
 *   with Static Work Assignment"). Kubernetes exposes no total to the pod: set SYSFAULT_SHARD_TOTAL to the
 *   Job's `completions` in the pod template.
 * - GitLab CI `parallel:`: CI_NODE_INDEX from 1 to CI_NODE_TOTAL ("Predefined CI/CD variables reference").
 * - CircleCI `parallelism:`: CIRCLE_NODE_INDEX from 0 to CIRCLE_NODE_TOTAL-1 ("Project values and variables").
 * - Buildkite `parallelism:`: BUILDKITE_PARALLEL_JOB from 0 to BUILDKITE_PARALLEL_JOB_COUNT-1 ("Environment
 *   variables").
 */
import { UsageError } from '../common/errors.js';
import { MAX_SHARDS, parseShard, parseWhole, type Shard } from '../common/shard.js';

/** An environment that tells a job its shard. */
export interface ShardSource {
  name: string;
  index: string;
  total: string;
  /** The first index's value: 0 or 1. */
  base: 0 | 1;
}

/** The environments `--shard auto` reads, in this order (the first whose index variable is set wins). */
export const SHARD_SOURCES: readonly ShardSource[] = [
  { name: 'Kubernetes Indexed Job', index: 'JOB_COMPLETION_INDEX', total: 'SYSFAULT_SHARD_TOTAL', base: 0 },
  { name: 'GitLab CI', index: 'CI_NODE_INDEX', total: 'CI_NODE_TOTAL', base: 1 },
  { name: 'CircleCI', index: 'CIRCLE_NODE_INDEX', total: 'CIRCLE_NODE_TOTAL', base: 0 },
  { name: 'Buildkite', index: 'BUILDKITE_PARALLEL_JOB', total: 'BUILDKITE_PARALLEL_JOB_COUNT', base: 0 },
];

/**
 * The shard the environment names (see {@link SHARD_SOURCES}).
 * @throws UsageError when no source is present, or the first present one is incomplete or out of range.
 */
export function shardFromEnvironment(env: Readonly<Record<string, string | undefined>>, flag = '--shard auto'): Shard {
  const source = SHARD_SOURCES.find((s) => env[s.index] !== undefined && env[s.index] !== '');
  if (!source) {
    const looked = SHARD_SOURCES.map((s) => s.index).join(', ');
    throw new UsageError(`${flag}: no shard in the environment (looked for ${looked}); give --shard K/N`, { field: flag });
  }
  const rawIndex = env[source.index] as string;
  const rawTotal = env[source.total];
  if (rawTotal === undefined || rawTotal === '') {
    const hint = source.base === 0 && source.index === 'JOB_COMPLETION_INDEX' ? ' (set it to the Job\'s completions)' : '';
    throw new UsageError(`${flag}: ${source.name}: ${source.index} is set but ${source.total} is not${hint}`, { field: flag, value: rawIndex });
  }
  const index = parseWhole(rawIndex);
  const total = parseWhole(rawTotal);
  const first = source.base;
  if (total === undefined || total < 1 || total > MAX_SHARDS) {
    throw new UsageError(`${flag}: ${source.total}: expected a whole number from 1 to ${MAX_SHARDS}, got ${JSON.stringify(rawTotal)}`, { field: flag, value: rawTotal });
  }
  if (index === undefined || index < first || index > total - 1 + first) {
    throw new UsageError(
      `${flag}: ${source.index}: expected a whole number from ${first} to ${total - 1 + first} (${source.total}=${total}), got ${JSON.stringify(rawIndex)}`,
      { field: flag, value: rawIndex },
    );
  }
  return { index: index - first + 1, total, source: `${source.index}/${source.total}` };
}

/** `--shard` as given: undefined (no sharding), `auto` (the environment) or `K/N`. */
export function resolveShard(text: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env, flag = '--shard'): Shard | undefined {
  if (text === undefined) return undefined;
  return text === 'auto' ? shardFromEnvironment(env, `${flag} auto`) : parseShard(text, flag);
}

/** `shard 2/3` plus where it came from when that was the environment. */
export function describeShard(shard: Shard): string {
  return `shard ${shard.index}/${shard.total}${shard.source.startsWith('--') ? '' : ` (from ${shard.source})`}`;
}
