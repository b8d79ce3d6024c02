/**
 * Pieces of a run's result: wait statuses, action texts, seeds.
 */
import { actionName } from '../plan/compile.js';
import { errnoName, signalName } from '../plan/signals.js';
import { alternativesOf } from '../plan/syscalls.js';
import type { ExitInfo, FaultAction, RuleStats, RunWarning } from '../common/run-result.js';
import type { NormalizedPlan, NormalizedRule } from '../plan/types.js';

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

/** What {@link runWarnings} looks at. */
export interface WarningFacts {
  plan: NormalizedPlan;
  rules: readonly RuleStats[];
  /** Calls of a syscall the run counted: those the plan names and their alternatives (alternativesOf). */
  calls: (syscall: string) => number;
  /** The syscalls the run counted (named ones and the alternatives it watched). */
  watched: ReadonlySet<string>;
  dropped: number;
  /** Whole-tree crashes that found no tree (the native counter). */
  treeUnreached: number;
  /** What the engines reported during the run (noteWarning, engineWarning), in order: first in the warnings. */
  noted?: readonly RunWarning[];
}

/**
 * The result's `warnings` (built here only): every rule that matched nothing, saying what was called instead;
 * a dropped log; whole-tree crashes that found no tree. What the engines noted during the run comes first.
 */
export function runWarnings(facts: WarningFacts): RunWarning[] {
  const warnings: RunWarning[] = [...(facts.noted ?? [])];
  for (const [i, rule] of facts.plan.rules.entries()) {
    if ((facts.rules[i]?.matched ?? 0) > 0) continue;
    warnings.push({ code: 'rule-matched-nothing', message: `rule ${rule.id} matched nothing: ${whyNothingMatched(rule, facts)}` });
  }
  if (facts.dropped > 0) {
    warnings.push({
      code: 'log-dropped',
      message: `${facts.dropped} fault-log entr${facts.dropped === 1 ? 'y was' : 'ies were'} lost to a full log (the counts are exact; raise logCapacity)`,
    });
  }
  if (facts.treeUnreached > 0) {
    warnings.push({
      code: 'tree-crash-unreached',
      message:
        `${facts.treeUnreached} whole-tree crash(es) stopped only the process making the call: its tree was not found (no ` +
        'sysfault-shim above it, or it runs in a PID namespace of its own), so the rest of the tree ran on',
    });
  }
  return warnings;
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}

/** Why a rule matched nothing, with what the program called instead when it was counted. */
function whyNothingMatched(rule: NormalizedRule, facts: WarningFacts): string {
  const called = rule.syscalls.filter((s) => facts.calls(s) > 0);
  const alternatives = alternativesOf(rule.syscalls);
  const instead = alternatives.filter((s) => facts.calls(s) > 0);
  const made = (names: string[]): string => names.map((s) => `${s} ${times(facts.calls(s))}`).join(', ');
  if (called.length > 0) {
    const filters = [rule.path !== null && `path ${rule.path}`, rule.fd !== 'any' && `fd ${rule.fd}`, rule.addr !== null && `addr ${rule.addr.text}`].filter(
      (f): f is string => typeof f === 'string',
    );
    // a filter that missed may be aimed at the right file through the wrong syscall (pebble's WAL: fdatasync)
    const besides = instead.length > 0 ? `; it also called ${made(instead)}` : '';
    return `the program called ${made(called)}, none matching ${filters.length > 0 ? filters.join(', ') : 'its filters'}${besides}`;
  }
  const never = rule.syscalls.length === 1 ? `${rule.syscalls[0]} was never called` : `none of ${rule.syscalls.join(', ')} was called`;
  if (instead.length === 0) {
    const unwatched = alternatives.filter((s) => !facts.watched.has(s));
    if (unwatched.length === 0) return never;
    return `${never} (not watched, each being a supervisor round trip under seccomp: ${unwatched.join(', ')}; name them in a rule to see whether the program called them)`;
  }
  return `${never}; the program called ${made(instead)} instead`;
}
