/**
 * The command line of one `sysfault` command, parsed from the flag table (flags.ts): node:util parseArgs with
 * its errors as one-line UsageErrors, each command's help text, and the flags' mapping to API options.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../common/errors.js';
import { didYouMean, firstLine } from '../common/text.js';
import { COMMANDS, commandSpec, flagsOf, type CommandName, type FlagSpec } from './flags.js';

type ParseArgsOptions = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;
type Value = string | boolean | string[] | undefined;

/** A parsed command line. */
export class CommandLine {
  readonly command: CommandName;
  /** The files (FILE|DIR...) or the command and its arguments (CMD ARGS...). */
  readonly positionals: string[];
  readonly #values: Readonly<Record<string, Value>>;
  readonly #flags: FlagSpec[];

  constructor(command: CommandName, values: Record<string, Value>, positionals: string[]) {
    this.command = command;
    this.#values = values;
    this.positionals = positionals;
    this.#flags = flagsOf(command);
  }

  get help(): boolean {
    return this.#values.help === true;
  }

  /** Prints the command's help when --help was given; true when it did (the command is then done). */
  printedHelp(): boolean {
    if (this.help) process.stdout.write(commandHelp(this.command));
    return this.help;
  }

  /**
   * The one positional a command takes, one of `choices`.
   * @throws UsageError `<command>: expected one of a, b or c, got "<text>"`
   */
  choice<const T extends readonly string[]>(choices: T): T[number] {
    const [word, extra] = this.positionals;
    if (word !== undefined && extra === undefined && (choices as readonly string[]).includes(word)) return word;
    const list = `${choices.slice(0, -1).join(', ')} or ${choices.at(-1) ?? ''}`;
    throw new UsageError(`${this.command}: expected one of ${list}, got ${word === undefined ? 'nothing' : JSON.stringify(this.positionals.join(' '))}`);
  }

  /** Was the flag given? */
  has(name: string): boolean {
    return this.#values[name] !== undefined;
  }

  /** A string flag's text (its default when not given). */
  string(name: string): string | undefined {
    const v = this.#values[name];
    return typeof v === 'string' ? v : this.#spec(name).default;
  }

  /** A boolean flag. */
  boolean(name: string): boolean {
    return this.#values[name] === true;
  }

  /** A repeatable flag's texts, in order. */
  strings(name: string): string[] {
    const v = this.#values[name];
    return Array.isArray(v) ? v : [];
  }

  /** A flag's value converted (and checked) by its `parse`; undefined when neither given nor defaulted. */
  value<T>(name: string): T | undefined {
    const spec = this.#spec(name);
    const text = this.string(name);
    if (text === undefined) return undefined;
    return (spec.parse ? spec.parse(text, `--${name}`) : text) as T;
  }

  /** The API options the given flags map to (each flag's `option`), converted and checked in flag order. */
  options(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const spec of this.#flags) {
      if (spec.option === undefined) continue;
      const value = spec.type === 'boolean' ? (this.boolean(spec.name) || undefined) : this.value(spec.name);
      if (value !== undefined) out[spec.option] = value;
    }
    return out;
  }

  #spec(name: string): FlagSpec {
    const spec = this.#flags.find((f) => f.name === name);
    if (!spec) throw new Error(`${this.command} has no flag --${name}`);
    return spec;
  }
}

/** parseArgs' option table for a command. */
function parseArgsOptions(command: CommandName): ParseArgsOptions {
  const options: ParseArgsOptions = {};
  for (const f of flagsOf(command)) {
    options[f.name] = { type: f.type, ...(f.multiple && { multiple: true }), ...(f.short !== undefined && { short: f.short }) };
  }
  return options;
}

/**
 * Parses one command's arguments (what follows `sysfault <command>`).
 * @throws UsageError `<command>: unknown option --x (did you mean --y?) (see sysfault <command> --help)` and
 *   the like: one line, exit 125.
 */
export function parseCommandLine(command: CommandName, argv: readonly string[]): CommandLine {
  const options = parseArgsOptions(command);
  const positionals = commandSpec(command).positionals;
  let optionArgs = [...argv];
  let rest: string[] = [];
  if (positionals === 'command') [optionArgs, rest] = splitCommandLine(argv, options);
  try {
    const parsed = parseArgs({ args: optionArgs, options, strict: true, allowPositionals: positionals === 'files' });
    return new CommandLine(command, parsed.values as Record<string, Value>, positionals === 'files' ? parsed.positionals : rest);
  } catch (err) {
    throw new UsageError(`${command}: ${describeParseError(err, command)} (see sysfault ${command} --help)`);
  }
}

/** parseArgs' error, in a few words. */
function describeParseError(err: unknown, command: CommandName): string {
  const code = (err as NodeJS.ErrnoException).code;
  const message = firstLine(err);
  const name = /'([^']+)'/.exec(message)?.[1] ?? '';
  const option = name.replace(/ <value>$/, '').replace(/^-\w, /, '');
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const known = flagsOf(command).map((f) => `--${f.name}`);
    return `unknown option ${option}${option.startsWith('--') ? didYouMean(option, known, (s) => s) : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/argument missing/.test(message)) return `option ${option} needs a value`;
    if (/ambiguous/.test(message)) return `option ${option} is followed by an option-like value (write ${option}=VALUE)`;
    if (/does not take an argument/.test(message)) return `option ${option} takes no value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${JSON.stringify(name)}`;
  return message.split('. ')[0] ?? 'bad arguments';
}

/**
 * Splits `[options] -- CMD ARGS` (or `[options] CMD ARGS`: the options end at the first word that is neither an
 * option nor an option's value) into the options and the command line. Never throws: the options are checked
 * after, by a strict parse.
 */
function splitCommandLine(argv: readonly string[], options: ParseArgsOptions): [string[], string[]] {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const stop = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  if (!stop) return [[...argv], []];
  return [argv.slice(0, stop.index), argv.slice(stop.index + (stop.kind === 'option-terminator' ? 1 : 0))];
}

/** The column flag descriptions start at. */
const HELP_COLUMN = 22;

/** The `Options:` lines of a command's help. */
function optionLines(command: CommandName): string[] {
  const lines: string[] = [];
  for (const f of flagsOf(command)) {
    const left = `  ${f.short !== undefined ? `-${f.short}, ` : ''}--${f.name}${f.value !== undefined ? ` ${f.value}` : ''}`;
    const [first = '', ...more] = f.description.split('\n');
    const text = f.default !== undefined ? `${first} (default ${f.default})` : first;
    if (left.length + 2 > HELP_COLUMN) lines.push(left, `${' '.repeat(HELP_COLUMN)}${text}`);
    else lines.push(`${left.padEnd(HELP_COLUMN)}${text}`);
    for (const line of more) lines.push(`${' '.repeat(HELP_COLUMN)}${line}`);
  }
  return lines;
}

/** `sysfault <command> --help`. */
export function commandHelp(command: CommandName): string {
  const spec = commandSpec(command);
  const parts = [`Usage: sysfault ${command}${spec.usage ? ` ${spec.usage}` : ''}`];
  if (spec.description) parts.push(spec.description);
  parts.push(['Options:', ...optionLines(command)].join('\n'));
  if (spec.footer) parts.push(spec.footer);
  return `${parts.join('\n\n')}\n`;
}

/** `sysfault --help`. */
export function topHelp(): string {
  const lines = COMMANDS.map((c) => {
    const usage = c.usage.length > 26 ? '...' : c.usage;
    return `  ${`${c.name}${usage ? ` ${usage}` : ''}`.padEnd(39)} ${c.summary}`;
  });
  return [
    'Usage: sysfault <command> [options]',
    '',
    'Seeded syscall fault injection for real Linux programs.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run "sysfault <command> --help" for the options of a command.',
    'Exit status of run: the command\'s own, 128+N if signal N ended it, 124 on --timeout,',
    "125 for sysfault's own errors, 126 if CMD is not executable, 127 if it is not found.",
    '',
  ].join('\n');
}
