/**
 * A value serialised once into shared memory for worker threads. `workerData` is cloned for each
 * worker on the main thread, one after the other, before the worker can start: the compiled rule
 * set (several MB) cost one V8 serialisation per worker there. Shared, it is serialised once, and
 * each worker decodes it in its own thread, in parallel with the others.
 *
 * Plain data (objects, arrays, strings, finite numbers, booleans, null) is written as JSON with
 * every non-ASCII character escaped: a worker reads it back as a one-byte string and `JSON.parse`
 * is about twice as fast as `v8.deserialize` on the rule set (3,800 rules: 80–150 ms against
 * 160–400 ms). A property whose value is `undefined` is left out, as JSON does. Anything else
 * (a Map, a Date, a class instance, NaN, -0, `undefined` in an array) is written with
 * `v8.serialize` and comes back exactly. The first byte says which.
 */
import { deserialize, serialize } from 'node:v8';

/** Bytes in a SharedArrayBuffer (cloning them into a worker shares them, not copies them). */
export interface SharedValue<T> {
  readonly bytes: Uint8Array;
  /** The type the bytes hold (compile time only). */
  readonly of?: T;
}

const JSON_TAG = 0x4a; // 'J'
const V8_TAG = 0x56; // 'V'

class NotPlain extends Error {}

/** JSON.stringify's replacer: refuse what JSON would not give back as it was. */
function plainOnly(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  switch (typeof raw) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(raw) || Object.is(raw, -0)) throw new NotPlain();
      return value;
    case 'undefined':
      if (Array.isArray(this)) throw new NotPlain();
      return value;
    case 'object': {
      if (raw === null || Array.isArray(raw)) return value;
      const proto = Object.getPrototypeOf(raw) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new NotPlain();
      // JSON would write what its toJSON gives instead.
      if (typeof (raw as { toJSON?: unknown }).toJSON === 'function') throw new NotPlain();
      return value;
    }
    default:
      throw new NotPlain();
  }
}

/** Every code unit above 0x7e as a `\uXXXX` escape: the text is then ASCII, one byte a character. */
const escapeWide = (text: string) => text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The bytes `readShared` takes back (e.g. to keep in a cache and share later with `shareBytes`). */
export function encodeValue(value: unknown): Uint8Array {
  let json: string | undefined;
  try {
    json = JSON.stringify(value, plainOnly);
  } catch (e) {
    if (!(e instanceof NotPlain)) throw e;
  }
  if (json === undefined) {
    const v8 = serialize(value);
    const out = new Uint8Array(v8.length + 1);
    out[0] = V8_TAG;
    out.set(v8, 1);
    return out;
  }
  const ascii = escapeWide(json);
  const out = Buffer.allocUnsafe(ascii.length + 1);
  out[0] = JSON_TAG;
  out.write(ascii, 1, 'latin1');
  return out;
}

export function shareValue<T>(value: T): SharedValue<T> {
  return shareBytes<T>(encodeValue(value));
}

/** Bytes `encodeValue` made of a `T` (e.g. kept in a cache), put in shared memory. */
export function shareBytes<T>(plain: Uint8Array): SharedValue<T> {
  const bytes = new Uint8Array(new SharedArrayBuffer(plain.length));
  bytes.set(plain);
  return { bytes };
}

/** The value of bytes `encodeValue` made (shared or not). */
export function decodeValue<T>(bytes: Uint8Array): T {
  // A Buffer view on the bytes, not a copy.
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (view[0]) {
    case JSON_TAG:
      return JSON.parse(view.toString('latin1', 1)) as T;
    case V8_TAG:
      return deserialize(view.subarray(1)) as T;
    default:
      throw new Error(`shared value: unknown encoding ${view.length ? `0x${view[0]!.toString(16)}` : '(no bytes)'}`);
  }
}

export function readShared<T>(s: SharedValue<T>): T {
  return decodeValue(s.bytes);
}
