/** A topology's result, built once it ended: the timeline, the samples, each replica's incarnations, metrics. */
import { round, type TopologyHost } from './host.js';
import { topologyMetrics } from './metrics.js';
import type { WorkloadState } from './workload.js';
import type { IncarnationReport, InstanceReport, TimelineEntry, TopologyEndReason, TopologyResult, WorkloadSample } from './types.js';

/** What the run knows at its end beyond the host's interface. */
export interface RunFacts {
  readonly entries: readonly TimelineEntry[];
  readonly samples: readonly WorkloadSample[];
  readonly workload: WorkloadState | null;
  readonly startedAt: string;
  readonly reason: TopologyEndReason;
  readonly error: string | null;
  readonly readyMs: number | null;
}

export function buildTopologyResult(host: TopologyHost, run: RunFacts): TopologyResult {
  const timeline = sortEntries(run.entries);
  const samples = [...run.samples].sort((a, b) => a.tMs - b.tMs);
  const end = host.now();
  const instances: InstanceReport[] = host.instances.map((inst) => ({
    service: inst.spec.name,
    serviceId: inst.serviceId,
    replica: inst.replica,
    incarnations: inst.incarnations.map(
      (inc): IncarnationReport => ({
        incarnation: inc.n,
        runId: inc.handle.runId,
        pid: inc.pid,
        engine: inc.handle.engine,
        seed: inc.handle.seed,
        startMs: inc.baseMs,
        readyMs: inc.readyMs,
        endMs: inc.endMs,
        exit: inc.exit,
        endedBy: inc.endedBy,
        result: inc.result,
        logFile: inc.logFile,
      }),
    ),
  }));
  const w = run.workload;
  return {
    version: 1,
    topologyId: host.topologyId,
    name: host.spec.name,
    startedAt: run.startedAt,
    epochMs: round(host.epochMs),
    durationMs: end,
    reason: run.reason,
    error: run.error,
    readyMs: run.readyMs,
    dir: host.dir,
    ports: host.ports,
    instances,
    workload: w && { kind: w.kind, startMs: w.startMs, endMs: w.endMs, exit: w.exit, error: w.error, samples: samples.length, logFile: w.logFile },
    samples,
    timeline,
    metrics: topologyMetrics(timeline, samples, { endMs: end }),
  };
}

/** Timeline entries in time order (ties in the order they were made). */
export function sortEntries(entries: readonly TimelineEntry[]): TimelineEntry[] {
  return [...entries].sort((a, b) => a.tMs - b.tMs || a.seq - b.seq);
}
