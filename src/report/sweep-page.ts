/**
 * The HTML page of a crash sweep (`sysfault sweep --html`, `sysfault sweep merge --html`): the crash points as
 * a grid coloured by verdict, then every failure with its verify output, crash state, explanation, fault log,
 * power cut and replay command. A failed cell links to its failure.
 */
import { shareOf } from '../common/shard.js';
import { shellQuote } from '../common/shell.js';
import { samplePoints, type SweepFailure, type SweepReport } from '../sweep/crash-sweep.js';
import { badge, cards, commandBlock, esc, htmlPage, humanMs, outputBlock, plural, table, type Card } from './page.js';

type Failure = SweepFailure;
type Report = SweepReport;

type Verdict = 'pass' | 'fail' | 'idle';

const COLOURS: Record<Verdict, string> = { pass: '#2b9348', fail: '#d62828', idle: '#d5dbe1' };

/** The points the report tried, when it tells (all of them, or the seeded sample, or a shard's share of it). */
function triedPoints(r: Report): Set<number> | undefined {
  if (r.tried === r.points && !r.shard) return new Set(Array.from({ length: r.points }, (_, i) => i + 1));
  if (r.sample === undefined && r.tried !== r.points && !r.shard) return undefined;
  let seed: bigint;
  try {
    seed = BigInt(r.seed);
  } catch {
    return undefined;
  }
  const selected = samplePoints(r.points, r.sample, seed);
  const mine = r.shard ? shareOf(selected, r.shard) : selected;
  return mine.length === r.tried ? new Set(mine) : undefined;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';
}

/** The crash points as an SVG grid: one cell per point, coloured by verdict; failed cells link to the failure. */
function grid(r: Report, byPoint: Map<number, Failure[]>, tried: Set<number> | undefined): string {
  const n = r.points;
  if (n === 0) return '<p class="muted">The clean run made none of the chosen calls: there is no crash point.</p>';
  const [size, columns] = n <= 150 ? [38, 25] : n <= 600 ? [24, 40] : [14, 64];
  const gap = size >= 24 ? 4 : 2;
  const cols = Math.min(columns, n);
  const rows = Math.ceil(n / cols);
  const width = cols * (size + gap) - gap;
  const height = rows * (size + gap) - gap;
  const cells: string[] = [];
  for (let k = 1; k <= n; k++) {
    const x = ((k - 1) % cols) * (size + gap);
    const y = Math.floor((k - 1) / cols) * (size + gap);
    const failures = byPoint.get(k) ?? [];
    const verdict: Verdict = failures.length > 0 ? 'fail' : tried?.has(k) ? 'pass' : 'idle';
    const label =
      verdict === 'fail'
        ? `point ${k}: FAILED${failures.length > 1 ? ` in ${failures.length} crash states` : ''}: ${lastLine(failures[0]?.verifyOutput ?? '') || `verify exit ${String(failures[0]?.verifyExit)}`}`
        : verdict === 'pass'
          ? `point ${k}: verified`
          : tried
            ? `point ${k}: not tried (not in the sample)`
            : `point ${k}: verified or not tried`;
    const text = size >= 24 ? `<text x="${x + size / 2}" y="${y + size / 2 + 4}" text-anchor="middle" font-size="${size >= 38 ? 12 : 10}" fill="${verdict === 'idle' ? '#5f6b76' : '#fff'}" font-weight="600">${k}</text>` : '';
    const count = failures.length > 1 && size >= 24 ? `<text x="${x + size - 3}" y="${y + 10}" text-anchor="end" font-size="9" fill="#fff">×${failures.length}</text>` : '';
    const rect = `<rect class="cell" data-point="${k}" data-verdict="${verdict}" data-failures="${failures.length}" x="${x}" y="${y}" width="${size}" height="${size}" rx="${size >= 24 ? 5 : 2}" fill="${COLOURS[verdict]}"/>`;
    const inner = `<title>${esc(label)}</title>${rect}${text}${count}`;
    cells.push(verdict === 'fail' ? `<a href="#point-${k}">${inner}</a>` : `<g>${inner}</g>`);
  }
  return `<svg id="grid" role="img" aria-label="crash points by verdict" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${cells.join('')}</svg>`;
}

function list(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '<span class="muted">none</span>' : `<ul>${value.map((v) => `<li class="mono">${esc(typeof v === 'string' ? v : JSON.stringify(v))}</li>`).join('')}</ul>`;
  if (value === undefined || value === null) return '<span class="muted">-</span>';
  return esc(typeof value === 'string' || typeof value === 'number' ? value : JSON.stringify(value));
}

function exitText(f: Failure): string {
  const how = f.exit.signal ? `killed by ${f.exit.signal}` : `exit ${String(f.exit.code)}`;
  return f.crashed ? `${how} at the crash point` : `${how} before reaching the crash point (the run made fewer calls than the clean run)`;
}

function failureDetails(f: Failure, id: string): string {
  const parts: string[] = [];
  if (f.explanation) parts.push(`<h3>What went wrong</h3><p class="explanation">${esc(f.explanation)}</p>`);
  if (f.state) {
    parts.push(
      `<h3>Crash state ${esc(f.state.index)}</h3><dl class="kv"><dt>kind</dt><dd>${esc(f.state.kind)}</dd><dt>persisted</dt><dd>${list(f.state.persisted)}</dd><dt>dropped</dt><dd>${list(f.state.dropped)}</dd><dt>culprit</dt><dd>${list(f.state.culprit)}</dd></dl>`,
    );
  }
  parts.push(`<h3>Verify output (exit ${esc(String(f.verifyExit))})</h3>${outputBlock(f.verifyOutput, 'output verify-output')}`);
  parts.push(`<h3>The crashed run</h3><p>${esc(exitText(f))}</p>`);
  if (f.faults.length > 0) {
    parts.push(
      `<h3>Fault log</h3>${table(
        ['seq', 'syscall', 'action', 'target', 'rule', 'pid'],
        f.faults.map((x) => [esc(x.seq), `<code>${esc(x.syscall)}</code>`, `<code>${esc(x.action)}</code>`, `<code>${esc(x.target)}</code>`, esc(x.rule), esc(x.pid)]),
        'faults',
      )}`,
    );
  }
  if (f.powercut) {
    const pc = f.powercut;
    parts.push(
      `<h3>Power cut (${esc(pc.glob)})</h3>${
        pc.applied
          ? `<dl class="kv"><dt>restored to their last sync</dt><dd>${list(pc.restored)}</dd><dt>removed (never synced)</dt><dd>${list(pc.removed)}</dd></dl>`
          : '<p class="muted">not applied</p>'
      }`,
    );
  }
  if (f.dir) parts.push(`<h3>Working directory (kept)</h3><pre>${esc(f.dir)}</pre>`);
  parts.push(`<h3>Replay this point</h3>${commandBlock(f.replay)}`);
  const why = f.explanation ?? lastLine(f.verifyOutput);
  return `<details class="item failure" id="${id}" data-point="${f.point}"><summary><span class="what">Point ${f.point}</span>${badge(`verify exit ${String(f.verifyExit)}`, 'fail')}${
    f.state ? badge(`state ${f.state.index}: ${f.state.kind}`, 'info') : ''
  }<span class="why">${esc(why)}</span></summary><div class="body">${parts.join('')}</div></details>`;
}

/** The page of a sweep report (a shard's report gives the page of its share). */
export function renderSweepPage(report: SweepReport): string {
  const r = report as Report;
  const failures = r.failed as Failure[];
  const byPoint = new Map<number, Failure[]>();
  for (const f of failures) byPoint.set(f.point, [...(byPoint.get(f.point) ?? []), f]);
  const tried = triedPoints(r);
  // a report written before sweeps carried warnings (a JSON file given to `sweep merge`) has none
  const warnings = r.warnings ?? [];
  const failedPoints = byPoint.size;
  const calls = r.calls.join(', ');
  const program = r.command?.length ? `${r.command[0]?.split('/').at(-1) ?? ''}${r.command.length > 1 ? ` ${r.command.slice(1).map(shellQuote).join(' ')}` : ''}` : 'a program';
  const shardNote = r.shard ? ` (shard ${r.shard.index}/${r.shard.total})` : '';

  const card: Card[] = [
    { label: 'crash points', value: r.points, note: `${calls} calls in the clean run` },
    { label: 'tried', value: r.tried, note: r.shard ? `shard ${r.shard.index}/${r.shard.total} of ${r.shard.of}` : r.tried < r.points ? `seeded sample` : 'every point' },
    { label: 'failed', value: failedPoints, tone: failedPoints > 0 ? 'fail' : 'pass', note: failures.length > failedPoints ? plural(failures.length, 'crash state') : undefined },
    { label: 'verified', value: r.tried - failedPoints, tone: 'pass' },
  ];
  card.push({ label: 'crash states verified', value: r.states, note: r.states > r.tried ? `${r.states - r.tried} beyond each point's pessimistic state` : undefined });
  card.push({ label: 'file-system model', value: r.fs });
  if (warnings.length > 0) card.push({ label: 'warnings', value: warnings.length, tone: 'error' });
  card.push({ label: 'seed', value: String(r.seed) }, { label: 'duration', value: humanMs(r.durationMs) });

  const legend = `<div class="legend"><span><i style="background:${COLOURS.fail}"></i>failed: the verify command rejected the state the crash left (click for details)</span><span><i style="background:${COLOURS.pass}"></i>verified</span><span><i style="background:${COLOURS.idle}"></i>${tried ? 'not tried (outside the sample or the shard)' : 'verified or not tried'}</span></div>`;
  const body = [
    cards(card),
    `<section id="points"><h2>Crash points</h2><p class="hint">Point k kills the program at its k-th ${esc(calls)} call, before the call happens, then (with a power cut) keeps of its unsynced writes what the ${esc(r.fs)} model and each crash state allow, and runs the verify command in what is left.</p>${grid(r, byPoint, tried)}${legend}</section>`,
    ...(warnings.length > 0
      ? [`<section id="warnings"><h2>Warnings</h2><ul>${warnings.map((w) => `<li data-code="${esc(w.code)}"><code>${esc(w.code)}</code> ${esc(w.message)}</li>`).join('')}</ul></section>`]
      : []),
    `<section id="failures"><h2>${failures.length === 0 ? 'No failures' : `Failures (${plural(failedPoints, 'point')})`}</h2>${
      failures.length === 0
        ? `<p class="muted">Every tried crash point left a state the verify command accepts.</p>`
        : `<p class="hint">Each opens its verify output, fault log and the one command that replays it.</p>${failures
            .map((f, i) => failureDetails(f, i > 0 && failures[i - 1]?.point === f.point ? `point-${f.point}-${i}` : `point-${f.point}`))
            .join('')}`
    }</section>`,
  ].join('\n');

  return htmlPage({
    title: `sweep: ${failedPoints} of ${r.tried} failed · ${program}`,
    kind: 'Crash sweep',
    heading: `Crash sweep of ${program}${shardNote}`,
    subtitle: [
      ...(r.command?.length ? [`$ ${r.command.map(shellQuote).join(' ')}`] : []),
      ...(r.verify !== undefined ? [`verify: ${typeof r.verify === 'string' ? r.verify : r.verify.map(shellQuote).join(' ')}`] : []),
    ],
    verdict:
      failedPoints > 0
        ? { text: `${failedPoints} of ${plural(r.tried, 'crash point')} did not recover`, tone: 'fail' }
        : { text: r.tried === 0 ? 'No crash point tried' : `All ${plural(r.tried, 'crash point')} recovered`, tone: r.tried === 0 ? 'idle' : 'pass' },
    body,
  });
}
