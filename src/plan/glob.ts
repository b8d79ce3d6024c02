/**
 * Syntax of a rule's `path` glob (matched by the C core against the file an fd refers to, or the path being
 * opened):
 *   *        any run of characters within one path segment (no "/")
 *   **       any number of whole segments; only as a segment of its own ("a/**\/b", "**\/x", "a/**")
 *   ?        one character other than "/"
 *   [abc]    one character of the set; ranges "[a-z]"; "[!a-z]" or "[^a-z]" negates; "]" first is literal
 *   \c       the character c itself (escapes *, ?, [ and \)
 * A glob without "/" is matched against the file's base name ("*.wal" matches /any/dir/x.wal); one with "/"
 * against the whole absolute path. At most 253 bytes of UTF-8, no NUL or other control character (the wire
 * format refuses them). This check is stricter than the C matcher (native/core/decide.c), which treats an
 * unclosed "[" literally and "a**b" like "a*b" across "/".
 */

/** Longest glob, in UTF-8 bytes (the wire format stores 254 bytes with a NUL). */
export const GLOB_MAX_BYTES = 253;

/** Checks a glob's syntax: returns an error phrase, or undefined when it is valid. */
export function checkGlob(pattern: string): string | undefined {
  if (pattern === '') return 'empty glob';
  if (pattern.includes('\0')) return 'glob contains a NUL byte';
  const control = /[\u0001-\u001f\u007f]/.exec(pattern);
  if (control) return `glob contains a control character at offset ${control.index}`;
  const bytes = Buffer.byteLength(pattern, 'utf8');
  if (bytes > GLOB_MAX_BYTES) return `glob is ${bytes} bytes long (at most ${GLOB_MAX_BYTES})`;
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '\\') {
      if (i + 1 >= chars.length) return 'glob ends with a lone "\\"';
      i++;
    } else if (c === '*') {
      if (chars[i + 1] !== '*') continue;
      const start = i;
      while (chars[i + 1] === '*') i++;
      if (i - start > 1) return `"${'*'.repeat(i - start + 1)}" at offset ${start} (use "*" or "**")`;
      const before = start === 0 || chars[start - 1] === '/';
      const after = i + 1 === chars.length || chars[i + 1] === '/';
      if (!before || !after) return `"**" at offset ${start} must be a whole path segment (like "a/**/b")`;
    } else if (c === '[') {
      const end = classEnd(chars, i);
      if (typeof end === 'string') return end;
      i = end;
    }
  }
  return undefined;
}

/** Index of the "]" closing the class opened at chars[open], or an error phrase. */
function classEnd(chars: string[], open: number): number | string {
  let i = open + 1;
  if (chars[i] === '!' || chars[i] === '^') i++;
  const first = i;
  let prev: string | undefined;
  for (; i < chars.length; i++) {
    let c = chars[i] ?? '';
    if (c === ']' && i > first) return i;
    if (c === '/') return `"[" at offset ${open} contains "/"`;
    if (c === '\\') {
      i++;
      c = chars[i] ?? '';
      if (c === '') break;
    } else if (c === '-' && prev !== undefined && chars[i + 1] !== undefined && chars[i + 1] !== ']') {
      let hi = chars[i + 1] ?? '';
      if (hi === '\\') hi = chars[i + 2] ?? '';
      if ((hi.codePointAt(0) ?? 0) < (prev.codePointAt(0) ?? 0)) {
        return `range "${prev}-${hi}" at offset ${open} is reversed`;
      }
      i += chars[i + 1] === '\\' ? 2 : 1;
      prev = undefined;
      continue;
    }
    prev = c;
  }
  return `"[" at offset ${open} is not closed`;
}
