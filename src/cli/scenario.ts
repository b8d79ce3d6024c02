/**
 * `sysfault scenario run|check|merge` (merge: cli/merge.ts). Exit statuses of `run`: 0 when every run passed,
 * 1 when any failed (or was not run within the catalogue's timebox), 125 for sysfault's own errors (bad flags,
 * an invalid scenario file: nothing is run; or a run that could not be carried out, such as a command not
 * found).
 */
import { writeFileSync } from 'node:fs';
import { EXIT_SYSFAULT, UsageError } from '../common/errors.js';
import { collectScenarioFiles, runCatalogue, type CatalogueReport, type ScenarioRunOptions } from '../scenario/catalogue.js';
import { catalogueJUnit, formatCatalogue, seconds, verdict } from '../scenario/formats.js';
import { loadScenario } from '../scenario/schema.js';
import { renderCataloguePage } from '../report/catalogue-page.js';
import { mergeCatalogueReports, shardCatalogueJson } from '../shard/catalogue.js';
import { describeShard, resolveShard } from '../shard/environment.js';
import { commandHelp, parseCommandLine, type CommandLine } from './args.js';
import { parseMergeArgs, readShards } from './merge.js';
import { writableFile } from './values.js';

/** `sysfault scenario ...`; resolves to the exit status. */
export async function scenarioCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    if (sub === undefined) throw new UsageError('scenario: missing subcommand run, check or merge (see sysfault scenario --help)');
    process.stdout.write(commandHelp('scenario run'));
    return 0;
  }
  if (sub === 'merge') return scenarioMergeCommand(rest);
  if (sub !== 'run' && sub !== 'check') throw new UsageError(`scenario: unknown subcommand ${JSON.stringify(sub)} (expected run, check or merge)`);
  const line = parseCommandLine(`scenario ${sub}`, rest);
  if (line.printedHelp()) return 0;
  const positionals = line.positionals;
  if (positionals.length === 0) throw new UsageError(`scenario ${sub}: no scenario files given (usage: sysfault scenario ${sub} [options] FILE|DIR...)`);
  if (sub === 'check') {
    const files = collectScenarioFiles(positionals);
    for (const file of files) loadScenario(file);
    process.stdout.write(`${files.length} scenario file${files.length === 1 ? '' : 's'} valid\n`);
    return 0;
  }
  const options = line.options() as ScenarioRunOptions;
  for (const flag of ['json', 'junit', 'html']) {
    const file = line.string(flag);
    if (file !== undefined) writableFile(`--${flag}`, file);
  }
  const shard = resolveShard(line.string('shard'));

  const quiet = line.boolean('quiet');
  if (shard && !quiet) process.stderr.write(`scenario run: ${describeShard(shard)}\n`);
  const report = await runCatalogue(positionals, {
    ...options,
    keep: line.boolean('keep') ? 'all' : 'failed',
    shard,
    onRun: quiet ? undefined : (r) => process.stderr.write(`${verdict(r).padEnd(5)} ${r.name} (seed ${r.seed}, ${seconds(r.durationMs)})\n`),
  });
  return finish(report, line);
}

/**
 * The end of `scenario run` and `scenario merge`: the reports asked for (a shard's JSON carries its shard
 * record), the table on stdout, the exit status.
 */
function finish(report: CatalogueReport, line: CommandLine): number {
  const json = line.string('json');
  const junit = line.string('junit');
  const html = line.string('html');
  if (json !== undefined) writeFileSync(json, `${JSON.stringify(shardCatalogueJson(report), null, 2)}\n`);
  if (junit !== undefined) writeFileSync(junit, catalogueJUnit(report));
  if (html !== undefined) writeFileSync(html, renderCataloguePage(report));
  process.stdout.write(`${formatCatalogue(report).join('\n')}\n`);
  if (report.errors > 0) return EXIT_SYSFAULT;
  return report.failed > 0 ? 1 : 0;
}

/** `sysfault scenario merge`. */
export function scenarioMergeCommand(argv: readonly string[]): number {
  const line = parseMergeArgs('scenario merge', argv);
  if (!line) return 0;
  return finish(mergeCatalogueReports(readShards(line.positionals)), line);
}
