/**
 * The syscalls a plan may name, and the group names that expand to several of them.
 *
 * The native binding's list (native/core/syscalls.h, in bitmask order) is the truth; the copy below is used
 * only when the addon cannot be loaded (not built yet), so that plans can still be validated and compiled.
 * A test checks that this copy matches native/core/syscalls.h.
 */
import { binding } from '../native/binding.js';

/** Copy of native/core/syscalls.h: names in bitmask order with their x86_64 numbers. */
export const BUILTIN_SYSCALLS: readonly (readonly [name: string, nr: number])[] = [
  ['read', 0],
  ['write', 1],
  ['pread64', 17],
  ['pwrite64', 18],
  ['readv', 19],
  ['writev', 20],
  ['preadv', 295],
  ['pwritev', 296],
  ['preadv2', 327],
  ['pwritev2', 328],
  ['recvfrom', 45],
  ['sendto', 44],
  ['recvmsg', 47],
  ['sendmsg', 46],
  ['connect', 42],
  ['fsync', 74],
  ['fdatasync', 75],
  ['sync_file_range', 277],
  ['openat', 257],
  ['open', 2],
  ['creat', 85],
  ['sendfile', 40],
  ['copy_file_range', 326],
  ['splice', 275],
  ['msync', 26],
];

/**
 * Group names usable in a rule's `syscalls` (and in `--fault`). Each expands to the listed syscalls that the
 * native build knows.
 */
export const SYSCALL_GROUPS: Readonly<Record<string, readonly string[]>> = {
  'read-family': ['read', 'pread64', 'readv', 'preadv', 'preadv2', 'recvfrom', 'recvmsg'],
  'write-family': ['write', 'pwrite64', 'writev', 'pwritev', 'pwritev2', 'sendto', 'sendmsg'],
  'fsync-family': ['fsync', 'fdatasync', 'sync_file_range'],
  'open-family': ['open', 'openat', 'creat'],
  'copy-family': ['sendfile', 'copy_file_range', 'splice'],
  net: ['connect', 'sendto', 'sendmsg', 'recvfrom', 'recvmsg'],
  // the calls that read or write a socket (what reset, close and socket latency apply to); a rule naming one of
  // these groups matches sockets only (SOCKET_GROUPS)
  'socket-read': ['read', 'readv', 'recvfrom', 'recvmsg'],
  'socket-write': ['write', 'writev', 'sendto', 'sendmsg'],
};

/** Groups named for sockets: a rule naming one gets `fd: socket` (read and write act on files too). */
export const SOCKET_GROUPS: readonly string[] = ['socket-read', 'socket-write'];

/**
 * Syscalls a program may make instead of one another (groups of SYSCALL_GROUPS): fdatasync for fsync,
 * pread64 or recvfrom for read, copy_file_range or sendfile for both read and write. When a rule names a
 * syscall, the engines also count its alternatives (count only: no rule fires on them), so that a rule that
 * matched nothing can say what the program called instead.
 */
const ALTERNATIVE_FAMILIES: readonly (readonly string[])[] = [
  ['fsync-family', 'msync'],
  ['read-family', 'copy-family'],
  ['write-family', 'copy-family'],
  ['open-family'],
];

/** The alternatives of these syscalls that they do not include themselves, in table order. */
export function alternativesOf(syscalls: Iterable<string>, known: SyscallTable = syscallTable()): string[] {
  const named = new Set(syscalls);
  const out = new Set<string>();
  for (const family of ALTERNATIVE_FAMILIES) {
    const members = family.flatMap((group) => SYSCALL_GROUPS[group] ?? [group]);
    if (members.some((m) => named.has(m))) for (const m of members) if (!named.has(m)) out.add(m);
  }
  return known.names.filter((name) => out.has(name));
}

/**
 * Alternatives a program may make thousands of times a second (reads and writes of every kind): counting them
 * costs nothing in-process, but a supervisor round trip each under the seccomp engine, which does not watch them
 * just to explain a rule that matched nothing (the rare ones, syncs, copies and opens, it does watch).
 */
export const BUSY_ALTERNATIVES: ReadonlySet<string> = new Set([
  ...(SYSCALL_GROUPS['read-family'] ?? []),
  ...(SYSCALL_GROUPS['write-family'] ?? []),
  'recvfrom',
  'recvmsg',
  'sendto',
  'sendmsg',
]);

/** A syscall table: names in bitmask order, and each name's index (its bit). */
export interface SyscallTable {
  readonly names: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

let table: SyscallTable | undefined;

/** The syscall table of the native build, or the built-in copy when the addon cannot be loaded. */
export function syscallTable(): SyscallTable {
  if (!table) {
    let names: readonly string[];
    try {
      names = binding().syscallNames();
    } catch {
      names = BUILTIN_SYSCALLS.map(([name]) => name);
    }
    table = { names, index: new Map(names.map((name, i) => [name, i])) };
  }
  return table;
}

/**
 * Expands syscall and group names into syscall names (deduplicated, first mention first).
 * Returns the first unknown name instead when there is one.
 */
export function expandSyscalls(
  names: readonly string[],
  known: SyscallTable = syscallTable(),
): { syscalls: string[] } | { unknown: string; index: number } {
  const out: string[] = [];
  for (const [i, name] of names.entries()) {
    const group = Object.hasOwn(SYSCALL_GROUPS, name) ? SYSCALL_GROUPS[name] : undefined;
    const members = group ? group.filter((s) => known.index.has(s)) : known.index.has(name) ? [name] : [];
    if (members.length === 0) return { unknown: name, index: i };
    for (const s of members) if (!out.includes(s)) out.push(s);
  }
  return { syscalls: out };
}
