/**
 * The reports of a catalogue run: the table printed at the end, the JSON report and JUnit XML (see
 * docs/scenarios.md for their fields).
 */
import { relative } from 'node:path';
import { tailChars } from '../common/text.js';
import { table } from '../run/summary.js';
import type { CatalogueReport } from './catalogue.js';
import type { ScenarioRunReport } from './types.js';

/** The JSON report: `{"version":1,"scenarios":[{"name","seed","passed","reason",...}],...}` (no outputs). */
export function catalogueJson(report: CatalogueReport): object {
  return {
    version: 1,
    passed: report.passed,
    failed: report.failed,
    errors: report.errors,
    durationMs: report.durationMs,
    scenarios: report.scenarios.map((r) => ({
      name: r.name,
      seed: r.seed,
      passed: r.passed,
      reason: r.reason,
      file: r.file,
      error: r.error,
      durationMs: r.durationMs,
      engine: r.engine,
      exit: r.exit,
      timedOut: r.timedOut,
      faults: r.faults,
      checks: r.checks,
      keptDir: r.keptDir,
      rerun: r.rerun,
    })),
  };
}

/** A run's outcome in one word. */
export function verdict(r: ScenarioRunReport): string {
  return r.passed ? 'pass' : r.error ? 'ERROR' : 'FAIL';
}

/** The pass/fail table, a summary line, and for each failure its reason, kept directory and rerun command. */
export function formatCatalogue(report: CatalogueReport, maxReason = 90): string[] {
  const cut = (s: string): string => (s.length > maxReason ? `${s.slice(0, maxReason - 3)}...` : s);
  const lines = table(
    ['scenario', 'seed', 'result', 'time', 'reason'],
    report.scenarios.map((r) => [r.name, String(r.seed), verdict(r), seconds(r.durationMs), cut(r.reason)]),
    '',
  );
  const total = report.scenarios.length;
  lines.push(
    '',
    `${total} run${total === 1 ? '' : 's'}: ${report.passed} passed, ${report.failed} failed${report.errors ? `, ${report.errors} errors` : ''} (${seconds(report.durationMs)})`,
  );
  for (const r of report.scenarios.filter((x) => !x.passed)) {
    lines.push('', `${verdict(r)} ${r.name} (seed ${r.seed})${r.file ? ` ${displayPath(r.file)}` : ''}`);
    for (const c of r.checks.filter((x) => !x.passed)) lines.push(`  ${c.check}: expected ${c.expected}`, `  ${' '.repeat(c.check.length)}       got ${c.actual}`);
    if (r.checks.every((c) => c.passed)) lines.push(`  ${r.reason}`);
    if (r.keptDir) lines.push(`  kept:  ${r.keptDir}`);
    if (r.rerun) lines.push(`  rerun: ${r.rerun}`);
  }
  return lines;
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') ? rel : file;
}

/** Characters XML 1.0 cannot hold at all. */
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escapes text for an XML element or a double-quoted attribute (and drops characters XML cannot hold). */
export function xmlEscape(text: string, attribute = false): string {
  const clean = text.replace(XML_INVALID, '\uFFFD');
  const out = clean.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return attribute ? out.replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;') : out;
}

/** What JUnit keeps of a failed run's stdout and stderr: the last 64 KiB of each. */
export const JUNIT_OUTPUT_CAP = 64 * 1024;

/** JUnit XML: one testsuite per scenario, one testcase per seed; failures carry the reason, kept dir, rerun. */
export function catalogueJUnit(report: CatalogueReport): string {
  const attr = (pairs: Record<string, string | number>): string =>
    Object.entries(pairs)
      .map(([k, v]) => ` ${k}="${xmlEscape(String(v), true)}"`)
      .join('');
  const groups = new Map<string, ScenarioRunReport[]>();
  for (const r of report.scenarios) {
    const key = `${r.file ?? ''}\0${r.name}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attr({ name: 'sysfault scenarios', tests: report.scenarios.length, failures: report.failed, errors: report.errors, time: secs(report.durationMs) })}>`,
  );
  for (const runs of groups.values()) {
    const first = runs[0] as ScenarioRunReport;
    const file = first.file ? displayPath(first.file) : '';
    out.push(
      `  <testsuite${attr({
        name: first.name,
        tests: runs.length,
        failures: runs.filter((r) => !r.passed && !r.error).length,
        errors: runs.filter((r) => r.error).length,
        skipped: 0,
        time: secs(runs.reduce((t, r) => t + r.durationMs, 0)),
        ...(file ? { file } : {}),
      })}>`,
    );
    for (const r of runs) {
      const head = `    <testcase${attr({ name: `${r.name} (seed ${r.seed})`, classname: first.name, time: secs(r.durationMs), ...(file ? { file } : {}) })}`;
      if (r.passed) {
        out.push(`${head}/>`);
      } else {
        out.push(`${head}>`);
        const body = [
          ...r.checks.filter((c) => !c.passed).map((c) => c.message),
          ...(r.checks.every((c) => c.passed) ? [r.reason] : []),
          ...(r.keptDir ? [`kept: ${r.keptDir}`] : []),
          ...(r.rerun ? [`rerun: ${r.rerun}`] : []),
        ].join('\n');
        const tag = r.error ? 'error' : 'failure';
        out.push(`      <${tag}${attr({ message: r.reason, type: r.error ? 'ScenarioError' : 'ExpectationFailed' })}>${xmlEscape(body)}</${tag}>`);
        if (r.stdout) out.push(`      <system-out>${xmlEscape(tailChars(r.stdout, JUNIT_OUTPUT_CAP))}</system-out>`);
        if (r.stderr) out.push(`      <system-err>${xmlEscape(tailChars(r.stderr, JUNIT_OUTPUT_CAP))}</system-err>`);
        out.push('    </testcase>');
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}
