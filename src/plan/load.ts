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
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { PlanError } from '../common/errors.js';
import { parseFault } from './fault.js';
import { describeIssues, moreSuffix } from './issues.js';
import { planSchema } from './schema.js';
import { syscallTable } from './syscalls.js';
import type { PlanInput, RuleInput } from './schema.js';
import type { NormalizedPlan } from './types.js';

/** A parsed plan (or scenario) file, for error positions. */
export interface Source {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

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
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new PlanError(`${source}: cannot read plan file: ${why}`, { file: source });
  }
  return parsePlanText(text, source, extra);
}

/**
 * Parses, validates and normalizes a plan's text.
 * @param text JSON or YAML.
 * @param file name used in error messages; a `.json` name makes the text be checked as strict JSON first.
 * @param extra rules appended after the plan's.
 * @throws PlanError
 */
export function parsePlanText(text: string, file = 'plan', extra: ExtraRules = []): NormalizedPlan {
  const { value, source } = readDocument(text, file);
  return validate(value, source, extra);
}

/**
 * Parses JSON or YAML text (a `.json` file name makes it strict JSON) into a plain value, integers exact, with
 * the parsed document kept for error positions (see {@link locate}). Shared with scenario files.
 * @throws PlanError on a syntax error, named `file:line:col`.
 */
export function readDocument(text: string, file: string): { value: unknown; source: Source } {
  if (text.startsWith('\uFEFF')) text = text.slice(1); // the byte-order mark some editors write
  const json = extname(file).toLowerCase() === '.json';
  const lines = new LineCounter();
  // logLevel 'error': no process warning on stderr (a collection used as a key is an unknown field anyway).
  const doc = parseDocument(text, { lineCounter: lines, intAsBigInt: true, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const problem = doc.errors[0];
  if (problem) {
    const pos = lines.linePos(problem.pos[0]);
    throw new PlanError(`${file}:${pos.line}:${pos.col}: invalid ${json ? 'JSON' : 'YAML'}: ${firstLine(problem.message)}`, {
      file,
      line: pos.line,
      column: pos.col,
    });
  }
  if (json) checkJson(text, file);
  let value: unknown;
  try {
    value = exactNumbers(doc.toJS({ maxAliasCount: 100 }));
  } catch (err) {
    throw new PlanError(`${file}: invalid YAML: ${firstLine((err as Error).message)}`, { file });
  }
  return { value, source: { file, doc, lines } };
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

  const issue = describeIssues(parsed.error.issues, input);
  let { path, field } = issue;
  let where = source;
  const index = path[1];
  if (extraRules.length > 0 && path[0] === 'rules' && typeof index === 'number' && index >= own) {
    path = ['faults', index - own, ...path.slice(2)];
    field = `faults[${index - own}]${field.slice(`rules[${index}]`.length)}`;
    where = undefined;
  }
  const head = field === '' ? 'plan' : field;
  const tail = `${head}: ${issue.message}${moreSuffix(issue.more)}`;
  if (!where) return fail(tail, { field, value: issue.value });
  const pos = locate(where, issue.path, issue.isKey);
  return fail(`${where.file}:${pos.line}:${pos.col}: ${tail}`, {
    file: where.file,
    line: pos.line,
    column: pos.col,
    field,
    value: issue.value,
  });
}

function fail(message: string, details: ConstructorParameters<typeof PlanError>[1]): never {
  throw new PlanError(message, details);
}

/** Line and column of the value at `path` (or of its key, or of the nearest enclosing node that exists). */
export function locate(source: Source, path: readonly PropertyKey[], isKey: boolean): { line: number; col: number } {
  if (isKey && path.length > 0) {
    const parent = source.doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const name = String(path.at(-1));
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
      if (pair && isScalar(pair.key) && pair.key.range) return source.lines.linePos(pair.key.range[0]);
    }
  }
  for (let n = path.length; n > 0; n--) {
    const node = source.doc.getIn(path.slice(0, n), true);
    if ((isScalar(node) || isMap(node) || isSeq(node)) && node.range) return source.lines.linePos(node.range[0]);
  }
  const root = source.doc.contents;
  return root?.range ? source.lines.linePos(root.range[0]) : { line: 1, col: 1 };
}

/** Strict JSON check after the YAML parse (YAML accepts more than JSON), with JSON.parse's position if any. */
function checkJson(text: string, file: string): void {
  try {
    JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const reason = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/^(Unexpected token .+?), ".*" is not valid JSON$/s, '$1');
    const at = /position (\d+)/.exec(message);
    if (!at) throw new PlanError(`${file}: invalid JSON: ${reason}`, { file });
    const before = text.slice(0, Number(at[1])).split('\n');
    const line = before.length;
    const column = (before.at(-1)?.length ?? 0) + 1;
    throw new PlanError(`${file}:${line}:${column}: invalid JSON: ${reason}`, { file, line, column });
  }
}

/** Integers were parsed as bigint: safe ones back to numbers; larger ones stay bigint (a seed may be one). */
function exactNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) return value.map(exactNumbers);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exactNumbers(v)]));
  }
  return value;
}

function ruleCount(plan: unknown): number {
  const rules = (plan as { rules?: unknown } | null | undefined)?.rules;
  return Array.isArray(rules) ? rules.length : 0;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '').trim();
}
