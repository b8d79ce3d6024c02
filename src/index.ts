/**
 * sysfault: seeded syscall fault injection for real Linux programs.
 *
 * @example
 * ```ts
 * import { run } from 'sysfault';
 *
 * const result = await run('./my-db', ['--data', dir], {
 *   plan: { version: 1, rules: [{ syscalls: ['fsync'], after: 3, limit: 1, action: { errno: 'EIO' } }] },
 *   seed: 42,
 * });
 * console.log(result.exit, result.counts.fsync, result.faults);
 * ```
 * @packageDocumentation
 */
export { dryRun, run, spawn } from './run/run.js';
export { launchWith, prepareLaunch } from './run/launch.js';
export type { LaunchAdditions, PreparedLaunch } from './run/launch.js';
export { decodeWaitStatus, formatAction, seedForResult } from './run/result.js';
export type { DryRun, RunHandle, RunEvents } from './run/run.js';
export { loadPlan, parsePlanText, normalizePlan } from './plan/load.js';
export type { ExtraRules } from './plan/load.js';
export { parseFault } from './plan/fault.js';
export { crashSweep, samplePoints } from './sweep/crash-sweep.js';
export type { CrashSweepOptions, SweepFailure, SweepProgress, SweepReport, SweepWarning } from './sweep/crash-sweep.js';
export { compilePlan, probThreshold, WIRE, WIRE_HEADER, WIRE_RULE, WIRE_MAGIC, WIRE_UNLIMITED, WIRE_PROB_ALWAYS } from './plan/compile.js';
export { detectEngine, resolveCommand } from './run/engine.js';
export type { EngineDetection } from './run/engine.js';
export { parseAddr } from './plan/addr.js';
export type { AddrFilter } from './plan/addr.js';
export { checkGlob } from './plan/glob.js';
export { SYSCALL_GROUPS, syscallTable } from './plan/syscalls.js';
export type { SyscallTable } from './plan/syscalls.js';
export { MAX_RULES, MAX_DELAY_MS } from './plan/schema.js';
export {
  SysfaultError,
  PlanError,
  EngineError,
  CommandError,
  UsageError,
  EXIT_SYSFAULT,
  EXIT_NOT_EXECUTABLE,
  EXIT_NOT_FOUND,
  EXIT_TIMEOUT,
} from './common/errors.js';
export type { SysfaultErrorCode, PlanErrorDetails } from './common/errors.js';
export type { PlanInput, RuleInput, ActionInput } from './plan/schema.js';
export type * from './plan/types.js';
export type * from './run/types.js';
export type * from './common/run-result.js';
export { benchmark, BenchmarkError, median } from './bench/benchmark.js';
export type { BenchmarkOptions, BenchmarkProgress, BenchmarkReport, PlanBenchmark } from './bench/benchmark.js';
export { runScenario, runCatalogue, loadScenario, collectScenarioFiles } from './scenario/catalogue.js';
export { catalogueJson, catalogueJUnit, formatCatalogue } from './scenario/formats.js';
export type { ScenarioRunOptions, CatalogueReport, ScenarioInput, ScenarioRunReport, ScenarioCheck, ProcessOutcome, Scenario } from './scenario/catalogue.js';
export { runTopology, startTopology, loadTopology, parseTopologyText, TopologyError, topologyMetrics, sampleStats, timelineToJsonl, formatEntry, parseSampleLine } from './topology/topology.js';
export type * from './topology/types.js';
export { exportTopologyToOtel, entryAttributes } from './topology/otel.js';
export type { OtelExport, OtelExportOptions } from './topology/otel.js';
export { parseShard, shareOf, shardPositions } from './common/shard.js';
export type { Shard, ShardRecord } from './common/shard.js';
export { resolveShard, shardFromEnvironment, SHARD_SOURCES } from './shard/environment.js';
export type { ShardSource } from './shard/environment.js';
export { mergeSweepReports } from './shard/merge.js';
export type { ShardInput } from './shard/merge.js';
export { mergeCatalogueReports, shardCatalogueJson } from './shard/catalogue.js';
export { renderSweepPage } from './report/sweep-page.js';
export { renderCataloguePage } from './report/catalogue-page.js';
export { renderTopologyPage } from './report/topology-page.js';
