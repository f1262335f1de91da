/**
 * A tiny BinXML and chunk writer for tests: builds records whose exact bytes we control, to pin
 * down how each construct becomes part of the document. Names are always written inline (their
 * offset is their own position), which needs the absolute chunk offset of every byte.
 */
import { crc32 } from '../../src/readers/evtx/crc32.js';

export const T = {
  Null: 0,
  String: 1,
  Ansi: 2,
  Int8: 3,
  UInt8: 4,
  Int16: 5,
  UInt16: 6,
  Int32: 7,
  UInt32: 8,
  Int64: 9,
  UInt64: 0x0a,
  Real32: 0x0b,
  Real64: 0x0c,
  Bool: 0x0d,
  Binary: 0x0e,
  Guid: 0x0f,
  SizeT: 0x10,
  FileTime: 0x11,
  SysTime: 0x12,
  Sid: 0x13,
  HexInt32: 0x14,
  HexInt64: 0x15,
  BinXml: 0x21,
  Array: 0x80,
} as const;

/** A substitution value: its type and raw bytes. */
export interface Sub {
  type: number;
  bytes: number[];
}

export const utf16 = (s: string): number[] =>
  [...s].flatMap((ch) => {
    const c = ch.charCodeAt(0);
    return [c & 0xff, c >> 8];
  });
export const le = (v: number, width: number): number[] => Array.from({ length: width }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));
export const str = (s: string): Sub => ({ type: T.String, bytes: [...utf16(s), 0, 0] });
export const u16 = (v: number): Sub => ({ type: T.UInt16, bytes: le(v, 2) });
export const u32 = (v: number): Sub => ({ type: T.UInt32, bytes: le(v, 4) });
export const nul = (): Sub => ({ type: T.Null, bytes: [] });

/** Writes BinXML at a known absolute chunk offset. `inTemplate` adds dependency ids. */
export class Bx {
  readonly b: number[] = [];
  constructor(
    readonly base: number,
    readonly inTemplate = false,
  ) {}
  get pos(): number {
    return this.base + this.b.length;
  }
  raw(...bytes: number[]): this {
    this.b.push(...bytes);
    return this;
  }
  private name(s: string): void {
    this.raw(...le(this.pos + 4, 4)); // inline: the name follows its offset
    this.raw(...le(0, 4), ...le(0, 2), ...le(s.length, 2), ...utf16(s), 0, 0);
  }
  header(): this {
    return this.raw(0x0f, 1, 1, 0);
  }
  open(name: string, hasAttrs = false): this {
    this.raw(hasAttrs ? 0x41 : 0x01);
    if (this.inTemplate) this.raw(0xff, 0xff);
    this.raw(...le(0, 4));
    this.name(name);
    if (hasAttrs) this.raw(...le(0, 4));
    return this;
  }
  attr(name: string): this {
    this.raw(0x06);
    this.name(name);
    return this;
  }
  closeStart(): this {
    return this.raw(0x02);
  }
  closeEmpty(): this {
    return this.raw(0x03);
  }
  end(): this {
    return this.raw(0x04);
  }
  text(s: string): this {
    return this.raw(0x05, T.String, ...le(s.length, 2), ...utf16(s));
  }
  value(type: number, bytes: number[]): this {
    return this.raw(0x05, type, ...bytes);
  }
  subst(index: number, type: number, optional = false): this {
    return this.raw(optional ? 0x0e : 0x0d, ...le(index, 2), type);
  }
  entity(name: string): this {
    this.raw(0x09);
    this.name(name);
    return this;
  }
  charRef(code: number): this {
    return this.raw(0x08, ...le(code, 2));
  }
  cdata(s: string): this {
    return this.raw(0x07, ...le(s.length, 2), ...utf16(s));
  }
  pi(target: string, data: string): this {
    this.raw(0x0a);
    this.name(target);
    return this.raw(0x0b, ...le(data.length, 2), ...utf16(data));
  }
  eof(): this {
    return this.raw(0x00);
  }
  /**
   * A template instance. With `def` the definition is written inline (first use in the chunk);
   * otherwise `defOffset` refers to one written earlier.
   */
  template(values: Sub[], def?: (t: Bx) => void, defOffset?: number): this {
    this.raw(0x0c, 1, ...le(1, 4));
    let at = defOffset ?? 0;
    if (def) {
      at = this.pos + 4;
      const body = new Bx(at + 24, true);
      def(body);
      this.raw(...le(at, 4), ...le(0, 4), ...Array.from({ length: 16 }, (_, i) => i + 1), ...le(body.b.length, 4), ...body.b);
    } else {
      this.raw(...le(at, 4));
    }
    this.raw(...le(values.length, 4));
    for (const v of values) this.raw(...le(v.bytes.length, 2), v.type, 0);
    for (const v of values) this.raw(...v.bytes);
    return this;
  }
  /** Offset of the inline template definition written by the last `template(…, def)`. */
}

/** A whole chunk: header (with correct checksums) and the given records' BinXML. */
export class ChunkWriter {
  private readonly body: number[] = [];
  private ids = 0;
  private lastOffset = 512;

  get next(): number {
    return 512 + this.body.length;
  }

  /** Add a record; `write` receives a writer positioned at the record's BinXML. */
  record(write: (x: Bx) => void, id = ++this.ids): number {
    const start = this.next;
    const x = new Bx(start + 24);
    write(x);
    const size = 24 + x.b.length + 4;
    this.lastOffset = start;
    this.body.push(0x2a, 0x2a, 0, 0, ...le(size, 4), ...le(id, 8), ...le(0x01d8a1b2c3d4e0, 8), ...x.b, ...le(size, 4));
    this.ids = id;
    return start;
  }

  bytes(): Uint8Array {
    const c = new Uint8Array(65536);
    c.set([0x45, 0x6c, 0x66, 0x43, 0x68, 0x6e, 0x6b, 0]);
    const dv = new DataView(c.buffer);
    dv.setBigUint64(8, 1n, true);
    dv.setBigUint64(16, BigInt(this.ids), true);
    dv.setBigUint64(24, 1n, true);
    dv.setBigUint64(32, BigInt(this.ids), true);
    dv.setUint32(40, 128, true);
    dv.setUint32(44, this.lastOffset, true);
    dv.setUint32(48, 512 + this.body.length, true);
    c.set(this.body, 512);
    dv.setUint32(52, crc32(c.subarray(512, 512 + this.body.length)), true);
    dv.setUint32(124, crc32(c.subarray(128, 512), crc32(c.subarray(0, 120))), true);
    return c;
  }
}

/** A whole EVTX file: a file header (with its checksum) followed by the given chunks. */
export function evtxFile(chunks: readonly Uint8Array[], nextRecordId: number): Uint8Array {
  const out = new Uint8Array(4096 + 65536 * chunks.length);
  out.set([0x45, 0x6c, 0x66, 0x46, 0x69, 0x6c, 0x65, 0]); // ElfFile
  const dv = new DataView(out.buffer);
  dv.setBigUint64(8, 0n, true); // first chunk
  dv.setBigUint64(16, BigInt(chunks.length - 1), true); // last chunk
  dv.setBigUint64(24, BigInt(nextRecordId), true);
  dv.setUint32(32, 128, true); // header size
  dv.setUint16(36, 1, true); // minor version
  dv.setUint16(38, 3, true); // major version
  dv.setUint16(40, 4096, true); // header block size
  dv.setUint16(42, chunks.length, true);
  dv.setUint32(124, crc32(out.subarray(0, 120)), true);
  chunks.forEach((c, i) => out.set(c, 4096 + 65536 * i));
  return out;
}

type DocObj = Record<string, unknown>;
const isDocObj = (v: unknown): v is DocObj => v !== null && typeof v === 'object' && !Array.isArray(v);
const bytesLE = (v: bigint, width: number): number[] => Array.from({ length: width }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));

function guidBytesOf(s: string): number[] {
  const h = s.replace(/[{}-]/g, '');
  const b = (i: number) => parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return [b(3), b(2), b(1), b(0), b(5), b(4), b(7), b(6), ...Array.from({ length: 8 }, (_, i) => b(8 + i))];
}

function sidBytesOf(s: string): number[] {
  const [, rev, auth, ...subs] = s.split('-');
  return [Number(rev), subs.length, ...bytesLE(BigInt(auth!), 6).reverse(), ...subs.flatMap((x) => bytesLE(BigInt(x), 4))];
}

/** FILETIME (100 ns ticks since 1601) of an RFC 3339 UTC time with up to 7 fraction digits. */
function filetimeOf(iso: string): number[] {
  const m = /^(.*?)(?:\.(\d{1,7}))?Z$/.exec(iso)!;
  const ms = Date.parse(`${m[1]!}Z`);
  const ticks = BigInt(ms) * 10000n + BigInt((m[2] ?? '').padEnd(7, '0')) + 116444736000000000n;
  return bytesLE(ticks, 8);
}

/** The substitution Windows would write for an event data value of this JSON form. */
function dataSub(v: unknown): Sub {
  if (typeof v === 'number') return { type: T.UInt32, bytes: bytesLE(BigInt(v), 4) };
  if (typeof v === 'boolean') return { type: T.Bool, bytes: bytesLE(v ? 1n : 0n, 4) };
  const s = String(v);
  // A GUID-typed value prints upper case; a GUID in lower case is text (some providers' templates).
  if (/^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/.test(s)) return { type: T.Guid, bytes: guidBytesOf(s) };
  if (/^S-1-\d+(-\d+)+$/.test(s)) return { type: T.Sid, bytes: sidBytesOf(s) };
  if (/^0x[0-9a-f]{1,16}$/.test(s)) return { type: T.HexInt64, bytes: bytesLE(BigInt(s), 8) };
  return str(s);
}

/**
 * One record built from a document in the shape `firebreak evtx dump` prints (System and
 * EventData), with the value types Windows uses: the same record as an EVTX file holds it.
 */
export function recordFromDoc(w: ChunkWriter, doc: { Event: DocObj }): void {
  const sys = doc.Event.System as DocObj;
  const data = (doc.Event.EventData ?? {}) as DocObj;
  const attrs = (v: unknown): DocObj => (isDocObj(v) && isDocObj(v['#attributes']) ? v['#attributes'] : {});
  const values: Sub[] = [];
  const sub = (s: Sub) => values.push(s) - 1;
  const eventId = sys.EventID;
  const recordId = Number(sys.EventRecordID);
  w.record(
    (x) =>
      x
        .header()
        .template(values, (t) => {
          t.header().open('Event', true).attr('xmlns').text('http://schemas.microsoft.com/win/2004/08/events/event').closeStart();
          t.open('System').closeStart();
          const provider = attrs(sys.Provider);
          t.open('Provider', true);
          for (const [k, v] of Object.entries(provider)) {
            const a = dataSub(String(v));
            t.attr(k).subst(sub(a), a.type);
          }
          t.closeEmpty();
          if (isDocObj(eventId)) {
            t.open('EventID', true)
              .attr('Qualifiers')
              .subst(sub(u16(Number(attrs(eventId).Qualifiers))), T.UInt16)
              .closeStart();
            t.subst(sub(u16(Number(eventId['#text']))), T.UInt16).end();
          } else
            t.open('EventID')
              .closeStart()
              .subst(sub(u16(Number(eventId))), T.UInt16)
              .end();
          for (const [name, type, width] of [
            ['Version', T.UInt8, 1],
            ['Level', T.UInt8, 1],
            ['Task', T.UInt16, 2],
            ['Opcode', T.UInt8, 1],
          ] as const)
            if (sys[name] !== undefined)
              t.open(name)
                .closeStart()
                .subst(sub({ type, bytes: bytesLE(BigInt(Number(sys[name])), width) }), type)
                .end();
          if (sys.Keywords !== undefined)
            t.open('Keywords')
              .closeStart()
              .subst(sub({ type: T.HexInt64, bytes: bytesLE(BigInt(String(sys.Keywords)), 8) }), T.HexInt64)
              .end();
          t.open('TimeCreated', true)
            .attr('SystemTime')
            .subst(sub({ type: T.FileTime, bytes: filetimeOf(String(attrs(sys.TimeCreated).SystemTime)) }), T.FileTime)
            .closeEmpty();
          t.open('EventRecordID')
            .closeStart()
            .subst(sub({ type: T.UInt64, bytes: bytesLE(BigInt(recordId), 8) }), T.UInt64)
            .end();
          t.open('Correlation').closeEmpty();
          const exec = attrs(sys.Execution);
          t.open('Execution', true)
            .attr('ProcessID')
            .subst(sub(u32(Number(exec.ProcessID))), T.UInt32)
            .attr('ThreadID')
            .subst(sub(u32(Number(exec.ThreadID))), T.UInt32)
            .closeEmpty();
          t.open('Channel')
            .closeStart()
            .subst(sub(str(String(sys.Channel))), T.String)
            .end();
          t.open('Computer')
            .closeStart()
            .subst(sub(str(String(sys.Computer))), T.String)
            .end();
          const user = attrs(sys.Security).UserID;
          if (typeof user === 'string')
            t.open('Security', true)
              .attr('UserID')
              .subst(sub({ type: T.Sid, bytes: sidBytesOf(user) }), T.Sid)
              .closeEmpty();
          else t.open('Security').closeEmpty();
          t.end();
          t.open('EventData').closeStart();
          for (const [k, v] of Object.entries(data)) {
            const s = dataSub(v);
            t.open('Data', true).attr('Name').text(k).closeStart().subst(sub(s), s.type).end();
          }
          t.end().end().eof();
        })
        .eof(),
    recordId,
  );
}
