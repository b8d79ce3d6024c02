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
export { run, spawn } from './run.js';
export { decodeWaitStatus, formatAction, seedForResult } from './result.js';
export type { RunHandle, RunEvents } from './run.js';
export { loadPlan, parsePlanText, normalizePlan } from './plan.js';
export type { ExtraRules } from './plan.js';
export { parseFault } from './fault.js';
export { crashSweep, samplePoints } from './sweep.js';
export type { CrashSweepOptions, SweepFailure, SweepProgress, SweepReport } from './sweep.js';
export { compilePlan, probThreshold, WIRE, WIRE_HEADER, WIRE_RULE, WIRE_MAGIC, WIRE_UNLIMITED, WIRE_PROB_ALWAYS } from './compile.js';
export { detectEngine, resolveCommand } from './engine.js';
export type { EngineDetection } from './engine.js';
export { parseAddr } from './addr.js';
export type { AddrFilter } from './addr.js';
export { checkGlob } from './glob.js';
export { SYSCALL_GROUPS, syscallTable } from './syscalls.js';
export type { SyscallTable } from './syscalls.js';
export { MAX_RULES, MAX_DELAY_MS } from './schema.js';
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
} from './errors.js';
export type { SysfaultErrorCode, PlanErrorDetails } from './errors.js';
export type * from './types.js';
export { benchmark, BenchmarkError, median } from './benchmark.js';
export type { BenchmarkOptions, BenchmarkProgress, BenchmarkReport, PlanBenchmark } from './benchmark.js';
export { runScenario, runCatalogue, loadScenario, collectScenarioFiles, catalogueJson, catalogueJUnit, formatCatalogue } from './scenario.js';
export type { ScenarioRunOptions, CatalogueReport, ScenarioInput, ScenarioRunReport, ScenarioCheck, ProcessOutcome, Scenario } from './scenario.js';
export { runTopology, startTopology, loadTopology, parseTopologyText, TopologyError, topologyMetrics, sampleStats, timelineToJsonl, formatEntry, parseSampleLine } from './topology.js';
export type * from './topology-types.js';
export { exportTopologyToOtel, entryAttributes } from './otel.js';
export type { OtelExport, OtelExportOptions } from './otel.js';
