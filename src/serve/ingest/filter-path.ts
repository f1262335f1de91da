/**
 * Elasticsearch's `filter_path` response filtering: comma-separated dotted paths with `*` (any
 * characters within one name) and `**` (any depth); a leading `-` excludes. Arrays are transparent
 * (a path applies to each element); objects left empty are dropped, as Elasticsearch does. Beats and
 * Logstash ask for `errors,items.*.error,items.*.status` to keep bulk answers small.
 */
type Pattern = string[];

const globCache = new Map<string, RegExp>();
function nameMatches(glob: string, name: string): boolean {
  if (glob === '*' || glob === name) return true;
  if (!glob.includes('*')) return false;
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp(
      '^' +
        glob
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*') +
        '$',
      's',
    );
    if (globCache.size < 1000) globCache.set(glob, re);
  }
  return re.test(name);
}

const DROP = Symbol('drop');

/** Patterns that continue below `key` (an empty pattern means: keep everything below). */
function descend(patterns: Pattern[], key: string): { whole: boolean; rest: Pattern[] } {
  let whole = false;
  const rest: Pattern[] = [];
  for (const p of patterns) {
    const [head, ...tail] = p;
    if (head === '**') {
      rest.push(p); // ** may span this level
      const below = descend([tail], key);
      if (below.whole) whole = true;
      rest.push(...below.rest);
    } else if (head !== undefined && nameMatches(head, key)) {
      if (!tail.length) whole = true;
      else rest.push(tail);
    }
  }
  return { whole, rest };
}

function include(v: unknown, patterns: Pattern[]): unknown {
  if (Array.isArray(v)) {
    const out = v.map((x) => include(x, patterns)).filter((x) => x !== DROP);
    return out.length ? out : DROP;
  }
  if (v === null || typeof v !== 'object') return DROP;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const { whole, rest } = descend(patterns, k);
    const kept: unknown = whole ? x : rest.length ? include(x, rest) : DROP;
    if (kept !== DROP) {
      out[k] = kept;
      any = true;
    }
  }
  return any ? out : DROP;
}

function exclude(v: unknown, patterns: Pattern[]): unknown {
  if (Array.isArray(v)) return v.map((x) => exclude(x, patterns)).filter((x) => x !== DROP);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const { whole, rest } = descend(patterns, k);
    if (whole) continue;
    const kept: unknown = rest.length ? exclude(x, rest) : x;
    if (kept !== DROP) out[k] = kept;
  }
  return Object.keys(out).length || !Object.keys(v).length ? out : DROP;
}

/** Applies a `filter_path` value to a response body. */
export function filterPath(body: unknown, spec: string): unknown {
  const inc: Pattern[] = [];
  const exc: Pattern[] = [];
  for (const raw of spec.split(',')) {
    const s = raw.trim();
    if (!s) continue;
    if (s.startsWith('-')) exc.push(s.slice(1).split('.'));
    else inc.push(s.split('.'));
  }
  let out = inc.length ? include(body, inc) : body;
  if (out !== DROP && exc.length) out = exclude(out, exc);
  return out === DROP ? {} : out;
}
