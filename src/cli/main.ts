#!/usr/bin/env node
/**
 * The `sysfault` command line: run, doctor, demo.
 *
 * Exit statuses of `sysfault run`: the target's own; 128+N when signal N ended it; 124 when --timeout ended
 * it; 125 for sysfault's own errors (one line `sysfault: <message>` on stderr, no stack trace, the target not
 * started); 126 when the command is not executable; 127 when it is not found.
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { durationMs, oneOf, seedText, splitCommandLine, writableFile, writeFlagFile } from './flags.js';
import { EXIT_SYSFAULT, EXIT_TIMEOUT, SysfaultError, UsageError } from '../common/errors.js';
import { parseFault } from '../plan/fault.js';
import { packageRoot, type NativeBinding, type NativeKernelFeatures } from '../native/binding.js';
import { spawn } from '../run/run.js';
import { FS_MODEL_NAMES } from '../run/fs-models.js';
import { scenarioCommand } from './scenario.js';
import { NATIVE_FILES, nativeFile, requireBinding, requireNativeDir, seccompProblem } from '../native/files.js';
import { firstLine } from '../common/text.js';
import { signalNumber } from '../plan/signals.js';
import { describeExit, formatSummary, table } from '../run/summary.js';
import type { EngineOption } from '../run/types.js';
import type { PlanInput, RuleInput } from '../plan/schema.js';
import type { RunResult } from '../common/run-result.js';

const HELP = `Usage: sysfault <command> [options]

Seeded syscall fault injection for real Linux programs.

Commands:
  run [options] -- CMD [ARGS...]   run CMD under a fault plan and report what was intercepted
  doctor                           show kernel features, usable engines and the native files
  demo                             run a small journal program under a plan showing every action
  scenario run|check|merge ...     run a catalogue of fault scenarios with expectations (see docs/scenarios.md)
  topology run FILE                run several services under their own plans on one timeline (docs/topologies.md)
  sweep --calls C --verify V -- CMD  crash CMD at every chosen call, cut the power, verify recovery
                                   (see docs/crash-consistency.md)
  sweep merge SHARD.json...        join the reports of a sweep split with --shard K/N (docs/scale-out.md)

Run "sysfault run --help" for the options of run.
Exit status of run: the command's own, 128+N if signal N ended it, 124 on --timeout,
125 for sysfault's own errors, 126 if CMD is not executable, 127 if it is not found.
`;

const RUN_HELP = `Usage: sysfault run [options] -- CMD [ARGS...]

Options:
  --plan FILE         fault plan (.json, .yaml or .yml; plan version 1)
  --fault SPEC        one rule in one line (repeatable; added after the plan's rules), e.g.
                        fsync=EIO                            every fsync fails with EIO
                        write:short=1                        writes transfer at most 1 byte
                        read:p=0.1=delay=200ms               10% of reads take 200 ms longer
                        connect@127.0.0.1:6379=ECONNREFUSED  that connect is refused
                        fsync:after=3:limit=1=kill           the 4th fsync kills (SIGKILL)
                      SPEC := SYSCALLS[@ADDR]{:OPTION}=ACTION, OPTION := path=GLOB | fd=KIND
                        | after=N | limit=N | p=P | id=ID, ACTION := ERRNO | delay=MS[+JITTER]
                        | short=N | kill[=SIGNAL] | kill-after[=SIGNAL] | torn=N|P%|seeded
                        | powercut | powercut-after
  --seed N            seed (default: the plan's, else random; always reported)
  --engine E          auto (default), preload or seccomp
  --io-uring MODE     report (default: a process that sets up io_uring is reported) or deny (io_uring_setup
                        fails with ENOSYS, so that programs fall back to plain syscalls)
  --timeout MS        kill the command's whole process tree after MS milliseconds (or Ns); exit 124
  --powercut GLOB     power cut: the files matching GLOB (under the current directory) lose what was never
                        fsynced when a powercut action fires (docs/crash-consistency.md)
  --powercut-when W   action (default), crash (also when a signal ends CMD) or always (also at a clean exit)
  --fsync-failure-drops-dirty
                      (with --powercut) an injected fsync error drops the file's unsynced data
  --fs MODEL          (with --powercut) file-system model: posix (default, strict), ext4, xfs or btrfs (an
                        fsync of a file also persists its name; docs/crash-consistency.md)
  --json FILE         write the result (result version 1) to FILE
  -q, --quiet         no summary on stderr
  -h, --help          this help

The command's stdin, stdout and stderr are its own; the summary goes to stderr after it exits.
`;

const RUN_OPTIONS = {
  plan: { type: 'string' },
  fault: { type: 'string', multiple: true },
  seed: { type: 'string' },
  engine: { type: 'string' },
  'io-uring': { type: 'string' },
  timeout: { type: 'string' },
  powercut: { type: 'string' },
  'powercut-when': { type: 'string' },
  'fsync-failure-drops-dirty': { type: 'boolean' },
  fs: { type: 'string' },
  json: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP_ONLY = { help: { type: 'boolean', short: 'h' } } as const;

/** Runs the CLI; resolves to the exit status. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      throw new UsageError('missing command (see sysfault --help)');
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return 0;
    case '-V':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'run':
      return runCommand(rest);
    case 'doctor':
      return doctorCommand(rest);
    case 'demo':
      return demoCommand(rest);
    case 'scenario':
      return scenarioCommand(rest);
    case 'topology':
      return (await import('./topology.js')).topologyCommand(rest);
    case 'sweep':
      return (await import('./sweep.js')).sweepCommand(rest);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)} (see sysfault --help)`);
  }
}

/** `sysfault run`. */
async function runCommand(argv: readonly string[]): Promise<number> {
  const [optionArgs, commandLine] = splitCommandLine(argv, RUN_OPTIONS);
  const { values } = strictParse('run', optionArgs, RUN_OPTIONS);
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const [command, ...args] = commandLine;
  if (command === undefined) throw new UsageError('run: missing command (usage: sysfault run [options] -- CMD [ARGS...])');

  const engine = oneOf('--engine', values.engine ?? 'auto', ['auto', 'preload', 'seccomp']);
  const ioUring = oneOf('--io-uring', values['io-uring'], ['report', 'deny']);
  const seed = seedText('--seed', values.seed);
  const timeout = durationMs('--timeout', values.timeout);
  const faults: RuleInput[] = (values.fault ?? []).map((spec) => parseFault(spec, '--fault'));
  if (values.json !== undefined) writableFile('--json', values.json);
  const when = oneOf('--powercut-when', values['powercut-when'], ['action', 'crash', 'always']);
  if ((when !== undefined || values['fsync-failure-drops-dirty'] || values.fs !== undefined) && values.powercut === undefined) {
    throw new UsageError('--powercut-when, --fsync-failure-drops-dirty and --fs need --powercut GLOB', { field: '--powercut' });
  }
  const fs = oneOf('--fs', values.fs, FS_MODEL_NAMES);

  const handle = spawn(command, args, {
    plan: values.plan,
    faults,
    seed,
    engine: engine satisfies EngineOption,
    ioUring,
    timeout,
    stdio: 'inherit',
    ...(values.powercut !== undefined && {
      powercut: { glob: values.powercut, when, fsyncFailureDropsDirty: values['fsync-failure-drops-dirty'] === true, fs },
    }),
  });
  const result = await followRun(handle, values.json);
  if (!values.quiet) process.stderr.write(`${formatSummary(result).join('\n')}\n`);
  return exitStatus(result);
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

/** `sysfault doctor`. */
function doctorCommand(argv: readonly string[]): number {
  const { values } = strictParse('doctor', argv, HELP_ONLY);
  if (values.help) {
    process.stdout.write('Usage: sysfault doctor\n\nShows kernel features, which engines are usable, and where the native files are.\nExit status 0 when both engines are usable, else 1.\n');
    return 0;
  }
  const rows: [string, string][] = [];
  let native: NativeBinding | undefined;
  let features: NativeKernelFeatures | undefined;
  try {
    native = requireBinding();
    features = native.kernelFeatures();
  } catch (err) {
    rows.push(['native addon', `not loadable: ${firstLine(err)}`]);
  }
  if (features) {
    const yes = (b: boolean): string => (b ? 'yes' : 'no');
    rows.push(
      ['kernel', features.kernel],
      ['seccomp user notification', yes(features.userNotif)],
      ['notification CONTINUE (5.5)', yes(features.notifContinue)],
      ['WAIT_KILLABLE_RECV (5.19)', yes(features.waitKillable)],
      ['sync wake-up (6.6)', yes(features.syncWakeup)],
      ['pidfd_getfd (5.6)', yes(features.pidfdGetfd)],
    );
  }
  let dir: string | undefined;
  try {
    dir = requireNativeDir();
    rows.push(['native dir', dir]);
  } catch (err) {
    rows.push(['native dir', `not found: ${firstLine(err)}`]);
  }
  const has = (name: keyof typeof NATIVE_FILES): boolean => dir !== undefined && existsSync(join(dir, NATIVE_FILES[name]));
  const preloadWhy = !native ? 'native addon missing' : !has('preload') ? `${NATIVE_FILES.preload} missing` : !has('shim') ? `${NATIVE_FILES.shim} missing` : undefined;
  const seccompWhy = !native || !features ? 'native addon missing' : !has('shim') ? `${NATIVE_FILES.shim} missing` : seccompProblem(features);
  rows.push(['engine preload', preloadWhy ? `unusable: ${preloadWhy}` : 'usable']);
  rows.push(['engine seccomp', seccompWhy ? `unusable: ${seccompWhy}` : 'usable']);
  process.stdout.write(`${table(['sysfault doctor', ''], rows, '').slice(1).join('\n')}\n`);
  return preloadWhy || seccompWhy ? 1 : 0;
}

/** `sysfault demo`. */
async function demoCommand(argv: readonly string[]): Promise<number> {
  const { values } = strictParse('demo', argv, HELP_ONLY);
  if (values.help) {
    process.stdout.write(
      'Usage: sysfault demo\n\nRuns a small journal program (5 records, write + fsync each, after a connect to a local\nserver) under a plan that shows each action: errno, delay, short write, refused connect, kill.\n',
    );
    return 0;
  }
  requireBinding();
  const demo = nativeFile('demo');
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysfault-demo-')));
  const server = createServer((socket) => socket.end());
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const journal = `${dir}/*.log`;
  const plan = {
    version: 1,
    seed: 7,
    rules: [
      { id: 'refuse-peer', syscalls: ['connect'], addr: `127.0.0.1:${port}`, action: { errno: 'ECONNREFUSED' } },
      { id: 'torn-write', syscalls: ['write'], path: journal, after: 2, limit: 1, action: { short: 5 } },
      { id: 'slow-write', syscalls: ['write'], path: journal, limit: 1, action: { delayMs: 100 } },
      { id: 'kill-at-last-fsync', syscalls: ['fsync'], after: 4, limit: 1, action: { kill: 'SIGKILL' } },
      { id: 'fsync-eio', syscalls: ['fsync'], after: 1, limit: 1, action: { errno: 'EIO' } },
    ],
  } satisfies PlanInput;
  const planFile = join(dir, 'plan.json');
  writeFileSync(planFile, `${JSON.stringify(plan, null, 2)}\n`);

  // The narration shares stdout with the demo program, so the two interleave in order.
  const say = (line = ''): void => void process.stdout.write(`${line}\n`);
  say(`sysfault demo: a small journal program appends 5 records to ${dir}/journal.log`);
  say(`(write + fsync each) after connecting to a server listening on 127.0.0.1:${port}. The plan:`);
  for (const line of table(
    ['rule', 'on', 'does'],
    [
      ['refuse-peer', `connect to 127.0.0.1:${port}`, 'ECONNREFUSED, though the server is up'],
      ['torn-write', '3rd write to the journal', 'a short write of 5 bytes'],
      ['slow-write', '1st write to the journal', 'a 100 ms delay, then the write'],
      ['kill-at-last-fsync', '5th fsync', 'SIGKILL before the call: a crash'],
      ['fsync-eio', '2nd fsync', 'EIO'],
    ],
  )) {
    say(line);
  }
  say("Rules are checked in order; the first that fires acts. The program's own output:");

  let result: RunResult;
  try {
    const handle = spawn(demo, [dir, String(port)], { plan: planFile, engine: 'preload', stdio: ['ignore', 'pipe', 'inherit'] });
    const output = handle.stdout ? createInterface({ input: handle.stdout, crlfDelay: Infinity }) : undefined;
    output?.on('line', (line) => say(`  | ${line}`));
    const closed = output ? once(output, 'close') : Promise.resolve();
    result = await handle.result;
    await closed;
  } finally {
    server.close();
  }

  say();
  say('What sysfault injected:');
  for (const f of result.faults) {
    say(`  ${f.tMs.toFixed(1).padStart(8)} ms  ${f.syscall}${f.target ? ` ${f.target}` : ''} -> ${f.action}  (${f.rule})`);
  }
  say(`The program ended: ${describeExit(result)}. The same plan and seed give the same faults every run:`);
  say(`  sysfault run --plan ${planFile} -- ${demo} ${dir} ${port}`);
  say();
  say(formatSummary(result).join('\n'));
  return 0;
}

type OptionsConfig = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & object;

/** node:util parseArgs (strict), with its errors as one-line UsageErrors. */
function strictParse<T extends OptionsConfig>(sub: string, args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = (err as Error).message;
    const name = /'([^']+)'/.exec(message)?.[1] ?? '';
    const option = name.replace(/ <value>$/, '').replace(/^-\w, /, '');
    let why: string;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') why = `unknown option ${option}`;
    else if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(message)) why = `option ${option} needs a value`;
    else if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /ambiguous/.test(message)) {
      why = `option ${option} is followed by an option-like value (write ${option}=VALUE)`;
    } else if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /does not take an argument/.test(message)) {
      why = `option ${option} takes no value`;
    }
    else if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') why = `unexpected argument ${JSON.stringify(name)}`;
    else why = firstLine(err).split('. ')[0] ?? 'bad arguments';
    throw new UsageError(`${sub}: ${why} (see sysfault ${sub} --help)`);
  }
}

function writeJson(file: string, result: RunResult): void {
  writeFlagFile('--json', file, `${JSON.stringify(result, null, 2)}\n`);
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
