/**
 * A service's plan for one replica: an inline plan or a plan file, its `${...}` templates expanded for that
 * replica's scope, and validated. Checked at load (load.ts, with stand-in values) and made again for each
 * replica at run time (run.ts).
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { PlanError } from '../common/errors.js';
import { readProblem } from '../common/document.js';
import { normalizePlan, parsePlanText } from '../plan/load.js';
import type { NormalizedPlan } from '../plan/types.js';
import type { PlanInput } from '../plan/schema.js';
import { failAt, TopologyError, type Origin } from './schema.js';
import { expandDeep, expandOrFail, expandTemplate, type Scope } from './template.js';
import type { ServiceSpec, TopologySpec } from './types.js';

/** `rules[1].action.errno` -> ['rules', 1, 'action', 'errno'] */
function parseField(field: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  return out;
}

/** A service's plan for one replica, expanded and validated. */
export interface ResolvedPlan {
  /** What to pass to spawn(): the expanded inline plan, or the plan file path. */
  readonly input: PlanInput | string | undefined;
  /** The expanded text of a plan file that had variables (write it somewhere and pass that path). */
  readonly text: string | undefined;
  readonly normalized: NormalizedPlan | undefined;
}

/**
 * Expands and validates a service's plan for a scope.
 * @throws TopologyError (inline plans: positioned in the topology file) or PlanError (plan files).
 */
export function resolvePlanFor(spec: TopologySpec, service: ServiceSpec, scope: Scope): ResolvedPlan & { normalized: NormalizedPlan | undefined } {
  return resolveFull(spec, service, scope, { source: undefined, file: spec.file, baseDir: spec.baseDir });
}

/** The normalized plan of a service for a scope (errors positioned by `origin`), or undefined without one. */
export function resolvePlan(spec: TopologySpec, service: ServiceSpec, scope: Scope, origin: Origin): NormalizedPlan | undefined {
  return resolveFull(spec, service, scope, origin).normalized;
}

function resolveFull(spec: TopologySpec, service: ServiceSpec, scope: Scope, origin: Origin): ResolvedPlan {
  const at: PropertyKey[] = ['services', service.index, 'plan'];
  const plan = service.plan;
  if (plan === undefined) return { input: undefined, text: undefined, normalized: undefined };
  if (typeof plan !== 'string') {
    const expanded = expandDeep(plan, scope, origin, at) as PlanInput;
    try {
      return { input: expanded, text: undefined, normalized: normalizePlan(expanded) };
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      const message = err.message.replace(/^[^:]*: /, '');
      return failAt(origin, [...at, ...parseField(err.field ?? '')], message, err.value);
    }
  }
  const path = resolve(spec.baseDir, expandOrFail(plan, scope, origin, at));
  let body: string;
  try {
    body = readFileSync(path, 'utf8');
  } catch (err) {
    return failAt(origin, at, `cannot read plan file ${path}: ${readProblem(err)}`, plan);
  }
  if (!/\$\{/.test(body)) return { input: path, text: undefined, normalized: parsePlanText(body, path) };
  const lines = body.split('\n').map((line, i) => {
    const r = expandTemplate(line, scope);
    if ('problem' in r) throw new TopologyError(`${path}:${i + 1}: ${r.problem}`, { file: path, line: i + 1 });
    return r.value;
  });
  const expanded = lines.join('\n');
  return { input: path, text: expanded, normalized: parsePlanText(expanded, path) };
}

/** The extension a plan written out after expansion should keep (so JSON stays strict JSON). */
export function planExtension(path: string): string {
  const ext = extname(path).toLowerCase();
  return ext === '.json' ? '.json' : '.yaml';
}
