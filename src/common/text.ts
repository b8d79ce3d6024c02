/**
 * Text helpers shared by messages and reports: a value as shown in an error, an error's first line, the last
 * lines or characters of a program's output.
 */

/** A value as shown in error messages: JSON-ish, truncated. */
export function show(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'nothing';
  else if (typeof value === 'bigint') text = value.toString();
  else if (typeof value === 'number') text = String(value);
  else if (Array.isArray(value)) text = value.length === 0 ? '[]' : safeJson(value);
  else text = safeJson(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

/** First line of an error's message (or of any value as text), trimmed. */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').trim();
}

/** The last `count` lines of a program's output (trailing blank lines dropped; all blank lines too unless keepBlank). */
export function tailLines(text: string, count: number, keepBlank = true): string[] {
  const lines = (keepBlank ? text.trimEnd() : text.trim()).split('\n');
  return (keepBlank ? lines : lines.filter((l) => l !== '')).slice(-count);
}

/** The last `max` characters of a text, marked `[...]` when cut. */
export function tailChars(text: string, max: number): string {
  return text.length > max ? `[...]${text.slice(-max)}` : text;
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short words. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((d[i - 1]?.[j] ?? 0) + 1, (d[i]?.[j - 1] ?? 0) + 1, (d[i - 1]?.[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (d[i - 2]?.[j - 2] ?? 0) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return d[a.length]?.[b.length] ?? 0;
}

/**
 * The known word closest to `word` (case-insensitive), when it is close enough to be what was meant: at most
 * a quarter of its letters off (at least one), or `word` is a prefix of exactly one known word.
 */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  const prefixed: string[] = [];
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
    if (lower.length >= 2 && candidate.toLowerCase().startsWith(lower)) prefixed.push(candidate);
  }
  if (best !== undefined && bestDistance > 0 && bestDistance <= Math.max(1, Math.floor(word.length / 4))) return best;
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** ` (did you mean "x"?)`, or "" when nothing known is close to `word`. */
export function didYouMean(word: string, known: Iterable<string>, quote = (s: string) => JSON.stringify(s)): string {
  const guess = closest(word, known);
  return guess === undefined ? '' : ` (did you mean ${quote(guess)}?)`;
}
