/**
 * The picture of a topology run, as one SVG on the topology clock: a lane per service replica (each
 * incarnation a bar, lighter until it was ready; faults, kills, restarts and exits as markers), the workload's
 * lane (its failed requests), the disruption windows shaded across everything, then the workload's requests
 * per time slice (failed ones in red) and their latency (every request a dot, log scale, p99 per slice).
 */
import { percentile } from '../topology/metrics.js';
import type { TimelineEntry, TopologyResult, WorkloadSample } from '../topology/types.js';
import { esc, humanMs } from './page.js';

const WIDTH = 1140;
const LEFT = 120;
const RIGHT = 16;
const LANE = 34;
const AXIS = 26;
const RATE_H = 90;
const LAT_H = 130;
const GAP = 40;
/** Time slices of the request charts. */
const SLICES = 80;
/** Most requests drawn as dots (evenly spaced when there are more). */
const MAX_DOTS = 4000;

/** Colours of fault markers by what the fault did. */
export const ACTION_COLOURS: Record<string, string> = { errno: '#d62828', delay: '#e8a20c', short: '#f26b1d', torn: '#f26b1d', kill: '#18202a', other: '#7b2cbf' };

export function actionKind(action: string): string {
  const kind = action.split(':')[0] ?? '';
  return kind in ACTION_COLOURS ? kind : kind.startsWith('delay') ? 'delay' : 'other';
}

/** Round tick steps (1, 2, 5 x 10^k ms) giving about `count` ticks over `span`. */
function ticks(span: number, count: number): number[] {
  if (!(span > 0)) return [0];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag);
  const out: number[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) out.push(Number(t.toFixed(6)));
  return out;
}

function tickLabel(ms: number, span: number): string {
  if (span < 2000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(span < 20_000 ? 1 : 0)} s`;
}

/** A marker's shape: a triangle pointing down (faults), a cross (kills), a circle (restarts, exits). */
function marker(kind: 'fault' | 'kill' | 'restart' | 'exit' | 'rule' | 'mark', x: number, y: number, colour: string, attrs: string, title: string): string {
  const t = `<title>${esc(title)}</title>`;
  switch (kind) {
    case 'fault':
      return `<path class="marker fault" ${attrs} d="M${x - 5},${y - 7}L${x + 5},${y - 7}L${x},${y + 1}Z" fill="${colour}" stroke="#fff" stroke-width="0.8">${t}</path>`;
    case 'kill':
      return `<g class="marker kill" ${attrs}>${t}<line x1="${x}" y1="${y - 13}" x2="${x}" y2="${y + 13}" stroke="#18202a" stroke-width="1.5" stroke-dasharray="3 2"/><path d="M${x - 5},${y - 5}L${x + 5},${y + 5}M${x + 5},${y - 5}L${x - 5},${y + 5}" stroke="#d62828" stroke-width="2.6"/></g>`;
    case 'restart':
      return `<circle class="marker restart" ${attrs} cx="${x}" cy="${y}" r="5" fill="#fff" stroke="#2b9348" stroke-width="2.4">${t}</circle>`;
    case 'exit':
      return `<rect class="marker exit" ${attrs} x="${x - 4}" y="${y - 4}" width="8" height="8" fill="${colour}" stroke="#fff" stroke-width="0.8">${t}</rect>`;
    default:
      return `<path class="marker ${kind}" ${attrs} d="M${x},${y - 9}L${x},${y + 9}M${x},${y - 9}L${x + 7},${y - 6}L${x},${y - 3}" stroke="#1c6dd0" stroke-width="1.6" fill="none">${t}</path>`;
  }
}

function entryTitle(e: TimelineEntry): string {
  const at = `${humanMs(e.tMs)}`;
  switch (e.kind) {
    case 'fault':
      return `${at}: ${e.serviceId ?? ''} ${e.fault ? `${e.fault.syscall} -> ${e.fault.action}${e.fault.target ? ` ${e.fault.target}` : ''} [${e.fault.rule}]` : 'fault'}`;
    case 'kill':
      return `${at}: ${e.serviceId ?? ''} killed by ${e.signal ?? 'a signal'}${e.event !== undefined ? ` (event ${e.event})` : ''}`;
    case 'restart':
      return `${at}: ${e.serviceId ?? ''} restarted ${e.event !== undefined ? `by event ${e.event}` : `by ${e.reason ?? 'policy'}`}`;
    case 'exit':
      return `${at}: ${e.serviceId ?? ''} exited: ${e.exit ? (e.exit.signal ?? `code ${e.exit.code}`) : '?'}${e.reason ? ` (${e.reason})` : ''}`;
    default:
      return `${at}: ${e.serviceId ?? ''} ${e.kind} ${e.rule ?? e.line ?? ''}`.trim();
  }
}

/** The timeline SVG of a topology result. */
export function timelineSvg(r: TopologyResult): string {
  const span = Math.max(1, r.durationMs);
  const plotW = WIDTH - LEFT - RIGHT;
  const x = (ms: number): number => LEFT + (Math.min(Math.max(ms, 0), span) / span) * plotW;
  const f1 = (n: number): string => n.toFixed(1);
  const lanes = r.instances.map((i) => i.serviceId);
  const laneOf = new Map(lanes.map((id, i) => [id, i]));
  const workloadLane = r.workload ? lanes.length : -1;
  const laneCount = lanes.length + (r.workload ? 1 : 0);
  const lanesTop = AXIS;
  const lanesH = laneCount * LANE;
  const rateTop = lanesTop + lanesH + GAP;
  const latTop = rateTop + RATE_H + GAP;
  const height = r.samples.length > 0 ? latTop + LAT_H + 22 : lanesTop + lanesH + 8;
  const out: string[] = [];
  const laneY = (i: number): number => lanesTop + i * LANE + LANE / 2;

  // axis and grid lines
  for (const t of ticks(span, 10)) {
    out.push(`<line x1="${f1(x(t))}" y1="${AXIS - 4}" x2="${f1(x(t))}" y2="${height - 18}" stroke="#e7ebef"/>`);
    out.push(`<text x="${f1(x(t))}" y="${AXIS - 9}" font-size="10.5" fill="#5f6b76" text-anchor="middle">${tickLabel(t, span)}</text>`);
  }
  // disruption windows behind everything
  for (const w of r.metrics.windows) {
    const colour = w.kind === 'fault' ? 'rgba(214,40,40,0.10)' : 'rgba(123,44,191,0.10)';
    const wx = x(w.startMs);
    const ww = Math.max(2, x(w.endMs) - wx);
    const label = `${w.kind === 'fault' ? `${w.faults} fault${w.faults === 1 ? '' : 's'}` : w.kind} in ${w.serviceId ?? w.service}: ${humanMs(w.startMs)} to ${humanMs(w.endMs)}; ${w.during.count} requests in flight, ${(w.during.errorRate * 100).toFixed(0)}% failed; recovered ${w.recoveryMs === null ? 'never' : `${humanMs(w.recoveryMs)} after`}`;
    out.push(`<rect class="window" data-kind="${esc(w.kind)}" x="${f1(wx)}" y="${AXIS - 4}" width="${f1(ww)}" height="${height - AXIS - 14}" fill="${colour}"><title>${esc(label)}</title></rect>`);
  }
  // lanes
  lanes.forEach((id, i) => {
    const y = laneY(i);
    out.push(`<g class="lane" data-service="${esc(id)}"><text x="${LEFT - 10}" y="${y + 4}" font-size="12.5" text-anchor="end" fill="#1d232a" font-weight="600">${esc(id)}</text>`);
    out.push(`<line x1="${LEFT}" y1="${y}" x2="${WIDTH - RIGHT}" y2="${y}" stroke="#dde2e7" stroke-dasharray="2 3"/>`);
    for (const inc of r.instances[i]?.incarnations ?? []) {
      const end = inc.endMs ?? span;
      const ready = inc.readyMs ?? end;
      const title = `${id}#${inc.incarnation} pid ${inc.pid ?? '?'} (${inc.engine}, seed ${inc.seed}): started ${humanMs(inc.startMs)}, ready ${inc.readyMs === null ? 'never' : humanMs(inc.readyMs)}, ended ${inc.endMs === null ? '-' : humanMs(inc.endMs)}${inc.endedBy ? ` (${inc.endedBy})` : ''}`;
      out.push(`<rect class="incarnation starting" x="${f1(x(inc.startMs))}" y="${y - 8}" width="${f1(Math.max(1, x(ready) - x(inc.startMs)))}" height="16" rx="3" fill="#b9cdf3"><title>${esc(title)}</title></rect>`);
      out.push(`<rect class="incarnation" data-incarnation="${inc.incarnation}" x="${f1(x(ready))}" y="${y - 8}" width="${f1(Math.max(1, x(end) - x(ready)))}" height="16" rx="3" fill="#4f7fd9"><title>${esc(title)}</title></rect>`);
    }
    out.push('</g>');
  });
  if (r.workload) {
    const y = laneY(workloadLane);
    out.push(`<g class="lane" data-service="workload"><text x="${LEFT - 10}" y="${y + 4}" font-size="12.5" text-anchor="end" fill="#1d232a" font-weight="600">workload</text>`);
    out.push(`<rect class="workload" x="${f1(x(r.workload.startMs))}" y="${y - 5}" width="${f1(Math.max(1, x(r.workload.endMs ?? span) - x(r.workload.startMs)))}" height="10" rx="3" fill="#c5ccd4"><title>workload: ${r.workload.samples} requests</title></rect>`);
    for (const e of r.timeline.filter((t) => t.kind === 'workload-error')) {
      out.push(`<line class="request-error" x1="${f1(x(e.tMs))}" y1="${y - 8}" x2="${f1(x(e.tMs))}" y2="${y + 8}" stroke="#d62828" stroke-width="1.2"><title>${esc(`${humanMs(e.tMs)}: ${e.sample?.op ?? 'request'} ${e.sample?.key ?? ''} failed: ${e.sample?.status ?? ''} ${e.sample?.error ?? ''}`)}</title></line>`);
    }
    out.push('</g>');
  }
  // markers on the lanes
  for (const e of r.timeline) {
    const lane = e.serviceId === undefined ? undefined : laneOf.get(e.serviceId);
    if (lane === undefined) continue;
    const y = laneY(lane);
    const attrs = `data-service="${esc(e.serviceId)}" data-t="${e.tMs}"`;
    if (e.kind === 'fault') {
      const kind = actionKind(e.fault?.action ?? '');
      out.push(marker('fault', x(e.tMs), y - 8, ACTION_COLOURS[kind] ?? '#7b2cbf', `${attrs} data-action="${esc(e.fault?.action ?? '')}" data-rule="${esc(e.fault?.rule ?? '')}"`, entryTitle(e)));
    } else if (e.kind === 'kill') out.push(marker('kill', x(e.tMs), y, '#d62828', attrs, entryTitle(e)));
    else if (e.kind === 'restart') out.push(marker('restart', x(e.tMs), y, '#2b9348', attrs, entryTitle(e)));
    else if (e.kind === 'exit' && e.reason !== 'stop' && e.reason !== 'event') out.push(marker('exit', x(e.tMs), y, '#18202a', attrs, entryTitle(e)));
    else if (e.kind === 'rule-enabled' || e.kind === 'rule-disabled') out.push(marker('rule', x(e.tMs), y, '#1c6dd0', attrs, entryTitle(e)));
  }
  if (r.samples.length > 0) out.push(requestCharts(r.samples, span, x, rateTop, latTop));
  return `<svg id="timeline" role="img" aria-label="topology timeline" viewBox="0 0 ${WIDTH} ${height}" width="100%" style="max-width:${WIDTH}px">${out.join('')}</svg>`;
}

/** Requests per slice (failed in red) and latency (dots, log scale; p99 per slice as a line). */
function requestCharts(samples: readonly WorkloadSample[], span: number, x: (ms: number) => number, rateTop: number, latTop: number): string {
  const out: string[] = [];
  const f1 = (n: number): string => n.toFixed(1);
  const slice = span / SLICES;
  const buckets = Array.from({ length: SLICES }, () => ({ ok: 0, errors: 0, latencies: [] as number[] }));
  for (const s of samples) {
    const b = buckets[Math.min(SLICES - 1, Math.max(0, Math.floor(s.tMs / slice)))];
    if (!b) continue;
    if (s.ok) b.ok++;
    else b.errors++;
    b.latencies.push(s.latencyMs);
  }
  const most = Math.max(1, ...buckets.map((b) => b.ok + b.errors));
  const bw = (x(span) - x(0)) / SLICES;
  out.push(`<text x="${LEFT}" y="${rateTop - 10}" font-size="12" fill="#1d232a"><tspan font-weight="600">Requests</tspan> completed per ${humanMs(slice)}, failed ones in red</text>`);
  out.push(`<text x="${LEFT - 10}" y="${rateTop + RATE_H}" font-size="10.5" text-anchor="end" fill="#5f6b76">0</text><text x="${LEFT - 10}" y="${rateTop + 8}" font-size="10.5" text-anchor="end" fill="#5f6b76">${most}</text>`);
  out.push(`<line x1="${LEFT}" y1="${rateTop + RATE_H}" x2="${x(span)}" y2="${rateTop + RATE_H}" stroke="#aab4be"/>`);
  buckets.forEach((b, i) => {
    const bx = x(i * slice) + 0.5;
    const okH = (b.ok / most) * RATE_H;
    const errH = (b.errors / most) * RATE_H;
    const title = `${humanMs(i * slice)} to ${humanMs((i + 1) * slice)}: ${b.ok + b.errors} requests, ${b.errors} failed`;
    if (b.ok > 0) out.push(`<rect class="ok-bar" x="${f1(bx)}" y="${f1(rateTop + RATE_H - okH - errH)}" width="${f1(Math.max(1, bw - 1))}" height="${f1(okH)}" fill="#9fb8d8"><title>${esc(title)}</title></rect>`);
    if (b.errors > 0) out.push(`<rect class="err-bar" data-errors="${b.errors}" x="${f1(bx)}" y="${f1(rateTop + RATE_H - errH)}" width="${f1(Math.max(1, bw - 1))}" height="${f1(errH)}" fill="#d62828"><title>${esc(title)}</title></rect>`);
  });
  // latency, log10 scale from the smallest to the largest decade seen
  const lat = samples.map((s) => Math.max(0.01, s.latencyMs));
  const lo = Math.floor(Math.log10(Math.min(...lat)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...lat))));
  const y = (ms: number): number => latTop + LAT_H - ((Math.log10(Math.max(0.01, ms)) - lo) / (hi - lo)) * LAT_H;
  out.push(`<text x="${LEFT}" y="${latTop - 10}" font-size="12" fill="#1d232a"><tspan font-weight="600">Latency</tspan> of every request (failed in red), p99 per ${humanMs(slice)} as a line</text>`);
  for (let d = lo; d <= hi; d++) {
    const v = 10 ** d;
    out.push(`<line x1="${LEFT}" y1="${f1(y(v))}" x2="${x(span)}" y2="${f1(y(v))}" stroke="#e7ebef"/><text x="${LEFT - 10}" y="${f1(y(v) + 4)}" font-size="10.5" text-anchor="end" fill="#5f6b76">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
  }
  const every = Math.max(1, Math.ceil(samples.length / MAX_DOTS));
  samples.forEach((s, i) => {
    if (i % every !== 0 && s.ok) return;
    out.push(`<circle class="${s.ok ? 'req-ok' : 'req-error'}" cx="${f1(x(s.tMs))}" cy="${f1(y(s.latencyMs))}" r="${s.ok ? 1.6 : 2.4}" fill="${s.ok ? 'rgba(79,127,217,0.55)' : '#d62828'}"/>`);
  });
  const p99 = buckets
    .map((b, i) => (b.latencies.length ? `${f1(x((i + 0.5) * slice))},${f1(y(percentile([...b.latencies].sort((a, c) => a - c), 99)))}` : ''))
    .filter((p) => p !== '');
  if (p99.length > 1) out.push(`<polyline class="p99" points="${p99.join(' ')}" fill="none" stroke="#18202a" stroke-width="1.3" opacity="0.75"/>`);
  return out.join('');
}
