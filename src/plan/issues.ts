/**
 * Turns zod issues into the one-line messages of PlanError: `<field path>: <phrase naming the value>`.
 */
import type { z } from 'zod';
import { show } from './schema.js';

/** The first issue, described. */
export interface DescribedIssue {
  /** Path of the offending value (for an unknown field: the field itself). */
  path: PropertyKey[];
  /** `rules[1].action.errno`, or '' for the root. */
  field: string;
  /** The phrase after the field path. */
  message: string;
  /** The value found at path (undefined when missing). */
  value: unknown;
  /** The offending thing is a key (unknown field), not a value. */
  isKey: boolean;
  /** How many more issues there were. */
  more: number;
}

const RULE_FIELDS = 'id, syscalls, path, fd, addr, after, probability, limit, action';
const ACTION_FIELDS = 'errno, delayMs, jitterMs, short, kill';

/** Describes the first of `issues` found validating `input`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): DescribedIssue {
  const issue = issues[0];
  if (!issue) return { path: [], field: '', message: 'invalid', value: input, isKey: false, more: 0 };
  let path: PropertyKey[] = [...issue.path];
  let message = issue.message;
  let isKey = false;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    message = `unknown field ${show(key)}${allowedFields(input, path)}`;
    path = [...path, key];
    isKey = true;
  } else if (issue.code !== 'custom' && path.length > 0 && !lookup(input, path).found) {
    message = 'required field is missing';
  }
  return { path, field: formatPath(path), message, value: lookup(input, path).value, isKey, more: otherProblems(issues) };
}

/** Issues about other values than the first one (not the same path, nor one inside the other). */
function otherProblems(issues: readonly z.core.$ZodIssue[]): number {
  const first = issues[0]?.path ?? [];
  const related = (path: readonly PropertyKey[]): boolean => {
    const n = Math.min(path.length, first.length);
    for (let i = 0; i < n; i++) if (path[i] !== first[i]) return false;
    return true;
  };
  const others = new Set(issues.filter((i) => !related(i.path)).map((i) => formatPath(i.path)));
  return others.size;
}

/** ` (and 2 more problems)` or ''. */
export function moreSuffix(more: number): string {
  return more > 0 ? ` (and ${more} more problem${more > 1 ? 's' : ''})` : '';
}

function allowedFields(input: unknown, path: readonly PropertyKey[]): string {
  const last = path.at(-1);
  if (last === 'action') return ` (allowed: ${ACTION_FIELDS})`;
  if (typeof last === 'number') return ` (allowed: ${RULE_FIELDS})`;
  if (path.length === 0) {
    const root = input as Record<string, unknown> | null;
    if (root && typeof root === 'object' && 'syscalls' in root) return ` (allowed: ${RULE_FIELDS})`;
    return ' (allowed: version, seed, rules)';
  }
  return '';
}

/** `rules[1].action.errno` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The value at `path` in `root`. */
export function lookup(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = root;
  for (const part of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) {
      return { found: false, value: undefined };
    }
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return { found: true, value };
}
