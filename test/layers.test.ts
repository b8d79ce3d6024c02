/**
 * The layout's rules (docs/architecture.md), read from the sources' own imports: each folder of src/ imports
 * only from its own layer or the layers below it, nothing imports cli/, the addon is loaded in one module, no
 * import circles, and no source file grows past the size limit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/** Layers from the bottom up; folders on one line are side by side and may not import each other. */
const LAYERS: readonly (readonly string[])[] = [['common'], ['native'], ['plan'], ['run'], ['sweep', 'scenario', 'topology', 'bench'], ['shard', 'report'], ['cli']];
/** The entries at the top of src/: re-exports only. */
const ENTRIES = ['index.ts', 'vitest.ts'];
const MAX_LINES = 600;

const files = (readdirSync(src, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith('.ts')).sort();

/** Relative imports of a file (static, `import type`, re-exports and dynamic), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2] ?? '';
    found.push(relative(src, resolve(dirname(join(src, file)), spec.replace(/\.js$/, '.ts'))));
  }
  return found;
}

const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '');
const layerOf = (folder: string): number => LAYERS.findIndex((names) => names.includes(folder));

describe('src/ layout', () => {
  it('has only the entries at its top, and every folder in a layer', () => {
    expect(files.filter((f) => !f.includes('/'))).toEqual(ENTRIES);
    for (const f of files.filter((f) => f.includes('/'))) expect(layerOf(folderOf(f)), f).toBeGreaterThanOrEqual(0);
  });

  it('imports only downwards or within a folder, and nothing imports cli/', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      for (const target of importsOf(file)) {
        const to = folderOf(target);
        if (to === '' && !ENTRIES.includes(target)) wrong.push(`${file} -> ${target} (no such file)`);
        else if (to === '') wrong.push(`${file} -> ${target} (an entry)`);
        else if (to === 'cli' && from !== 'cli') wrong.push(`${file} -> ${target} (cli/ is the top)`);
        else if (from !== '' && from !== to && layerOf(to) >= layerOf(from)) wrong.push(`${file} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import circles', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const g of graph.get(f) ?? []) {
        if (state.get(g) === 'open') circles.push([...stack.slice(stack.indexOf(g)), g].join(' -> '));
        else if (!state.has(g) && graph.has(g)) visit(g);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(circles).toEqual([]);
  });

  it('loads the addon in native/binding.ts only', () => {
    const loaders = files.filter((f) => /node-gyp-build|\.node['"]/.test(readFileSync(join(src, f), 'utf8')));
    expect(loaders).toEqual(['native/binding.ts']);
  });

  it(`keeps every source file under ${MAX_LINES} lines`, () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(join(src, f), 'utf8').trimEnd().split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ f, lines }) => `${f}: ${lines}`);
    expect(long).toEqual([]);
  });
});
