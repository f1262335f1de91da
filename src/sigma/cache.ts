/**
 * A cache of parsed rule packs, so a hunt does not spend seconds re-reading 3,800 YAML files that
 * have not changed. The key covers everything the parse depends on: every rule file's path, size,
 * modification time and inode, the placeholder values, and the compiled parser modules
 * themselves, src/core included (a new Firebreak build never reads an old cache). What happens
 * after parsing (routing by data/logsources.yml, compiling to closures) is not cached. Entries are V8-serialised (the
 * same structured clone the worker threads use, exact for every value) and written atomically.
 *
 * The cache can only save time: any problem reading or writing it falls back to parsing, and
 * `FIREBREAK_NO_CACHE=1` turns it off. It lives in `cacheDir()` (src/core/data-cache.ts:
 * `$FIREBREAK_CACHE_DIR`, else `$XDG_CACHE_HOME/firebreak`, else `~/.cache/firebreak`) and keeps
 * the 8 newest entries.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { cacheDir, storeEntry } from '../core/data-cache.js';
import { RuleError } from '../core/errors.js';
import { listRuleFileStats, loadRules, type RuleCollection } from './collection.js';
import type { SigmaRule } from './model.js';
import type { ParseOptions } from './parse.js';

const FORMAT = 3;
const KEEP = 8;

/**
 * The compiled modules the parse depends on, by size and time: this folder and src/core (YAML
 * loading, limits, errors), which is every module the parser imports (the layer rules keep it
 * so: src/sigma imports only src/core).
 */
function parserStamp(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return [here, join(here, '..', 'core')]
    .flatMap((dir) =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.js'))
        .sort()
        .map((f) => {
          const st = statSync(join(dir, f));
          return `${dir}/${f}:${st.size}:${st.mtimeMs}`;
        }),
    )
    .join('|');
}

function key(paths: readonly string[], opts: ParseOptions): string | undefined {
  const h = createHash('sha256');
  h.update(`firebreak-rules-cache ${FORMAT}\n${parserStamp()}\n`);
  let files: { path: string; st: Stats }[];
  try {
    files = listRuleFileStats(paths);
  } catch {
    return undefined; // let the parse report the unreadable path
  }
  for (const { path: f, st } of files) h.update(`${f}\0${st.size}\0${st.mtimeMs}\0${st.ino}\n`);
  const ph = opts.placeholders ? [...opts.placeholders].sort((a, b) => (a[0] < b[0] ? -1 : 1)) : [];
  h.update(JSON.stringify(ph));
  return h.digest('hex').slice(0, 32);
}

interface Entry {
  /** The rules without their searches (null in their place: see `searches`). */
  rules: RuleCollection['rules'];
  /** The rules' searches, in the same order, serialised on their own: most readers never need them (see `lazySearches`). */
  searches: Uint8Array;
  /** sha256 of `searches`, checked when the entry is read: bytes read back later must not fail then. */
  searchesDigest: string;
  filters: RuleCollection['filters'];
  correlations: RuleCollection['correlations'];
  errors: { code: string; message: string; location: RuleError['location'] }[];
  files: number;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** `loadRules`, through the cache. */
export function loadRulesCached(paths: readonly string[], opts: ParseOptions = {}): RuleCollection {
  if (process.env.FIREBREAK_NO_CACHE === '1') return loadRules(paths, opts);
  const k = key(paths, opts);
  if (!k) return loadRules(paths, opts);
  const file = join(cacheDir(), `rules-${k}.bin`);
  try {
    const e = deserialize(readFileSync(file)) as Entry;
    if (sha256(e.searches) !== e.searchesDigest) throw new Error('damaged entry');
    lazySearches(e.rules, e.searches);
    return { rules: e.rules, filters: e.filters, correlations: e.correlations, errors: e.errors.map((x) => new RuleError(x.code, x.message, x.location)), files: e.files, cacheKey: k };
  } catch {
    // no entry (or an unreadable one): parse
  }
  const col = loadRules(paths, opts);
  const searches = serialize(col.rules.map((r) => r.searches));
  const entry: Entry = {
    // Each rule keeps its properties' order (its searches are null in place).
    rules: col.rules.map((r) => ({ ...r, searches: null as unknown as SigmaRule['searches'] })),
    searches,
    searchesDigest: sha256(searches),
    filters: col.filters,
    correlations: col.correlations,
    errors: col.errors.map((e) => ({ code: e.code, message: e.message, location: e.location })),
    files: col.files,
  };
  storeEntry(file, entry, 'rules', KEEP);
  return { ...col, cacheKey: k };
}

/**
 * Give cached rules their searches when first asked for. The searches are most of a rule pack
 * (seven of its twelve megabytes for SigmaHQ), and a hunt's main thread never reads them: the
 * worker threads match, from bytes of their own (src/pipeline/worker-rules.ts). Deserialising
 * them anyway cost every start about a quarter of a second, and every garbage collection of the
 * main thread afterwards had them to walk. The first read of any rule's searches reads them all
 * back and makes them plain properties again; writing one replaces it.
 */
function lazySearches(rules: SigmaRule[], bytes: Uint8Array): void {
  let all: SigmaRule['searches'][] | undefined;
  const plain = (r: SigmaRule, value: SigmaRule['searches']) => Object.defineProperty(r, 'searches', { value, writable: true, enumerable: true, configurable: true });
  const load = (): SigmaRule['searches'][] => {
    if (!all) {
      all = deserialize(bytes) as SigmaRule['searches'][];
      // A rule whose searches were written since keeps what was written.
      rules.forEach((r, i) => Object.getOwnPropertyDescriptor(r, 'searches')?.get && plain(r, all![i]!));
    }
    return all;
  };
  rules.forEach((r, i) =>
    Object.defineProperty(r, 'searches', {
      get: () => load()[i]!,
      set: (v: SigmaRule['searches']) => plain(r, v),
      enumerable: true,
      configurable: true,
    }),
  );
}
