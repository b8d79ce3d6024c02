/**
 * Plans: loading (object, .json, .yaml/.yml), validation against the v1 schema (src/plan/schema.ts),
 * normalization, and compiling to the wire format (src/plan/compile.ts).
 *
 * Errors are {@link PlanError}s with a one-line message naming the field path and the value, prefixed with
 * file:line:col when the plan came from a file: `plan.yaml:7:14: rules[1].action.errno: unknown errno "EIOO"`.
 * JSON files are read with the YAML parser too (JSON is YAML), after a strict JSON syntax check, so both get
 * positions; integers are read exactly (a u64 seed keeps all its digits).
 *
 * Normalization: default ids are `rule-<index>` (index in the final rule list, `--fault` rules included);
 * syscall groups are expanded; errno and signal names become numbers (names kept for display); `fd` defaults
 * to "any", `after` to 0, `probability` to 1, `limit` to none.
 */
import { documentError, parseDocumentText, readDocumentFile, type DescribedIssue, type DocumentProblem, type Source } from '../common/document.js';
import { parseFault } from './fault.js';
import { describePlanIssues } from './issues.js';
import { planSchema } from './schema.js';
import { syscallTable } from './syscalls.js';
import type { PlanInput, RuleInput } from './schema.js';
import type { NormalizedPlan } from './types.js';

/** Extra rules appended after a plan's own: one-line fault specs (see {@link parseFault}) or rule objects. */
export type ExtraRules = readonly (string | RuleInput)[];

/**
 * Loads, validates and normalizes a plan.
 * @param source a plan object, or the path of a `.json`, `.yaml` or `.yml` file (other extensions are read
 *   as YAML, which includes JSON).
 * @param extra rules appended after the plan's (errors in them are named `faults[i]`).
 * @throws PlanError when the plan is invalid or the file cannot be read.
 */
export function loadPlan(source: PlanInput | string, extra: ExtraRules = []): NormalizedPlan {
  if (typeof source !== 'string') return normalizePlan(source, extra);
  return parsePlanText(readDocumentFile(source, 'plan'), source, extra);
}

/**
 * Parses, validates and normalizes a plan's text.
 * @param text JSON or YAML.
 * @param file name used in error messages; a `.json` name makes the text be checked as strict JSON first.
 * @param extra rules appended after the plan's.
 * @throws PlanError
 */
export function parsePlanText(text: string, file = 'plan', extra: ExtraRules = []): NormalizedPlan {
  const { value, source } = parseDocumentText(text, file);
  return validate(value, source, extra);
}

/**
 * Validates and normalizes a plan object.
 * @param plan the plan as written; `undefined` with extra rules means `{version: 1, rules: []}`.
 * @param extra rules appended after the plan's (errors in them are named `faults[i]`).
 * @throws PlanError
 */
export function normalizePlan(plan: PlanInput | undefined, extra: ExtraRules = []): NormalizedPlan {
  return validate(plan, undefined, extra);
}

function validate(plan: unknown, source: Source | undefined, extra: ExtraRules): NormalizedPlan {
  const extraRules = extra.map((rule, i) => (typeof rule === 'string' ? parseFault(rule, `faults[${i}]`) : rule));
  let input = plan;
  const own = ruleCount(plan);
  if (extraRules.length > 0) {
    const base = plan === undefined ? { version: 1, rules: [] } : plan;
    if (base !== null && typeof base === 'object' && !Array.isArray(base)) {
      input = { ...base, rules: [...(Array.isArray((base as { rules?: unknown }).rules) ? (base as { rules: unknown[] }).rules : []), ...extraRules] };
    }
  }
  const parsed = planSchema(syscallTable()).safeParse(input);
  if (parsed.success) return parsed.data;

  const issue = describePlanIssues(parsed.error.issues, input);
  // A problem in an extra rule is named faults[i] and has no position (the rule is not in the file).
  const inExtra = (path: readonly PropertyKey[]): boolean =>
    extraRules.length > 0 && path[0] === 'rules' && typeof path[1] === 'number' && path[1] >= own;
  const problem = (i: DescribedIssue): DocumentProblem => {
    const index = i.path[1] as number;
    const field = inExtra(i.path) ? `faults[${index - own}]${i.field.slice(`rules[${index}]`.length)}` : i.field;
    return { path: i.path, field, message: i.message, value: i.value, isKey: i.isKey };
  };
  const where = inExtra(issue.path) ? undefined : source;
  throw documentError(where, 'plan', { ...problem(issue), others: issue.others.map(problem) });
}

function ruleCount(plan: unknown): number {
  const rules = (plan as { rules?: unknown } | null | undefined)?.rules;
  return Array.isArray(rules) ? rules.length : 0;
}
