/**
 * `sysfault run [options] -- CMD [ARGS...]`.
 *
 * Exit statuses: the target's own; 128+N when signal N ended it; 124 when --timeout ended it; 125 for
 * sysfault's own errors (the target not started); 126 when the command is not executable; 127 when it is not
 * found. With --dry-run: 0 when everything checks out, nothing started.
 */
import { EXIT_SYSFAULT, EXIT_TIMEOUT, SysfaultError, UsageError } from '../common/errors.js';
import { parseFault } from '../plan/fault.js';
import { signalNumber } from '../plan/signals.js';
import { dryRun, spawn } from '../run/run.js';
import { describeRule, formatSummary, table } from '../run/summary.js';
import { parseCommandLine } from './args.js';
import { paintSummary } from './output.js';
import { writableFile, writeFlagFile } from './values.js';
import type { RunResult } from '../common/run-result.js';
import type { RuleInput } from '../plan/schema.js';
import type { RunOptions } from '../run/types.js';
import type { FsModelName } from '../run/fs-models.js';

/** `sysfault run`. */
export async function runCommand(argv: readonly string[]): Promise<number> {
  const line = parseCommandLine('run', argv);
  if (line.printedHelp()) return 0;
  const [command, ...args] = line.positionals;
  if (command === undefined) throw new UsageError('run: missing command (usage: sysfault run [options] -- CMD [ARGS...])');

  const options = line.options() as RunOptions;
  const faults: RuleInput[] = line.strings('fault').map((spec) => parseFault(spec, '--fault'));
  const json = line.string('json');
  if (json !== undefined) writableFile('--json', json);
  const when = line.value<'action' | 'crash' | 'always'>('powercut-when');
  const glob = line.string('powercut');
  if ((when !== undefined || line.boolean('fsync-failure-drops-dirty') || line.has('fs')) && glob === undefined) {
    throw new UsageError('--powercut-when, --fsync-failure-drops-dirty and --fs need --powercut GLOB', { field: '--powercut' });
  }
  const fs = line.value<FsModelName>('fs');
  const runOptions: RunOptions = {
    ...options,
    faults,
    ...(glob !== undefined && { powercut: { glob, when, fsyncFailureDropsDirty: line.boolean('fsync-failure-drops-dirty'), fs } }),
  };
  if (line.boolean('dry-run')) return printDryRun(command, args, runOptions);

  const handle = spawn(command, args, { ...runOptions, stdio: 'inherit' });
  // said when it happens: a run that waits for what its target left running would otherwise look hung
  handle.on('warning', (w) => {
    if (w.code === 'tree-remains' && !line.boolean('quiet')) process.stderr.write(`sysfault: ${w.message}\n`);
  });
  const result = await followRun(handle, json);
  if (!line.boolean('quiet')) process.stderr.write(`${paintSummary(formatSummary(result), process.stderr).join('\n')}\n`);
  return exitStatus(result);
}

/** --dry-run: what the run would be, on stdout. */
function printDryRun(command: string, args: readonly string[], options: RunOptions): number {
  const dry = dryRun(command, args, options);
  const lines = [
    `sysfault run --dry-run: nothing started`,
    `  command  ${[dry.executable, ...args].join(' ')}`,
    `  engine   ${dry.engine} (${dry.engineReason})`,
    `  seed     ${dry.seed}`,
    `  plan     ${dry.plan.rules.length} rule${dry.plan.rules.length === 1 ? '' : 's'}, ${dry.compiled.length} bytes compiled`,
  ];
  if (dry.plan.rules.length > 0) {
    lines.push(...table(['rule', 'syscalls', 'filters', 'when', 'action'], dry.plan.rules.map((r) => describeRule(r))));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** Waits for the run, forwarding SIGINT/SIGTERM/SIGHUP to the target, and writes --json. */
async function followRun(handle: ReturnType<typeof spawn>, jsonFile: string | undefined): Promise<RunResult> {
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const listeners = forwarded.map((sig) => {
    const listener = (): void => {
      handle.kill(sig);
    };
    process.on(sig, listener);
    return [sig, listener] as const;
  });
  try {
    const result = await handle.result;
    if (jsonFile !== undefined) writeJson(jsonFile, result);
    return result;
  } catch (err) {
    if (err instanceof SysfaultError && err.result && jsonFile !== undefined) writeJson(jsonFile, err.result);
    throw err;
  } finally {
    for (const [sig, listener] of listeners) process.off(sig, listener);
  }
}

/** The CLI's exit status for a finished run. */
function exitStatus(result: RunResult): number {
  if (result.timedOut) return EXIT_TIMEOUT;
  if (result.exit.signal !== null) return 128 + (signalNumber(result.exit.signal) ?? 0);
  return result.exit.code ?? EXIT_SYSFAULT;
}

function writeJson(file: string, result: RunResult): void {
  writeFlagFile('--json', file, `${JSON.stringify(result, null, 2)}\n`);
}
