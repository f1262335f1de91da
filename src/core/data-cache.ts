/**
 * A cache of validated data files (data/domain.yml and the like): parsing a data file with
 * positions and compiling its JSON Schema costs every `hunt` and `serve` a few hundred
 * milliseconds at start, for files that rarely change. The key is a hash of the file's text, the
 * kind of data, a salt the caller gives (its schema) and the YAML loader's build, so an edited
 * file, a new schema or a new parser reads and validates afresh; only data that passed
 * validation is stored. Entries are V8-serialised (exact for every value YAML gives) and written
 * atomically.
 *
 * Like the rule cache (src/sigma/cache.ts, which shares its folder) it can only save time: any
 * problem reading or writing it falls back to the full read, and `FIREBREAK_NO_CACHE=1` turns it
 * off. It keeps the 16 newest entries.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';

const FORMAT = 1;
const KEEP = 16;

/** The cache folder: `$FIREBREAK_CACHE_DIR`, else `$XDG_CACHE_HOME/firebreak`, else `~/.cache/firebreak`. */
export function cacheDir(): string {
  const env = process.env;
  if (env.FIREBREAK_CACHE_DIR) return env.FIREBREAK_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'firebreak');
}

/**
 * `read()` (parse and validate `text`; throws on bad data), or what it returned before for the
 * same text, kind and salt. What `read` returns must be plain data (no functions or classes).
 */
export function cachedData<T>(kind: string, salt: string, text: string, read: () => T): T {
  if (process.env.FIREBREAK_NO_CACHE === '1') return read();
  const key = createHash('sha256').update(`firebreak-data-cache ${FORMAT}\0${kind}\0${salt}\0${parserStamp()}\0`).update(text).digest('hex').slice(0, 32);
  const file = join(cacheDir(), `data-${key}.bin`);
  try {
    return deserialize(readFileSync(file)) as T;
  } catch {
    // no entry (or an unreadable one): read it
  }
  const data = read();
  storeEntry(file, data, 'data', KEEP);
  return data;
}

/**
 * The YAML loader's build (size and time of its compiled module): a new Firebreak whose parse
 * differs never reads data an older one cached, as the rule cache's key does for the rules.
 */
function parserStamp(): string {
  return moduleStamp(new URL('./yaml.js', import.meta.url));
}

/** A compiled module's build as a cache key part: its size and time ('' when it cannot be read). */
export function moduleStamp(url: URL): string {
  try {
    const st = statSync(fileURLToPath(url));
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

/**
 * Write `value` V8-serialised to the cache entry `file` (atomically: a temporary file renamed),
 * then keep only the `keep` newest entries named `<prefix>-<hex>.bin`. Failing to write (a
 * read-only home, a full disk) only costs the next start its time: it is not an error.
 */
export function storeEntry(file: string, value: unknown, prefix: string, keep: number): void {
  storeBytes(file, serialize(value), prefix, keep);
}

/** `storeEntry` for bytes already serialised. */
export function storeBytes(file: string, bytes: Uint8Array, prefix: string, keep: number): void {
  try {
    const dir = cacheDir();
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
    const name = new RegExp(`^${prefix}-[0-9a-f]+\\.bin$`);
    const entries = readdirSync(dir)
      .filter((f) => name.test(f))
      .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const e of entries.slice(keep)) rmSync(join(dir, e.f), { force: true });
  } catch {
    // see above
  }
}
