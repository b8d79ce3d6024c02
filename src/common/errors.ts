/**
 * Errors thrown (or rejected) by sysfault's TypeScript API and mapped to the CLI's exit statuses.
 *
 * Exception policy:
 * - Everything sysfault itself reports is a {@link SysfaultError} subclass with a stable `code`, a one-line
 *   `message` (no newlines: the CLI prints it as `sysfault: <message>`), and the `exitCode` the CLI uses
 *   for it: 125 for sysfault's own errors (bad plan, bad usage, unusable engine), 126 when the command is not
 *   executable, 127 when it is not found.
 * - Validation happens before anything is started: `spawn()` throws synchronously, `run()` returns a rejected
 *   promise, and no target process exists when either happens.
 * - A target that runs and fails (non-zero status, killed by a signal, timed out) is NOT an error: it is
 *   reported in the {@link RunResult}. Only a run that could not be carried out rejects; when it got far
 *   enough to have a (partial) result, the error's `result` holds it.
 * - Anything else escaping the API (a bug, a broken native build) is a plain `Error`; the CLI prints it as one
 *   line and shows the stack only with SYSFAULT_DEBUG=1.
 */
import type { RunResult } from './run-result.js';

/** Exit status the CLI uses for sysfault's own errors (as timeout(1) and env(1) do). */
export const EXIT_SYSFAULT = 125;
/** Exit status when the command exists but cannot be executed. */
export const EXIT_NOT_EXECUTABLE = 126;
/** Exit status when the command is not found. */
export const EXIT_NOT_FOUND = 127;
/** Exit status when `--timeout` ended the target. */
export const EXIT_TIMEOUT = 124;

/** Error codes of {@link SysfaultError}. */
export type SysfaultErrorCode =
  | 'PLAN_INVALID'
  | 'ENGINE_UNAVAILABLE'
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_NOT_EXECUTABLE'
  | 'USAGE';

/** Base class of every error sysfault reports on purpose. */
export class SysfaultError extends Error {
  /** Stable machine-readable code. */
  readonly code: SysfaultErrorCode;
  /** The CLI exit status this error maps to (125, 126, 127; 124 is a timeout). */
  readonly exitCode: number;
  /** The run's result so far, when the run got that far (the target was started or its start was attempted). */
  result?: RunResult;

  constructor(code: SysfaultErrorCode, exitCode: number, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Where a {@link PlanError} was found. */
export interface PlanErrorDetails {
  /** The plan file, when the plan came from a file. */
  file?: string | undefined;
  /** 1-based line of the offending value in `file`. */
  line?: number | undefined;
  /** 1-based column of the offending value in `file`. */
  column?: number | undefined;
  /** Field path, e.g. `rules[1].action.errno`. */
  field?: string | undefined;
  /** The offending value as found (undefined when the field is missing). */
  value?: unknown;
}

/** An invalid plan, rule or `--fault` spec. The message names the field path and the value. */
export class PlanError extends SysfaultError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly field: string | undefined;
  readonly value: unknown;

  constructor(message: string, details: PlanErrorDetails = {}) {
    super('PLAN_INVALID', EXIT_SYSFAULT, message);
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.field = details.field;
    this.value = details.value;
  }
}

/** The chosen engine cannot run here (kernel feature missing, native files not built, ...). */
export class EngineError extends SysfaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENGINE_UNAVAILABLE', EXIT_SYSFAULT, message, options);
  }
}

/** The command could not be found (127) or is not executable (126). */
export class CommandError extends SysfaultError {
  /** The command as given. */
  readonly command: string;

  constructor(code: 'COMMAND_NOT_FOUND' | 'COMMAND_NOT_EXECUTABLE', command: string, message: string) {
    super(code, code === 'COMMAND_NOT_FOUND' ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE, message);
    this.command = command;
  }
}

/** Bad options or command-line usage. */
export class UsageError extends SysfaultError {
  /** The option or flag at fault, e.g. `options.timeout` or `--timeout`, when there is one. */
  readonly field: string | undefined;
  /** The offending value as given (undefined when the option is missing or unknown). */
  readonly value: unknown;

  constructor(message: string, details: { field?: string | undefined; value?: unknown } = {}) {
    super('USAGE', EXIT_SYSFAULT, message);
    this.field = details.field;
    this.value = details.value;
  }
}

/** Collapses a message to one line. */
function oneLine(message: string): string {
  return message.replace(/\s*\r?\n\s*/g, ' ').trim();
}
