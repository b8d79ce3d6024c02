/**
 * `sysfault topology run [--json FILE] [--jsonl FILE] [--timeout MS] [--var NAME=VALUE]... [--dir DIR]
 * [--echo] [-q] FILE`
 *
 * Exit status: the workload's own when it ended the topology (0 when it succeeded; 128+N for signal N); 0 when
 * `durationMs` ended it or every service exited cleanly without a workload; 124 on the timeout; 1 when a
 * service was never ready, exited with stopOnServiceExit, or (without a workload) not every service exited
 * cleanly; 130 when interrupted; 125 for sysfault's own errors (a bad topology or plan file, bad flags).
 */
import { commandHelp, parseCommandLine } from './args.js';
import { writableFile, writeFlagFile } from './values.js';
import { EXIT_TIMEOUT, UsageError } from '../common/errors.js';
import { signalNumber } from '../plan/signals.js';
import { table } from '../run/summary.js';
import { formatEntry, startTopology, timelineToJsonl } from '../topology/topology.js';
import type { TopologyResult } from '../topology/types.js';
import { renderTopologyPage } from '../report/topology-page.js';

/** `sysfault topology ...`; resolves to the exit status. */
export async function topologyCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError('topology: missing subcommand (usage: sysfault topology run [options] FILE)');
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(commandHelp('topology run'));
    return 0;
  }
  if (sub !== 'run') throw new UsageError(`topology: unknown subcommand ${JSON.stringify(sub)} (usage: sysfault topology run [options] FILE)`);

  const line = parseCommandLine('topology run', rest);
  if (line.printedHelp()) return 0;
  const positionals = line.positionals;
  if (positionals.length !== 1) {
    throw new UsageError(`topology run: expected one topology file, got ${positionals.length} (usage: sysfault topology run [options] FILE)`);
  }
  const file = positionals[0] as string;
  const options = line.options() as { timeoutMs?: number; dir?: string };
  const maxEntries = line.value<number>('max-entries') ?? 60;
  const vars: Record<string, string> = {};
  for (const v of line.strings('var')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(v);
    if (!m) throw new UsageError(`--var: expected NAME=VALUE, got ${JSON.stringify(v)}`);
    vars[m[1] as string] = m[2] as string;
  }
  const json = line.string('json');
  const jsonl = line.string('jsonl');
  if (json !== undefined) writableFile('--json', json);
  if (jsonl !== undefined) writableFile('--jsonl', jsonl);
  const html = line.string('html');
  if (html !== undefined) writableFile('--html', html);

  const abort = new AbortController();
  const handle = startTopology(file, {
    vars,
    ...options,
    ...(line.boolean('echo') && { echo: process.stderr }),
    signal: abort.signal,
  });
  const stopOn = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const listener = (): void => abort.abort();
  for (const sig of stopOn) process.on(sig, listener);
  let result: TopologyResult;
  try {
    result = await handle.result;
  } finally {
    for (const sig of stopOn) process.off(sig, listener);
  }
  if (json !== undefined) writeFlagFile('--json', json, `${JSON.stringify(result, null, 2)}\n`);
  if (jsonl !== undefined) writeFlagFile('--jsonl', jsonl, timelineToJsonl(result.timeline));
  if (html !== undefined) writeFlagFile('--html', html, renderTopologyPage(result));
  if (!line.boolean('quiet')) process.stderr.write(`${summary(result, maxEntries).join('\n')}\n`);
  return exitStatus(result);
}

/** The exit status for a finished topology (see the module comment). */
export function exitStatus(result: TopologyResult): number {
  switch (result.reason) {
    case 'workload-exit': {
      const exit = result.workload?.exit;
      if (!exit) return 1;
      if (exit.signal !== null) return 128 + (signalNumber(exit.signal) ?? 0);
      return exit.code ?? 1;
    }
    case 'duration':
      return 0;
    case 'services-exited':
      return result.instances.every((i) => i.incarnations.at(-1)?.exit?.code === 0) ? 0 : 1;
    case 'timeout':
      return EXIT_TIMEOUT;
    case 'aborted':
      return 130;
    default:
      return 1;
  }
}

function summary(result: TopologyResult, maxEntries: number): string[] {
  const lines: string[] = [];
  lines.push(
    `sysfault topology ${result.name}: ${result.reason}${result.error ? ` (${result.error})` : ''} after ${result.durationMs.toFixed(0)} ms; id ${result.topologyId}; dir ${result.dir}`,
  );
  const rows = result.instances.map((inst) => {
    const incs = inst.incarnations;
    const faults = incs.reduce((n, inc) => n + (inc.result?.faults.length ?? 0), 0);
    const last = incs.at(-1);
    const exit = last?.exit ? (last.exit.signal ?? `code ${last.exit.code}`) : '-';
    return [
      inst.serviceId,
      incs.map((i) => i.pid ?? '?').join(','),
      incs.length,
      last?.engine ?? '-',
      faults,
      `${exit}${last?.endedBy ? ` (${last.endedBy})` : ''}`,
    ];
  });
  lines.push(...table(['service', 'pids', 'runs', 'engine', 'faults', 'last exit'], rows));
  const shown = maxEntries === 0 ? result.timeline : result.timeline.slice(0, maxEntries);
  lines.push('', 'timeline (ms since the topology started):');
  for (const e of shown) lines.push(`  ${formatEntry(e)}`);
  if (shown.length < result.timeline.length) lines.push(`  ... ${result.timeline.length - shown.length} more entries (--jsonl FILE has them all)`);
  const m = result.metrics;
  if (m.overall.count > 0) {
    const lat = (s: typeof m.overall): string => (s.latencyMs ? `p50 ${s.latencyMs.p50} / p99 ${s.latencyMs.p99} ms` : '-');
    lines.push('', `workload: ${m.overall.count} samples, ${m.overall.errors} errors (${(m.overall.errorRate * 100).toFixed(1)}%), ${lat(m.overall)}; baseline ${lat(m.baseline)}`);
    if (m.windows.length > 0) {
      lines.push(
        ...table(
          ['window', 'service', 'from ms', 'to ms', 'samples', 'error rate', 'latency', 'recovery ms'],
          m.windows.map((w) => [
            w.kind === 'fault' ? `fault x${w.faults}` : w.kind,
            w.serviceId ?? w.service,
            w.startMs.toFixed(1),
            w.endMs.toFixed(1),
            w.during.count,
            `${(w.during.errorRate * 100).toFixed(1)}%`,
            lat(w.during),
            w.recoveryMs === null ? 'never' : w.recoveryMs.toFixed(1),
          ]),
        ),
      );
    }
  }
  return lines;
}
