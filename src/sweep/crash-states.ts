/**
 * Crash states beyond the pessimistic one (docs/crash-consistency.md, "Crash states").
 *
 * At a crash point the whole tree is stopped and killed; the files then hold the state at that instant (what
 * the page cache held), and the shadow directory holds what was durable (native/core/shadow.h). The
 * difference between the two is the set of unsynced changes, recovered per file at block granularity and per
 * directory entry: creations, renames, replacements and removals of names; appended, overwritten and
 * truncated data. A crash state persists some of them, as the file-system model allows (fs-models.ts), and is
 * built from them in a fresh copy of the pessimistic directory: the workload is not rerun.
 *
 * Limits (said in the docs): a block written several times since the last sync takes its durable or its latest
 * contents (not an intermediate one), and the order of changes across files is not recorded, so ordered
 * models explore their unsynced namespace operations as none or all.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, type BigIntStats } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { FsModel } from '../run/fs-models.js';
import { seededPick } from './seeded.js';

/** A file's identity within a run: "<ino>-<btime sec>.<btime nsec>" in hex, as the shadow directory names it. */
type Key = string;

/** What a crash left, read before the power cut, and what was durable, read from the shadow directory. */
export interface CrashImage {
  root: string;
  block: number;
  /** Directory (absolute) -> name -> key, covered regular files only. */
  durable: Map<string, Map<string, Key>>;
  current: Map<string, Map<string, Key>>;
  /** Durable contents by key (absent: never synced, nothing durable). */
  durableData: Map<Key, Buffer>;
  currentData: Map<Key, Buffer>;
  /** Every unsynced change, in a stable order. */
  changes: Change[];
}

/** One unsynced change: persisted or dropped as a whole (a data change is one block). */
export interface Change {
  id: number;
  kind: 'create' | 'unlink' | 'rename' | 'replace' | 'append' | 'overwrite' | 'truncate';
  /** The directory and name it concerns (data changes: a current name of the file). */
  dir: string;
  name: string;
  /** rename: the name it came from. */
  from?: { dir: string; name: string };
  key?: Key;
  /** Data changes: the block index and byte range. */
  block?: number;
  start?: number;
  end?: number;
}

const keyOf = (st: BigIntStats): Key => {
  const ns = st.birthtimeNs;
  return `${st.ino.toString(16)}-${(ns / 1_000_000_000n).toString(16)}.${(ns % 1_000_000_000n).toString(16)}`;
};

/** glibc's major()/minor() of a dev_t. */
const devName = (dev: bigint): string => {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major.toString(16)}.${minor.toString(16)}`;
};

function walkDirs(dir: string, out: string[], depth = 0): void {
  out.push(dir);
  if (depth >= 64) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walkDirs(join(dir, e.name), out, depth + 1);
}

/** "<key>/<name>\0" records (shadow.h). */
function readEntries(file: string): Map<string, Key> {
  const out = new Map<string, Key>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const rec of text.split('\0')) {
    const slash = rec.indexOf('/');
    if (slash > 0) out.set(rec.slice(slash + 1), rec.slice(0, slash));
  }
  return out;
}

/** Reads the crash image under root (before the power cut) and the durable state from shadowDir. */
export function readCrashImage(root: string, shadowDir: string, covered: (path: string) => boolean, block: number): CrashImage {
  const dirs: string[] = [];
  walkDirs(root, dirs);
  const durable = new Map<string, Map<string, Key>>();
  const current = new Map<string, Map<string, Key>>();
  const durableData = new Map<Key, Buffer>();
  const currentData = new Map<Key, Buffer>();
  const shadowFiles = new Set(readdirSync(shadowDir));
  for (const dir of dirs) {
    const st = statSync(dir, { bigint: true });
    const dev = devName(st.dev);
    durable.set(dir, readEntries(join(shadowDir, `d-${dev}-${keyOf(st)}`)));
    const names = new Map<string, Key>();
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (!e.isFile() || !covered(path)) continue;
      const fst = statSync(path, { bigint: true });
      const key = keyOf(fst);
      names.set(e.name, key);
      currentData.set(key, readFileSync(path));
    }
    current.set(dir, names);
    for (const key of [...names.values(), ...durable.get(dir)!.values()]) {
      const f = `f-${dev}-${key}`;
      if (!durableData.has(key) && shadowFiles.has(f)) durableData.set(key, readFileSync(join(shadowDir, f)));
    }
  }
  const image: CrashImage = { root, block, durable, current, durableData, currentData, changes: [] };
  image.changes = findChanges(image);
  return image;
}

/** The unsynced changes: what differs between the durable state and the state at the crash. */
function findChanges(img: CrashImage): Change[] {
  const changes: Omit<Change, 'id'>[] = [];
  const durableNameOf = new Map<Key, { dir: string; name: string }>();
  for (const [dir, names] of img.durable) for (const [name, key] of names) durableNameOf.set(key, { dir, name });
  const currentHas = (dir: string, name: string, key: Key): boolean => img.current.get(dir)?.get(name) === key;
  const renamedAway = new Set<string>();
  for (const [dir, names] of img.current) {
    for (const [name, key] of [...names].sort()) {
      const was = img.durable.get(dir)?.get(name);
      if (was === key) continue;
      const src = durableNameOf.get(key);
      const from = src && !currentHas(src.dir, src.name, key) ? src : undefined;
      if (from) renamedAway.add(`${from.dir}\0${from.name}`);
      const kind = from ? 'rename' : was !== undefined ? 'replace' : 'create';
      changes.push({ kind, dir, name, key, ...(from && { from }) });
    }
  }
  for (const [dir, names] of img.durable) {
    for (const [name] of [...names].sort()) {
      if (img.current.get(dir)?.has(name) || renamedAway.has(`${dir}\0${name}`)) continue;
      changes.push({ kind: 'unlink', dir, name, key: names.get(name) as Key });
    }
  }
  for (const [dir, names] of img.current) {
    for (const [name, key] of [...names].sort()) {
      if ([...names].findIndex(([, k]) => k === key) !== [...names].findIndex(([n]) => n === name)) continue; // one name per file
      const base = img.durableData.get(key) ?? Buffer.alloc(0);
      const cur = img.currentData.get(key) as Buffer;
      const B = img.block;
      for (let i = 0; i * B < cur.length; i++) {
        const start = i * B;
        const end = Math.min(cur.length, start + B);
        const old = base.subarray(start, Math.min(base.length, start + B));
        if (old.length === end - start && old.equals(cur.subarray(start, end))) continue;
        const appended = end > base.length && base.subarray(start, base.length).equals(cur.subarray(start, Math.min(end, base.length)));
        changes.push({ kind: appended ? 'append' : 'overwrite', dir, name, key, block: i, start, end });
      }
      if (cur.length < base.length) changes.push({ kind: 'truncate', dir, name, key, start: cur.length, end: base.length });
    }
  }
  return changes.map((c, id) => ({ id, ...c }));
}

const isNamespace = (c: Change): boolean => c.kind === 'create' || c.kind === 'unlink' || c.kind === 'rename' || c.kind === 'replace';

/** The set of changes a state persists, closed under the model's rules (fs-models.ts). */
export function closeUnderModel(img: CrashImage, model: FsModel, persisted: ReadonlySet<number>): Set<number> {
  const out = new Set(persisted);
  const ns = img.changes.filter(isNamespace);
  if (model.namespaceOrder === 'order' && ns.some((c) => out.has(c.id))) for (const c of ns) out.add(c.id);
  if (model.renameFlushesData) {
    for (const c of ns) {
      if (!out.has(c.id) || !(c.kind === 'replace' || (c.kind === 'rename' && img.durable.get(c.dir)?.has(c.name)))) continue;
      for (const d of img.changes) if (!isNamespace(d) && d.key === c.key) out.add(d.id);
    }
  }
  if (model.appendsAsPrefix) {
    for (const c of img.changes) {
      if (c.kind !== 'append' || !out.has(c.id)) continue;
      for (const d of img.changes) if (d.kind === 'append' && d.key === c.key && (d.block as number) < (c.block as number)) out.add(d.id);
    }
  }
  return out;
}

/** A crash state: which changes persist. */
export interface CrashState {
  /** Index in the point's candidate list (0: pessimistic); `--state N` replays it. */
  index: number;
  kind: 'pessimistic' | 'prefix' | 'torn' | 'reorder' | 'subset' | 'flushed';
  persisted: Set<number>;
}

/** Runs of consecutive blocks of the same kind in the same file: the writes, as far as the blocks tell. */
function writeRuns(img: CrashImage): Change[][] {
  const runs: Change[][] = [];
  for (const c of img.changes) {
    if (c.kind !== 'append' && c.kind !== 'overwrite') continue;
    const last = runs.at(-1)?.at(-1);
    if (last && last.key === c.key && last.kind === c.kind && (last.block as number) + 1 === c.block) runs.at(-1)!.push(c);
    else runs.push([c]);
  }
  return runs;
}

/**
 * Every candidate state the model allows from the families explored (deterministic order, duplicates removed):
 * the pessimistic state first, then whole changes persisted alone (prefix), each write torn at block boundaries
 * (torn), a later block of a write without the earlier ones (reorder), everything but one change (subset), and
 * everything (flushed).
 */
export function candidateStates(img: CrashImage, model: FsModel): CrashState[] {
  const out: CrashState[] = [];
  const seen = new Set<string>();
  const add = (kind: CrashState['kind'], ids: Iterable<number>): void => {
    const persisted = closeUnderModel(img, model, new Set(ids));
    const sig = [...persisted].sort((a, b) => a - b).join(',');
    if (seen.has(sig)) return;
    seen.add(sig);
    out.push({ index: out.length, kind, persisted });
  };
  add('pessimistic', []);
  const ns = img.changes.filter(isNamespace);
  const runs = writeRuns(img);
  if (model.namespaceOrder === 'order') {
    if (ns.length) add('prefix', ns.map((c) => c.id));
  } else {
    for (const c of ns) add('prefix', [c.id]);
  }
  for (const run of runs) add('prefix', run.map((c) => c.id));
  for (const run of runs) for (let j = 1; j < run.length; j++) add('torn', run.slice(0, j).map((c) => c.id));
  for (const run of runs) for (let j = 1; j < run.length; j++) add('reorder', [(run[j] as Change).id]);
  const all = img.changes.map((c) => c.id);
  for (const c of img.changes.filter((x) => x.kind === 'truncate')) add('prefix', [c.id]);
  for (const run of runs) for (let j = 1; j < run.length; j++) add('torn', all.filter((id) => !run.slice(j).some((c) => c.id === id)));
  for (const c of ns) add('subset', all.filter((id) => id !== c.id));
  for (const run of runs) add('subset', all.filter((id) => !run.some((c) => c.id === id)));
  add('flushed', all);
  return out;
}

/** Up to n of the candidates besides the pessimistic one, chosen by the seed (n = Infinity: all, capped). */
export function chooseStates(candidates: CrashState[], n: number, seed: bigint): CrashState[] {
  return seededPick(candidates.slice(1), n, seed).sort((a, b) => a.index - b.index);
}

/** The entries and contents a state leaves: directory -> name -> contents. */
function stateFiles(img: CrashImage, persisted: ReadonlySet<number>): Map<string, Map<string, Buffer>> {
  const entries = new Map<string, Map<string, Key>>();
  for (const [dir, names] of img.durable) entries.set(dir, new Map(names));
  for (const dir of img.current.keys()) if (!entries.has(dir)) entries.set(dir, new Map());
  for (const c of img.changes) {
    if (!persisted.has(c.id) || !isNamespace(c)) continue;
    const names = entries.get(c.dir) as Map<string, Key>;
    if (c.kind === 'unlink') names.delete(c.name);
    else names.set(c.name, c.key as Key);
    if (c.from && entries.get(c.from.dir)?.get(c.from.name) === c.key) entries.get(c.from.dir)?.delete(c.from.name);
  }
  const contents = new Map<Key, Buffer>();
  const contentOf = (key: Key): Buffer => {
    const cached = contents.get(key);
    if (cached) return cached;
    const base = img.durableData.get(key) ?? Buffer.alloc(0);
    const cur = img.currentData.get(key);
    let size = base.length;
    const blocks = img.changes.filter((c) => c.key === key && persisted.has(c.id) && !isNamespace(c));
    for (const c of blocks) {
      if (c.kind === 'truncate') size = c.start as number;
      else if (c.kind === 'append') size = Math.max(size, c.end as number);
    }
    const buf = Buffer.alloc(size);
    base.copy(buf, 0, 0, Math.min(size, base.length));
    for (const c of blocks) if (cur && c.kind !== 'truncate') cur.copy(buf, c.start as number, c.start as number, Math.min(c.end as number, size));
    contents.set(key, buf);
    return buf;
  };
  const out = new Map<string, Map<string, Buffer>>();
  for (const [dir, names] of entries) out.set(dir, new Map([...names].map(([name, key]) => [name, contentOf(key)])));
  return out;
}

/**
 * Writes a state into dir, a fresh copy of the pessimistic directory (same layout as the image's root):
 * covered names the state does not hold are removed, the others get the state's contents.
 */
export function writeState(img: CrashImage, persisted: ReadonlySet<number>, dir: string, covered: (path: string) => boolean): void {
  const pessimistic = stateFiles(img, new Set());
  for (const [srcDir, names] of stateFiles(img, persisted)) {
    const target = join(dir, relative(img.root, srcDir));
    mkdirSync(target, { recursive: true });
    for (const e of readdirSync(target, { withFileTypes: true })) {
      if (e.isFile() && !names.has(e.name) && covered(join(srcDir, e.name))) unlinkSync(join(target, e.name));
    }
    for (const [name, data] of names) {
      if (pessimistic.get(srcDir)?.get(name)?.equals(data)) continue;
      rmSync(join(target, name), { force: true });
      writeFileSync(join(target, name), data);
    }
  }
}

/** A change in words, relative to the root: "append wal.log [4096,8192)", "create kv.db", ... */
export function describeChange(img: CrashImage, c: Change): string {
  const path = (d: string, n: string): string => relative(img.root, join(d, n)) || basename(n);
  switch (c.kind) {
    case 'rename':
      return `rename ${path(c.from!.dir, c.from!.name)} -> ${path(c.dir, c.name)}`;
    case 'append':
    case 'overwrite':
    case 'truncate':
      return `${c.kind} ${path(c.dir, c.name)} [${c.start},${c.end})`;
    default:
      return `${c.kind} ${path(c.dir, c.name)}`;
  }
}

/** The directory of a change, relative to the root ("." for the root). */
export function changeDir(img: CrashImage, c: Change): string {
  return `${relative(img.root, c.dir) || '.'}/`;
}

/** Its file, relative to the root. */
export function changeFile(img: CrashImage, c: Change): string {
  return relative(img.root, join(c.dir, c.name));
}

