/**
 * Sigma string values: wildcards and backslash escapes, exactly as the spec and pySigma define
 * them (spec "String Wildcard"/"Escape Character"; pySigma `SigmaString.__init__`).
 *
 * - `*` any run of characters, `?` one character.
 * - A backslash escapes only `*`, `?` and `\`; before anything else it is a literal backslash,
 *   so `C:\Windows` needs no escaping. A trailing lone backslash is literal.
 */
import type { StrPart } from './model.js';

/** Parse a rule string into literal runs and wildcards. */
export function parseSigmaString(s: string): StrPart[] {
  const parts: StrPart[] = [];
  let acc = '';
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      acc += c === '*' || c === '?' || c === '\\' ? c : '\\' + c;
      escaped = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (c === '*' || c === '?') {
      if (acc) parts.push(acc);
      acc = '';
      parts.push({ wildcard: c });
    } else {
      acc += c;
    }
  }
  if (escaped) acc += '\\';
  if (acc) parts.push(acc);
  return parts;
}

/** A plain literal (no wildcards) as parts. */
export function literal(s: string): StrPart[] {
  return s ? [s] : [];
}

export function hasWildcards(parts: readonly StrPart[]): boolean {
  return parts.some((p) => typeof p !== 'string');
}

/** The literal text when there are no wildcards, else undefined. */
export function plainText(parts: readonly StrPart[]): string | undefined {
  return hasWildcards(parts) ? undefined : (parts as readonly string[]).join('');
}

/** Render back to Sigma syntax (escaping literal `*`, `?`, and backslashes where needed). */
export function renderSigmaString(parts: readonly StrPart[]): string {
  return parts.map((p) => (typeof p === 'string' ? p.replace(/[*?]|\\(?=[*?\\]|$)/g, (m) => '\\' + m) : p.wildcard)).join('');
}

export const startsWithStar = (parts: readonly StrPart[]): boolean => {
  const p = parts[0];
  return p !== undefined && typeof p !== 'string' && p.wildcard === '*';
};
export const endsWithStar = (parts: readonly StrPart[]): boolean => {
  const p = parts[parts.length - 1];
  return p !== undefined && typeof p !== 'string' && p.wildcard === '*';
};

/** Concatenate, merging adjacent literals. */
export function concatParts(...lists: (readonly StrPart[])[]): StrPart[] {
  const out: StrPart[] = [];
  for (const list of lists)
    for (const p of list) {
      const last = out[out.length - 1];
      if (typeof p === 'string' && typeof last === 'string') out[out.length - 1] = last + p;
      else if (p !== '') out.push(p);
    }
  return out;
}

/** Translate a wildcard pattern into an anchored regular-expression source. */
export function partsToRegexSource(parts: readonly StrPart[]): string {
  let src = '^';
  for (const p of parts) {
    if (typeof p === 'string') src += p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else src += p.wildcard === '*' ? '[\\s\\S]*' : '[\\s\\S]';
  }
  return src + '$';
}
