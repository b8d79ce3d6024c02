/**
 * What `sysfault sweep merge` (cli/sweep.ts) and `sysfault scenario merge` (cli/scenario.ts) share: their flags
 * and reading the shards' --json reports. Each command then merges them into the unsplit run's reports (JSON,
 * JUnit, HTML), summary and exit status; 125 when the files are not each shard of one run exactly once (or
 * cannot be read).
 */
import { readFileSync } from 'node:fs';
import { readProblem } from '../common/document.js';
import { UsageError } from '../common/errors.js';
import { firstLine } from '../common/text.js';
import type { ShardInput } from '../shard/merge.js';
import { parseCommandLine, type CommandLine } from './args.js';
import { writableFile } from './values.js';

/**
 * `argv` of `sysfault sweep merge` or `sysfault scenario merge` -> its command line (flags from flags.ts, the
 * shard files as positionals); --json, --junit and --html checked writable. Undefined when --help was printed.
 */
export function parseMergeArgs(command: 'sweep merge' | 'scenario merge', argv: readonly string[]): CommandLine | undefined {
  const line = parseCommandLine(command, argv);
  if (line.printedHelp()) return undefined;
  if (line.positionals.length === 0) throw new UsageError(`${command}: no shard reports given (usage: sysfault ${command} [options] SHARD.json...)`);
  for (const flag of ['json', 'junit', 'html']) {
    const file = line.has(flag) ? line.string(flag) : undefined;
    if (file !== undefined) writableFile(`--${flag}`, file);
  }
  return line;
}

/** The shard reports named, read and parsed as JSON. */
export function readShards(files: readonly string[]): ShardInput<unknown>[] {
  return files.map((name) => {
    let text: string;
    try {
      text = readFileSync(name, 'utf8');
    } catch (err) {
      throw new UsageError(`merge: cannot read ${name}: ${readProblem(err)}`);
    }
    try {
      return { name, report: JSON.parse(text) as unknown };
    } catch (err) {
      throw new UsageError(`merge: ${name}: not JSON: ${firstLine(err)}`);
    }
  });
}
