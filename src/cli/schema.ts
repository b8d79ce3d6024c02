/**
 * `sysfault schema plan|scenario|topology`: the JSON Schema of a file format, generated from its zod schema
 * (z.toJSONSchema, the input side) so that it is never written twice. The package ships them as
 * schema/<name>.schema.json (test/cli/schema.test.ts checks they are up to date); a file names its schema with
 * `$schema` for editors to complete and check it.
 */
import { z } from 'zod';
import { planSchema } from '../plan/schema.js';
import { errnoList } from '../plan/signals.js';
import { SYSCALL_GROUPS, syscallTable } from '../plan/syscalls.js';
import { scenarioSchema } from '../scenario/schema.js';
import { topologySchema } from '../topology/schema.js';
import { parseCommandLine } from './args.js';

export const SCHEMA_NAMES = ['plan', 'scenario', 'topology'] as const;
type SchemaName = (typeof SCHEMA_NAMES)[number];

const TITLES: Readonly<Record<SchemaName, string>> = {
  plan: 'sysfault fault plan, version 1 (docs: README.md "Fault plans")',
  scenario: 'sysfault scenario, version 1 (docs/scenarios.md)',
  topology: 'sysfault topology, version 1 (docs/topologies.md)',
};

/** The JSON Schema of one file format. */
export function jsonSchema(name: SchemaName): Record<string, unknown> {
  const schema = name === 'plan' ? planSchema(syscallTable()) : name === 'scenario' ? scenarioSchema : topologySchema;
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const syscalls = [...syscallTable().names, ...Object.keys(SYSCALL_GROUPS)];
  const errnos = errnoList().map(([errno]) => errno);
  // What zod checks in code (names from tables) is spelt out for editors: syscall and errno names.
  const visit = (node: unknown, key?: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n));
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (key === 'syscalls' && obj.type === 'array') obj.items = { type: 'string', enum: syscalls };
    if (key === 'errno' && Array.isArray(obj.type)) {
      delete obj.type;
      obj.anyOf = [{ type: 'string', enum: errnos }, { type: 'integer', minimum: 1, maximum: 4095 }];
    }
    for (const [k, v] of Object.entries(obj)) visit(v, k);
  };
  visit(json);
  return { $schema: json.$schema, title: TITLES[name], ...json };
}

/** `sysfault schema`. */
export function schemaCommand(argv: readonly string[]): number {
  const line = parseCommandLine('schema', argv);
  if (line.printedHelp()) return 0;
  process.stdout.write(`${JSON.stringify(jsonSchema(line.choice(SCHEMA_NAMES)), null, 2)}\n`);
  return 0;
}
