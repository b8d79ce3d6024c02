/**
 * What `sysfault sweep merge` (cli/sweep.ts) and `sysfault scenario merge` (cli/scenario.ts) share: their flags
 * and reading the shards' --json reports. Each command then merges them into the unsplit run's reports (JSON,
 * JUnit, HTML), summary and exit status; 125 when the files are not each shard of one run exactly once (or
 * cannot be read).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readProblem } from '../common/document.js';
import { UsageError } from '../common/errors.js';
import { firstLine } from '../common/text.js';
import type { ShardInput } from '../shard/merge.js';
import { writableFile } from './flags.js';

/** The flags of both merge commands; each takes the ones it names. */
const OPTIONS = {
  json: { type: 'string' },
  junit: { type: 'string' },
  html: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `argv` of `sysfault <command>` -> its flags and the shard files; `--json`, `--junit`, `--html` checked writable. */
export function parseMergeArgs(command: string, argv: readonly string[], allowed: readonly (keyof typeof OPTIONS)[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${command}: ${firstLine(err).split('. ')[0] ?? 'bad arguments'} (see sysfault ${command} --help)`);
  }
  const { values, positionals } = parsed;
  for (const key of Object.keys(values)) {
    if (!allowed.includes(key as keyof typeof OPTIONS)) throw new UsageError(`${command}: unknown option --${key} (see sysfault ${command} --help)`);
  }
  if (!values.help) {
    if (positionals.length === 0) throw new UsageError(`${command}: no shard reports given (usage: sysfault ${command} [options] SHARD.json...)`);
    for (const flag of ['json', 'junit', 'html'] as const) {
      const file = values[flag];
      if (file !== undefined) writableFile(`--${flag}`, file);
    }
  }
  return { values, files: positionals };
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
