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

/** The result's warnings, from what the engines counted (the native counters of the run). */
export function runWarnings(counts: { treeUnreached: number } | undefined): RunWarning[] {
  const warnings: RunWarning[] = [];
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
