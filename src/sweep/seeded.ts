/** Seeded choices of a sweep: splitmix64 drives a partial Fisher-Yates shuffle. */

/** n of items (all when n >= items.length), chosen by the seed; the order of the picks is the shuffle's. */
export function seededPick<T>(items: readonly T[], n: number, seed: bigint): T[] {
  const all = [...items];
  if (n >= all.length) return all;
  let state = seed & 0xffff_ffff_ffff_ffffn;
  const next = (): bigint => {
    state = (state + 0x9e3779b97f4a7c15n) & 0xffff_ffff_ffff_ffffn;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffff_ffff_ffff_ffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffff_ffff_ffff_ffffn;
    return z ^ (z >> 31n);
  };
  for (let i = 0; i < n; i++) {
    const j = i + Number(next() % BigInt(all.length - i));
    [all[i], all[j]] = [all[j] as T, all[i] as T];
  }
  return all.slice(0, n);
}
