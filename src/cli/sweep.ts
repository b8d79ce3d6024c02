/**
 * `sysfault sweep` (DESIGN.md "Crash sweep"): exit 0 when every point verified, 1 when any failed, 125 for
 * sysfault's own errors. A progress bar on stderr when it is a terminal; a summary with each failing point's
 * replay command after.
 */
import { writeFileSync } from 'node:fs';
import { UsageError } from '../common/errors.js';
import { didYouMean } from '../common/text.js';
import { crashSweep, type CrashSweepOptions, type SweepReport } from '../sweep/crash-sweep.js';
import { expandSyscalls, SYSCALL_GROUPS, syscallTable } from '../plan/syscalls.js';
import { parseCommandLine } from './args.js';
import { paintSummary, progressBar } from './output.js';
import { parseMergeArgs, readShards } from './merge.js';
import { renderSweepPage } from '../report/sweep-page.js';
import { mergeSweepReports } from '../shard/merge.js';
import { describeShard, resolveShard } from '../shard/environment.js';
import { writeFlagFile } from './values.js';

function summary(report: SweepReport): string {
  const states = report.states > report.tried ? `, ${report.states} crash states verified (--fs ${report.fs})` : '';
  const lines = [`sweep: ${report.points} crash points, ${report.tried} tried${states}, ${report.failed.length} failed (seed ${report.seed})`];
  for (const f of report.failed) {
    const first = f.verifyOutput.trim().split('\n').slice(-1)[0] ?? '';
    const state = f.state && f.state.index > 0 ? ` state ${f.state.index} (${f.state.kind})` : '';
    lines.push(`  point ${f.point}${state}: verify exit ${String(f.verifyExit)}${first ? `: ${first}` : ''}`);
    if (f.explanation) lines.push(`    why: ${f.explanation}`);
    if (f.dir) lines.push(`    kept in ${f.dir}`);
    lines.push(`    replay: ${f.replay}`);
  }
  return `${[...lines, ...warningLines(report)].join('\n')}\n`;
}

function warningLines(report: SweepReport): string[] {
  return report.warnings.map((w) => `  warning: ${w.message}`);
}

/** `sysfault sweep`. */
export async function sweepCommand(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'merge') return sweepMergeCommand(argv.slice(1));
  const line = parseCommandLine('sweep', argv);
  if (line.printedHelp()) return 0;
  const [command, ...args] = line.positionals;
  const callsText = line.string('calls');
  const verify = line.string('verify');
  if (callsText === undefined) throw new UsageError('sweep: missing --calls (usage: sysfault sweep --calls fsync --verify CMD -- CMD [ARGS...])');
  if (verify === undefined) throw new UsageError('sweep: missing --verify (usage: sysfault sweep --calls fsync --verify CMD -- CMD [ARGS...])');
  if (command === undefined) throw new UsageError('sweep: missing command (usage: sysfault sweep --calls fsync --verify CMD -- CMD [ARGS...])');
  const options = line.options() as Partial<CrashSweepOptions>;
  const glob = line.string('powercut');
  if (line.boolean('fsync-failure-drops-dirty') && glob === undefined) {
    throw new UsageError('--fsync-failure-drops-dirty needs --powercut GLOB');
  }
  const calls = callsText.split(',').map((c) => c.trim());
  if (calls.some((c) => c === '')) throw new UsageError(`--calls: empty name in ${JSON.stringify(callsText)}`);
  const known = expandSyscalls(calls, syscallTable());
  if ('unknown' in known) {
    const names = [...syscallTable().names, ...Object.keys(SYSCALL_GROUPS)];
    throw new UsageError(`--calls: unknown syscall ${JSON.stringify(known.unknown)}${didYouMean(known.unknown, names)}`, { field: '--calls', value: callsText });
  }
  // Created (empty) now, so that a bad --json fails before the sweep rather than after it.
  const json = line.string('json');
  if (json !== undefined) writeFlagFile('--json', json, '', { append: true });
  const html = line.string('html');
  if (html !== undefined) writeFlagFile('--html', html, '', { append: true });
  const shard = resolveShard(line.string('shard'));
  if (shard && line.has('point')) throw new UsageError('--shard cannot be combined with --point');
  if (shard && !line.has('seed')) throw new UsageError('--shard needs --seed N (every shard must take the same sample)');
  const quiet = line.boolean('quiet');
  const bar = process.stderr.isTTY === true && !quiet ? progressBar(process.stderr, 'sweep') : undefined;
  const point = options.point;
  const report = await crashSweep({
    ...options,
    command,
    args,
    verify,
    calls,
    ...(glob !== undefined && { powercut: { glob, fsyncFailureDropsDirty: line.boolean('fsync-failure-drops-dirty') } }),
    keep: line.boolean('keep') || point !== undefined,
    ...(shard && { shard }),
    onProgress: bar ? (event) => (event.type === 'counted' ? bar.start(event.total) : bar.update(event.done, event.failed)) : undefined,
  });
  bar?.stop();
  if (json !== undefined) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  if (html !== undefined) writeFileSync(html, renderSweepPage(report));
  if (!quiet) {
    if (point !== undefined) {
      const f = report.failed[0];
      process.stderr.write(
        f
          ? `sweep: point ${point}${f.state && f.state.index > 0 ? ` state ${f.state.index} (${f.state.kind})` : ''} FAILED (verify exit ${String(f.verifyExit)}); working directory kept in ${f.dir ?? '?'}\n${f.verifyOutput}${f.verifyOutput.endsWith('\n') || f.verifyOutput === '' ? '' : '\n'}${f.explanation ? `why: ${f.explanation}\n` : ''}`
          : `sweep: point ${point} verified\n`,
      );
      for (const line of warningLines(report)) process.stderr.write(`${line}\n`);
    } else {
      if (shard) process.stderr.write(`sweep: ${describeShard(shard)}: ${report.tried} of the ${report.shard?.of ?? '?'} points\n`);
      printSummary(report);
    }
  }
  return report.failed.length > 0 ? 1 : 0;
}

function printSummary(report: SweepReport): void {
  process.stderr.write(`${paintSummary(summary(report).trimEnd().split('\n'), process.stderr).join('\n')}\n`);
}

/** `sysfault sweep merge`. */
export function sweepMergeCommand(argv: readonly string[]): number {
  const line = parseMergeArgs('sweep merge', argv);
  if (!line) return 0;
  const report = mergeSweepReports(readShards(line.positionals));
  const json = line.string('json');
  const html = line.string('html');
  if (json !== undefined) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  if (html !== undefined) writeFileSync(html, renderSweepPage(report));
  if (!line.boolean('quiet')) printSummary(report);
  return report.failed.length > 0 ? 1 : 0;
}
