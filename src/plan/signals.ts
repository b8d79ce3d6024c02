/**
 * errno and signal names <-> numbers, from the running Node's os.constants (Linux values).
 */
import { constants } from 'node:os';

const ERRNO: Readonly<Record<string, number>> = constants.errno;
const SIGNALS: Readonly<Record<string, number>> = constants.signals;

/** Highest errno value a syscall can return (the kernel's MAX_ERRNO). */
export const MAX_ERRNO = 4095;
/** Highest signal number on Linux (SIGRTMAX). */
export const MAX_SIGNAL = 64;

/** Names preferred when several share a number. */
const PREFERRED = new Set(['EAGAIN', 'EDEADLK', 'EOPNOTSUPP', 'SIGABRT', 'SIGIO']);

function reverse(table: Readonly<Record<string, number>>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [name, value] of Object.entries(table)) {
    if (!out.has(value) || PREFERRED.has(name)) out.set(value, name);
  }
  return out;
}
const ERRNO_NAMES = reverse(ERRNO);
const SIGNAL_NAMES = reverse(SIGNALS);

/** Resolves an errno name ("EIO") or number (5): the number, or undefined when unknown/out of range. */
export function errnoNumber(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= MAX_ERRNO ? value : undefined;
  return Object.hasOwn(ERRNO, value) ? ERRNO[value] : undefined;
}

/** The name of an errno number ("EIO"), or its decimal text when it has none. */
export function errnoName(value: number): string {
  return ERRNO_NAMES.get(value) ?? String(value);
}

/** Resolves a signal name ("SIGKILL" or "KILL") or number (9): the number, or undefined. */
export function signalNumber(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= MAX_SIGNAL ? value : undefined;
  const name = value.startsWith('SIG') ? value : `SIG${value}`;
  if (Object.hasOwn(SIGNALS, name)) return SIGNALS[name];
  const rt = /^SIGRTMIN(?:\+(\d{1,2}))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d{1,2}))?$/.exec(name);
  if (rt) {
    const n = name.startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : MAX_SIGNAL - Number(rt[1] ?? 0);
    return n >= 34 && n <= MAX_SIGNAL ? n : undefined;
  }
  return undefined;
}

/** The name of a signal number ("SIGKILL", "SIGRTMIN+2"), or "SIG<n>" when it has none. */
export function signalName(value: number): string {
  const name = SIGNAL_NAMES.get(value);
  if (name) return name;
  if (value >= 34 && value <= MAX_SIGNAL) return value === 34 ? 'SIGRTMIN' : `SIGRTMIN+${value - 34}`;
  return `SIG${value}`;
}

/** Every errno name a plan may use, with its number, by number. */
export function errnoList(): [name: string, value: number][] {
  return Object.entries(ERRNO).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
}

/** Every signal name a kill action may use. */
export function signalNames(): string[] {
  return Object.keys(SIGNALS);
}
