/**
 * `sysfault syscalls [--json]`: what a plan may name (syscalls, groups, actions, errnos) and which engine sees
 * which calls, from the tables the plan compiler and the engines use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/binding.js';
import { ACTION_CODES } from '../plan/compile.js';
import { errnoList } from '../plan/signals.js';
import { SYSCALL_GROUPS, syscallTable } from '../plan/syscalls.js';
import { table } from '../run/summary.js';
import { parseCommandLine } from './args.js';

/** What each action does, in a few words. */
const ACTION_TEXT: Readonly<Record<keyof typeof ACTION_CODES, string>> = {
  errno: 'the call fails with this errno (name or number)',
  delay: 'the call waits delayMs (plus seeded jitter), then proceeds',
  short: 'the call transfers at most N bytes',
  kill: 'the process gets a signal at this call, before it happens (or after)',
  torn: 'a write keeps its first bytes, then the process is killed',
  powercut: 'the process tree is killed and unsynced data of --powercut files is lost',
  refuse: 'connect is refused as by a closed port',
  blackhole: 'connect never completes (SYNs dropped)',
  reset: 'the connection is reset (RST), after N bytes or ms',
  close: 'the peer closes the connection, after N bytes or ms',
};

/** The libc functions the preload engine wraps, by the syscall each one makes (native/preload/wrappers.h). */
export function preloadWrappers(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let text = '';
  try {
    text = readFileSync(join(packageRoot, 'native', 'preload', 'wrappers.h'), 'utf8');
  } catch {
    return out;
  }
  const add = (fn: string, sys: string): void => void out.set(sys, [...(out.get(sys) ?? []), fn]);
  for (const m of text.matchAll(/\bX\((\w+),\s*(\w+)[,)]/g)) add(m[1] as string, m[2] as string);
  // the hand-written ones: the function is named as its syscall
  const single = /#define SF_WRAP_SINGLE\(X\)(.*)/.exec(text)?.[1] ?? '';
  for (const m of single.matchAll(/\bX\((\w+)\)/g)) add(m[1] as string, m[1] as string);
  return out;
}

/** `sysfault syscalls`. */
export function syscallsCommand(argv: readonly string[]): number {
  const line = parseCommandLine('syscalls', argv);
  if (line.printedHelp()) return 0;
  const names = syscallTable().names;
  const wrappers = preloadWrappers();
  const groupsOf = (name: string): string[] => Object.entries(SYSCALL_GROUPS).flatMap(([g, members]) => (members.includes(name) ? [g] : []));
  const syscalls = names.map((name) => ({ name, groups: groupsOf(name), preload: wrappers.get(name) ?? [], seccomp: true }));
  const actions = Object.keys(ACTION_CODES).map((name) => ({ name, does: ACTION_TEXT[name as keyof typeof ACTION_CODES] }));
  const errnos = errnoList().map(([name, value]) => ({ name, value }));
  if (line.boolean('json')) {
    process.stdout.write(`${JSON.stringify({ syscalls, groups: SYSCALL_GROUPS, actions, errnos }, null, 2)}\n`);
    return 0;
  }
  const out = [
    'Syscalls a rule may name. seccomp sees every call of the program and its children; preload sees calls',
    'made through these libc functions by dynamically linked programs (not Go binaries, static programs, or',
    "libc's internal calls such as stdio's; `auto` picks seccomp for Go and static programs).",
    ...table(
      ['syscall', 'groups', 'preload sees calls through'],
      syscalls.map((s) => [s.name, s.groups.join(', ') || '-', s.preload.join(', ') || '-']),
    ),
    '',
    'Groups:',
    ...table(['group', 'syscalls'], Object.entries(SYSCALL_GROUPS).map(([g, members]) => [g, members.join(', ')])),
    '',
    'Actions (exactly one per rule):',
    ...table(['action', 'does'], actions.map((a) => [a.name, a.does])),
    '',
    `Errnos (a name or a number from 1 to 4095): ${errnos.map((e) => e.name).join(' ')}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
