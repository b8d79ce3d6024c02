/**
 * The CLI's summary of a run (printed to stderr after the target exits).
 */
import Table from 'cli-table3';
import type { RunResult } from '../common/run-result.js';
import type { NormalizedAction, NormalizedRule } from '../plan/types.js';

/** How many faults the summary lists. */
export const SUMMARY_FAULTS = 10;

/** How many fast-path lines (one per process that got it) the summary lists: a build tool runs hundreds. */
export const SUMMARY_FAST_PATH = 3;

/** No borders: columns two spaces apart, as plain text reads best in a log. */
const NO_BORDER = Object.fromEntries(
  ['top', 'top-mid', 'top-left', 'top-right', 'bottom', 'bottom-mid', 'bottom-left', 'bottom-right', 'left', 'left-mid', 'mid', 'mid-mid', 'right', 'right-mid', 'middle'].map((k) => [k, '']),
);

/** Renders rows as aligned columns (numeric columns right-aligned), through cli-table3 (wide characters too). */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], indent = '  '): string[] {
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => /^-?\d+(?:\.\d+)?$/.test(String(r[c]))));
  const t = new Table({
    head: [...header],
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 2, compact: true },
    colAligns: numeric.map((n) => (n ? 'right' : 'left')),
  });
  for (const row of rows) t.push(row.map(String));
  return t.toString().split('\n').map((line) => `${indent}${line}`.trimEnd());
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
  const why = result.engineReason ? ` (${result.engineReason})` : '';
  const lines = [
    `sysfault: ${result.engine} engine${why}, seed ${result.seed}, ${result.durationMs.toFixed(1)} ms, ${describeExit(result)}`,
  ];
  // A syscall never called gets no row (a group rule names many): they are listed on one line.
  const counts = Object.entries(result.counts);
  const called = counts.filter(([, c]) => c.calls > 0);
  if (called.length > 0) {
    lines.push(...table(['syscall', 'calls', 'faulted', 'delayed'], called.map(([name, c]) => [name, c.calls, c.faulted, c.delayed])));
  }
  const never = counts.filter(([, c]) => c.calls === 0).map(([name]) => name);
  if (never.length > 0) lines.push(`  never called: ${never.join(', ')}`);
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
    if (total > shown.length) {
      const where = result.dropped > 0 ? '--json FILE has every logged one; the lost ones are counted only' : '--json FILE has them all';
      lines.push(`    ... and ${total - shown.length} more (${where})`);
    }
  }
  const cut = result.powercut;
  if (cut) {
    lines.push(
      cut.applied
        ? `  power cut (${cut.glob}): ${cut.restored.length} file(s) back to their last synced state, ${cut.removed.length} removed`
        : `  power cut (${cut.glob}): not applied`,
    );
  }
  const fastPath = result.fastPath ?? [];
  for (const line of fastPath.slice(0, SUMMARY_FAST_PATH)) lines.push(`  fast path: ${line}`);
  if (fastPath.length > SUMMARY_FAST_PATH) {
    lines.push(`  fast path: ... and ${fastPath.length - SUMMARY_FAST_PATH} more processes (--json FILE has them all)`);
  }
  for (const w of result.warnings) lines.push(`  warning: ${w.message}`);
  return lines;
}

/** A rule in words, as table cells: id, syscalls, filters, when it fires, what it does. */
export function describeRule(rule: NormalizedRule): [string, string, string, string, string] {
  const filters = [
    rule.path !== null && `path ${rule.path}`,
    rule.fd !== 'any' && `fd ${rule.fd}`,
    rule.addr !== null && `addr ${rule.addr.text}`,
  ].filter((f): f is string => typeof f === 'string');
  const when = [
    rule.after > 0 && `after ${rule.after}`,
    rule.probability < 1 && `p ${rule.probability}`,
    rule.limit !== null && `limit ${rule.limit}`,
  ].filter((f): f is string => typeof f === 'string');
  return [rule.id, rule.syscalls.join(','), filters.join(', ') || '-', when.join(', ') || 'every call', actionText(rule.action)];
}

function actionText(action: NormalizedAction): string {
  switch (action.type) {
    case 'errno':
      return `errno ${action.name}`;
    case 'delay':
      return `delay ${action.ms}ms${action.jitterMs > 0 ? `+${action.jitterMs}` : ''}`;
    case 'short':
      return `short ${action.bytes}`;
    case 'kill':
      return `kill ${action.name}${action.when === 'after' ? ' after the call' : ''}`;
    case 'torn':
      return `torn ${action.bytes ?? (action.fraction === 'seeded' ? 'seeded' : `${(action.fraction ?? 0) * 100}%`)}`;
    case 'powercut':
      return `powercut${action.when === 'after' ? ' after the call' : ''}`;
    case 'reset':
    case 'close':
      return `${action.type}${action.afterBytes > 0 ? ` after ${action.afterBytes} bytes` : ''}${action.afterMs > 0 ? ` after ${action.afterMs} ms` : ''}`;
    default:
      return action.type;
  }
}
