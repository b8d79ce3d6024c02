/**
 * OpenTelemetry export of a topology run, through @opentelemetry/api only (bring your own SDK and exporter):
 *
 * - one root span `sysfault.topology` for the whole run;
 * - one child span `sysfault.service` per service lifetime (each incarnation of each replica: from its start
 *   to its exit), with an event per timeline entry of that incarnation: start, ready, fault, kill, unready,
 *   exit, log, rule-enabled/disabled, and the restart that started it;
 * - one child span `sysfault.workload` with an event per failed sample (`workload-error`) and mark;
 * - the topology's own entries (topology-start, topology-ready, workload-start, topology-end) on the root.
 *
 * Times are the timeline's, on the wall clock: the result's epochMs + tMs (the monotonic clock's origin mapped
 * once), so spans and events keep the timeline's order exactly.
 */
import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type HrTime,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { TimelineEntry, TopologyResult } from './types.js';

/** Options of {@link exportTopologyToOtel}. */
export interface OtelExportOptions {
  /** The tracer to use (default: `tracerProvider`'s, else the global provider's, named "sysfault"). */
  tracer?: Tracer;
  tracerProvider?: TracerProvider;
  /** Parent context of the root span (default: the active context). */
  context?: Context;
}

/** What {@link exportTopologyToOtel} created. */
export interface OtelExport {
  traceId: string;
  rootSpanId: string;
  /** Spans created, root included. */
  spans: number;
  /** Span events added. */
  events: number;
}

/** Wall-clock HrTime of a topology time. */
function hrTime(result: TopologyResult, tMs: number): HrTime {
  const ms = result.epochMs + tMs;
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return [seconds, nanos];
}

/** Span event attributes of a timeline entry (flat, OpenTelemetry-style names). */
export function entryAttributes(e: TimelineEntry): Attributes {
  const a: Attributes = {
    'sysfault.kind': e.kind,
    'sysfault.seq': e.seq,
    'sysfault.t_ms': e.tMs,
    'sysfault.topology.id': e.topologyId,
  };
  if (e.service !== undefined) a['sysfault.service.name'] = e.service;
  if (e.serviceId !== undefined) a['sysfault.service.id'] = e.serviceId;
  if (e.replica !== undefined) a['sysfault.service.replica'] = e.replica;
  if (e.incarnation !== undefined) a['sysfault.service.incarnation'] = e.incarnation;
  if (e.pid !== undefined) a['process.pid'] = e.pid;
  if (e.runId !== undefined) a['sysfault.run.id'] = e.runId;
  if (e.signal !== undefined) a['sysfault.signal'] = e.signal;
  if (e.event !== undefined) a['sysfault.event'] = e.event;
  if (e.reason !== undefined) a['sysfault.reason'] = e.reason;
  if (e.line !== undefined) a['sysfault.line'] = e.line;
  if (e.rule !== undefined) a['sysfault.rule'] = e.rule;
  if (e.exit) {
    if (e.exit.code !== null) a['sysfault.exit.code'] = e.exit.code;
    if (e.exit.signal !== null) a['sysfault.exit.signal'] = e.exit.signal;
  }
  if (e.fault) {
    const f = e.fault;
    a['sysfault.fault.seq'] = f.seq;
    a['sysfault.fault.rule'] = f.rule;
    a['sysfault.fault.syscall'] = f.syscall;
    a['sysfault.fault.action'] = f.action;
    a['sysfault.fault.fd'] = f.fd;
    a['sysfault.fault.target'] = f.target;
    a['sysfault.fault.run_t_ms'] = f.tMs;
    a['thread.id'] = f.tid;
  }
  if (e.sample) {
    const s = e.sample;
    a['sysfault.sample.ok'] = s.ok;
    a['sysfault.sample.latency_ms'] = s.latencyMs;
    a['sysfault.sample.start_ms'] = s.startMs;
    if (s.op !== undefined) a['sysfault.sample.op'] = s.op;
    if (s.key !== undefined) a['sysfault.sample.key'] = s.key;
    if (s.status !== undefined) a['sysfault.sample.status'] = s.status;
    if (s.error !== undefined) a['sysfault.sample.error'] = s.error;
  }
  return a;
}

/**
 * Exports a finished topology run as OpenTelemetry spans and span events (see the module comment).
 * Spans are started and ended with the timeline's own times, so this can run any time after the run.
 */
export function exportTopologyToOtel(result: TopologyResult, options: OtelExportOptions = {}): OtelExport {
  const tracer = options.tracer ?? (options.tracerProvider ?? trace.getTracerProvider()).getTracer('sysfault', '1');
  const parent = options.context ?? otelContext.active();
  const at = (tMs: number): HrTime => hrTime(result, tMs);
  let spans = 0;
  let events = 0;
  const addEvent = (span: Span, e: TimelineEntry): void => {
    span.addEvent(e.kind, entryAttributes(e), at(e.tMs));
    events++;
  };

  const root = tracer.startSpan(
    'sysfault.topology',
    {
      kind: SpanKind.INTERNAL,
      startTime: at(0),
      attributes: {
        'sysfault.topology.id': result.topologyId,
        'sysfault.topology.name': result.name,
        'sysfault.topology.reason': result.reason,
        'sysfault.topology.dir': result.dir,
        'sysfault.samples': result.samples.length,
        'sysfault.samples.errors': result.samples.filter((s) => !s.ok).length,
        ...(result.error !== null && { 'sysfault.topology.error': result.error }),
      },
    },
    parent,
  );
  spans++;
  const ctx = trace.setSpan(parent, root);
  const placed = new Set<TimelineEntry>();

  for (const inst of result.instances) {
    for (const inc of inst.incarnations) {
      const exit = inc.exit;
      const span = tracer.startSpan(
        'sysfault.service',
        {
          kind: SpanKind.INTERNAL,
          startTime: at(inc.startMs),
          attributes: {
            'sysfault.topology.id': result.topologyId,
            'sysfault.service.name': inst.service,
            'sysfault.service.id': inst.serviceId,
            'sysfault.service.replica': inst.replica,
            'sysfault.service.incarnation': inc.incarnation,
            'sysfault.run.id': inc.runId,
            'sysfault.engine': inc.engine,
            'sysfault.seed': String(inc.seed),
            'sysfault.faults': inc.result?.faults.length ?? 0,
            ...(inc.pid !== null && { 'process.pid': inc.pid }),
            ...(inc.endedBy !== null && { 'sysfault.ended_by': inc.endedBy }),
            ...(exit?.code != null && { 'sysfault.exit.code': exit.code }),
            ...(exit?.signal != null && { 'sysfault.exit.signal': exit.signal }),
          },
        },
        ctx,
      );
      spans++;
      // The restart entry that brought this incarnation up (recorded just before its start).
      if (inc.incarnation > 0) {
        const restart = result.timeline.filter((e) => e.kind === 'restart' && e.serviceId === inst.serviceId && e.tMs <= inc.startMs).at(-1);
        if (restart && !placed.has(restart)) {
          addEvent(span, restart);
          placed.add(restart);
        }
      }
      for (const e of result.timeline) {
        if (e.serviceId === inst.serviceId && e.incarnation === inc.incarnation && !placed.has(e)) {
          addEvent(span, e);
          placed.add(e);
        }
      }
      if (inc.endedBy === 'crash' && !(exit?.code === 0)) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `exited on its own (${exit ? (exit.signal ?? `code ${exit.code}`) : 'status unknown'})` });
      }
      span.end(at(Math.max(inc.startMs, inc.endMs ?? result.durationMs)));
    }
  }

  const w = result.workload;
  if (w) {
    const span = tracer.startSpan(
      'sysfault.workload',
      {
        kind: SpanKind.CLIENT,
        startTime: at(w.startMs),
        attributes: {
          'sysfault.topology.id': result.topologyId,
          'sysfault.workload.kind': w.kind,
          'sysfault.samples': result.samples.length,
          'sysfault.samples.errors': result.samples.filter((s) => !s.ok).length,
          ...(w.exit?.code != null && { 'sysfault.exit.code': w.exit.code }),
          ...(w.exit?.signal != null && { 'sysfault.exit.signal': w.exit.signal }),
        },
      },
      ctx,
    );
    spans++;
    for (const e of result.timeline) {
      if (e.kind === 'workload-error' || e.kind === 'mark' || e.kind === 'workload-exit') {
        addEvent(span, e);
        placed.add(e);
      }
    }
    if (w.error !== null || (w.exit && w.exit.code !== 0)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: w.error ?? `exit ${w.exit?.signal ?? w.exit?.code}` });
    }
    span.end(at(Math.max(w.startMs, w.endMs ?? result.durationMs)));
  }

  for (const e of result.timeline) if (!placed.has(e)) addEvent(root, e);
  if (result.error !== null) root.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
  root.end(at(result.durationMs));
  const sc = root.spanContext();
  return { traceId: sc.traceId, rootSpanId: sc.spanId, spans, events };
}
