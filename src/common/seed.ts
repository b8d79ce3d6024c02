/** Seeds sysfault draws itself when none is given. */
import { randomBytes } from 'node:crypto';

/** A random seed below 2^53, so that it prints and parses back as a plain JSON number. */
export function randomSeed(): bigint {
  return randomBytes(8).readBigUInt64LE() & ((1n << 53n) - 1n);
}
