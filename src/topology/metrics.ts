/**
 * Metrics of a topology run, from its timeline and the workload's samples: disruption windows (bursts of
 * faults per service; a service down between a kill or crash and ready again), the error rate and latency of
 * the samples in flight during each window, and the time to recover after each one.
 */
import type {
  DisruptionWindow,
  LatencyStats,
  MetricsOptions,
  SampleStats,
  TimelineEntry,
  TopologyMetrics,
  WorkloadSample,
} from './types.js';

const DEFAULT_GAP_MS = 250;
const DEFAULT_RECOVERY_STREAK = 3;

const round = (n: number): number => Math.round(n * 1000) / 1000;

/** Nearest-rank percentile of sorted values (the metrics' and the HTML page's). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? 0;
}

/** Count, errors, error rate and latency percentiles of a set of samples. */
export function sampleStats(samples: readonly WorkloadSample[]): SampleStats {
  const count = samples.length;
  const errors = samples.filter((s) => !s.ok).length;
  let latencyMs: LatencyStats | null = null;
  if (count > 0) {
    const sorted = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
    const mean = sorted.reduce((a, b) => a + b, 0) / count;
    latencyMs = {
      mean: round(mean),
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1] ?? 0),
    };
  }
  return { count, errors, errorRate: count === 0 ? 0 : round(errors / count), latencyMs };
}

/** How long a delay fault holds its call (0 for other actions). */
function holdMs(entry: TimelineEntry): number {
  const m = /^delay:(\d+(?:\.\d+)?)ms$/.exec(entry.fault?.action ?? '');
  return m ? Number(m[1]) : 0;
}

/** The disruption windows of a timeline (see {@link DisruptionWindow}), ordered by start. */
function windowsOf(timeline: readonly TimelineEntry[], gapMs: number, endMs: number): Omit<DisruptionWindow, 'during' | 'firstErrorMs' | 'recoveryMs' | 'recoveredAtMs' | 'errorsAfter'>[] {
  const entries = [...timeline].sort((a, b) => a.tMs - b.tMs || a.seq - b.seq);
  const out: Omit<DisruptionWindow, 'during' | 'firstErrorMs' | 'recoveryMs' | 'recoveredAtMs' | 'errorsAfter'>[] = [];

  // Bursts of faults, per service.
  const open = new Map<string, (typeof out)[number]>();
  for (const e of entries) {
    if (e.kind !== 'fault' || !e.fault || e.service === undefined) continue;
    const end = e.tMs + holdMs(e);
    const current = open.get(e.service);
    if (current && e.tMs - current.endMs <= gapMs) {
      current.endMs = Math.max(current.endMs, end);
      current.faults++;
      if (!current.actions.includes(e.fault.action)) current.actions.push(e.fault.action);
      if (!current.rules.includes(e.fault.rule)) current.rules.push(e.fault.rule);
      continue;
    }
    const w = { kind: 'fault' as const, service: e.service, startMs: e.tMs, endMs: end, faults: 1, actions: [e.fault.action], rules: [e.fault.rule] };
    open.set(e.service, w);
    out.push(w);
  }

  // Down time: a kill (or an exit on its own) until the replica is ready again (or the end).
  for (const [i, e] of entries.entries()) {
    const crash = e.kind === 'exit' && e.reason === 'crash';
    if ((e.kind !== 'kill' && !crash) || e.serviceId === undefined || e.service === undefined) continue;
    if (e.kind === 'kill' && e.reason === 'escalation') continue; // the same kill, with SIGKILL
    let until = endMs;
    for (const later of entries.slice(i + 1)) {
      if (later.serviceId !== e.serviceId) continue;
      if (later.kind === 'ready' && (later.incarnation ?? 0) > (e.incarnation ?? 0)) {
        until = later.tMs;
        break;
      }
    }
    out.push({ kind: crash ? 'crash' : 'restart', service: e.service, serviceId: e.serviceId, startMs: e.tMs, endMs: until, faults: 0, actions: [], rules: [] });
  }
  return out
    .map((w) => ({ ...w, startMs: round(w.startMs), endMs: round(w.endMs) }))
    .sort((a, b) => a.startMs - b.startMs);
}

/**
 * Metrics of a topology run: every disruption window with the error rate and latency of the samples in flight
 * during it and the time to recover after it; the same statistics overall and for the samples outside every
 * window (baseline).
 *
 * - Fault window: faults of one service less than `gapMs` apart (default 250), from the first to the last
 *   (a delay fault lasts its delay).
 * - Restart window: from a kill to the killed replica's next incarnation being ready (or the end).
 * - Crash window: from a replica exiting on its own to it being ready again (or the end).
 * - During: samples whose [startMs, tMs] overlaps the window.
 * - Recovery: from the window's end to the completion of the first successful sample that started after the
 *   end and is followed by recoveryStreak - 1 more successes (default 3 in a row).
 * - Baseline: samples that overlap no window nor the recovery after it (window start to recovered, or to the
 *   end when it never recovered).
 */
export function topologyMetrics(
  timeline: readonly TimelineEntry[],
  samples: readonly WorkloadSample[],
  options: MetricsOptions = {},
): TopologyMetrics {
  const gapMs = options.gapMs ?? DEFAULT_GAP_MS;
  const streak = Math.max(1, options.recoveryStreak ?? DEFAULT_RECOVERY_STREAK);
  const last = Math.max(0, ...timeline.map((e) => e.tMs), ...samples.map((s) => s.tMs));
  const endMs = options.endMs ?? last;
  const byStart = [...samples].sort((a, b) => a.startMs - b.startMs || a.tMs - b.tMs);
  const byEnd = [...samples].sort((a, b) => a.tMs - b.tMs);

  const windows: DisruptionWindow[] = windowsOf(timeline, gapMs, endMs).map((w) => {
    const during = samples.filter((s) => s.startMs <= w.endMs && s.tMs >= w.startMs);
    const firstError = byEnd.find((s) => !s.ok && s.tMs >= w.startMs);
    const after = byStart.filter((s) => s.startMs >= w.endMs);
    let recoveredAtMs: number | null = null;
    for (let i = 0; i < after.length; i++) {
      const run = after.slice(i, i + streak);
      if (run.length > 0 && (run.length === streak || i + run.length === after.length) && run.every((s) => s.ok)) {
        recoveredAtMs = after[i]?.tMs ?? null;
        break;
      }
    }
    const errorsAfter = byEnd.filter((s) => !s.ok && s.tMs >= w.endMs && (recoveredAtMs === null || s.tMs <= recoveredAtMs)).length;
    return {
      ...w,
      during: sampleStats(during),
      firstErrorMs: firstError ? round(firstError.tMs - w.startMs) : null,
      recoveryMs: recoveredAtMs === null ? null : round(Math.max(0, recoveredAtMs - w.endMs)),
      recoveredAtMs: recoveredAtMs === null ? null : round(recoveredAtMs),
      errorsAfter,
    };
  });

  // Baseline: samples clear of every window and of the recovery after it (until recovered, or the end).
  const outside = samples.filter(
    (s) => !windows.some((w) => s.tMs >= w.startMs && (w.recoveredAtMs === null ? true : s.startMs < w.recoveredAtMs) && s.startMs <= Math.max(w.endMs, w.recoveredAtMs ?? Infinity)),
  );
  return { overall: sampleStats(samples), baseline: sampleStats(outside), windows };
}
