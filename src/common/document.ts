/**
 * Reading the documents users write (plans, scenarios, topologies), in one wording for all three:
 * - the file: `plan.yaml: cannot read plan file: no such file` (see {@link readDocumentFile});
 * - the syntax: JSON or YAML (JSON is YAML; a `.json` name also checks strict JSON), integers read exactly,
 *   errors at `file:line:col` (see {@link parseDocumentText});
 * - the content: every zod issue as `field: phrase naming the value`, one line each, unknown fields first, placed at
 *   the field's `file:line:col` (see {@link describeIssues} and {@link documentError}).
 * Every error is a {@link PlanError} (exit status 125), or the subclass the caller names.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { PlanError, type PlanErrorDetails } from './errors.js';
import { closest, didYouMean, show } from './text.js';

/** A parsed document file, kept for error positions. */
export interface Source {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

/** The error class a document's errors are made with: PlanError or a subclass. */
export type DocumentErrorClass = new (message: string, details?: PlanErrorDetails) => PlanError;

/** Why a file cannot be read, in a few words. */
export function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads a document file's text.
 * @param what the kind of document, for the message: `FILE: cannot read <what> file: <why>`.
 */
export function readDocumentFile(file: string, what: string, ErrorClass: DocumentErrorClass = PlanError): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ErrorClass(`${file}: cannot read ${what} file: ${readProblem(err)}`, { file });
  }
}

/**
 * Parses JSON or YAML text (a `.json` file name makes it strict JSON) into a plain value, integers exact, with
 * the parsed document kept for error positions (see {@link locate}).
 * @throws PlanError (or ErrorClass) on a syntax error, named `file:line:col`.
 */
export function parseDocumentText(text: string, file: string, ErrorClass: DocumentErrorClass = PlanError): { value: unknown; source: Source } {
  if (text.startsWith('\uFEFF')) text = text.slice(1); // the byte-order mark some editors write
  const json = extname(file).toLowerCase() === '.json';
  const lines = new LineCounter();
  // logLevel 'error': no process warning on stderr (a collection used as a key is an unknown field anyway).
  const doc = parseDocument(text, { lineCounter: lines, intAsBigInt: true, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const problem = doc.errors[0];
  if (problem) {
    const pos = lines.linePos(problem.pos[0]);
    throw new ErrorClass(`${file}:${pos.line}:${pos.col}: invalid ${json ? 'JSON' : 'YAML'}: ${yamlReason(problem.message)}`, {
      file,
      line: pos.line,
      column: pos.col,
    });
  }
  if (json) checkJson(text, file, ErrorClass);
  let value: unknown;
  try {
    value = exactNumbers(doc.toJS({ maxAliasCount: 100 }));
  } catch (err) {
    throw new ErrorClass(`${file}: invalid YAML: ${yamlReason((err as Error).message)}`, { file });
  }
  return { value, source: { file, doc, lines } };
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

/** One problem in a document: where it is and what it is. */
export interface DocumentProblem {
  /** Path of the offending value (for an unknown field: the field itself). */
  path: readonly PropertyKey[];
  /** The path as written in messages; '' for the whole document. */
  field: string;
  message: string;
  value?: unknown;
  /** The offending thing is a key (unknown field), not a value. */
  isKey?: boolean;
  /** More problems, each shown on a line of its own after this one. */
  others?: readonly DocumentProblem[];
}

/**
 * The error for a problem in a document: `file:line:col: field: message` when the document came from a file
 * (`source`), else `field: message`; the whole document is named `root` (e.g. 'plan').
 */
export function documentError(
  source: Source | undefined,
  root: string,
  problem: DocumentProblem,
  ErrorClass: DocumentErrorClass = PlanError,
): PlanError {
  const { field, value } = problem;
  const tail = `${field === '' ? root : field}: ${problem.message}${otherProblemLines(source, root, problem.others ?? [])}`;
  if (!source) return new ErrorClass(tail, { field, value });
  const pos = locate(source, problem.path, problem.isKey ?? false);
  return new ErrorClass(`${source.file}:${pos.line}:${pos.col}: ${tail}`, { file: source.file, line: pos.line, column: pos.col, field, value });
}

/** An error-map function for zod: `expected <what>, got <value>`. */
export const expected =
  (what: string) =>
  (iss: { readonly input?: unknown }): string =>
    `expected ${what}, got ${show(iss.input)}`;

/** A zod integer in [min, max]; every failure reads `expected <what>, got <value>`. */
export function integer(min: number, max: number, what: string) {
  const error = expected(what);
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A zod issue, described. */
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
  /** How many more problems there were (`others.length`). */
  more: number;
  /** The other problems (each about another value), described the same way. */
  others: DescribedIssue[];
}

/** The fields allowed in the object at `path` of `input` (empty when not known). */
export type AllowedFields = (input: unknown, path: readonly PropertyKey[]) => readonly string[];

/**
 * Describes every problem of `issues` found validating `input`, one per value: unknown fields first (with the
 * allowed field closest to each as "did you mean"), since a missing field is often the one an unknown field
 * was meant to be (and then it is not reported twice).
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown, allowed: AllowedFields = () => []): DescribedIssue {
  const unknownFirst = [...issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const described: DescribedIssue[] = [];
  const meant = new Set<string>(); // fields an unknown field was meant to be, by their path
  const misspelt = new Set<string>(); // objects holding such a field: a problem of the object as a whole is its echo
  for (const issue of unknownFirst) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys) {
      const one = describeOne(issue, key, input, allowed);
      if (key !== undefined) {
        const guess = closest(key, allowed(input, issue.path));
        if (guess !== undefined) meant.add(formatPath([...issue.path, guess]));
        misspelt.add(formatPath(issue.path));
      } else if ((one.message === 'required field is missing' && meant.has(one.field)) || misspelt.has(one.field)) {
        continue;
      }
      if (described.some((d) => d.isKey === one.isKey && related(d.path, one.path) && !one.isKey)) continue;
      if (described.some((d) => d.isKey && one.isKey && d.field === one.field)) continue;
      described.push(one);
    }
  }
  const [first = { path: [], field: '', message: 'invalid', value: input, isKey: false, more: 0, others: [] }, ...others] = described;
  return { ...first, more: others.length, others };
}

function describeOne(issue: z.core.$ZodIssue, key: string | undefined, input: unknown, allowed: AllowedFields): DescribedIssue {
  let path: PropertyKey[] = [...issue.path];
  let message = issue.message;
  let isKey = false;
  if (key !== undefined) {
    const fields = allowed(input, path);
    const hint = didYouMean(key, fields);
    message = `unknown field ${show(key)}${hint || (fields.length > 0 ? ` (allowed: ${fields.join(', ')})` : '')}`;
    path = [...path, key];
    isKey = true;
  } else if (issue.code !== 'custom' && path.length > 0 && !lookup(input, path).found) {
    message = 'required field is missing';
  }
  return { path, field: formatPath(path), message, value: lookup(input, path).value, isKey, more: 0, others: [] };
}

/** Is one path inside the other (or the same)? */
function related(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The other problems after the first, on the same line: `; file:line:col: field: message` each. */
export function otherProblemLines(source: Source | undefined, root: string, others: readonly DocumentProblem[]): string {
  return others
    .map((p) => {
      const tail = `${p.field === '' ? root : p.field}: ${p.message}`;
      if (!source) return `; ${tail}`;
      const pos = locate(source, p.path, p.isKey ?? false);
      return `; ${source.file}:${pos.line}:${pos.col}: ${tail}`;
    })
    .join('');
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

/** Strict JSON check after the YAML parse (YAML accepts more than JSON), with JSON.parse's position if any. */
function checkJson(text: string, file: string, ErrorClass: DocumentErrorClass): void {
  try {
    JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const reason = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/^(Unexpected token .+?), ".*" is not valid JSON$/s, '$1');
    const at = /position (\d+)/.exec(message);
    if (!at) throw new ErrorClass(`${file}: invalid JSON: ${reason}`, { file });
    const before = text.slice(0, Number(at[1])).split('\n');
    const line = before.length;
    const column = (before.at(-1)?.length ?? 0) + 1;
    throw new ErrorClass(`${file}:${line}:${column}: invalid JSON: ${reason}`, { file, line, column });
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

/** The YAML parser's message without its own position (ours is in front). */
function yamlReason(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '').trim();
}
