/**
 * The bad-input catalogue: every way a plan file, a flag or a command can be wrong, each checked twice.
 * - Through the CLI (`node dist/cli/main.js run ... -- sh -c 'touch MARKER'`): exit 125 (126/127 for the command),
 *   exactly one stderr line `sysfault: <message>` naming file:line:col, field and value, no stack trace, and
 *   the target never started (its marker file does not exist).
 * - Through the API (`run()` with the same plan file or the equivalent option): the typed error (class, code,
 *   exit code, field, value, file position), and again no target started.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandError, PlanError, SysfaultError, UsageError } from '../../src/common/errors.js';
import { run } from '../../src/run/run.js';
import type { RunOptions } from '../../src/run/types.js';
import { runCli, type CliOutcome } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sysfault-guardrails-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sysfault(args: readonly string[]): Promise<CliOutcome> {
  return runCli(args, { cwd: dir, timeout: 20_000 });
}

/** The target: creates its marker file if it ever runs. */
function target(name: string): { marker: string; argv: string[] } {
  const marker = join(dir, `ran-${name.replace(/\W+/g, '-')}`);
  return { marker, argv: ['/bin/sh', '-c', `touch '${marker}'`] };
}

type ErrorClass = typeof PlanError | typeof UsageError | typeof CommandError;

interface Case {
  name: string;
  /** A plan file written into the test directory and given as --plan (API: options.plan, absolute). */
  file?: [name: string, text: string];
  /** Other flags before `--`. */
  flags?: string[];
  /** The command instead of the marker target. */
  command?: string[];
  /** The one stderr line, after "sysfault: ". */
  line: string | RegExp;
  status?: number;
  /** The error the API throws: its class, code and details; file positions come from `at`. */
  error: ErrorClass;
  code: string;
  field?: string;
  value?: unknown;
  at?: [line: number, column: number];
  /** The API call's options when they differ from { plan: <file> } (null: no API equivalent). */
  options?: RunOptions | null;
}

const yamlRule = (body: string): string => `version: 1\nrules:\n  - syscalls: [fsync]\n${body}`;

const CATALOGUE: Case[] = [
  // ---- syntax ----
  {
    name: 'JSON syntax error',
    file: ['syntax.json', '{"version": 1,\n "rules": [,]}\n'],
    line: 'syntax.json:2:12: invalid JSON: Unexpected , in flow sequence',
    error: PlanError, code: 'PLAN_INVALID', at: [2, 12],
  },
  {
    name: 'JSON trailing comma',
    file: ['comma.json', '{"version": 1, "rules": [],}\n'],
    line: /^comma\.json:1:\d+: invalid JSON: /,
    error: PlanError, code: 'PLAN_INVALID',
  },
  {
    name: 'JSON duplicate key',
    file: ['dupkey.json', '{"version": 1, "rules": [], "version": 1}'],
    line: 'dupkey.json:1:29: invalid JSON: Map keys must be unique',
    error: PlanError, code: 'PLAN_INVALID', at: [1, 29],
  },
  {
    name: 'YAML unclosed flow sequence',
    file: ['syntax.yaml', 'version: 1\nrules: [\n'],
    line: 'syntax.yaml:3:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    error: PlanError, code: 'PLAN_INVALID', at: [3, 1],
  },
  {
    name: 'YAML tab indentation',
    file: ['tab.yaml', 'version: 1\nrules:\n\t- syscalls: [fsync]\n'],
    line: 'tab.yaml:3:1: invalid YAML: Tabs are not allowed as indentation',
    error: PlanError, code: 'PLAN_INVALID', at: [3, 1],
  },
  {
    name: 'YAML duplicate key',
    file: ['dup.yaml', 'version: 1\nversion: 1\nrules: []\n'],
    line: 'dup.yaml:2:1: invalid YAML: Map keys must be unique',
    error: PlanError, code: 'PLAN_INVALID', at: [2, 1],
  },
  {
    name: 'YAML alias bomb',
    file: ['bomb.yaml', `a: &a [x,x,x,x,x,x,x,x,x]\n${['b', 'c', 'd', 'e', 'f'].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcde'[i]}`).join(',')}]`).join('\n')}\nversion: 1\nrules: []\n`],
    line: 'bomb.yaml: invalid YAML: Excessive alias count indicates a resource exhaustion attack',
    error: PlanError, code: 'PLAN_INVALID',
  },
  {
    name: 'empty file',
    file: ['empty.yaml', ''],
    line: 'empty.yaml:1:1: plan: expected a plan object like {"version": 1, "rules": [...]}, got null',
    error: PlanError, code: 'PLAN_INVALID', field: '', value: null, at: [1, 1],
  },
  {
    name: 'binary garbage',
    file: ['garbage.yaml', '\u0000\u0001\u0002\u00ff'],
    line: 'garbage.yaml:1:1: plan: expected a plan object like {"version": 1, "rules": [...]}, got "\\u0000\\u0001\\u0002ÿ"',
    error: PlanError, code: 'PLAN_INVALID', field: '', value: '\u0000\u0001\u0002\u00ff', at: [1, 1],
  },
  // ---- types ----
  {
    name: 'version as a string',
    file: ['vstr.yaml', 'version: "1"\nrules: []\n'],
    line: 'vstr.yaml:1:10: version: expected version 1, got "1"',
    error: PlanError, code: 'PLAN_INVALID', field: 'version', value: '1', at: [1, 10],
  },
  {
    name: 'rules as an object',
    file: ['rulesobj.yaml', 'version: 1\nrules: {}\n'],
    line: 'rulesobj.yaml:2:8: rules: expected a list of rules, got {}',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules', value: {}, at: [2, 8],
  },
  {
    name: 'after as a string',
    file: ['after.json', '{"version": 1, "rules": [\n  {"syscalls": ["fsync"], "after": "3", "action": {"errno": "EIO"}}\n]}\n'],
    line: 'after.json:2:36: rules[0].after: expected a non-negative integer, got "3"',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].after', value: '3', at: [2, 36],
  },
  {
    name: 'syscalls as a string',
    file: ['sysstr.yaml', 'version: 1\nrules:\n  - syscalls: fsync\n    action: {errno: EIO}\n'],
    line: 'sysstr.yaml:3:15: rules[0].syscalls: expected a list of syscall names like ["fsync"], got "fsync"',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].syscalls', value: 'fsync', at: [3, 15],
  },
  // ---- ranges ----
  {
    name: 'probability above 1',
    file: ['prob.yaml', yamlRule('    probability: 1.5\n    action: {errno: EIO}\n')],
    line: 'prob.yaml:4:18: rules[0].probability: expected a probability from 0 to 1, got 1.5',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].probability', value: 1.5, at: [4, 18],
  },
  {
    name: 'delay beyond 10 minutes',
    file: ['delay.yaml', yamlRule('    action: {delayMs: 600001}\n')],
    line: 'delay.yaml:4:23: rules[0].action.delayMs: expected a delay in milliseconds from 0 to 600000, got 600001',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action.delayMs', value: 600001, at: [4, 23],
  },
  {
    name: 'negative limit',
    file: ['limit.yaml', yamlRule('    limit: -1\n    action: {errno: EIO}\n')],
    line: 'limit.yaml:4:12: rules[0].limit: expected a non-negative integer, got -1',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].limit', value: -1, at: [4, 12],
  },
  {
    name: 'short of 0 bytes',
    file: ['short.json', '{"version":1,"rules":[{"syscalls":["write"],"action":{"short":0}}]}'],
    line: 'short.json:1:63: rules[0].action.short: expected a byte count of at least 1, got 0',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action.short', value: 0, at: [1, 63],
  },
  {
    name: 'negative seed',
    file: ['seed.yaml', 'version: 1\nseed: -1\nrules: []\n'],
    line: 'seed.yaml:2:7: seed: expected a non-negative integer seed below 2^53 (or a decimal string up to 2^64-1), got -1',
    error: PlanError, code: 'PLAN_INVALID', field: 'seed', value: -1, at: [2, 7],
  },
  {
    name: '65 rules',
    file: ['many.yaml', `version: 1\nrules:\n${'  - {syscalls: [read], action: {errno: EIO}}\n'.repeat(65)}`],
    line: 'many.yaml:3:3: rules: expected at most 64 rules, got 65',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules', at: [3, 3],
  },
  // ---- names ----
  {
    name: 'unknown syscall',
    file: ['sys.yaml', 'version: 1\nrules:\n  - syscalls: [fsync, fsyncc]\n    action: {errno: EIO}\n'],
    line: 'sys.yaml:3:23: rules[0].syscalls[1]: unknown syscall "fsyncc" (did you mean "fsync"?)',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].syscalls[1]', value: 'fsyncc', at: [3, 23],
  },
  {
    name: 'unknown errno',
    file: ['errno.yaml', yamlRule('    action: {errno: EIOO}\n')],
    line: 'errno.yaml:4:21: rules[0].action.errno: unknown errno "EIOO" (did you mean "EIO"?)',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action.errno', value: 'EIOO', at: [4, 21],
  },
  {
    name: 'errno number out of range',
    file: ['errnonum.yaml', yamlRule('    action: {errno: 5000}\n')],
    line: 'errnonum.yaml:4:21: rules[0].action.errno: expected an errno number from 1 to 4095, got 5000',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action.errno', value: 5000, at: [4, 21],
  },
  {
    name: 'unknown signal',
    file: ['sig.yaml', yamlRule('    action: {kill: SIGFOO}\n')],
    line: 'sig.yaml:4:20: rules[0].action.kill: unknown signal "SIGFOO"',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action.kill', value: 'SIGFOO', at: [4, 20],
  },
  {
    name: 'signal number out of range',
    file: ['signum.yaml', yamlRule('    action: {kill: 65}\n')],
    line: 'signum.yaml:4:20: rules[0].action.kill: expected a signal number from 1 to 64, got 65',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action.kill', value: 65, at: [4, 20],
  },
  {
    name: 'bad fd kind',
    file: ['fd.yaml', yamlRule('    fd: sock\n    action: {errno: EIO}\n')],
    line: 'fd.yaml:4:9: rules[0].fd: expected one of any, file, socket, pipe, got "sock"',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].fd', value: 'sock', at: [4, 9],
  },
  // ---- unknown fields ----
  {
    name: 'unknown rule field (JSON)',
    file: ['rulefield.json', '{\n  "version": 1,\n  "rules": [\n    { "syscalls": ["fsync"], "action": { "errno": "EIO" }, "limitt": 1 }\n  ]\n}\n'],
    line: 'rulefield.json:4:60: rules[0].limitt: unknown field "limitt" (did you mean "limit"?)',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].limitt', value: 1, at: [4, 60],
  },
  {
    name: 'unknown top-level field',
    file: ['top.yaml', 'version: 1\nrules: []\nextra: true\n'],
    line: 'top.yaml:3:1: extra: unknown field "extra" (allowed: version, seed, rules)',
    error: PlanError, code: 'PLAN_INVALID', field: 'extra', value: true, at: [3, 1],
  },
  {
    name: 'unknown action field',
    file: ['act.yaml', yamlRule('    action: {errorno: EIO}\n')],
    line: 'act.yaml:4:14: rules[0].action.errorno: unknown field "errorno" (allowed: errno, delayMs, jitterMs, short, kill, torn, powercut, refuse, blackhole, reset, close)',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action.errorno', value: 'EIO', at: [4, 14],
  },
  {
    name: 'a collection as a key',
    file: ['ckey.yaml', '? [a]\n: 1\nversion: 1\nrules: []\n'],
    line: 'ckey.yaml:1:1: [ a ]: unknown field "[ a ]" (allowed: version, seed, rules)',
    error: PlanError, code: 'PLAN_INVALID', field: '[ a ]', value: 1, at: [1, 1],
  },
  // ---- version ----
  {
    name: 'version 2',
    file: ['v2.json', '{"version": 2, "rules": []}\n'],
    line: 'v2.json:1:13: version: expected version 1, got 2',
    error: PlanError, code: 'PLAN_INVALID', field: 'version', value: 2, at: [1, 13],
  },
  {
    name: 'version missing',
    file: ['nov.yaml', 'rules: []\n'],
    line: 'nov.yaml:1:1: version: required field is missing',
    error: PlanError, code: 'PLAN_INVALID', field: 'version', value: undefined, at: [1, 1],
  },
  // ---- conflicting and missing actions ----
  {
    name: 'two actions',
    file: ['two.yaml', yamlRule('    action: {errno: EIO, kill: SIGKILL}\n')],
    line: 'two.yaml:4:13: rules[0].action: expected exactly one of errno, delayMs, short, kill, torn, powercut, refuse, blackhole, reset, close; got errno and kill',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action', value: { errno: 'EIO', kill: 'SIGKILL' }, at: [4, 13],
  },
  {
    name: 'jitter without a delay',
    file: ['jitter.yaml', yamlRule('    action: {errno: EIO, jitterMs: 3}\n')],
    line: 'jitter.yaml:4:36: rules[0].action.jitterMs: jitterMs needs delayMs, got jitterMs 3 with errno',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action.jitterMs', value: 3, at: [4, 36],
  },
  {
    name: 'no action',
    file: ['noact.yaml', yamlRule('    action: {}\n')],
    line: 'noact.yaml:4:13: rules[0].action: expected exactly one of errno, delayMs, short, kill, torn, powercut, refuse, blackhole, reset, close; got none',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].action', value: {}, at: [4, 13],
  },
  {
    name: 'duplicate rule ids',
    file: ['dupid.yaml', 'version: 1\nrules:\n  - {id: x, syscalls: [read], action: {short: 1}}\n  - {id: x, syscalls: [write], action: {short: 1}}\n'],
    line: 'dupid.yaml:4:10: rules[1].id: duplicate rule id "x", already used by rules[0]',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[1].id', value: 'x', at: [4, 10],
  },
  // ---- empty syscalls ----
  {
    name: 'empty syscalls',
    file: ['nosys.yaml', 'version: 1\nrules:\n  - syscalls: []\n    action: {errno: EIO}\n'],
    line: 'nosys.yaml:3:15: rules[0].syscalls: expected at least one syscall, got []',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].syscalls', value: [], at: [3, 15],
  },
  // ---- globs ----
  {
    name: '"**" inside a segment',
    file: ['glob.yaml', yamlRule('    path: /data/a**b\n    action: {errno: EIO}\n')],
    line: 'glob.yaml:4:11: rules[0].path: bad glob "/data/a**b": "**" at offset 7 must be a whole path segment (like "a/**/b")',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].path', value: '/data/a**b', at: [4, 11],
  },
  {
    name: 'unclosed character class',
    file: ['class.yaml', yamlRule('    path: "/data/[a-"\n    action: {errno: EIO}\n')],
    line: 'class.yaml:4:11: rules[0].path: bad glob "/data/[a-": "[" at offset 6 is not closed',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].path', value: '/data/[a-', at: [4, 11],
  },
  {
    name: 'control character in a glob',
    file: ['ctl.yaml', yamlRule('    path: "/data/\\x01"\n    action: {errno: EIO}\n')],
    line: 'ctl.yaml:4:11: rules[0].path: bad glob "/data/\\u0001": glob contains a control character at offset 6',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].path', value: '/data/\u0001', at: [4, 11],
  },
  // ---- addresses ----
  {
    name: 'host name in addr',
    file: ['addr.yaml', 'version: 1\nrules:\n  - syscalls: [connect]\n    addr: example.com:80\n    action: {errno: ECONNREFUSED}\n'],
    line: 'addr.yaml:4:11: rules[0].addr: bad address "example.com:80": expected an IP address or "localhost" (host names are not resolved)',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].addr', value: 'example.com:80', at: [4, 11],
  },
  {
    name: 'port out of range',
    file: ['port.yaml', 'version: 1\nrules:\n  - syscalls: [connect]\n    addr: ":70000"\n    action: {errno: ECONNREFUSED}\n'],
    line: 'port.yaml:4:11: rules[0].addr: bad address ":70000": expected ":PORT" with a port from 1 to 65535',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].addr', value: ':70000', at: [4, 11],
  },
  {
    name: 'prefix too long',
    file: ['prefix.yaml', 'version: 1\nrules:\n  - syscalls: [connect]\n    addr: 10.0.0.0/33\n    action: {errno: ECONNREFUSED}\n'],
    line: 'prefix.yaml:4:11: rules[0].addr: bad address "10.0.0.0/33": expected a prefix length from 0 to 32',
    error: PlanError, code: 'PLAN_INVALID', field: 'rules[0].addr', value: '10.0.0.0/33', at: [4, 11],
  },
  // ---- plan files that cannot be read ----
  {
    name: 'missing plan file',
    flags: ['--plan', 'nope.yaml'],
    line: 'nope.yaml: cannot read plan file: no such file',
    error: PlanError, code: 'PLAN_INVALID',
    options: { plan: 'nope.yaml' },
  },
  {
    name: 'plan file is a directory',
    flags: ['--plan', 'adir.yaml'],
    line: 'adir.yaml: cannot read plan file: is a directory',
    error: PlanError, code: 'PLAN_INVALID',
    options: { plan: 'adir.yaml' },
  },
  // ---- flags ----
  {
    name: 'unknown flag',
    flags: ['--bogus'],
    line: 'run: unknown option --bogus (see sysfault run --help)',
    error: UsageError, code: 'USAGE', field: 'options.bogus',
    options: { bogus: true } as RunOptions,
  },
  {
    name: 'flag without its value',
    flags: ['--timeout'],
    command: [],
    line: 'run: option --timeout needs a value (see sysfault run --help)',
    error: UsageError, code: 'USAGE', options: null,
  },
  {
    name: 'bad --fault spec',
    flags: ['--fault', 'write=short=0'],
    line: '--fault "write=short=0": action.short: expected a byte count of at least 1, got 0',
    error: PlanError, code: 'PLAN_INVALID', field: 'faults[0]', value: 'write=short=0',
    options: { faults: ['write=short=0'] },
  },
  {
    name: '--timeout not a number',
    flags: ['--timeout', 'soon'],
    line: '--timeout: expected a whole number of milliseconds like 5000 (or 5s), got "soon"',
    error: UsageError, code: 'USAGE', field: 'options.timeout', value: 'soon',
    options: { timeout: 'soon' } as unknown as RunOptions,
  },
  {
    name: '--timeout 0',
    flags: ['--timeout', '0'],
    line: '--timeout: expected a whole number of milliseconds like 5000 (or 5s), got "0"',
    error: UsageError, code: 'USAGE', field: 'options.timeout', value: 0,
    options: { timeout: 0 },
  },
  {
    name: '--timeout negative',
    flags: ['--timeout=-5'],
    line: '--timeout: expected a whole number of milliseconds like 5000 (or 5s), got "-5"',
    error: UsageError, code: 'USAGE', field: 'options.timeout', value: -5,
    options: { timeout: -5 },
  },
  {
    name: '--seed not a number',
    flags: ['--seed', 'abc'],
    line: '--seed: expected a non-negative integer below 2^64, got "abc"',
    error: UsageError, code: 'USAGE', field: 'options.seed', value: 'abc',
    options: { seed: 'abc' },
  },
  {
    name: '--seed beyond 2^64',
    flags: ['--seed', '18446744073709551616'],
    line: '--seed: expected a non-negative integer below 2^64, got "18446744073709551616"',
    error: UsageError, code: 'USAGE', field: 'options.seed', value: '18446744073709551616',
    options: { seed: '18446744073709551616' },
  },
  {
    name: '--engine unknown',
    flags: ['--engine', 'ptrace'],
    line: '--engine: expected auto, preload or seccomp, got "ptrace"',
    error: UsageError, code: 'USAGE', field: 'options.engine', value: 'ptrace',
    options: { engine: 'ptrace' } as unknown as RunOptions,
  },
  {
    name: '--json into a missing directory',
    flags: ['--json', 'no-such-dir/out.json'],
    line: '--json: cannot write no-such-dir/out.json: no such directory',
    error: UsageError, code: 'USAGE', options: null,
  },
  {
    name: 'missing command',
    flags: [],
    command: [],
    line: 'run: missing command (usage: sysfault run [options] -- CMD [ARGS...])',
    error: UsageError, code: 'USAGE', options: null,
  },
];

const COMMANDS: Case[] = [
  {
    name: 'command not found',
    command: ['sysfault-no-such-command-xyz'],
    line: 'sysfault-no-such-command-xyz: command not found',
    status: 127, error: CommandError, code: 'COMMAND_NOT_FOUND',
  },
  {
    name: 'path that does not exist',
    command: ['./missing-program'],
    line: './missing-program: no such file or directory',
    status: 127, error: CommandError, code: 'COMMAND_NOT_FOUND',
  },
  {
    name: 'file that is not executable',
    command: ['./not-executable'],
    line: './not-executable: permission denied',
    status: 126, error: CommandError, code: 'COMMAND_NOT_EXECUTABLE',
  },
  {
    name: 'directory',
    command: ['./a-directory'],
    line: './a-directory: is a directory',
    status: 126, error: CommandError, code: 'COMMAND_NOT_EXECUTABLE',
  },
];

mkdirSync(join(dir, 'adir.yaml'));
mkdirSync(join(dir, 'a-directory'));
writeFileSync(join(dir, 'not-executable'), `#!/bin/sh\ntouch '${join(dir, 'ran-not-executable')}'\n`);
chmodSync(join(dir, 'not-executable'), 0o644);
for (const c of [...CATALOGUE, ...COMMANDS]) if (c.file) writeFileSync(join(dir, c.file[0]), c.file[1]);

function cliArgs(c: Case, argv: string[]): string[] {
  const flags = [...(c.file ? ['--plan', c.file[0]] : []), ...(c.flags ?? [])];
  const command = c.command ?? argv;
  return ['run', ...flags, ...(command.length > 0 ? ['--', ...command] : [])];
}

describe('the catalogue', () => {
  it('has at least 25 bad plans and flags, and the 126/127 cases', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(25);
    expect(COMMANDS.map((c) => c.status).sort()).toEqual([126, 126, 127, 127]);
  });
});

describe.concurrent('through the CLI: one line, exit 125 (126/127), target not started', () => {
  it.each([...CATALOGUE, ...COMMANDS].map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const { marker, argv } = target(`cli-${name}`);
    const out = await sysfault(cliArgs(c, argv));
    const lines = out.stderr.split('\n').filter((l) => l !== '');
    expect(lines, out.stderr).toHaveLength(1);
    const [first = ''] = lines;
    expect(first.startsWith('sysfault: ')).toBe(true);
    const message = first.slice('sysfault: '.length);
    if (typeof c.line === 'string') expect(message).toBe(c.line);
    else expect(message).toMatch(c.line);
    if (c.at) expect(message.startsWith(`${c.file?.[0]}:${c.at[0]}:${c.at[1]}: `)).toBe(true);
    expect(out.stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
    expect(out.stdout).toBe('');
    expect(out.status).toBe(c.status ?? 125);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, 'ran-not-executable'))).toBe(false);
  });
});

describe('through the API: the typed error, target not started', () => {
  const apiCases = [...CATALOGUE, ...COMMANDS].filter((c) => c.options !== null);
  it.each(apiCases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const { marker, argv } = target(`api-${name}`);
    const [command = '', ...args] = (c.command ?? argv).map((a) => (a.startsWith('./') ? join(dir, a) : a));
    const options: RunOptions = {
      ...(c.file ? { plan: join(dir, c.file[0]) } : {}),
      ...(c.options ?? {}),
      ...(typeof c.options?.plan === 'string' ? { plan: join(dir, c.options.plan) } : {}),
      cwd: dir,
      stdio: 'ignore',
    };
    let caught: unknown;
    try {
      await run(command, args, options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(c.error);
    const err = caught as SysfaultError & { field?: string; value?: unknown; file?: string; line?: number; column?: number };
    expect(err).toBeInstanceOf(SysfaultError);
    expect(err.code).toBe(c.code);
    expect(err.exitCode).toBe(c.status ?? 125);
    expect(err.message).not.toContain('\n');
    expect(err.result).toBeUndefined();
    if (c.field !== undefined) expect(err.field).toBe(c.field);
    if ('value' in c) expect(err.value).toEqual(c.value);
    if (err instanceof PlanError && (c.file || typeof c.options?.plan === 'string')) {
      const file = join(dir, c.file?.[0] ?? (c.options?.plan as string));
      expect(err.file).toBe(file);
      expect(err.message.startsWith(file)).toBe(true);
      if (typeof c.line === 'string') expect(err.message).toBe(`${file}${c.line.slice(c.line.indexOf(':'))}`);
      if (c.at) expect([err.line, err.column]).toEqual(c.at);
    }
    if (err instanceof CommandError && typeof c.line === 'string') {
      expect(err.message).toBe(`${command}${c.line.slice(c.line.indexOf(':'))}`);
      expect(err.command).toBe(command);
    }
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, 'ran-not-executable'))).toBe(false);
  });
});
