#!/usr/bin/env node
/**
 * The `sysfault` command line: dispatch to one file per command, and the one place errors become a line on
 * stderr and an exit status (125 for sysfault's own errors: one line `sysfault: <message>`, no stack trace).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_SYSFAULT, SysfaultError, UsageError } from '../common/errors.js';
import { didYouMean, firstLine } from '../common/text.js';
import { packageRoot } from '../native/binding.js';
import { commandHelp, topHelp } from './args.js';
import { COMMAND_NAMES } from './flags.js';

type Command = (argv: readonly string[]) => number | Promise<number>;

/** Each command's module, loaded when it runs (one file per command; scenario and topology take a subcommand). */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  run: async () => (await import('./run.js')).runCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  syscalls: async () => (await import('./syscalls.js')).syscallsCommand,
  schema: async () => (await import('./schema.js')).schemaCommand,
  completion: async () => (await import('./completion.js')).completionCommand,
  scenario: async () => (await import('./scenario.js')).scenarioCommand,
  topology: async () => (await import('./topology.js')).topologyCommand,
  sweep: async () => (await import('./sweep.js')).sweepCommand,
};

/** Runs the CLI; resolves to the exit status. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      throw new UsageError('missing command (see sysfault --help)');
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(rest[0] !== undefined && isCommand(rest.join(' ')) ? commandHelp(rest.join(' ') as never) : topHelp());
      return 0;
    case '-V':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return 0;
    default: {
      const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
      if (load) return (await load())(rest);
      throw new UsageError(`unknown command ${JSON.stringify(command)}${didYouMean(command, Object.keys(COMMANDS))} (see sysfault --help)`);
    }
  }
}

function isCommand(name: string): boolean {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Prints an error as one line and returns its exit status. */
function report(err: unknown): number {
  if (err instanceof SysfaultError) {
    process.stderr.write(`sysfault: ${err.message}\n`);
    if (process.env.SYSFAULT_DEBUG === '1' && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  if (process.env.SYSFAULT_DEBUG === '1') {
    process.stderr.write(`sysfault: internal error: ${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
  } else {
    process.stderr.write(`sysfault: internal error: ${firstLine(err)} (set SYSFAULT_DEBUG=1 for the stack)\n`);
  }
  return EXIT_SYSFAULT;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => process.exit(report(err)),
);
