/**
 * The JSON Schemas of plan, scenario and topology files: generated from the zod schemas by `sysfault schema`,
 * shipped as schema/*.schema.json (up to date), accepted as `$schema`, and they accept every example file and
 * reject what the validator rejects by name (checked with python's jsonschema, Draft 2020-12).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPlan } from '../../src/index.js';
import { runCli, scratch } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const schemaFile = (name: string): string => join(root, 'schema', `${name}.schema.json`);
const hasJsonschema = spawnSync('python3', ['-c', 'from jsonschema import Draft202012Validator']).status === 0;

/** The problems python's jsonschema finds in each document (an empty list when it is valid), in one run. */
function problemsOf(docs: readonly [schema: string, doc: unknown][]): string[][] {
  const file = join(scratch(), 'docs.json');
  writeFileSync(file, JSON.stringify(docs.map(([name, doc]) => [schemaFile(name), doc])));
  const script =
    'import json,sys\nfrom jsonschema import Draft202012Validator as V\nout=[]\n' +
    'for path, d in json.load(open(sys.argv[1])):\n  s=json.load(open(path)); V.check_schema(s)\n' +
    '  out.append(sorted(e.message for e in V(s).iter_errors(d)))\nprint(json.dumps(out))';
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as string[][];
}
const problems = (name: string, doc: unknown): string[] => problemsOf([[name, doc]])[0] ?? [];

const load = (file: string): unknown => parse(readFileSync(join(root, file), 'utf8'));
const files = (dir: string, ext: RegExp): string[] => readdirSync(join(root, dir)).filter((f) => ext.test(f)).map((f) => `${dir}/${f}`);

describe('JSON Schemas', () => {
  it('schema/*.schema.json are what `sysfault schema` generates', async () => {
    for (const name of ['plan', 'scenario', 'topology']) {
      const out = await runCli(['schema', name]);
      expect(out.status).toBe(0);
      expect(out.stdout, `regenerate: node dist/cli/main.js schema ${name} > schema/${name}.schema.json`).toBe(readFileSync(schemaFile(name), 'utf8'));
    }
  });

  it('a plan may name its schema', () => {
    const plan = loadPlan({ $schema: '../schema/plan.schema.json', version: 1, rules: [{ syscalls: ['fsync'], action: { errno: 'EIO' } }] } as never);
    expect(plan.rules).toHaveLength(1);
  });

  it.skipIf(!hasJsonschema)('accepts every example file', () => {
    const docs: [string, string][] = [
      ...[...files('examples/network', /\.json$/), ...files('examples/scenarios/plans', /\.ya?ml$/), 'examples/topology/store-plan.yaml'].map((f) => ['plan', f] as [string, string]),
      ...files('examples/scenarios', /\.ya?ml$/).map((f) => ['scenario', f] as [string, string]),
      ['topology', 'examples/topology/kv.yaml'],
    ];
    const found = problemsOf(docs.map(([name, file]) => [name, load(file)]));
    expect(Object.fromEntries(docs.map(([, file], i) => [file, found[i]]))).toEqual(Object.fromEntries(docs.map(([, file]) => [file, []])));
  });

  it.skipIf(!hasJsonschema)('rejects unknown fields, syscalls and errnos', () => {
    expect(problems('plan', { version: 1, rulez: [] })).toEqual([
      "'rules' is a required property",
      "Additional properties are not allowed ('rulez' was unexpected)",
    ]);
    expect(problems('plan', { version: 1, rules: [{ syscalls: ['fsyncc'], action: { errno: 'EIOO' } }] })).toHaveLength(2);
    expect(problems('plan', { version: 1, rules: [{ syscalls: ['fsync-family'], action: { errno: 5 } }] })).toEqual([]);
  });
});
