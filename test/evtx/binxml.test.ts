/**
 * How each BinXML construct becomes part of the document, on records built byte by byte: the
 * evtx crate's JSON conventions, value formatting, and hostile structures.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChunk, type ChunkItem, type EvtxError, type EvtxRecord } from '../../src/readers/evtx/index.js';
import { chunkRecords } from '../../src/readers/evtx/chunk.js';
import { Bx, ChunkWriter, le, nul, str, T, u16, u32, utf16, type Sub } from './binxml-writer.js';

function parse(w: ChunkWriter, xml = false): ChunkItem[] {
  return parseChunk(w.bytes(), { file: 'built', chunk: 0, fileOffset: 4096 }, { xml });
}
function records(items: ChunkItem[]): EvtxRecord[] {
  return items.filter((i): i is EvtxRecord => 'doc' in i);
}
function errors(items: ChunkItem[]): EvtxError[] {
  return items.filter((i): i is EvtxError => !('doc' in i));
}

/** One record: `<Event><System>…</System><EventData>…</EventData></Event>` from a template. */
function eventRecord(w: ChunkWriter, values: Sub[], system: (t: Bx) => void, data: (t: Bx) => void): void {
  w.record((x) =>
    x
      .header()
      .template(values, (t) => {
        t.header().open('Event').closeStart();
        t.open('System').closeStart();
        system(t);
        t.end();
        t.open('EventData').closeStart();
        data(t);
        t.end().end().eof();
      })
      .eof(),
  );
}

test('EventID: a number; with Qualifiers, #attributes and #text; an optional null attribute vanishes', () => {
  const w = new ChunkWriter();
  const sys = (t: Bx): void => {
    t.open('EventID', true).attr('Qualifiers').subst(0, T.UInt16, true).closeStart().subst(1, T.UInt16).end();
  };
  eventRecord(w, [nul(), u16(4624)], sys, () => undefined);
  eventRecord(w, [u16(16384), u16(7036)], sys, () => undefined);
  const [a, b] = records(parse(w));
  assert.deepEqual(a!.doc.Event.System, { EventID: 4624 });
  assert.deepEqual(b!.doc.Event.System, { EventID: { '#attributes': { Qualifiers: 16384 }, '#text': 7036 } });
  assert.equal(a!.doc.Event.EventData, null, 'an element with nothing in it is null');
});

test('named Data: keys from Name; trailing whitespace trimmed; empty string kept as ""', () => {
  const w = new ChunkWriter();
  eventRecord(
    w,
    [str('cmd.exe /c whoami  '), str(''), u32(4460)],
    () => undefined,
    (t) => {
      t.open('Data', true).attr('Name').text('CommandLine').closeStart().subst(0, T.String).end();
      t.open('Data', true).attr('Name').text('Status Description').closeStart().subst(1, T.String).end();
      t.open('Data', true).attr('Name').text('ProcessId').closeStart().subst(2, T.UInt32).end();
    },
  );
  const [r] = records(parse(w));
  assert.deepEqual(r!.doc.Event.EventData, { CommandLine: 'cmd.exe /c whoami', 'Status Description': '', ProcessId: 4460 });
});

test('unnamed Data: one item is {"#text": v}, several an array', () => {
  const w = new ChunkWriter();
  eventRecord(
    w,
    [str('only')],
    () => undefined,
    (t) => t.open('Data').closeStart().subst(0, T.String).end(),
  );
  eventRecord(
    w,
    [str('a'), str('b'), str('c')],
    () => undefined,
    (t) => {
      for (let i = 0; i < 3; i++) t.open('Data').closeStart().subst(i, T.String).end();
    },
  );
  const [one, three] = records(parse(w));
  assert.deepEqual(one!.doc.Event.EventData, { Data: { '#text': 'only' } });
  assert.deepEqual(three!.doc.Event.EventData, { Data: { '#text': ['a', 'b', 'c'] } });
});

test('repeated element names: the latest keeps the name, earlier ones move to _1, _2', () => {
  const w = new ChunkWriter();
  eventRecord(
    w,
    [str('first'), str('second'), str('third')],
    () => undefined,
    (t) => {
      for (let i = 0; i < 3; i++) t.open('Header').closeStart().subst(i, T.String).end();
    },
  );
  const [r] = records(parse(w));
  assert.deepEqual(r!.doc.Event.EventData, { Header: 'third', Header_1: 'first', Header_2: 'second' });
});

test('value types print as Windows prints them (as the evtx crate does, but GUIDs keep their braces)', () => {
  const guid = [0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9];
  const sid = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
  const systime = [...le(2024, 2), ...le(2, 2), 0, 0, ...le(29, 2), ...le(13, 2), ...le(5, 2), ...le(9, 2), ...le(7, 2)];
  const values: Sub[] = [
    { type: T.HexInt32, bytes: le(0x100, 4) },
    { type: T.HexInt64, bytes: [0, 0, 0, 0, 0, 0, 0x20, 0x80] },
    { type: T.Guid, bytes: guid },
    { type: T.Sid, bytes: sid },
    { type: T.FileTime, bytes: [0x00, 0x80, 0x3e, 0xd5, 0xde, 0xb1, 0x9d, 0x01] },
    { type: T.SysTime, bytes: systime },
    { type: T.Bool, bytes: le(2, 4) },
    { type: T.Binary, bytes: [0xde, 0xad, 0x0b] },
    { type: T.Int32, bytes: le(-5 >>> 0, 4) },
    { type: T.Real64, bytes: [...new Uint8Array(new Float64Array([1.5]).buffer)] },
    { type: T.SizeT, bytes: le(0xabc, 8) },
    { type: T.Int64, bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] },
    { type: T.Ansi, bytes: [0x41, 0x80, 0x42, 0, 0] },
  ];
  const names = ['hex32', 'hex64', 'guid', 'sid', 'filetime', 'systime', 'bool', 'binary', 'int32', 'real', 'sizet', 'int64', 'ansi'];
  const w = new ChunkWriter();
  eventRecord(
    w,
    values,
    () => undefined,
    (t) => {
      names.forEach((n, i) => t.open('Data', true).attr('Name').text(n).closeStart().subst(i, values[i]!.type).end());
    },
  );
  const [r] = records(parse(w));
  assert.deepEqual(r!.doc.Event.EventData, {
    hex32: '0x100',
    hex64: '0x8020000000000000',
    guid: '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}',
    sid: 'S-1-5-18',
    filetime: (r!.doc.Event.EventData as Record<string, string>).filetime,
    systime: '2024-02-29T13:05:09.007Z',
    bool: true,
    binary: 'DEAD0B',
    int32: -5,
    real: 1.5,
    sizet: '0xabc',
    int64: -1,
    ansi: 'A€B',
  });
  assert.match((r!.doc.Event.EventData as unknown as Record<string, string>).filetime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
});

test('FILETIME: exact to the microsecond, truncated like the crate', () => {
  // The last tick digit is below a microsecond; the expected text is worked out with Date.
  const ticks = 132183951541234567n;
  const ms = Number(ticks / 10000n - 11644473600000n);
  const expected = new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, m: string) => `.${m}${String((ticks / 10n) % 1000n).padStart(3, '0')}Z`);
  const bytes = Array.from({ length: 8 }, (_, i) => Number((ticks >> BigInt(8 * i)) & 0xffn));
  const w = new ChunkWriter();
  eventRecord(
    w,
    [{ type: T.FileTime, bytes }],
    (t) => t.open('TimeCreated', true).attr('SystemTime').subst(0, T.FileTime).closeEmpty(),
    () => undefined,
  );
  const [r] = records(parse(w));
  assert.equal(expected, '2019-11-16T16:25:54.123456Z');
  assert.deepEqual(r!.doc.Event.System, { TimeCreated: { '#attributes': { SystemTime: expected } } });
});

test('arrays: JSON arrays in the document, comma-joined in XML', () => {
  const w = new ChunkWriter();
  const strings: Sub = { type: T.String | T.Array, bytes: [...utf16('a'), 0, 0, ...utf16('bc'), 0, 0] };
  const ints: Sub = { type: T.UInt32 | T.Array, bytes: [...le(1, 4), ...le(2, 4), ...le(3, 4)] };
  eventRecord(
    w,
    [strings, ints],
    () => undefined,
    (t) => {
      t.open('Data', true).attr('Name').text('s').closeStart().subst(0, strings.type).end();
      t.open('Data', true).attr('Name').text('n').closeStart().subst(1, ints.type).end();
    },
  );
  const [r] = records(parse(w, true));
  assert.deepEqual(r!.doc.Event.EventData, { s: ['a', 'bc'], n: [1, 2, 3] });
  assert.match(r!.xml!, /<Data Name="s">a,bc<\/Data>/);
  assert.match(r!.xml!, /<Data Name="n">1,2,3<\/Data>/);
});

test('entity and character references decode; CDATA is text; processing instructions are XML-only', () => {
  const w = new ChunkWriter();
  w.record((x) => x.header().open('Event').closeStart().open('Msg').closeStart().text('a').entity('lt').text('b').charRef(0x263a).cdata('<c>').end().pi('xml-stylesheet', 'href="s"').end().eof());
  const [r] = records(parse(w, true));
  assert.deepEqual(r!.doc, { Event: { Msg: 'a<b☺<c>' } });
  assert.match(r!.xml!, /<Msg>a&lt;b&#9786;&lt;c&gt;<\/Msg>/);
  assert.match(r!.xml!, /<\?xml-stylesheet href="s"\?>/);
});

test('a BinXML substitution splices its elements in; an optional null-typed substitution is dropped', () => {
  const w = new ChunkWriter();
  w.record((x) => {
    // The nested fragment's names are inline, so its position must be known: it follows the
    // descriptors, which follow the inline template definition.
    x.header();
    const probe = new Bx(x.pos);
    probe.template([], (t) => t.header().open('Event').closeStart().subst(0, T.BinXml).subst(1, T.Null, true).end().eof());
    const nestedAt = x.pos + probe.b.length + 2 * 4; // after the two descriptors
    const inner = new Bx(nestedAt).open('Inner').closeStart().text('x').end().eof();
    x.template([{ type: T.BinXml, bytes: inner.b }, str('dropped')], (t) => t.header().open('Event').closeStart().subst(0, T.BinXml).subst(1, T.Null, true).end().eof());
    x.eof();
  });
  const items = parse(w);
  assert.deepEqual(errors(items), []);
  assert.deepEqual(records(items)[0]!.doc, { Event: { Inner: 'x' } });
});

test('a template used a second time is read from its definition offset', () => {
  const w = new ChunkWriter();
  let defAt = 0;
  w.record((x) => {
    x.header();
    defAt = x.pos + 10; // token, unknown u8, template id u32, then the definition offset field
    x.template([str('one')], (t) => t.header().open('Event').closeStart().subst(0, T.String).end().eof()).eof();
  });
  w.record((x) =>
    x
      .header()
      .template([str('two')], undefined, defAt)
      .eof(),
  );
  assert.deepEqual(
    records(parse(w)).map((r) => r.doc),
    [{ Event: 'one' }, { Event: 'two' }],
  );
});

test('a record cut short is an error naming the record; the next record is still read', () => {
  const w = new ChunkWriter();
  w.record(
    (x) =>
      x
        .header()
        .template([{ type: T.String, bytes: [0x41, 0] }], (t) => t.header().open('Event').closeStart().subst(0, T.String).end().eof())
        .raw(0x0c, 1, 1, 0, 0, 0, 0xff, 0xff, 0, 0)
        .eof(),
    41,
  );
  w.record((x) => x.header().open('Event').closeStart().text('fine').end().eof(), 42);
  const items = parse(w);
  const [e] = errors(items);
  assert.equal(e!.record, 41);
  assert.equal(e!.chunk, 0);
  assert.match(e!.format(), /^built: chunk 0, record 41, offset 0x[0-9a-f]+: evtx\./);
  assert.deepEqual(
    records(items).map((r) => [r.recordId, r.doc]),
    [[42, { Event: 'fine' }]],
  );
});

test('hostile nesting: elements nested past the limit are an error, not a stack overflow', () => {
  const w = new ChunkWriter();
  w.record((x) => {
    x.header();
    for (let i = 0; i < 200; i++) x.open('E').closeStart();
    for (let i = 0; i < 200; i++) x.end();
    x.eof();
  });
  const [e] = errors(parse(w));
  assert.equal(e!.code, 'evtx.limit');
});

/** A chunk of `count` records, each a substitution doubled `levels` times (2^levels leaves). */
function expandingChunk(levels: number, count: number): Uint8Array {
  const w = new ChunkWriter();
  for (let r = 0; r < count; r++)
    w.record((x) => {
      x.header();
      const defAt = x.pos + 10;
      const def = (t: Bx): void => void t.header().open('E').closeStart().subst(0, T.BinXml).subst(0, T.BinXml).end().eof();
      const level = (k: number, at: number): number[] => {
        const f = new Bx(at).header();
        if (k === 0) return f.open('Leaf').closeEmpty().eof().b;
        const headerLen = 4 + 1 + 1 + 4 + 4 + 4 + 4;
        const inner = level(k - 1, at + headerLen);
        f.template([{ type: T.BinXml, bytes: inner }], undefined, defAt).eof();
        return f.b;
      };
      const first = new Bx(x.pos);
      first.template([], def);
      const valueAt = x.pos + first.b.length + 4;
      x.template([{ type: T.BinXml, bytes: level(levels, valueAt) }], def).eof();
    });
  return w.bytes();
}

test('hostile expansion: a substitution used twice per level cannot expand exponentially', () => {
  // Level k's value is a fragment instancing the same template with level k-1 as its value;
  // the template uses substitution 0 twice, so 40 levels would expand to 2^40 elements.
  const bytes = expandingChunk(40, 1);
  const t0 = performance.now();
  const items = parseChunk(bytes, { file: 'built', chunk: 0, fileOffset: 4096 });
  assert.ok(performance.now() - t0 < 2000);
  assert.deepEqual(
    errors(items).map((e) => e.code),
    ['evtx.limit'],
  );
  assert.match(errors(items)[0]!.message, /expands to more than/);
});

test("a chunk's expansion budget holds when chunks are parsed lazily and interleaved in one thread", () => {
  const bytes = expandingChunk(10, 60);
  const info = { file: 'built', chunk: 0, fileOffset: 4096 };
  const codes = (items: Iterable<ChunkItem | string>) => [...items].map((i) => (typeof i === 'string' ? 'text' : 'doc' in i ? 'record' : i.code));
  const alone = codes(chunkRecords(bytes, info, 'doc'));
  // The chunk's budget runs out part way: some records, then limit errors.
  assert.ok(alone.indexOf('evtx.limit') > 5, alone.join(' '));
  assert.ok(alone.filter((c) => c === 'record').length < 60);
  // Two readers take turns: each keeps its own chunk's budget.
  const a = chunkRecords(bytes, info, 'doc');
  const b = chunkRecords(bytes, { ...info, chunk: 1 }, 'doc');
  const seenA: (ChunkItem | string)[] = [];
  const seenB: (ChunkItem | string)[] = [];
  for (;;) {
    const x = a.next();
    const y = b.next();
    if (!x.done) seenA.push(x.value);
    if (!y.done) seenB.push(y.value);
    if (x.done && y.done) break;
  }
  assert.deepEqual(codes(seenA), alone);
  assert.deepEqual(codes(seenB), alone);
});

test('a chunk with a wrong header checksum is still read, with a warning', () => {
  const w = new ChunkWriter();
  w.record((x) => x.header().open('Event').closeStart().text('ok').end().eof());
  const bytes = w.bytes();
  bytes[124] = bytes[124]! ^ 0xff;
  const items = parseChunk(bytes, { file: 'built', chunk: 3, fileOffset: 4096 + 3 * 65536 });
  assert.deepEqual(
    errors(items).map((e) => [e.code, e.severity, e.offset]),
    [['evtx.chunk.header-checksum', 'warning', 4096 + 3 * 65536 + 124]],
  );
  assert.equal(records(items).length, 1);
});
