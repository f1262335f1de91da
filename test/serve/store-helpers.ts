/**
 * Shared by the event-store tests: events to store, temporary data directories, and the two ways
 * to open the store (the store process the server uses, and DuckDB in this process), so one
 * contract suite runs against both.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEventStore, type EventStoreOptions } from '../../src/serve/store/events.js';
import type { EventStore, StoredEvent } from '../../src/serve/store/types.js';

export const DAY = 86_400_000;
/** Gentle on a shared machine; the bounds under test do not depend on it. */
export const TEST_MEMORY = 256 * 1024 * 1024;

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'fb-evstore-'));

export interface Adapter {
  name: string;
  open(dir: string, o?: EventStoreOptions): Promise<EventStore>;
}

export const PROCESS: Adapter = { name: 'store process', open: (dir, o) => openEventStore(dir, { threads: 1, memoryBytes: TEST_MEMORY, ...o }) };
export const IN_PROCESS: Adapter = { name: 'in-process', open: (dir, o) => openEventStore(dir, { threads: 1, memoryBytes: TEST_MEMORY, ...o, inProcess: true }) };
export const ADAPTERS: readonly Adapter[] = [PROCESS, IN_PROCESS];

/** One event; `at` is its own time (ms), or null for none; it arrived at `received` (default: now). */
export function ev(offset: number, at: number | null, fields: StoredEvent['fields'], o: Partial<StoredEvent> & { received?: number } = {}): StoredEvent {
  const { received, ...rest } = o;
  return {
    offset,
    source: 'beats',
    timestamp: at == null ? null : new Date(at).toISOString(),
    receivedAt: received ?? Date.now(),
    computer: 'WS001',
    channel: 'Security',
    provider: 'Microsoft-Windows-Security-Auditing',
    eventId: 4624,
    recordId: offset,
    fields,
    ...rest,
  };
}

/** Every stored event, oldest first (through scan). */
export async function all(store: EventStore): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  await store.scan('1970-01-01T00:00:00Z', '9999-12-31T00:00:00Z', (b) => void out.push(...b));
  return out;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; column?: number }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection, the call succeeded');
}
