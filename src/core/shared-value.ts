/**
 * A value serialised once into shared memory for worker threads. `workerData` is cloned for each
 * worker on the main thread, one after the other, before the worker can start: the compiled rule
 * set (several MB) cost one V8 serialisation per worker there. Shared, it is serialised once, and
 * each worker deserialises it in its own thread, in parallel with the others.
 */
import { deserialize, serialize } from 'node:v8';

/** Bytes in a SharedArrayBuffer (cloning them into a worker shares them, not copies them). */
export interface SharedValue<T> {
  readonly bytes: Uint8Array;
  /** The type the bytes hold (compile time only). */
  readonly of?: T;
}

export function shareValue<T>(value: T): SharedValue<T> {
  return shareBytes<T>(serialize(value));
}

/** Bytes `serialize` made of a `T` (e.g. kept in a cache), put in shared memory. */
export function shareBytes<T>(plain: Uint8Array): SharedValue<T> {
  const bytes = new Uint8Array(new SharedArrayBuffer(plain.length));
  bytes.set(plain);
  return { bytes };
}

export function readShared<T>(s: SharedValue<T>): T {
  // v8.deserialize takes a Buffer; this one is a view on the shared bytes, not a copy.
  return deserialize(Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength)) as T;
}
