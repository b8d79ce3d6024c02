/**
 * The explanation of a failing crash state, ALICE style: the state is reduced to the smallest difference from
 * the state where every unsynced change persisted ("flushed") that still fails, one group of changes at a time
 * (the namespace operations, one file's data), each try one verify run; what remains is told in words with the
 * model's rule behind it (fs-models.ts).
 */
import { changeDir, changeFile, closeUnderModel, describeChange, type Change, type CrashImage, type CrashState } from './crash-states.js';
import { lossRule, persistRule, type FsModel } from '../run/fs-models.js';

/** What the JSON says of a failing state (SweepFailure.state). */
export interface StateReport {
  kind: CrashState['kind'];
  /** Index among the point's candidate states (0: pessimistic): `--state N` replays it. */
  index: number;
  persisted: string[];
  dropped: string[];
  /** The smallest part of the difference from the flushed state that still fails (what the explanation tells). */
  culprit: string[];
}

/** At most this many verify runs reduce one failing state. */
export const MINIMIZE_TRIES = 12;

const isNamespace = (c: Change): boolean => c.kind === 'create' || c.kind === 'unlink' || c.kind === 'rename' || c.kind === 'replace';

function groupsOf(img: CrashImage, model: FsModel): Change[][] {
  const groups: Change[][] = [];
  const ns = img.changes.filter(isNamespace);
  if (model.namespaceOrder === 'order') {
    if (ns.length) groups.push(ns);
  } else {
    for (const c of ns) groups.push([c]);
  }
  const byKey = new Map<string, Change[]>();
  for (const c of img.changes) if (!isNamespace(c)) byKey.set(c.key as string, [...(byKey.get(c.key as string) ?? []), c]);
  groups.push(...byKey.values());
  return groups;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One group's difference from the flushed state, in words. */
function tellGroup(img: CrashImage, model: FsModel, group: Change[], persisted: ReadonlySet<number>): string[] {
  const lost = group.filter((c) => !persisted.has(c.id));
  if (lost.length === 0) return [];
  if (isNamespace(group[0] as Change)) {
    return lost.map((c) => `${describeChange(img, c)} was lost: ${lossRule(c.kind, model, changeFile(img, c), changeDir(img, c))}`);
  }
  const file = changeFile(img, group[0] as Change);
  const kept = group.filter((c) => persisted.has(c.id) && c.kind !== 'truncate');
  const bytes = (cs: Change[]): number => cs.reduce((n, c) => n + ((c.end as number) - (c.start as number)), 0);
  if (kept.length === 0) {
    const kind = lost.some((c) => c.kind === 'overwrite') ? 'overwrite' : lost.some((c) => c.kind === 'append') ? 'append' : 'truncate';
    return [`${file}: ${plural(bytes(lost), 'byte')} written since its last fsync were lost: ${lossRule(kind, model, file, changeDir(img, group[0] as Change))}`];
  }
  const firstLost = Math.min(...lost.map((c) => c.block ?? Infinity));
  const reordered = kept.some((c) => (c.block as number) > firstLost);
  const range = (cs: Change[]): string => cs.map((c) => `[${c.start},${c.end})`).join(' ');
  return reordered
    ? [`${file}: ${range(kept)} persisted while the earlier ${range(lost.filter((c) => (c.block ?? 0) < Math.max(...kept.map((k) => k.block as number))))} did not: ${persistRule('reorder', model)}`]
    : [`${file}: the write persisted only ${range(kept)} (${plural(kept.length, 'block')}), not ${range(lost)}: torn at a ${img.block}-byte block boundary: ${persistRule('torn', model)}`];
}

/**
 * Reduces a failing state and explains it. fails(persisted) verifies a state (true: the verify failed).
 */
export async function explainState(
  img: CrashImage,
  model: FsModel,
  state: CrashState,
  fails: (persisted: ReadonlySet<number>) => Promise<boolean>,
): Promise<{ report: StateReport; explanation: string; tries: number }> {
  const all = img.changes.map((c) => c.id);
  const full = closeUnderModel(img, model, new Set(all));
  const report: StateReport = {
    kind: state.kind,
    index: state.index,
    persisted: img.changes.filter((c) => state.persisted.has(c.id)).map((c) => describeChange(img, c)),
    dropped: img.changes.filter((c) => !state.persisted.has(c.id)).map((c) => describeChange(img, c)),
    culprit: [],
  };
  if (img.changes.length === 0) {
    return { report, tries: 0, explanation: 'nothing was left unsynced at this point: the crash itself (every process stopped here) leaves a state the verify rejects' };
  }
  let tries = 0;
  if (state.persisted.size === full.size || (tries++, await fails(full))) {
    return {
      report,
      tries,
      explanation: 'the verify fails even with every unsynced change persisted: the crash itself (every process stopped at this point), not the loss of unsynced data, leaves a state it rejects',
    };
  }
  let current = new Set(state.persisted);
  const groups = groupsOf(img, model);
  for (const g of groups) {
    if (tries >= MINIMIZE_TRIES || g.every((c) => current.has(c.id))) continue;
    const candidate = closeUnderModel(img, model, new Set([...current, ...g.map((c) => c.id)]));
    tries++;
    if (await fails(candidate)) current = candidate;
  }
  const sentences = groups.flatMap((g) => tellGroup(img, model, g, current));
  report.culprit = img.changes.filter((c) => !current.has(c.id)).map((c) => describeChange(img, c));
  const reduced = tries >= MINIMIZE_TRIES ? ` (reduction stopped after ${MINIMIZE_TRIES} verifies)` : '';
  return { report, tries, explanation: `${sentences.join('; ')}${reduced}` };
}
