/**
 * `sysfault topology run [--json FILE] [--jsonl FILE] [--timeout MS] [--var NAME=VALUE]... [--dir DIR]
 * [--echo] [-q] FILE`
 *
 * Exit status: the workload's own when it ended the topology (0 when it succeeded; 128+N for signal N); 0 when
 * `durationMs` ended it or every service exited cleanly without a workload; 124 on the timeout; 1 when a
 * service was never ready, exited with stopOnServiceExit, or (without a workload) not every service exited
 * cleanly; 130 when interrupted; 125 for sysfault's own errors (a bad topology or plan file, bad flags).
 */
import { parseArgs } from 'node:util';
import { durationMs, wholeNumber, writableFile, writeFlagFile } from './flags.js';
import { EXIT_TIMEOUT, UsageError } from '../common/errors.js';
import { firstLine } from '../common/text.js';
import { signalNumber } from '../plan/signals.js';
import { table } from '../run/summary.js';
import { formatEntry, startTopology, timelineToJsonl } from '../topology/topology.js';
import type { TopologyResult } from '../topology/types.js';
import { renderTopologyPage } from '../report/topology-page.js';

const HELP = `Usage: sysfault topology run [options] FILE

Runs the services of a topology file (version 1, YAML or JSON), each under its own fault plan and its own
sysfault run, in order and each once the previous one is ready; then the workload and the events (kills,
rolling restarts, rule switches); ends everything together. See docs/topologies.md.

Options:
  --json FILE        write the result (timeline, samples, metrics, every run's result) as JSON
  --jsonl FILE       write the timeline as JSON lines
  --html FILE        write a self-contained HTML page: the timeline (services, restarts, faults) and the
                     workload's error rate and latency over time
  --timeout MS       overrides the file's timeoutMs (or Ns)
  --var NAME=VALUE   value of \${vars.NAME} in the file (repeatable)
  --dir DIR          scratch directory (\${dir}; default: a new one under the temp directory)
  --echo             copy every service's output to stderr, each line prefixed with its service id
  --max-entries N    timeline entries in the summary (default 60; 0 for all)
  -q, --quiet        no summary on stderr
  -h, --help         this help

Exit status: the workload's (0 if it succeeded), 124 on the timeout, 1 when a service was never ready or
crashed with stopOnServiceExit, 125 for sysfault's own errors (bad file or flags).
`;

const OPTIONS = {
  json: { type: 'string' },
  jsonl: { type: 'string' },
  html: { type: 'string' },
  timeout: { type: 'string' },
  var: { type: 'string', multiple: true },
  dir: { type: 'string' },
  echo: { type: 'boolean' },
  'max-entries': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `sysfault topology ...`; resolves to the exit status. */
export async function topologyCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError('topology: missing subcommand (usage: sysfault topology run [options] FILE)');
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (sub !== 'run') throw new UsageError(`topology: unknown subcommand ${JSON.stringify(sub)} (usage: sysfault topology run [options] FILE)`);

  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...rest], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`topology run: ${firstLine(err).replace(/\. To specify a positional.*$/, '')} (see sysfault topology --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`topology run: expected one topology file, got ${positionals.length} (usage: sysfault topology run [options] FILE)`);
  }
  const file = positionals[0] as string;
  const timeoutMs = durationMs('--timeout', values.timeout);
  const maxEntries = wholeNumber('--max-entries', values['max-entries'], { digits: 9 }) ?? 60;
  const vars: Record<string, string> = {};
  for (const v of values.var ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(v);
    if (!m) throw new UsageError(`--var: expected NAME=VALUE, got ${JSON.stringify(v)}`);
    vars[m[1] as string] = m[2] as string;
  }
  if (values.json !== undefined) writableFile('--json', values.json);
  if (values.jsonl !== undefined) writableFile('--jsonl', values.jsonl);
  if (values.html !== undefined) writableFile('--html', values.html);

  const abort = new AbortController();
  const handle = startTopology(file, {
    vars,
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(values.dir !== undefined && { dir: values.dir }),
    ...(values.echo && { echo: process.stderr }),
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
  if (values.json !== undefined) writeFlagFile('--json', values.json, `${JSON.stringify(result, null, 2)}\n`);
  if (values.jsonl !== undefined) writeFlagFile('--jsonl', values.jsonl, timelineToJsonl(result.timeline));
  if (values.html !== undefined) writeFlagFile('--html', values.html, renderTopologyPage(result));
  if (!values.quiet) process.stderr.write(`${summary(result, maxEntries).join('\n')}\n`);
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
