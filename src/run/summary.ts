/**
 * The CLI's summary of a run (printed to stderr after the target exits).
 */
import type { RunResult } from '../common/run-result.js';

/** How many faults the summary lists. */
export const SUMMARY_FAULTS = 10;

/** Renders rows as aligned columns (numeric columns right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], indent = '  '): string[] {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => /^-?\d+(?:\.\d+)?$/.test(String(r[c]))));
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((row) =>
    (
      indent +
      row
        .map((cell, c) => {
          const width = widths[c] ?? 0;
          return numeric[c] ? cell.padStart(width) : cell.padEnd(width);
        })
        .join('  ')
    ).trimEnd(),
  );
}

/** How the target ended, in words: "exit 0", "killed by SIGKILL", "timed out (SIGKILL)". */
export function describeExit(result: RunResult): string {
  const how = result.exit.signal ? `killed by ${result.exit.signal}` : result.exit.code === null ? 'exit unknown' : `exit ${result.exit.code}`;
  if (result.timedOut) return `timed out (${how})`;
  if (result.aborted) return `aborted (${how})`;
  return how;
}

/** The summary table, as lines. */
export function formatSummary(result: RunResult, maxFaults = SUMMARY_FAULTS): string[] {
  const lines = [
    `sysfault: ${result.engine} engine, seed ${result.seed}, ${result.durationMs.toFixed(1)} ms, ${describeExit(result)}`,
  ];
  const counts = Object.entries(result.counts);
  if (counts.length > 0) {
    lines.push(...table(['syscall', 'calls', 'faulted', 'delayed'], counts.map(([name, c]) => [name, c.calls, c.faulted, c.delayed])));
  }
  if (result.rules.length > 0) {
    lines.push(...table(['rule', 'matched', 'fired'], result.rules.map((r) => [r.id, r.matched, r.fired])));
  }
  const total = result.faults.length;
  lines.push(`  faults: ${total}${result.dropped > 0 ? `, ${result.dropped} dropped (log full)` : ', 0 dropped'}`);
  if (total > 0) {
    const shown = result.faults.slice(0, maxFaults);
    lines.push(
      ...table(
        ['seq', 'ms', 'pid', 'syscall', 'fd', 'action', 'rule', 'target'],
        shown.map((f) => [f.seq, f.tMs.toFixed(1), f.pid, f.syscall, f.fd, f.action, f.rule, f.target]),
        '    ',
      ),
    );
    if (total > shown.length) lines.push(`    ... and ${total - shown.length} more (--json FILE has them all)`);
  }
  const cut = result.powercut;
  if (cut) {
    lines.push(
      cut.applied
        ? `  power cut (${cut.glob}): ${cut.restored.length} file(s) back to their last synced state, ${cut.removed.length} removed`
        : `  power cut (${cut.glob}): not applied`,
    );
  }
  for (const line of result.fastPath ?? []) lines.push(`  fast path: ${line}`);
  for (const w of result.warnings) lines.push(`  warning: ${w.message}`);
  return lines;
}
