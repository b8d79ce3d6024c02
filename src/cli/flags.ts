/**
 * Every flag of every `sysfault` command, declared once as typed data: its name, value, description, default,
 * the commands it belongs to and the API option it sets. The parser, each command's `--help`, the shell
 * completions and the mapping to API options are all made from this table (args.ts, completion.ts), so a flag
 * cannot be parsed one way and documented another.
 */
import { FS_MODEL_NAMES } from '../run/fs-models.js';
import { durationMs, oneOf, seedText, wholeNumber } from './values.js';

/** The commands (a subcommand is written with its parent: "scenario run"). */
export const COMMAND_NAMES = [
  'run', 'doctor', 'demo', 'syscalls', 'sweep', 'sweep merge', 'scenario run', 'scenario check', 'scenario merge', 'topology run', 'schema', 'completion',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** What a command takes after its options. */
export type Positionals =
  /** nothing */
  | 'none'
  /** `[--] CMD [ARGS...]`: the options end at `--` or at the first word that is neither an option nor a value */
  | 'command'
  /** `FILE|DIR...`, options and files in any order */
  | 'files';

/** A command's own text around its flags. */
export interface CommandSpec {
  name: CommandName;
  /** After "sysfault NAME" in the usage line. */
  usage: string;
  /** One line for the top-level help. */
  summary: string;
  positionals: Positionals;
  /** Shell completion of the positionals. */
  completeArgs?: 'file' | 'command' | readonly string[];
  /** Paragraphs before the options. */
  description?: string;
  /** Paragraphs after the options. */
  footer?: string;
}

/** Converts a flag's text (or texts, for a repeatable flag; true for a boolean) to its API option value. */
export type FlagParse = (value: string, flag: string) => unknown;

/** One flag. */
export interface FlagSpec {
  /** Long name, without the dashes. */
  name: string;
  /** One-letter alias, without the dash. */
  short?: string;
  type: 'string' | 'boolean';
  /** May be given several times (its values are collected in order). */
  multiple?: boolean;
  /** Name of the value in the help (FILE, MS, N). */
  value?: string;
  /** The help text; `\n` starts a continuation line. */
  description: string;
  /** The value used when the flag is not given (as text, like a given value). */
  default?: string;
  /** The values allowed, for validation and completion. */
  choices?: readonly string[];
  /** What the shell completes the value with. */
  complete?: 'file' | 'dir' | 'syscall';
  /** The commands that take it. */
  commands: readonly CommandName[];
  /** The API option it sets (the command's options object), when it maps to one directly. */
  option?: string;
  /** Converts (and checks) the text; the text itself otherwise. */
  parse?: FlagParse;
}

const ENGINES = ['auto', 'preload', 'seccomp'] as const;
const IO_URING = ['report', 'deny'] as const;
const seed: FlagParse = (text, flag) => seedText(flag, text);
const ms: FlagParse = (text, flag) => durationMs(flag, text);
const positive: FlagParse = (text, flag) => wholeNumber(flag, text, { min: 1 });
const engine: FlagParse = (text, flag) => oneOf(flag, text, ENGINES);
const ioUring: FlagParse = (text, flag) => oneOf(flag, text, IO_URING);

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run',
    usage: '[options] -- CMD [ARGS...]',
    summary: 'run CMD under a fault plan and report what was intercepted',
    positionals: 'command',
    completeArgs: 'command',
    footer:
      "The command's stdin, stdout and stderr are its own; the summary goes to stderr after it exits.\n" +
      'Exit status: the command\'s own, 128+N if signal N ended it, 124 on --timeout, 125 for sysfault\'s own\n' +
      'errors, 126 if CMD is not executable, 127 if it is not found.',
  },
  {
    name: 'doctor',
    usage: '[CMD]',
    summary: 'kernel features, usable engines, native files; the engine for CMD',
    positionals: 'command',
    completeArgs: 'command',
    description:
      'Shows kernel features, which engines are usable, and where the native files are; given CMD, also the\n' +
      'engine `auto` picks for it and why.',
    footer: 'Exit status 0 when both engines are usable, else 1.',
  },
  {
    name: 'demo',
    usage: '',
    summary: 'run a small journal program under a plan showing every action',
    positionals: 'none',
    description:
      'Runs a small journal program (5 records, write + fsync each, after a connect to a local\n' +
      'server) under a plan that shows each action: errno, delay, short write, refused connect, kill.',
  },
  {
    name: 'syscalls',
    usage: '[options]',
    summary: 'the syscalls, groups, actions and errnos a plan may name',
    positionals: 'none',
  },
  {
    name: 'scenario run',
    usage: '[options] FILE|DIR...',
    summary: 'a catalogue of fault scenarios with expectations (docs/scenarios.md)',
    positionals: 'files',
    completeArgs: 'file',
    description:
      "Runs each scenario (a DIR's *.yaml, *.yml and *.json files) with each of its seeds, from a fresh copy of\n" +
      'its snapshot, and prints a pass/fail table with the reason. Failed runs keep their directory (the working\n' +
      'directory, outputs, result and fault log) and print a command that reruns exactly that scenario and seed.',
    footer:
      'Exit status: 0 when every run passed, 1 when any failed, 125 for sysfault\'s own errors (bad flags, an\n' +
      'invalid scenario file, a run that could not be carried out).',
  },
  {
    name: 'scenario check',
    usage: 'FILE|DIR...',
    summary: 'validate scenario files',
    positionals: 'files',
    completeArgs: 'file',
    description: 'Validates the scenario files only.',
  },
  {
    name: 'scenario merge',
    usage: '[options] SHARD.json...',
    summary: 'join the --json reports of a catalogue run with --shard (docs/scale-out.md)',
    positionals: 'files',
    completeArgs: 'file',
    description:
      'Joins the --json reports of every shard of one catalogue (sysfault scenario run --shard K/N ...) into the\n' +
      'reports the unsplit run gives: the same JSON, JUnit, page, table and exit status (0 when every run passed,\n' +
      '1 when any failed, 125 when a run errored). Exit 125 too when the files are not each shard exactly once.',
  },
  {
    name: 'topology run',
    usage: '[options] FILE',
    summary: 'services under their own plans on one timeline (docs/topologies.md)',
    positionals: 'files',
    completeArgs: 'file',
    description:
      'Runs the services of a topology file (version 1, YAML or JSON), each under its own fault plan and its own\n' +
      'sysfault run, in order and each once the previous one is ready; then the workload and the events (kills,\n' +
      'rolling restarts, rule switches); ends everything together. See docs/topologies.md.',
    footer:
      "Exit status: the workload's (0 if it succeeded), 124 on the timeout, 1 when a service was never ready or\n" +
      "crashed with stopOnServiceExit, 125 for sysfault's own errors (bad file or flags).",
  },
  {
    name: 'sweep',
    usage: "--calls fsync[,fdatasync,...] --verify 'CMD ARGS' [options] -- CMD [ARGS...]",
    summary: 'crash CMD at each chosen call, cut the power, verify (docs/crash-consistency.md)',
    positionals: 'command',
    completeArgs: 'command',
    description:
      'A clean run counts the chosen calls (N). Then for each crash point k (1..N, or a seeded sample), a fresh\n' +
      'working directory (a copy of --snapshot, or empty) is CMD\'s current directory; CMD is killed (SIGKILL) at the\n' +
      'k-th chosen call, before it happens; the power cut is applied to the files matching GLOB (what they got since\n' +
      'their last fsync/fdatasync is lost; see docs/crash-consistency.md); then the verify command runs in that same\n' +
      'directory.',
    footer:
      "Exit 0 when every point verified, 1 when any failed, 125 for sysfault's own errors (a clean run that\n" +
      'makes none of the chosen calls is one: it says what the run called instead).',
  },
  {
    name: 'sweep merge',
    usage: '[options] SHARD.json...',
    summary: 'join the --json reports of a sweep run with --shard (docs/scale-out.md)',
    positionals: 'files',
    completeArgs: 'file',
    description:
      'Joins the --json reports of every shard of one sweep (sysfault sweep --shard K/N ...) into the report the\n' +
      'unsplit sweep gives: the same JSON, page, summary and exit status (0 when every point verified, 1 when any\n' +
      'failed). Exit 125 when the files are not each shard of one sweep exactly once.',
  },
  {
    name: 'schema',
    usage: 'plan|scenario|topology',
    summary: 'print the JSON Schema of a file format (shipped as schema/*.schema.json)',
    positionals: 'files',
    completeArgs: ['plan', 'scenario', 'topology'],
    description:
      'Prints the JSON Schema of plan, scenario or topology files, generated from the validator. The package ships\n' +
      'them as schema/<name>.schema.json: name one in a file\'s "$schema" (YAML: a "# yaml-language-server:\n' +
      '$schema=..." comment) for an editor to complete and check it.',
  },
  {
    name: 'completion',
    usage: 'bash|zsh|fish',
    summary: 'print a shell completion script',
    positionals: 'files',
    completeArgs: ['bash', 'zsh', 'fish'],
  },
];

export const FLAGS: readonly FlagSpec[] = [
  // ---- run ----
  { name: 'plan', type: 'string', value: 'FILE', description: 'fault plan (.json, .yaml or .yml; plan version 1)', complete: 'file', commands: ['run'], option: 'plan' },
  {
    name: 'fault',
    type: 'string',
    multiple: true,
    value: 'SPEC',
    description:
      "one rule in one line (repeatable; added after the plan's rules), e.g.\n" +
      '  fsync=EIO                            every fsync fails with EIO\n' +
      '  write:short=1                        writes transfer at most 1 byte\n' +
      '  read:p=0.1=delay=200ms               10% of reads take 200 ms longer\n' +
      '  connect@127.0.0.1:6379=ECONNREFUSED  that connect is refused\n' +
      '  fsync:after=3:limit=1=kill           the 4th fsync kills (SIGKILL)\n' +
      'SPEC := SYSCALLS[@ADDR]{:OPTION}=ACTION, OPTION := path=GLOB | fd=KIND\n' +
      '  | after=N | limit=N | p=P | id=ID, ACTION := ERRNO | delay=MS[+JITTER]\n' +
      '  | short=N | kill[=SIGNAL] | kill-after[=SIGNAL] | torn=N|P%|seeded\n' +
      '  | powercut | powercut-after',
    commands: ['run'],
  },
  { name: 'seed', type: 'string', value: 'N', description: "seed (default: the plan's, else random; always reported)", commands: ['run'], option: 'seed', parse: seed },
  { name: 'engine', type: 'string', value: 'E', description: 'engine: auto, preload or seccomp', default: 'auto', choices: ENGINES, commands: ['run', 'sweep'], option: 'engine', parse: engine },
  {
    name: 'io-uring',
    type: 'string',
    value: 'MODE',
    description:
      'report (default: a process that sets up io_uring, whose I/O no syscall interception sees, is reported)\n' +
      'or deny (io_uring_setup fails with ENOSYS, so that programs fall back to plain syscalls)',
    choices: IO_URING,
    commands: ['run'],
    option: 'ioUring',
    parse: ioUring,
  },
  {
    name: 'timeout',
    type: 'string',
    value: 'MS',
    description: "SIGKILL the command's whole process tree after MS milliseconds (or Ns), as a crash would; exit 124",
    commands: ['run'],
    option: 'timeout',
    parse: ms,
  },
  {
    name: 'powercut',
    type: 'string',
    value: 'GLOB',
    description:
      'power cut: the files matching GLOB (under the current directory) lose what was never\n' +
      '  fsynced when a powercut action fires (docs/crash-consistency.md)',
    complete: 'file',
    commands: ['run'],
  },
  {
    name: 'powercut-when',
    type: 'string',
    value: 'W',
    description: 'action (default), crash (also when a signal ends CMD) or always (also at a clean exit)',
    choices: ['action', 'crash', 'always'],
    commands: ['run'],
    parse: (text, flag) => oneOf(flag, text, ['action', 'crash', 'always']),
  },
  {
    name: 'fsync-failure-drops-dirty',
    type: 'boolean',
    description: "(with --powercut) an injected fsync error drops the file's unsynced data",
    commands: ['run'],
  },
  {
    name: 'fs',
    type: 'string',
    value: 'MODEL',
    description:
      '(with --powercut) file-system model: posix (default, strict), ext4, xfs or btrfs (an\n' +
      '  fsync of a file also persists its name; docs/crash-consistency.md)',
    choices: FS_MODEL_NAMES,
    commands: ['run'],
    parse: (text, flag) => oneOf(flag, text, FS_MODEL_NAMES),
  },
  { name: 'json', type: 'string', value: 'FILE', description: 'write the result (result version 1) to FILE', complete: 'file', commands: ['run'] },
  {
    name: 'dry-run',
    type: 'boolean',
    description: 'check the plan, the flags and the command; show the compiled rules and the engine; start nothing',
    commands: ['run'],
  },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'no summary on stderr', commands: ['run'] },

  // ---- syscalls ----
  { name: 'json', type: 'boolean', description: 'print the lists as JSON', commands: ['syscalls'] },

  // ---- sweep ----
  {
    name: 'calls',
    type: 'string',
    value: 'LIST',
    description: 'syscall (or group) names a crash point is taken at: fsync, fdatasync, write, ...',
    complete: 'syscall',
    commands: ['sweep'],
  },
  {
    name: 'verify',
    type: 'string',
    value: "'CMD'",
    description:
      "run by /bin/sh -c in the point's directory after the crash; exit 0 = consistent.\n" +
      'Its environment has SYSFAULT_SWEEP_POINT, SYSFAULT_SWEEP_STDOUT and\n' +
      'SYSFAULT_SWEEP_STDERR (files holding what the crashed run printed), SYSFAULT_SWEEP_DIR',
    commands: ['sweep'],
    option: 'verify',
  },
  {
    name: 'powercut',
    type: 'string',
    value: 'GLOB',
    description:
      'cut the power at each point for the files matching GLOB (as a rule\'s path; a relative\n' +
      'glob with "/" is taken from the working directory)',
    complete: 'file',
    commands: ['sweep'],
  },
  {
    name: 'fsync-failure-drops-dirty',
    type: 'boolean',
    description: "(with --powercut) an injected fsync error drops the file's unsynced data",
    commands: ['sweep'],
  },
  {
    name: 'fs',
    type: 'string',
    value: 'MODEL',
    description:
      'file-system model of the power cut and the crash states: posix (default, strict),\n' +
      'ext4, xfs, btrfs (an fsync of a file also persists its name; docs/crash-consistency.md)',
    choices: FS_MODEL_NAMES,
    commands: ['sweep'],
    option: 'fs',
    parse: (text, flag) => oneOf(flag, text, FS_MODEL_NAMES),
  },
  {
    name: 'states',
    type: 'string',
    value: 'N|all',
    description:
      '(with --powercut) at each point, besides the pessimistic state, verify up to N crash\n' +
      'states the model allows (prefixes, torn and reordered blocks of the unsynced writes,\n' +
      'unsynced renames and creations), chosen by the seed; all: every one (up to 1024)',
    commands: ['sweep'],
    option: 'states',
    parse: (text, flag) => (text === 'all' ? 'all' : wholeNumber(flag, text, { min: 0 })),
  },
  { name: 'block', type: 'string', value: 'N', description: 'block size of torn and reordered writes (default 4096)', commands: ['sweep'], option: 'block', parse: positive },
  {
    name: 'state',
    type: 'string',
    value: 'S',
    description: '(with --point) verify only crash state S of that point (what a replay does)',
    commands: ['sweep'],
    option: 'state',
    parse: (text, flag) => wholeNumber(flag, text, { min: 0 }),
  },
  {
    name: 'crash',
    type: 'string',
    value: 'tree|process',
    description:
      'tree (default): every process of the run stops at the crash point, then all die (a\n' +
      'machine crash); process: only the process making the call dies (a different test)',
    choices: ['tree', 'process'],
    commands: ['sweep'],
    option: 'crash',
    parse: (text, flag) => oneOf(flag, text, ['tree', 'process']),
  },
  { name: 'snapshot', type: 'string', value: 'DIR', description: 'each working directory starts as a copy of DIR (default: empty)', complete: 'dir', commands: ['sweep'], option: 'snapshot' },
  { name: 'sample', type: 'string', value: 'N', description: 'try N points chosen by the seed (default: every point)', commands: ['sweep'], option: 'sample', parse: positive },
  { name: 'seed', type: 'string', value: 'N', description: 'seed of the sample (default: random, reported)', commands: ['sweep'], option: 'seed' },
  { name: 'jobs', type: 'string', value: 'N', description: 'points run at once (default: min(4, CPUs))', commands: ['sweep'], option: 'jobs', parse: positive },
  { name: 'timeout', type: 'string', value: 'MS', description: 'limit of each run and each verify (default 60000; or Ns)', commands: ['sweep'], option: 'timeout', parse: ms },
  {
    name: 'point',
    type: 'string',
    value: 'K',
    description: "run only point K and keep its directory (what a failure's replay command does)",
    commands: ['sweep'],
    option: 'point',
    parse: positive,
  },
  { name: 'keep', type: 'boolean', description: "keep every point's working directory", commands: ['sweep'] },
  {
    name: 'shard',
    type: 'string',
    value: 'K/N',
    description:
      'run only shard K of N of the points (every shard makes the same clean run and sample;\n' +
      'needs --seed); --shard auto reads the shard from JOB_COMPLETION_INDEX and\n' +
      'SYSFAULT_SHARD_TOTAL (Kubernetes), CI_NODE_INDEX/CI_NODE_TOTAL (GitLab),\n' +
      'CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL, BUILDKITE_PARALLEL_JOB/_COUNT. "sweep merge" joins\n' +
      "the shards' --json reports into the unsplit sweep's report (docs/scale-out.md)",
    commands: ['sweep'],
  },
  { name: 'json', type: 'string', value: 'FILE', description: 'write {"version":1,"points":N,"tried":M,"failed":[...]} to FILE', complete: 'file', commands: ['sweep'] },
  { name: 'html', type: 'string', value: 'FILE', description: "write a self-contained HTML page: the crash points as a grid, each failure's details", complete: 'file', commands: ['sweep'] },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'no progress bar, no summary', commands: ['sweep'] },

  // ---- scenario run ----
  { name: 'seed', type: 'string', value: 'N', description: 'run every scenario with this seed only (instead of its seeds)', commands: ['scenario run'], option: 'seed', parse: seed },
  {
    name: 'jobs',
    type: 'string',
    value: 'N',
    description: 'runs at once (default: min(4, CPUs))',
    commands: ['scenario run'],
    option: 'jobs',
    parse: (text, flag) => wholeNumber(flag, text, { min: 1, max: 9999 }),
  },
  {
    name: 'timeout',
    type: 'string',
    value: 'MS',
    description: 'timebox of the whole catalogue (or Ns): runs going are killed, the rest not run',
    commands: ['scenario run'],
    option: 'timeoutMs',
    parse: ms,
  },
  {
    name: 'scenario-timeout',
    type: 'string',
    value: 'MS',
    description: "timebox of each run's target, instead of each scenario's timeoutMs",
    commands: ['scenario run'],
    option: 'scenarioTimeoutMs',
    parse: ms,
  },
  { name: 'json', type: 'string', value: 'FILE', description: 'write the JSON report (version 1)', complete: 'file', commands: ['scenario run'] },
  { name: 'junit', type: 'string', value: 'FILE', description: 'write a JUnit XML report', complete: 'file', commands: ['scenario run'] },
  { name: 'html', type: 'string', value: 'FILE', description: 'write a self-contained HTML page: the pass/fail table and what differed', complete: 'file', commands: ['scenario run'] },
  {
    name: 'shard',
    type: 'string',
    value: 'K/N',
    description:
      'run only shard K of N of the runs (scenario x seed); --shard auto reads it from\n' + "the CI's or Kubernetes' environment (see docs/scale-out.md)",
    commands: ['scenario run'],
  },
  { name: 'keep', type: 'boolean', description: "keep every run's directory (default: only failed runs')", commands: ['scenario run'] },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'no progress lines on stderr', commands: ['scenario run'] },

  // ---- topology run ----
  { name: 'json', type: 'string', value: 'FILE', description: "write the result (timeline, samples, metrics, every run's result) as JSON", complete: 'file', commands: ['topology run'] },
  { name: 'jsonl', type: 'string', value: 'FILE', description: 'write the timeline as JSON lines', complete: 'file', commands: ['topology run'] },
  {
    name: 'html',
    type: 'string',
    value: 'FILE',
    description:
      'write a self-contained HTML page: the timeline (services, restarts, faults) and the\n' + "workload's error rate and latency over time",
    complete: 'file',
    commands: ['topology run'],
  },
  { name: 'timeout', type: 'string', value: 'MS', description: "overrides the file's timeoutMs (or Ns)", commands: ['topology run'], option: 'timeoutMs', parse: ms },
  { name: 'var', type: 'string', multiple: true, value: 'NAME=VALUE', description: 'value of ${vars.NAME} in the file (repeatable)', commands: ['topology run'] },
  { name: 'dir', type: 'string', value: 'DIR', description: 'scratch directory (${dir}; default: a new one under the temp directory)', complete: 'dir', commands: ['topology run'], option: 'dir' },
  { name: 'echo', type: 'boolean', description: "copy every service's output to stderr, each line prefixed with its service id", commands: ['topology run'] },
  {
    name: 'max-entries',
    type: 'string',
    value: 'N',
    description: 'timeline entries in the summary (0 for all)',
    default: '60',
    commands: ['topology run'],
    parse: (text, flag) => wholeNumber(flag, text, { digits: 9 }),
  },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'no summary on stderr', commands: ['topology run'] },

  // ---- sweep merge, scenario merge ----
  { name: 'json', type: 'string', value: 'FILE', description: 'write the merged report', complete: 'file', commands: ['sweep merge', 'scenario merge'] },
  { name: 'junit', type: 'string', value: 'FILE', description: 'write the merged JUnit XML report', complete: 'file', commands: ['scenario merge'] },
  { name: 'html', type: 'string', value: 'FILE', description: 'write the HTML page of the merged report', complete: 'file', commands: ['sweep merge', 'scenario merge'] },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'no summary on stderr', commands: ['sweep merge'] },

  // ---- every command ----
  { name: 'help', short: 'h', type: 'boolean', description: 'this help', commands: COMMAND_NAMES },
];

/** The flags of one command, in the order they are declared (the order of its help). */
export function flagsOf(command: CommandName): FlagSpec[] {
  return FLAGS.filter((f) => f.commands.includes(command));
}

/** One command's spec. */
export function commandSpec(command: CommandName): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === command);
  if (!spec) throw new Error(`no command ${command}`);
  return spec;
}
