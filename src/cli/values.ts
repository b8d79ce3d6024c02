/**
 * Command-line flag values: the checks and conversions the flag table (flags.ts) names.
 *
 * Each helper checks one flag's value and throws a one-line {@link UsageError} naming the flag and the value as
 * given (`<flag>: expected ..., got "<text>"`), with `field` set to the flag and `value` to the text. The
 * CLI prints it as `sysfault: <message>` and exits 125 before anything is started.
 *
 * The value helpers take `undefined` too (a flag that was not given) and then return `undefined`, so a
 * command can pass `values.<flag>` straight through.
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../common/errors.js';
import { firstLine } from '../common/text.js';
import { parseSeed } from '../plan/schema.js';

/** The largest value {@link durationMs} accepts (the largest delay a Node.js timer takes). */
const MAX_DURATION_MS = 0x7fffffff;

/**
 * `5000`, `5000ms`, `5s`, `1.5s` -> milliseconds: a whole number from 1 to 2^31-1.
 * @throws UsageError `<flag>: expected a whole number of milliseconds like 5000 (or 5s), got "<text>"`
 */
export function durationMs(flag: string, text: string): number;
export function durationMs(flag: string, text: string | undefined): number | undefined;
export function durationMs(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  const ms = m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN;
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_DURATION_MS) {
    throw new UsageError(`${flag}: expected a whole number of milliseconds like 5000 (or 5s), got ${JSON.stringify(text)}`, {
      field: flag,
      value: text,
    });
  }
  return ms;
}

/** Bounds of {@link wholeNumber}. */
export interface WholeNumberBounds {
  /** The smallest value accepted (default 0). */
  min?: number;
  /** The largest value accepted (default: the largest safe integer, 2^53-1). */
  max?: number;
  /** The most digits the text may have, leading zeros included (default: as many as `max` has; else any). */
  digits?: number;
}

/**
 * Decimal digits only (no sign, no fraction, no exponent) -> a whole number within `min`..`max`.
 * @throws UsageError `<flag>: expected <what>, got "<text>"`, where <what> is `a whole number from MIN to MAX`
 *   when `max` is given, else `a positive integer` when `min` is 1, else `a whole number` (min 0) or
 *   `a whole number of at least MIN`.
 */
export function wholeNumber(flag: string, text: string, bounds?: WholeNumberBounds): number;
export function wholeNumber(flag: string, text: string | undefined, bounds?: WholeNumberBounds): number | undefined;
export function wholeNumber(flag: string, text: string | undefined, bounds: WholeNumberBounds = {}): number | undefined {
  if (text === undefined) return undefined;
  const { min = 0, max, digits = max === undefined ? undefined : String(max).length } = bounds;
  const n = Number(text);
  const ok =
    /^\d+$/.test(text) &&
    (digits === undefined || text.length <= digits) &&
    Number.isSafeInteger(n) &&
    n >= min &&
    (max === undefined || n <= max);
  if (!ok) {
    const what =
      max !== undefined
        ? `a whole number from ${min} to ${max}`
        : min === 1
          ? 'a positive integer'
          : min <= 0
            ? 'a whole number'
            : `a whole number of at least ${min}`;
    throw new UsageError(`${flag}: expected ${what}, got ${JSON.stringify(text)}`, { field: flag, value: text });
  }
  return n;
}

/**
 * One of `choices`, as given.
 * @throws UsageError `<flag>: expected a, b or c, got "<text>"`
 */
export function oneOf<const T extends readonly string[]>(flag: string, text: string, choices: T): T[number];
export function oneOf<const T extends readonly string[]>(flag: string, text: string | undefined, choices: T): T[number] | undefined;
export function oneOf<const T extends readonly string[]>(flag: string, text: string | undefined, choices: T): T[number] | undefined {
  if (text === undefined || (choices as readonly string[]).includes(text)) return text as T[number] | undefined;
  const list = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : (choices[0] ?? 'nothing');
  throw new UsageError(`${flag}: expected ${list}, got ${JSON.stringify(text)}`, { field: flag, value: text });
}

/**
 * A seed as given (checked, not converted): a non-negative integer below 2^64 in decimal digits.
 * @throws UsageError `<flag>: expected a non-negative integer below 2^64, got "<text>"`
 */
export function seedText(flag: string, text: string): string;
export function seedText(flag: string, text: string | undefined): string | undefined;
export function seedText(flag: string, text: string | undefined): string | undefined {
  if (text === undefined || parseSeed(text) !== undefined) return text;
  throw new UsageError(`${flag}: expected a non-negative integer below 2^64, got ${JSON.stringify(text)}`, { field: flag, value: text });
}

/**
 * Checks, without writing anything, that `file` could be written later: an existing file must be writable
 * (and not a directory), a new one's directory must exist and be writable.
 * @throws UsageError `<flag>: cannot write <file>: <why>` (`no such directory` when the directory is missing)
 */
export function writableFile(flag: string, file: string): void {
  const path = resolve(file);
  try {
    if (existsSync(path)) {
      if (statSync(path).isDirectory()) throw new Error('is a directory');
      accessSync(path, constants.W_OK);
    } else {
      accessSync(dirname(path), constants.W_OK);
    }
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : firstLine(err);
    throw new UsageError(`${flag}: cannot write ${file}: ${why}`, { field: flag, value: file });
  }
}

/**
 * Writes `body` to the file a flag named (replacing it, or appending with `append`).
 * @throws UsageError `<flag>: cannot write <file>: <the system's reason>`
 */
export function writeFlagFile(flag: string, file: string, body: string, options: { append?: boolean } = {}): void {
  try {
    writeFileSync(file, body, options.append ? { flag: 'a' } : undefined);
  } catch (err) {
    throw new UsageError(`${flag}: cannot write ${file}: ${firstLine(err)}`, { field: flag, value: file });
  }
}
