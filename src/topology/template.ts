/**
 * The `${...}` templates of topology files: `${ports.NAME}`, `${ports.NAME[N]}`, `${ports.NAME[replica]}`,
 * `${replica}`, `${dir}`, `${here}`, `${env.NAME}` and `${vars.NAME}` (those two with `:-default`), and `$${`
 * for a literal `${`. Expanded once at load with stand-in values (so mistakes surface before anything starts)
 * and again at run time with the real ports and directory.
 */
import { show } from '../common/text.js';
import { failAt, type Origin } from './schema.js';

/** What `${...}` can refer to. */
export interface Scope {
  readonly ports: Readonly<Record<string, readonly number[]>>;
  readonly dir: string;
  readonly here: string;
  readonly replica: number | undefined;
  readonly vars: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Expands the `${...}` variables of `value`; returns a problem instead when one is unknown. */
export function expandTemplate(value: string, scope: Scope): { value: string } | { problem: string } {
  let out = '';
  let i = 0;
  while (i < value.length) {
    if (value.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!value.startsWith('${', i)) {
      out += value[i];
      i++;
      continue;
    }
    // Find the matching }, allowing ${...} inside (a default: ${env.X:-${here}/bin}).
    let depth = 1;
    let j = i + 2;
    for (; j < value.length && depth > 0; j++) {
      if (value.startsWith('${', j)) {
        depth++;
        j++;
      } else if (value[j] === '}') {
        depth--;
      }
    }
    if (depth > 0) return { problem: 'unterminated ${ (write $${ for a literal ${)' };
    const result = lookupVariable(value.slice(i + 2, j - 1).trim(), scope);
    if (typeof result !== 'string') return result;
    out += result;
    i = j;
  }
  return { value: out };
}

function lookupVariable(body: string, scope: Scope): string | { problem: string } {
  const fallback = /^(env|vars)\.([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(body);
  if (fallback) {
    const [, kind, name, dflt] = fallback as unknown as [string, 'env' | 'vars', string, string | undefined];
    const table = kind === 'env' ? scope.env : scope.vars;
    const found = Object.hasOwn(table, name) ? table[name] : undefined;
    if (found !== undefined) return found;
    if (dflt !== undefined) {
      const expanded = expandTemplate(dflt, scope);
      return 'problem' in expanded ? expanded : expanded.value;
    }
    return { problem: kind === 'env' ? `environment variable ${name} is not set (write \${env.${name}:-default} for a default)` : `no value for \${vars.${name}} (pass it with --var ${name}=VALUE or the vars option)` };
  }
  const port = /^ports\.([A-Za-z][A-Za-z0-9_-]*)(?:\[(\d+|replica)\])?$/.exec(body);
  if (port) {
    const [, name, index] = port as unknown as [string, string, string | undefined];
    const list = Object.hasOwn(scope.ports, name) ? scope.ports[name] : undefined;
    if (!list) {
      const known = Object.keys(scope.ports);
      return { problem: `unknown port ${show(name)} (${known.length ? `ports: ${known.join(', ')}` : 'declare it under ports:'})` };
    }
    let i = 0;
    if (index === 'replica') {
      if (scope.replica === undefined) return { problem: `\${ports.${name}[replica]} is only meaningful inside a service` };
      i = scope.replica;
    } else if (index !== undefined) {
      i = Number(index);
    }
    const value = list[i];
    if (value === undefined) return { problem: `port ${show(name)} has ${list.length} port${list.length > 1 ? 's' : ''}, no [${i}] (declare more: ports: {${name}: ${i + 1}})` };
    return String(value);
  }
  if (body === 'replica') {
    return scope.replica === undefined ? { problem: '${replica} is only meaningful inside a service' } : String(scope.replica);
  }
  if (body === 'dir') return scope.dir;
  if (body === 'here') return scope.here;
  return { problem: `unknown variable \${${body}} (known: ports.NAME, ports.NAME[N], ports.NAME[replica], replica, dir, here, env.NAME, vars.NAME)` };
}

/** {@link expandTemplate}, or a {@link TopologyError} at `path` naming the problem. */
export function expandOrFail(value: string, scope: Scope, origin: Origin, path: PropertyKey[]): string {
  const r = expandTemplate(value, scope);
  if ('problem' in r) failAt(origin, path, r.problem, value);
  return r.value;
}

/** Expands every string of a plain value (an inline plan). */
export function expandDeep(value: unknown, scope: Scope, origin: Origin, path: PropertyKey[]): unknown {
  if (typeof value === 'string') return expandOrFail(value, scope, origin, path);
  if (Array.isArray(value)) return value.map((v, i) => expandDeep(v, scope, origin, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandDeep(v, scope, origin, [...path, k])]));
  }
  return value;
}
