/**
 * Zod issues of a plan (and of run options) as the one-line messages of PlanError: the shared description
 * (common/document.ts) with the plan's lists of allowed fields.
 */
import type { z } from 'zod';
import { describeIssues, type DescribedIssue } from '../common/document.js';

const RULE_FIELDS = ['id', 'syscalls', 'path', 'fd', 'addr', 'after', 'probability', 'limit', 'action'];
const ACTION_FIELDS = ['errno', 'delayMs', 'jitterMs', 'short', 'kill', 'torn', 'powercut', 'refuse', 'blackhole', 'reset', 'close'];

/** Describes the first of `issues` found validating `input` (a plan, a rule, or options). */
export function describePlanIssues(issues: readonly z.core.$ZodIssue[], input: unknown): DescribedIssue {
  return describeIssues(issues, input, allowedFields);
}

function allowedFields(input: unknown, path: readonly PropertyKey[]): readonly string[] {
  const last = path.at(-1);
  if (last === 'action') return ACTION_FIELDS;
  if (typeof last === 'number') return RULE_FIELDS;
  if (path.length === 0) {
    const root = input as Record<string, unknown> | null;
    if (root && typeof root === 'object' && 'syscalls' in root) return RULE_FIELDS;
    return ['version', 'seed', 'rules'];
  }
  return [];
}
