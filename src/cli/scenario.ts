/**
 * `sysfault scenario run|check|merge` (merge: cli/merge.ts). Exit statuses of `run`: 0 when every run passed, 1 when any failed (or was
 * not run within the catalogue's timebox), 125 for sysfault's own errors (bad flags, an invalid scenario file:
 * nothing is run; or a run that could not be carried out, such as a command not found).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT_SYSFAULT, UsageError } from '../common/errors.js';
import { firstLine } from '../common/text.js';
import { collectScenarioFiles, runCatalogue, type CatalogueReport } from '../scenario/catalogue.js';
import { catalogueJUnit, formatCatalogue, seconds, verdict } from '../scenario/formats.js';
import { loadScenario } from '../scenario/schema.js';
import { renderCataloguePage } from '../report/catalogue-page.js';
import { mergeCatalogueReports, shardCatalogueJson } from '../shard/catalogue.js';
import { describeShard, resolveShard } from '../shard/environment.js';
import { durationMs, seedText, wholeNumber, writableFile } from './flags.js';
import { parseMergeArgs, readShards } from './merge.js';

const SCENARIO_HELP = `Usage: sysfault scenario run [options] FILE|DIR...
       sysfault scenario check FILE|DIR...
       sysfault scenario merge [--json FILE] [--junit FILE] [--html FILE] SHARD.json...

run: runs each scenario (a DIR's *.yaml, *.yml and *.json files) with each of its seeds, from a fresh copy of
its snapshot, and prints a pass/fail table with the reason. Failed runs keep their directory (the working
directory, outputs, result and fault log) and print a command that reruns exactly that scenario and seed.
check: validates the scenario files only.
merge: joins the --json reports of every --shard into the unsplit catalogue's reports and exit status.

Options of run:
  --seed N                 run every scenario with this seed only (instead of its seeds)
  --jobs N                 runs at once (default: min(4, CPUs))
  --timeout MS             timebox of the whole catalogue (or Ns): runs going are killed, the rest not run
  --scenario-timeout MS    timebox of each run's target, instead of each scenario's timeoutMs
  --json FILE              write the JSON report (version 1)
  --junit FILE             write a JUnit XML report
  --html FILE              write a self-contained HTML page: the pass/fail table and what differed
  --shard K/N              run only shard K of N of the runs (scenario x seed); --shard auto reads it from
                           the CI's or Kubernetes' environment (see docs/scale-out.md)
  --keep                   keep every run's directory (default: only failed runs')
  -q, --quiet              no progress lines on stderr
  -h, --help               this help

Exit status: 0 when every run passed, 1 when any failed, 125 for sysfault's own errors (bad flags, an
invalid scenario file, a run that could not be carried out).
`;

const SCENARIO_MERGE_HELP = `Usage: sysfault scenario merge [--json FILE] [--junit FILE] [--html FILE] SHARD.json...

Joins the --json reports of every shard of one catalogue (sysfault scenario run --shard K/N ...) into the
reports the unsplit run gives: the same JSON, JUnit, page, table and exit status (0 when every run passed,
1 when any failed, 125 when a run errored). Exit 125 too when the files are not each shard exactly once.

Options:
  --json FILE    write the merged JSON report
  --junit FILE   write the merged JUnit XML report
  --html FILE    write the HTML page
  -h, --help     this help
`;

const RUN_FLAGS = {
  seed: { type: 'string' },
  jobs: { type: 'string' },
  timeout: { type: 'string' },
  'scenario-timeout': { type: 'string' },
  json: { type: 'string' },
  junit: { type: 'string' },
  html: { type: 'string' },
  shard: { type: 'string' },
  keep: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `sysfault scenario ...`; resolves to the exit status. */
export async function scenarioCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    if (sub === undefined) throw new UsageError('scenario: missing subcommand run or check (see sysfault scenario --help)');
    process.stdout.write(SCENARIO_HELP);
    return 0;
  }
  if (sub === 'merge') return scenarioMergeCommand(rest);
  if (sub !== 'run' && sub !== 'check') throw new UsageError(`scenario: unknown subcommand ${JSON.stringify(sub)} (expected run, check or merge)`);
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: RUN_FLAGS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`scenario ${sub}: ${firstLine(err).split('. ')[0] ?? 'bad arguments'} (see sysfault scenario --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(SCENARIO_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`scenario ${sub}: no scenario files given (usage: sysfault scenario ${sub} [options] FILE|DIR...)`);
  if (sub === 'check') {
    if (Object.keys(values).length > 0) throw new UsageError('scenario check: takes no options');
    const files = collectScenarioFiles(positionals);
    for (const file of files) loadScenario(file);
    process.stdout.write(`${files.length} scenario file${files.length === 1 ? '' : 's'} valid\n`);
    return 0;
  }
  const seed = seedText('--seed', values.seed);
  const jobs = wholeNumber('--jobs', values.jobs, { min: 1, max: 9999 });
  const timeoutMs = durationMs('--timeout', values.timeout);
  const scenarioTimeoutMs = durationMs('--scenario-timeout', values['scenario-timeout']);
  for (const [flag, file] of [['--json', values.json], ['--junit', values.junit], ['--html', values.html]] as const) if (file !== undefined) writableFile(flag, file);
  const shard = resolveShard(values.shard);

  const quiet = values.quiet === true;
  if (shard && !quiet) process.stderr.write(`scenario run: ${describeShard(shard)}\n`);
  const report = await runCatalogue(positionals, {
    seed,
    jobs,
    timeoutMs,
    scenarioTimeoutMs,
    keep: values.keep ? 'all' : 'failed',
    shard,
    onRun: quiet ? undefined : (r) => process.stderr.write(`${verdict(r).padEnd(5)} ${r.name} (seed ${r.seed}, ${seconds(r.durationMs)})\n`),
  });
  return finish(report, values);
}

/**
 * The end of `scenario run` and `scenario merge`: the reports asked for (a shard's JSON carries its shard
 * record), the table on stdout, the exit status.
 */
function finish(report: CatalogueReport, files: { json?: string | undefined; junit?: string | undefined; html?: string | undefined }): number {
  if (files.json !== undefined) writeFileSync(files.json, `${JSON.stringify(shardCatalogueJson(report), null, 2)}\n`);
  if (files.junit !== undefined) writeFileSync(files.junit, catalogueJUnit(report));
  if (files.html !== undefined) writeFileSync(files.html, renderCataloguePage(report));
  process.stdout.write(`${formatCatalogue(report).join('\n')}\n`);
  if (report.errors > 0) return EXIT_SYSFAULT;
  return report.failed > 0 ? 1 : 0;
}

/** `sysfault scenario merge`. */
export function scenarioMergeCommand(argv: readonly string[]): number {
  const { values, files } = parseMergeArgs('scenario merge', argv, ['json', 'junit', 'html', 'help']);
  if (values.help) {
    process.stdout.write(SCENARIO_MERGE_HELP);
    return 0;
  }
  return finish(mergeCatalogueReports(readShards(files)), values);
}
