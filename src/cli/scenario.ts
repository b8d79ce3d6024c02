/**
 * `sysfault scenario run|check`. Exit statuses of `run`: 0 when every run passed, 1 when any failed (or was
 * not run within the catalogue's timebox), 125 for sysfault's own errors (bad flags, an invalid scenario file:
 * nothing is run; or a run that could not be carried out, such as a command not found).
 */
import { writeFileSync } from 'node:fs';
import { EXIT_SYSFAULT, UsageError } from '../common/errors.js';
import { collectScenarioFiles, runCatalogue, type ScenarioRunOptions } from '../scenario/catalogue.js';
import { catalogueJson, catalogueJUnit, formatCatalogue, seconds, verdict } from '../scenario/formats.js';
import { loadScenario } from '../scenario/schema.js';
import { commandHelp, parseCommandLine } from './args.js';
import { writableFile } from './values.js';

/** `sysfault scenario ...`; resolves to the exit status. */
export async function scenarioCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    if (sub === undefined) throw new UsageError('scenario: missing subcommand run or check (see sysfault scenario --help)');
    process.stdout.write(commandHelp('scenario run'));
    return 0;
  }
  if (sub !== 'run' && sub !== 'check') throw new UsageError(`scenario: unknown subcommand ${JSON.stringify(sub)} (expected run or check)`);
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
  const json = line.string('json');
  const junit = line.string('junit');
  for (const [flag, file] of [['--json', json], ['--junit', junit]] as const) if (file !== undefined) writableFile(flag, file);

  const quiet = line.boolean('quiet');
  const report = await runCatalogue(positionals, {
    ...options,
    keep: line.boolean('keep') ? 'all' : 'failed',
    onRun: quiet ? undefined : (r) => process.stderr.write(`${verdict(r).padEnd(5)} ${r.name} (seed ${r.seed}, ${seconds(r.durationMs)})\n`),
  });
  if (json !== undefined) writeFileSync(json, `${JSON.stringify(catalogueJson(report), null, 2)}\n`);
  if (junit !== undefined) writeFileSync(junit, catalogueJUnit(report));
  process.stdout.write(`${formatCatalogue(report).join('\n')}\n`);
  if (report.errors > 0) return EXIT_SYSFAULT;
  return report.failed > 0 ? 1 : 0;
}
