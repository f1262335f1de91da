/**
 * The one contract between readers and the engine. Every reader (EVTX, JSON, syslog, HTTP
 * ingest) yields `Event`s; the engine only ever asks an event for a field by its Sigma name.
 * Odd field paths are fixed by the reader (or mapping data), never inside matchers.
 */

export type Scalar = string | number | boolean | null;
/** A field holds a scalar, or a list of scalars (multi-valued XML data, JSON arrays). */
export type FieldValue = Scalar | readonly Scalar[];
export type Fields = Record<string, FieldValue>;
/** The operating system whose logs a reader made the event from (routing: data/logsources.yml). */
export type Product = 'windows' | 'linux';

/** A list value (`Array.isArray` does not narrow a readonly array union). */
export function isList(v: FieldValue): v is readonly Scalar[] {
  return Array.isArray(v);
}

/** Where an event came from: the file and the record's position in it. */
export interface EventSource {
  /** Path of the evidence file (inner archive paths joined with `!`). */
  file: string;
  /** Byte offset of the record in the file, when known. */
  offset?: number;
  /** 1-based line number for line-oriented formats. */
  line?: number;
}

/**
 * A normalised log event.
 *
 * `fields` is flat and uses the names Sigma rules use: `EventID`, `Channel`, `Provider_Name`,
 * `Computer`, `TimeCreated_SystemTime`, EventData/UserData names with spaces stripped, and for
 * generic JSON the original keys (nested objects reachable with dotted paths through `get`).
 */
export class Event {
  constructor(
    readonly fields: Fields,
    readonly source: EventSource = { file: '' },
    /** The document as read (evtx-crate JSON shape or the original JSON), for output. */
    readonly raw: unknown = undefined,
    /**
     * `windows` when a Windows event reader made the event (EVTX, evtx-crate JSON, Winlogbeat):
     * it is then routed to Windows rules even when its Channel is missing (ETW-sourced records),
     * never to rules for other products. `linux` when a Linux reader made it (auditd, syslog,
     * journald, Sysmon for Linux): its Channel names its Linux log source (data/logsources.yml)
     * and it meets only `product: linux` rules.
     */
    readonly product?: Product,
    /**
     * The fields a Sigma keyword search looks in; all fields when absent. A syslog line's
     * keywords are searched in its message, as Sigma's keyword rules for syslog are written,
     * not in the host name, program or time stamp the reader split off.
     */
    readonly keywordFields?: readonly string[],
  ) {}

  /** The value of a field, or undefined when the event does not have it. */
  get(name: string): FieldValue | undefined {
    const v = this.fields[name];
    if (v !== undefined) return v;
    if (name.includes('.') && this.raw !== null && typeof this.raw === 'object') return lookupPath(this.raw, name);
    return undefined;
  }

  /** Every scalar value a Sigma keyword search looks at (see `keywordFields`). */
  *values(): IterableIterator<Scalar> {
    const names = this.keywordFields;
    if (names) {
      for (const k of names) {
        const v = this.fields[k];
        if (v === undefined) continue;
        if (Array.isArray(v)) yield* v as Scalar[];
        else yield v as Scalar;
      }
      return;
    }
    for (const k in this.fields) {
      const v = this.fields[k];
      if (Array.isArray(v)) yield* v as Scalar[];
      else yield v as Scalar;
    }
  }

  get channel(): string | undefined {
    return str(this.fields.Channel);
  }
  get provider(): string | undefined {
    return str(this.fields.Provider_Name);
  }
  get computer(): string | undefined {
    return str(this.fields.Computer);
  }
  get eventId(): number | undefined {
    const v = this.fields.EventID;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
    return undefined;
  }
  /** ISO-8601 UTC timestamp of the event, when it has one. */
  get timestamp(): string | undefined {
    return str(this.fields.TimeCreated_SystemTime) ?? str(this.fields['@timestamp']) ?? str(this.fields.timestamp);
  }
  get recordId(): number | undefined {
    const v = this.fields.EventRecordID;
    return typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
  }
}

function str(v: FieldValue | undefined): string | undefined {
  if (v == null) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  return String(v);
}

/**
 * Resolve `a.b.c` in a nested document. A literal key containing dots wins over a path
 * (Sigma does not say which is meant; cloud logs use both).
 */
export function lookupPath(doc: unknown, path: string): FieldValue | undefined {
  let cur: unknown = doc;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const obj = cur as Record<string, unknown>;
    // Longest literal key first: `a.b` may itself be a key.
    let found = false;
    for (let j = parts.length; j > i; j--) {
      const key = parts.slice(i, j).join('.');
      if (Object.prototype.hasOwnProperty.call(obj, key)) {
        cur = obj[key];
        i = j - 1;
        found = true;
        break;
      }
    }
    if (!found) return undefined;
  }
  return toFieldValue(cur);
}

/** Convert an arbitrary JSON value to a FieldValue (objects become their JSON text). */
export function toFieldValue(v: unknown): FieldValue | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => (x === null || typeof x !== 'object' ? (x as Scalar) : JSON.stringify(x)));
  return JSON.stringify(v);
}
