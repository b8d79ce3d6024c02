/**
 * The HTML page of a topology run (`sysfault topology run --html`): the timeline picture (services, restarts,
 * faults, the workload's errors and latency over time), the disruption windows with their error rates and
 * recovery times, every incarnation of every service, and the timeline's entries.
 */
import { formatEntry } from '../topology/topology.js';
import type { SampleStats, TopologyResult } from '../topology/types.js';
import { cards, esc, htmlPage, humanMs, plural, table, type Tone } from './page.js';
import { ACTION_COLOURS, actionKind, timelineSvg } from './topology-timeline.js';

/** Milliseconds to 3 significant digits (latencies). */
function ms3(n: number): string {
  return n >= 100 ? String(Math.round(n)) : String(Number(n.toPrecision(3)));
}

function latency(s: SampleStats): string {
  return s.latencyMs ? `${ms3(s.latencyMs.p50)} / ${ms3(s.latencyMs.p99)} ms` : '-';
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

function verdictOf(r: TopologyResult): { text: string; tone: Tone } {
  if (r.error) return { text: r.error, tone: 'fail' };
  const exit = r.workload?.exit;
  switch (r.reason) {
    case 'workload-exit':
      return exit && exit.code === 0 ? { text: 'The workload succeeded', tone: 'pass' } : { text: `The workload failed (${exit ? (exit.signal ?? `exit ${exit.code}`) : 'no exit status'})`, tone: 'fail' };
    case 'duration':
      return { text: `Ran its ${humanMs(r.durationMs)}`, tone: 'pass' };
    case 'timeout':
      return { text: 'Timed out', tone: 'fail' };
    default:
      return { text: `Ended: ${r.reason}`, tone: r.reason === 'services-exited' ? 'info' : 'fail' };
  }
}

/** The page of a topology result. */
export function renderTopologyPage(result: TopologyResult): string {
  const r = result;
  const m = r.metrics;
  const incarnations = r.instances.flatMap((i) => i.incarnations.map((inc) => ({ id: i.serviceId, inc })));
  const faults = r.timeline.filter((e) => e.kind === 'fault');
  const restarts = r.timeline.filter((e) => e.kind === 'restart').length;
  const kills = r.timeline.filter((e) => e.kind === 'kill').length;
  const actions = [...new Set(faults.map((e) => actionKind(e.fault?.action ?? '')))];

  const legend = `<div class="legend">${actions
    .map((a) => `<span><i style="background:${ACTION_COLOURS[a]};border-radius:0;clip-path:polygon(0 0,100% 0,50% 100%)"></i>fault: ${esc(a)}</span>`)
    .join('')}<span><i style="background:#b9cdf3"></i>starting</span><span><i style="background:#4f7fd9"></i>ready</span><span><i style="background:#fff;border:2px solid #2b9348;border-radius:50%"></i>restart</span><span><b style="color:#d62828">✕</b> kill</span><span><i style="background:rgba(214,40,40,0.18)"></i>fault window</span><span><i style="background:rgba(123,44,191,0.18)"></i>service down (restart, crash)</span>${
    r.samples.length ? `<span><i style="background:#d62828"></i>failed request</span><span><i style="background:#18202a;height:2px"></i>p99 latency</span>` : ''
  }</div>`;

  const windows = m.windows.length
    ? table(
        ['window', 'service', 'from', 'to', 'requests', 'failed', 'latency p50 / p99', 'first error', 'recovered after'],
        m.windows.map((w) => [
          esc(w.kind === 'fault' ? `${plural(w.faults, 'fault')} (${w.actions.join(', ')})` : w.kind === 'restart' ? 'restart (down)' : 'crash (down)'),
          esc(w.serviceId ?? w.service),
          esc(humanMs(w.startMs)),
          esc(humanMs(w.endMs)),
          esc(w.during.count),
          esc(pct(w.during.errorRate)),
          esc(latency(w.during)),
          esc(w.firstErrorMs === null ? '-' : `${humanMs(w.firstErrorMs)}`),
          w.recoveryMs === null ? '<strong style="color:#d62828">never</strong>' : esc(humanMs(w.recoveryMs)),
        ]),
        'windows',
      )
    : '<p class="muted">No disruption: no fault, kill or crash.</p>';

  const services = table(
    ['service', 'run', 'pid', 'engine', 'seed', 'started', 'ready', 'ended', 'exit', 'faults'],
    incarnations.map(({ id, inc }) => [
      `<strong>${esc(id)}</strong>`,
      esc(`#${inc.incarnation}`),
      esc(inc.pid ?? '-'),
      esc(inc.engine),
      `<span class="mono">${esc(inc.seed)}</span>`,
      esc(humanMs(inc.startMs)),
      esc(inc.readyMs === null ? 'never' : humanMs(inc.readyMs)),
      esc(inc.endMs === null ? '-' : humanMs(inc.endMs)),
      esc(`${inc.exit ? (inc.exit.signal ?? `code ${inc.exit.code}`) : '-'}${inc.endedBy ? ` (${inc.endedBy})` : ''}`),
      esc(inc.result?.faults.length ?? 0),
    ]),
    'services',
  );

  const notable = r.timeline.filter((e) => e.kind !== 'log' && e.kind !== 'workload-error');
  const entryRows = (list: typeof r.timeline): string => `<pre class="entries">${list.map((e) => esc(formatEntry(e))).join('\n')}</pre>`;

  const o = m.overall;
  const body = [
    cards([
      { label: 'duration', value: humanMs(r.durationMs), note: `ready after ${r.readyMs === null ? 'never' : humanMs(r.readyMs)}` },
      { label: 'services', value: r.instances.length, note: plural(incarnations.length, 'process', 'processes') },
      { label: 'faults injected', value: faults.length, tone: faults.length ? 'fail' : undefined },
      { label: 'kills / restarts', value: `${kills} / ${restarts}` },
      { label: 'requests', value: o.count, note: `${o.errors} failed (${pct(o.errorRate)})`, tone: o.errors ? 'fail' : o.count ? 'pass' : undefined },
      { label: 'latency p50 / p99', value: latency(o), note: `baseline ${latency(m.baseline)}` },
    ]),
    `<section id="timeline-section"><h2>Timeline</h2><p class="hint">Every service replica on one clock (ms since the topology started); hover a marker for what happened.</p>${timelineSvg(r)}${legend}</section>`,
    `<section id="windows"><h2>Disruptions and recovery</h2><p class="hint">A fault window is a burst of faults in one service; a down window runs from a kill or crash to ready again. Recovery: from its end to the first of 3 successful requests in a row.</p>${windows}</section>`,
    `<section id="services"><h2>Services</h2>${services}</section>`,
    `<section id="entries"><h2>Events (${notable.length})</h2><p class="hint">Starts, readiness, faults, kills, restarts and exits; the full timeline with log lines and failed requests is below.</p>${entryRows(notable)}<details><summary>Full timeline (${plural(r.timeline.length, 'entry', 'entries')})</summary>${entryRows(r.timeline)}</details></section>`,
  ].join('\n');

  return htmlPage({
    title: `topology ${r.name}: ${verdictOf(r).text}`,
    kind: 'Topology',
    heading: `Topology ${r.name}`,
    subtitle: [`started ${r.startedAt} · id ${r.topologyId}`, `dir ${r.dir}`],
    verdict: verdictOf(r),
    body,
  });
}
