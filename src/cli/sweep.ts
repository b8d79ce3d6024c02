/**
 * `sysfault sweep` (DESIGN.md "Crash sweep"): exit 0 when every point verified, 1 when any failed, 125 for
 * sysfault's own errors. A progress bar on stderr when it is a terminal; a summary with each failing point's
 * replay command after.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { durationMs, oneOf, splitCommandLine, wholeNumber, writeFlagFile } from './flags.js';
import { parseMergeArgs, readShards } from './merge.js';
import { UsageError } from '../common/errors.js';
import { firstLine } from '../common/text.js';
import { crashSweep, type SweepProgress, type SweepReport } from '../sweep/crash-sweep.js';
import { expandSyscalls, syscallTable } from '../plan/syscalls.js';
import { FS_MODEL_NAMES } from '../run/fs-models.js';
import { renderSweepPage } from '../report/sweep-page.js';
import { mergeSweepReports } from '../shard/merge.js';
import { describeShard, resolveShard } from '../shard/environment.js';

export const SWEEP_HELP = `Usage: sysfault sweep --calls fsync[,fdatasync,...] --verify 'CMD ARGS' [options] -- CMD [ARGS...]
       sysfault sweep merge [--json FILE] [--html FILE] SHARD.json...

A clean run counts the chosen calls (N). Then for each crash point k (1..N, or a seeded sample), a fresh
working directory (a copy of --snapshot, or empty) is CMD's current directory; CMD is killed (SIGKILL) at the
k-th chosen call, before it happens; the power cut is applied to the files matching GLOB (what they got since
their last fsync/fdatasync is lost; see docs/crash-consistency.md); then the verify command runs in that same
directory. Exit 0 when every point verified, 1 when any failed, 125 for sysfault's own errors.

Options:
  --calls LIST        syscall (or group) names a crash point is taken at: fsync, fdatasync, write, ...
  --verify 'CMD'      run by /bin/sh -c in the point's directory after the crash; exit 0 = consistent.
                      Its environment has SYSFAULT_SWEEP_POINT, SYSFAULT_SWEEP_STDOUT and
                      SYSFAULT_SWEEP_STDERR (files holding what the crashed run printed), SYSFAULT_SWEEP_DIR
  --powercut GLOB     cut the power at each point for the files matching GLOB (as a rule's path; a relative
                      glob with "/" is taken from the working directory)
  --fsync-failure-drops-dirty
                      (with --powercut) an injected fsync error drops the file's unsynced data
  --fs MODEL          file-system model of the power cut and the crash states: posix (default, strict),
                      ext4, xfs, btrfs (an fsync of a file also persists its name; docs/crash-consistency.md)
  --states N|all      (with --powercut) at each point, besides the pessimistic state, verify up to N crash
                      states the model allows (prefixes, torn and reordered blocks of the unsynced writes,
                      unsynced renames and creations), chosen by the seed; all: every one (up to 1024)
  --block N           block size of torn and reordered writes (default 4096)
  --state S           (with --point) verify only crash state S of that point (what a replay does)
  --crash tree|process
                      tree (default): every process of the run stops at the crash point, then all die (a
                      machine crash); process: only the process making the call dies (a different test)
  --snapshot DIR      each working directory starts as a copy of DIR (default: empty)
  --sample N          try N points chosen by the seed (default: every point)
  --seed N            seed of the sample (default: random, reported)
  --jobs N            points run at once (default: min(4, CPUs))
  --engine E          auto (default), preload or seccomp
  --timeout MS        limit of each run and each verify (default 60000; or Ns)
  --point K           run only point K and keep its directory (what a failure's replay command does)
  --keep              keep every point's working directory
  --shard K/N         run only shard K of N of the points (every shard makes the same clean run and sample;
                      needs --seed); --shard auto reads the shard from JOB_COMPLETION_INDEX and
                      SYSFAULT_SHARD_TOTAL (Kubernetes), CI_NODE_INDEX/CI_NODE_TOTAL (GitLab),
                      CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL, BUILDKITE_PARALLEL_JOB/_COUNT. "sweep merge" joins
                      the shards' --json reports into the unsplit sweep's report (docs/scale-out.md)
  --json FILE         write {"version":1,"points":N,"tried":M,"failed":[...]} to FILE
  --html FILE         write a self-contained HTML page: the crash points as a grid, each failure's details
  -q, --quiet         no progress bar, no summary
  -h, --help          this help
`;

const OPTIONS = {
  calls: { type: 'string' },
  verify: { type: 'string' },
  powercut: { type: 'string' },
  'fsync-failure-drops-dirty': { type: 'boolean' },
  snapshot: { type: 'string' },
  fs: { type: 'string' },
  states: { type: 'string' },
  block: { type: 'string' },
  state: { type: 'string' },
  crash: { type: 'string' },
  sample: { type: 'string' },
  seed: { type: 'string' },
  jobs: { type: 'string' },
  engine: { type: 'string' },
  timeout: { type: 'string' },
  point: { type: 'string' },
  keep: { type: 'boolean' },
  json: { type: 'string' },
  shard: { type: 'string' },
  html: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = firstLine(err);
    const name = /'([^']+)'/.exec(message)?.[1]?.replace(/ <value>$/, '').replace(/^-\w, /, '') ?? '';
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown option ${name}`
        : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(message)
          ? `option ${name} needs a value`
          : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /ambiguous/.test(message)
            ? `option ${name} is followed by an option-like value (write ${name}=VALUE)`
            : (message.split('. ')[0] ?? 'bad arguments');
    throw new UsageError(`sweep: ${why} (see sysfault sweep --help)`);
  }
}

/** A one-line progress bar, redrawn in place. */
function progressBar(event: SweepProgress): string {
  if (event.type === 'counted') return `\rsweep: ${event.points} crash points, trying ${event.total}`;
  const width = 30;
  const filled = Math.round((event.done / Math.max(1, event.total)) * width);
  return `\rsweep [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${event.done}/${event.total}${event.failed ? `, ${event.failed} failed` : ''}\u001b[K`;
}

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

const SWEEP_MERGE_HELP = `Usage: sysfault sweep merge [--json FILE] [--html FILE] [-q] SHARD.json...

Joins the --json reports of every shard of one sweep (sysfault sweep --shard K/N ...) into the report the
unsplit sweep gives: the same JSON, page, summary and exit status (0 when every point verified, 1 when any
failed). Exit 125 when the files are not each shard of one sweep exactly once.

Options:
  --json FILE   write the merged report
  --html FILE   write the HTML page of the merged report
  -q, --quiet   no summary on stderr
  -h, --help    this help
`;

/** `sysfault sweep`. */
export async function sweepCommand(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'merge') return sweepMergeCommand(argv.slice(1));
  const [optionArgs, commandLine] = splitCommandLine(argv, OPTIONS);
  const values = parse(optionArgs);
  if (values.help) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const [command, ...args] = commandLine;
  if (values.calls === undefined) throw new UsageError('sweep: missing --calls (usage: sysfault sweep --calls fsync --verify CMD -- CMD [ARGS...])');
  if (values.verify === undefined) throw new UsageError('sweep: missing --verify (usage: sysfault sweep --calls fsync --verify CMD -- CMD [ARGS...])');
  if (command === undefined) throw new UsageError('sweep: missing command (usage: sysfault sweep --calls fsync --verify CMD -- CMD [ARGS...])');
  const engine = oneOf('--engine', values.engine, ['auto', 'preload', 'seccomp']);
  if (values['fsync-failure-drops-dirty'] && values.powercut === undefined) {
    throw new UsageError('--fsync-failure-drops-dirty needs --powercut GLOB');
  }
  const calls = values.calls.split(',').map((c) => c.trim());
  if (calls.some((c) => c === '')) throw new UsageError(`--calls: empty name in ${JSON.stringify(values.calls)}`);
  const known = expandSyscalls(calls, syscallTable());
  if ('unknown' in known) throw new UsageError(`--calls: unknown syscall ${JSON.stringify(known.unknown)}`, { field: '--calls', value: values.calls });
  // Created (empty) now, so that a bad --json fails before the sweep rather than after it.
  if (values.json !== undefined) writeFlagFile('--json', values.json, '', { append: true });
  if (values.html !== undefined) writeFlagFile('--html', values.html, '', { append: true });
  const shard = resolveShard(values.shard);
  if (shard && values.point !== undefined) throw new UsageError('--shard cannot be combined with --point');
  if (shard && values.seed === undefined) throw new UsageError('--shard needs --seed N (every shard must take the same sample)');
  const tty = process.stderr.isTTY === true && !values.quiet;
  const point = wholeNumber('--point', values.point, { min: 1 });
  const report = await crashSweep({
    command,
    args,
    verify: values.verify,
    calls,
    ...(values.powercut !== undefined && {
      powercut: { glob: values.powercut, fsyncFailureDropsDirty: values['fsync-failure-drops-dirty'] === true },
    }),
    snapshot: values.snapshot,
    ...(values.fs !== undefined && { fs: oneOf('--fs', values.fs, FS_MODEL_NAMES) }),
    ...(values.states !== undefined && { states: values.states === 'all' ? 'all' : wholeNumber('--states', values.states, { min: 0 }) }),
    ...(values.block !== undefined && { block: wholeNumber('--block', values.block, { min: 1 }) }),
    ...(values.state !== undefined && { state: wholeNumber('--state', values.state, { min: 0 }) }),
    ...(values.crash !== undefined && { crash: oneOf('--crash', values.crash, ['tree', 'process']) }),
    sample: wholeNumber('--sample', values.sample, { min: 1 }),
    seed: values.seed,
    jobs: wholeNumber('--jobs', values.jobs, { min: 1 }),
    ...(engine !== undefined && { engine }),
    timeout: durationMs('--timeout', values.timeout),
    point,
    keep: values.keep === true || point !== undefined,
    ...(shard && { shard }),
    onProgress: tty ? (event) => void process.stderr.write(progressBar(event)) : undefined,
  });
  if (tty) process.stderr.write('\n');
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  if (values.html !== undefined) writeFileSync(values.html, renderSweepPage(report));
  if (!values.quiet) {
    if (point !== undefined) {
      const f = report.failed[0];
      process.stderr.write(
        f
          ? `sweep: point ${point}${f.state && f.state.index > 0 ? ` state ${f.state.index} (${f.state.kind})` : ''} FAILED (verify exit ${String(f.verifyExit)}); working directory kept in ${f.dir ?? '?'}\n${f.verifyOutput}${f.verifyOutput.endsWith('\n') || f.verifyOutput === '' ? '' : '\n'}${f.explanation ? `why: ${f.explanation}\n` : ''}`
          : `sweep: point ${point} verified\n`,
      );
      for (const line of warningLines(report)) process.stderr.write(`${line}\n`);
    } else {
      process.stderr.write(`${shard ? `sweep: ${describeShard(shard)}: ${report.tried} of the ${report.shard?.of ?? '?'} points\n` : ''}${summary(report)}`);
    }
  }
  return report.failed.length > 0 ? 1 : 0;
}

/** `sysfault sweep merge`. */
export function sweepMergeCommand(argv: readonly string[]): number {
  const { values, files } = parseMergeArgs('sweep merge', argv, ['json', 'html', 'quiet', 'help']);
  if (values.help) {
    process.stdout.write(SWEEP_MERGE_HELP);
    return 0;
  }
  const report = mergeSweepReports(readShards(files));
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  if (values.html !== undefined) writeFileSync(values.html, renderSweepPage(report));
  if (!values.quiet) process.stderr.write(summary(report));
  return report.failed.length > 0 ? 1 : 0;
}
