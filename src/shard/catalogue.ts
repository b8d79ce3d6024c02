/**
 * Scenario catalogue shards: a shard's JSON report (the catalogue JSON plus a `shard` record carrying what the
 * JUnit report needs and the JSON leaves out: the failed runs' output), and the merge back into the report of
 * the unsplit catalogue, from which the JSON, JUnit and HTML reports are made exactly as one run makes them.
 */
import { shardPositions, type ShardRecord } from '../common/shard.js';
import type { CatalogueReport, ScenarioRunReport } from '../scenario/catalogue.js';
import { catalogueJson, JUNIT_OUTPUT_CAP } from '../scenario/formats.js';
import { checkShards, mergeError, type ShardInput } from './merge.js';

/** The output a report keeps of a failed run: what JUnit shows of it (its last 64 KiB, marked when cut). */
function keptOutput(text: string): string {
  return text.length > JUNIT_OUTPUT_CAP ? text.slice(-(JUNIT_OUTPUT_CAP + 1)) : text;
}

/** A run's output as a shard report carries it (failed runs only; null for a run that passed). */
type RunOutput = { stdout: string; stderr: string } | null;

/** The `shard` record of a catalogue shard's JSON report. */
export interface CatalogueShardRecord extends ShardRecord {
  /** One per entry of `scenarios`. */
  outputs: RunOutput[];
}

/** A shard's JSON report: {@link catalogueJson} plus `shard` (see {@link CatalogueShardRecord}). */
export function shardCatalogueJson(report: CatalogueReport): object {
  if (!report.shard) return catalogueJson(report);
  const outputs: RunOutput[] = report.scenarios.map((r) => (r.passed ? null : { stdout: keptOutput(r.stdout), stderr: keptOutput(r.stderr) }));
  const shard: CatalogueShardRecord = { ...report.shard, outputs };
  return { ...catalogueJson(report), shard };
}

type JsonRun = Omit<ScenarioRunReport, 'result' | 'stdout' | 'stderr' | 'workload' | 'verify'>;

/**
 * Catalogue shard reports -> the report of the unsplit catalogue (runs in catalogue order, counts added up,
 * durationMs the longest shard's). Feed it to catalogueJson, catalogueJUnit and the HTML page.
 * @throws UsageError when the reports are not each shard of one catalogue exactly once.
 */
export function mergeCatalogueReports(inputs: readonly ShardInput<unknown>[]): CatalogueReport {
  const { shards, of } = checkShards(inputs, 'scenario catalogue', ['passed', 'failed', 'errors', 'durationMs', 'scenarios']);
  const runs: (ScenarioRunReport | undefined)[] = new Array(of);
  let durationMs = 0;
  for (const input of shards) {
    const r = input.report as { scenarios?: unknown; durationMs?: unknown; shard: CatalogueShardRecord };
    const positions = shardPositions(of, r.shard);
    const list = Array.isArray(r.scenarios) ? (r.scenarios as JsonRun[]) : undefined;
    const outputs = Array.isArray(r.shard.outputs) ? r.shard.outputs : [];
    if (!list || list.length !== positions.length) {
      mergeError(`${input.name}: shard ${r.shard.index}/${r.shard.total} of ${of} runs should hold ${positions.length} runs, it holds ${list ? list.length : 'none'}`);
    }
    list.forEach((run, i) => {
      const output = outputs[i] ?? null;
      runs[positions[i] as number] = { ...run, result: null, stdout: output?.stdout ?? '', stderr: output?.stderr ?? '', workload: null, verify: null };
    });
    durationMs = Math.max(durationMs, Number(r.durationMs) || 0);
  }
  const scenarios = runs as ScenarioRunReport[];
  return {
    version: 1,
    passed: scenarios.filter((r) => r.passed).length,
    failed: scenarios.filter((r) => !r.passed && !r.error).length,
    errors: scenarios.filter((r) => r.error).length,
    durationMs,
    scenarios,
  };
}
