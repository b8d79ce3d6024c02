/**
 * Pieces of a run's result: wait statuses, action texts, seeds.
 */
import { actionName } from '../plan/compile.js';
import { errnoName, signalName } from '../plan/signals.js';
import type { ExitInfo, FaultAction, RunWarning } from '../common/run-result.js';

/** The seed as the result reports it. */
export function seedForResult(seed: bigint): number | string {
  return seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed.toString();
}

/** Decodes a wait status (-1: unknown). */
export function decodeWaitStatus(status: number): ExitInfo {
  if (status < 0) return { code: null, signal: null };
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null };
  if (sig !== 0x7f) return { code: null, signal: signalName(sig) };
  return { code: null, signal: null };
}

/** `errno:EIO`, `delay:200ms`, `short:1`, `kill:SIGKILL`, `torn:<bytes kept>`, `powercut`. */
export function formatAction(action: number, value: number): FaultAction {
  switch (actionName(action)) {
    case 'errno':
      return `errno:${errnoName(value)}`;
    case 'delay':
      return `delay:${value}ms`;
    case 'short':
      return `short:${value}`;
    case 'kill':
      return `kill:${signalName(value)}`;
    case 'torn':
      return `torn:${value}`;
    case 'powercut':
      return 'powercut';
    case 'refuse':
      return 'refuse';
    case 'blackhole':
      return 'blackhole';
    case 'reset':
      return value > 0 ? `reset:after=${value}` : 'reset';
    case 'close':
      return value > 0 ? `close:after=${value}` : 'close';
    default:
      return `errno:${String(value)}`;
  }
}

/** The value of a note in the fault log (enum sf_note, native/core/sysfault.h). */
const NOTE_DROPPED = 0;
const NOTE_GO = 2;

/** A note of the preload library (native/preload/watch.c): `target` is a program it cannot see. */
export function noteWarning(value: number, target: string): RunWarning {
  const what =
    value === NOTE_DROPPED
      ? { code: 'preload-dropped', why: 'was started without LD_PRELOAD' }
      : { code: 'preload-bypassed', why: `is ${value === NOTE_GO ? 'a Go' : 'a static'} executable, which bypasses libc` };
  return { code: what.code, message: `${target} ${what.why}: the preload engine does not see its calls (--engine auto or seccomp does)` };
}

/** A warning the engine reported during the run ("code<TAB>message", e.g. io-uring, fast-path-unavailable). */
export function engineWarning(text: string): RunWarning {
  const tab = text.indexOf('\t');
  return tab < 0 ? { code: 'engine', message: text } : { code: text.slice(0, tab), message: text.slice(tab + 1) };
}

/**
 * The result's warnings: what the engines reported during the run (`noted`, in order), then what they counted
 * (the native counters of the run).
 */
export function runWarnings(counts: { treeUnreached: number } | undefined, noted: readonly RunWarning[] = []): RunWarning[] {
  const warnings: RunWarning[] = [...noted];
  const unreached = counts?.treeUnreached ?? 0;
  if (unreached > 0) {
    warnings.push({
      code: 'tree-crash-unreached',
      message:
        `${unreached} whole-tree crash(es) stopped only the process making the call: its tree was not found (no ` +
        'sysfault-shim above it, or it runs in a PID namespace of its own), so the rest of the tree ran on',
    });
  }
  return warnings;
}
