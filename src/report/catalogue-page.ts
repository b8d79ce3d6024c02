/**
 * The HTML page of a scenario catalogue (`sysfault scenario run --html`, `sysfault scenario merge --html`): a
 * scenario x seed matrix coloured by result, the pass/fail table, and for every run that did not pass what
 * differed (each expectation: expected, got), its output and the command that reruns it.
 *
 * Only what the JSON report and a shard's report keep is shown (the outputs of failed runs, as JUnit keeps
 * them), so that merged shards give the same page as the unsplit run.
 */
import { dirname } from 'node:path';
import { tailChars } from '../common/text.js';
import type { CatalogueReport, ScenarioRunReport } from '../scenario/catalogue.js';
import { badge, cards, commandBlock, esc, htmlPage, humanMs, outputBlock, plural, table, type Tone } from './page.js';

/** Most characters of a failed run's output shown (its end). */
const OUTPUT_SHOWN = 16 * 1024;

function tone(r: ScenarioRunReport): Tone {
  return r.passed ? 'pass' : r.error ? 'error' : 'fail';
}

function word(r: ScenarioRunReport): string {
  return r.passed ? 'PASS' : r.error ? 'ERROR' : 'FAIL';
}

const FILL: Record<Tone, string> = { pass: '#2b9348', fail: '#d62828', error: '#e8850c', idle: '#d5dbe1', info: '#1c6dd0' };

/** Scenario rows x seed columns, one cell per run, coloured by result; a run that did not pass links to it. */
function matrix(runs: readonly ScenarioRunReport[]): string {
  const names: string[] = [];
  const rows = new Map<string, { run: ScenarioRunReport; index: number }[]>();
  runs.forEach((run, index) => {
    const key = `${run.file ?? ''}\0${run.name}`;
    if (!rows.has(key)) {
      rows.set(key, []);
      names.push(key);
    }
    rows.get(key)?.push({ run, index });
  });
  const widest = Math.max(1, ...[...rows.values()].map((r) => r.length));
  const labelWidth = Math.min(260, 12 + 7.2 * Math.max(...runs.map((r) => r.name.length)));
  const cell = widest > 30 ? 14 : 24;
  const gap = 4;
  const width = labelWidth + widest * (cell + gap);
  const height = names.length * (cell + gap);
  const out: string[] = [];
  names.forEach((key, row) => {
    const list = rows.get(key) ?? [];
    const y = row * (cell + gap);
    out.push(`<text x="0" y="${y + cell / 2 + 4}" font-size="12.5" fill="#1d232a">${esc(list[0]?.run.name ?? '')}</text>`);
    list.forEach(({ run, index }, col) => {
      const x = labelWidth + col * (cell + gap);
      const t = tone(run);
      const rect = `<rect class="run-cell" data-run="${index}" data-scenario="${esc(run.name)}" data-seed="${esc(run.seed)}" data-result="${word(run).toLowerCase()}" x="${x}" y="${y}" width="${cell}" height="${cell}" rx="4" fill="${FILL[t]}"/>`;
      const inner = `<title>${esc(`${run.name} seed ${run.seed}: ${word(run)}: ${run.reason}`)}</title>${rect}`;
      out.push(run.passed ? `<g>${inner}</g>` : `<a href="#run-${index}">${inner}</a>`);
    });
  });
  return `<svg id="matrix" role="img" aria-label="runs by scenario and seed" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${out.join('')}</svg>`;
}

function checksTable(run: ScenarioRunReport): string {
  if (run.checks.length === 0) return `<p>${esc(run.reason)}</p>`;
  const rows = run.checks.map((c) => [
    c.passed ? badge('met', 'pass') : badge('differs', 'fail'),
    `<code>${esc(c.check)}</code>`,
    `<span class="exp">${esc(c.expected)}</span>`,
    c.passed ? esc(c.actual) : `<strong>${esc(c.actual)}</strong>`,
  ]);
  return table(['', 'expectation', 'expected', 'got'], rows, 'diff checks');
}

function runDetails(run: ScenarioRunReport, index: number): string {
  const parts = [`<h3>Expectations</h3>${checksTable(run)}`];
  if (run.checks.length > 0 && run.checks.every((c) => c.passed)) parts.push(`<p>${esc(run.reason)}</p>`);
  const exit = run.exit ? (run.exit.signal ? `killed by ${run.exit.signal}` : `exit ${String(run.exit.code)}`) : 'did not run';
  parts.push(
    `<dl class="kv"><dt>target</dt><dd>${esc(exit)}${run.timedOut ? ' (timed out)' : ''}</dd><dt>engine</dt><dd>${esc(run.engine ?? '-')}</dd><dt>faults injected</dt><dd>${esc(run.faults)}</dd>${
      run.file ? `<dt>file</dt><dd class="mono">${esc(run.file)}</dd>` : ''
    }</dl>`,
  );
  if (run.stdout !== '') parts.push(`<h3>stdout (end)</h3>${outputBlock(tailChars(run.stdout, OUTPUT_SHOWN))}`);
  if (run.stderr !== '') parts.push(`<h3>stderr (end)</h3>${outputBlock(tailChars(run.stderr, OUTPUT_SHOWN))}`);
  if (run.keptDir) parts.push(`<h3>Run directory (kept)</h3><pre>${esc(run.keptDir)}</pre>`);
  if (run.rerun) parts.push(`<h3>Rerun this scenario and seed</h3>${commandBlock(run.rerun)}`);
  return `<details class="item tone-${tone(run)}" id="run-${index}" data-scenario="${esc(run.name)}"><summary><span class="what">${esc(run.name)}</span><span class="muted">seed ${esc(
    run.seed,
  )}</span>${badge(word(run), tone(run))}<span class="why">${esc(run.reason)}</span></summary><div class="body">${parts.join('')}</div></details>`;
}

/** The directory every scenario file is in (for the header), or undefined. */
function commonDir(runs: readonly ScenarioRunReport[]): string | undefined {
  const dirs = [...new Set(runs.map((r) => (r.file ? dirname(r.file) : '')))];
  return dirs.length === 1 && dirs[0] ? dirs[0] : undefined;
}

/** The page of a catalogue report. */
export function renderCataloguePage(report: CatalogueReport): string {
  const runs = report.scenarios;
  const total = runs.length;
  const scenarios = new Set(runs.map((r) => `${r.file ?? ''}\0${r.name}`)).size;
  const notPassed = runs.map((run, index) => ({ run, index })).filter(({ run }) => !run.passed);
  const rows = runs.map((r, i) => [
    r.passed ? esc(r.name) : `<a href="#run-${i}">${esc(r.name)}</a>`,
    `<span class="mono">${esc(r.seed)}</span>`,
    badge(word(r), tone(r)),
    esc(r.exit ? (r.exit.signal ?? `exit ${String(r.exit.code)}`) : '-'),
    `<span class="num">${esc(r.faults)}</span>`,
    esc(humanMs(r.durationMs)),
    esc(r.reason),
  ]);
  const tableHtml = table(
    ['scenario', 'seed', 'result', 'target', 'faults', 'time', 'reason'],
    rows,
    'runs',
    runs.map((r) => `class="row-${tone(r)}" data-result="${word(r).toLowerCase()}"`),
  );
  const dir = commonDir(runs);
  const verdict =
    report.errors > 0
      ? { text: `${plural(report.errors, 'run')} could not be carried out${report.failed ? `, ${report.failed} failed` : ''}`, tone: 'error' as const }
      : report.failed > 0
        ? { text: `${report.failed} of ${plural(total, 'run')} failed`, tone: 'fail' as const }
        : { text: total === 0 ? 'No runs' : `All ${plural(total, 'run')} passed`, tone: total === 0 ? ('idle' as const) : ('pass' as const) };
  const body = [
    cards([
      { label: 'runs', value: total, note: `${plural(scenarios, 'scenario')} × seeds` },
      { label: 'passed', value: report.passed, tone: 'pass' },
      { label: 'failed', value: report.failed, tone: report.failed > 0 ? 'fail' : 'pass' },
      { label: 'errors', value: report.errors, tone: report.errors > 0 ? 'error' : 'pass' },
      { label: 'duration', value: humanMs(report.durationMs) },
    ]),
    `<section id="overview"><h2>Scenarios by seed</h2><p class="hint">One square per run; a red (failed) or orange (error) square opens what differed.</p>${matrix(runs)}<div class="legend"><span><i style="background:${FILL.pass}"></i>passed</span><span><i style="background:${FILL.fail}"></i>failed: an expectation was not met</span><span><i style="background:${FILL.error}"></i>error: the run could not be carried out</span></div></section>`,
    `<section id="runs"><h2>Runs</h2>${tableHtml}</section>`,
    `<section id="failures"><h2>${notPassed.length === 0 ? 'Nothing differed' : `What differed (${plural(notPassed.length, 'run')})`}</h2>${
      notPassed.length === 0 ? '<p class="muted">Every run met every expectation.</p>' : notPassed.map(({ run, index }) => runDetails(run, index)).join('')
    }</section>`,
  ].join('\n');
  return htmlPage({
    title: `scenarios: ${report.passed}/${total} passed`,
    kind: 'Scenario catalogue',
    heading: `Scenario catalogue: ${plural(scenarios, 'scenario')}, ${plural(total, 'run')}`,
    subtitle: dir ? [dir] : [],
    verdict,
    body,
  });
}
