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
