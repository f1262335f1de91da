/**
 * `firebreak evtx dump` JSON lines written straight from the chunk bytes: no document (json.ts),
 * no `JSON.stringify`, no decoded value strings for UTF-16 text and integers.
 *
 * Each template definition is compiled once per chunk into a tree of precomputed pieces — the
 * UTF-8 bytes of `"Key":`, attribute lists, which substitution goes where — and a record is
 * written by walking that tree with its substitution values read in place: UTF-16 strings are
 * converted to escaped UTF-8 in one pass, integers to digits; rarer types go through their usual
 * text form (values.ts, format.ts).
 *
 * It covers the shapes real templates have: elements that hold child elements, or one literal
 * or substitution, or nothing; attributes that are a literal or a substitution; `<Data
 * Name="literal">`; a BinXML substitution holding one template instance, as an element's whole
 * content or spliced among child elements (how Windows attaches EventData to System). Anything
 * else — repeated keys, unnamed `<Data>`, mixed content, names that V8 would order or treat
 * specially (`"1"`, `__proto__`), a value the parser would reject — goes to the document
 * builder: the whole template when it is compiled, or one record when its values say so.
 *
 * The output is byte for byte `JSON.stringify(toDocument(nodes))` encoded as UTF-8, and the
 * expansion budget is charged exactly what the document builder charges (nodes and characters,
 * counted the same way), so a record over the budget goes to the builder, which fails it with the
 * same error. The fuzz test (dump path against the record API) and the output digests check it.
 */
import { BinXmlParser } from './binxml.js';
import { Cursor } from './cursor.js';
import { filetime, hex32, hex64, sid } from './format.js';
import { ArrayValue, K, T, type ElementNode, type Node, type Template, type Value } from './ir.js';
import { MAX_EXPANDED_CHARS, MAX_EXPANDED_NODES, MAX_NESTING_DEPTH } from './limits.js';
import { trySpend } from './resolve.js';
import { readSized, TRAILING_WS } from './values.js';

// ---------------------------------------------------------------------------------------------
// Compilation

/** Element kinds, by what decides the element's JSON value. */
const LEAF_NULL = 0; // no content: null
const LEAF_TEXT = 1; // one literal: a string
const LEAF_SUBST = 2; // one substitution: its value (a BinXML value: an object of its elements)
const OBJ = 3; // child elements (and BinXML substitutions spliced in), no attributes
const ATTR_OBJ = 4; // attributes, and child elements (and BinXML substitutions) or nothing
const ATTR_LEAF = 5; // attributes and one literal or substitution
const SPLICE = 6; // a substitution among child elements: a BinXML value whose elements join them
const DATA_TEXT = 7; // unnamed <Data> with one literal or substitution: {"#text": value}
const ABSENT = 8; // unnamed <Data> with no content: no key at all (charged all the same)

interface CAttr {
  /** UTF-8 of `"name":`. */
  pre: Uint8Array;
  /** A literal value as UTF-8 JSON, or null for a substitution. */
  text: Uint8Array | null;
  /** Substitution index, and its bit in the plan masks (substitutions only). */
  idx: number;
  bit: number;
}

interface CEl {
  kind: number;
  /** The key, and `"key":` in UTF-8. */
  key: string;
  pre: Uint8Array;
  /** Budget charged whatever the values: nodes and characters. */
  nodes: number;
  chars: number;
  /** LEAF_TEXT, ATTR_LEAF with a literal: the literal as UTF-8 JSON. */
  text: Uint8Array | null;
  /** LEAF_SUBST, ATTR_LEAF, SPLICE: substitution index; -1 for none (ATTR_LEAF without content). */
  idx: number;
  /** OBJ, ATTR_OBJ: child elements and splices, in order. */
  children: CEl[];
  /** ATTR_*: attributes that may be present (substitutions and literals). */
  attrs: CAttr[];
  /** OBJ, ATTR_OBJ with a splice: the keys written by the children (and `#attributes`). */
  keys: Set<string> | null;
  /** The last spliced template found to share no key with `keys`. */
  spliceOk: CompiledTemplate | null;
}

/** A compiled template: its top-level elements (all of its nodes), keys all distinct. */
export interface CompiledTemplate {
  els: CEl[];
  /** Their keys. */
  keys: string[];
  /** Whether the elements write any member (a nested instance that writes none is left to the builder). */
  members: boolean;
  /** Budget for resolving the top-level node list (its length), and the root's name. */
  topNodes: number;
  rootChars: number;
  /** Root element only (records): the substitution `Event.System.EventRecordID` comes from. */
  erid: number;
  /** Substitution indices of the attributes (bit k of a plan mask: attribute k is present). */
  attrSlots: Int32Array;
  /** Plans by mask. */
  plans: Map<number, Plan>;
}

/** erid values other than a substitution index. */
const ERID_NONE = -1;
const ERID_NULL = -2;

/** Thrown at compile time for a shape left to the document builder. */
const UNSUPPORTED = new (class Unsupported {})();

function unsupported(): never {
  throw UNSUPPORTED;
}

/** Keys that plain objects store as other keys would not: array indices and inherited names. */
function awkwardKey(key: string): boolean {
  return /^\d+$/.test(key) || key in Object.prototype;
}

const encoder = new TextEncoder();
const json = JSON.stringify;
const utf8 = (s: string): Uint8Array => encoder.encode(s);

/**
 * Names repeat in every chunk (`System`, `EventID`, `SubjectUserSid`…): their `"name":` bytes
 * and whether they are awkward keys are worked out once per process (bounded).
 */
const keyCache = new Map<string, Uint8Array | null>();

/** UTF-8 of `"name":`, or null for an awkward key. */
function keyBytes(name: string): Uint8Array | null {
  let k = keyCache.get(name);
  if (k === undefined) {
    k = awkwardKey(name) ? null : utf8(json(name) + ':');
    if (keyCache.size > 10000) keyCache.clear();
    keyCache.set(name, k);
  }
  return k;
}

function el(kind: number, key: string, pre: Uint8Array, nodes: number, chars: number): CEl {
  return { kind, key, pre, nodes, chars, text: null, idx: -1, children: [], attrs: [], keys: null, spliceOk: null };
}

const NO_BYTES = new Uint8Array(0);

function compileAttrs(e: ElementNode): CAttr[] {
  const out: CAttr[] = [];
  const seen = new Set<string>();
  for (const a of e.attrs) {
    const pre = keyBytes(a.name);
    if (pre === null || seen.has(a.name)) unsupported();
    seen.add(a.name);
    if (a.value.length === 0) continue; // never present, costs nothing
    if (a.value.length !== 1) unsupported();
    const n = a.value[0]!;
    if (n.k === K.Text) out.push({ pre, text: textBytes(n.s), idx: -1, bit: -1 });
    else if (n.k === K.Subst) {
      if (n.optional && n.type === T.Null) continue;
      if (attrSlots.length >= 30) unsupported();
      out.push({ pre, text: null, idx: n.index, bit: attrSlots.length });
      attrSlots.push(n.index);
    } else unsupported();
  }
  return out;
}

/** Attribute substitutions of the template being compiled, in order (their bits). */
let attrSlots: number[] = [];

/** Static characters charged for attributes (the literals). */
function attrChars(e: ElementNode): number {
  let c = 0;
  for (const a of e.attrs) if (a.value.length === 1 && a.value[0]!.k === K.Text) c += a.value[0]!.s.length;
  return c;
}

/**
 * Child elements of an object, with at most one substitution among them (a BinXML value whose
 * elements are added in its place; an optional null-typed one is dropped). Keys must differ.
 */
function compileChildren(parent: CEl, nodes: Node[], inherited: string[]): void {
  const seen = new Set<string>(inherited);
  let splices = 0;
  for (const n of nodes) {
    if (n.k === K.Subst) {
      if (n.optional && n.type === T.Null) continue;
      if (++splices > 1) unsupported();
      const s = el(SPLICE, '', NO_BYTES, 0, 0);
      s.idx = n.index;
      parent.children.push(s);
      continue;
    }
    if (n.k !== K.Element) unsupported();
    const c = compileElement(n);
    if (seen.has(c.key)) unsupported();
    seen.add(c.key);
    parent.children.push(c);
  }
  if (splices) parent.keys = seen;
}

const textCache = new Map<string, Uint8Array>();

/** UTF-8 of a literal as a JSON string. */
function textBytes(s: string): Uint8Array {
  let t = textCache.get(s);
  if (t === undefined) {
    t = utf8(json(s));
    if (textCache.size > 10000) textCache.clear();
    textCache.set(s, t);
  }
  return t;
}

function leaf(key: string, pre: Uint8Array, nodes: Node[], chars: number): CEl | null {
  // What simpleContent gives: no content, one literal, one substitution.
  if (nodes.length > 1) return null;
  const n = nodes[0];
  if (n === undefined || (n.k === K.Subst && n.optional && n.type === T.Null)) return el(LEAF_NULL, key, pre, 1, chars);
  if (n.k === K.Text) {
    const e = el(LEAF_TEXT, key, pre, 1, chars + n.s.length);
    e.text = textBytes(n.s);
    return e;
  }
  if (n.k !== K.Subst) return null;
  const e = el(LEAF_SUBST, key, pre, 1, chars);
  e.idx = n.index;
  return e;
}

function compileElement(e: ElementNode): CEl {
  let name = e.name;
  let chars = name.length;
  const attrs = e.attrs;
  if (name === 'Data') {
    // `<Data Name="X">` is the key X; other attributes are ignored.
    const a = attrs.find((x) => x.name === 'Name');
    if (!a) return unnamedData(e);
    if (a.value.length === 0) name = '';
    else if (a.value.length === 1 && a.value[0]!.k === K.Text) name = a.value[0]!.s;
    else unsupported();
    chars += name.length;
  } else if (attrs.length) {
    return compileWithAttributes(e, chars);
  }
  const pre = keyBytes(name);
  if (pre === null) unsupported();
  const l = leaf(name, pre, e.children, chars);
  if (l) return l;
  // insertPlain, then content: one node per child.
  const o = el(OBJ, name, pre, e.children.length, chars);
  compileChildren(o, e.children, []);
  return o;
}

/**
 * Unnamed `<Data>` (classic event log records: `<Data>%1</Data><Binary>%2</Binary>`): its text
 * goes under `Data.#text`. One such item is handled; several share one entry, left to the
 * builder (the parent's keys must differ, so a second one makes the template unsupported).
 */
function unnamedData(e: ElementNode): CEl {
  const kids = e.children;
  const pre = keyBytes('Data')!;
  const n = kids[0];
  // element() charges the name, content() one node per child.
  if (n === undefined || (kids.length === 1 && n.k === K.Subst && n.optional && n.type === T.Null)) return el(ABSENT, 'Data', pre, kids.length, 4);
  if (kids.length !== 1) unsupported();
  const o = el(DATA_TEXT, 'Data', pre, 1, 4);
  if (n.k === K.Text) {
    o.text = textBytes(n.s);
    o.chars += n.s.length;
  } else if (n.k === K.Subst) o.idx = n.index;
  else unsupported();
  return o;
}

function compileWithAttributes(e: ElementNode, chars: number): CEl {
  const pre = keyBytes(e.name);
  if (pre === null) unsupported();
  const o = el(ATTR_OBJ, e.name, pre, e.children.length, chars + attrChars(e));
  o.attrs = compileAttrs(e);
  const kids = e.children;
  if (kids.length === 0) return o;
  if (kids.some((n) => n.k === K.Element)) {
    compileChildren(o, kids, ['#attributes']);
    return o;
  }
  if (kids.length !== 1) unsupported();
  const n = kids[0]!;
  o.kind = ATTR_LEAF;
  if (n.k === K.Text) {
    o.text = textBytes(n.s);
    o.chars += n.s.length;
  } else if (n.k === K.Subst) {
    if (!(n.optional && n.type === T.Null)) o.idx = n.index;
  } else {
    unsupported();
  }
  return o;
}

/**
 * Compiled templates by structure, shared by every chunk: a template is parsed in each chunk
 * that uses it (names are chunk offsets), but compiled, and its plans built, once.
 */
const shared = new Map<string, CompiledTemplate | null>();

/** Compile `tpl` (cached on it); null when it has a shape the document builder must handle. */
export function compiled(tpl: Template): CompiledTemplate | null {
  if (tpl.json !== undefined) return tpl.json;
  const fp = fingerprint(tpl.nodes, '');
  let out = shared.get(fp);
  if (out === undefined) {
    out = compile(tpl.nodes);
    if (shared.size >= 4096) shared.clear();
    shared.set(fp, out);
  }
  tpl.json = out;
  return out;
}

/** Everything compile() reads from a node list, as an unambiguous string. */
function fingerprint(nodes: Node[], s: string): string {
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    switch (n.k) {
      case K.Element:
        s += '<' + n.name.length + ':' + n.name;
        for (let j = 0; j < n.attrs.length; j++) {
          const a = n.attrs[j]!;
          s = fingerprint(a.value, s + ' ' + a.name.length + ':' + a.name + '=');
        }
        s = fingerprint(n.children, s + '>') + '/';
        break;
      case K.Text:
        s += 't' + n.s.length + ':' + n.s;
        break;
      case K.Subst:
        s += (n.optional ? '?' : '%') + n.index + ':' + n.type + ';';
        break;
      default:
        // Anything else makes the template uncompilable.
        s += '!';
    }
  }
  return s + '.';
}

function compile(nodes: Node[]): CompiledTemplate | null {
  attrSlots = [];
  try {
    const top = el(OBJ, '', NO_BYTES, 0, 0);
    compileChildren(top, nodes, []);
    if (top.keys) unsupported(); // a substitution at the top of a template
    const els = top.children;
    let rootChars = 0;
    for (const n of nodes) if (n.k === K.Element) rootChars += n.name.length;
    const out: CompiledTemplate = { els, members: present(els), keys: els.map((c) => c.key), topNodes: nodes.length, rootChars, erid: ERID_NONE, attrSlots: Int32Array.from(attrSlots), plans: new Map() };
    if (els.length === 1 && els[0]!.key === 'Event') out.erid = eridSource(els[0]!);
    return out;
  } catch (e) {
    if (e !== UNSUPPORTED) throw e;
    return null;
  }
}

/** Where `doc.Event.System.EventRecordID` comes from (chunk.ts checks it for zeroed records). */
function eridSource(root: CEl): number {
  // A root or System whose content is a BinXML value could hold anything: left to the builder.
  // (A spliced value cannot add a second System: a repeated key sends the record to the builder.)
  if (root.kind !== OBJ && root.kind !== ATTR_OBJ) unsupported();
  const system = root.children.find((c) => c.key === 'System' && c.kind !== SPLICE);
  if (!system) return ERID_NONE;
  if (system.kind !== OBJ && system.kind !== ATTR_OBJ) unsupported();
  const id = system.children.find((c) => c.key === 'EventRecordID' && c.kind !== SPLICE);
  if (!id) return ERID_NONE;
  if (id.kind === LEAF_NULL) return ERID_NULL;
  if (id.kind === LEAF_TEXT) return ERID_NONE;
  if (id.kind === LEAF_SUBST) return id.idx;
  unsupported();
}

// ---------------------------------------------------------------------------------------------
// Reading a record's template instances without decoding the values

/** Natural width of fixed-size types (values.ts WIDTH); 0 for others. */
const WIDTH = new Uint8Array(256);
for (const [t, w] of [
  [T.Int8, 1], [T.UInt8, 1], [T.Int16, 2], [T.UInt16, 2], [T.Int32, 4], [T.UInt32, 4], [T.Int64, 8], [T.UInt64, 8],
  [T.Real32, 4], [T.Real64, 8], [T.Bool, 4], [T.Guid, 16], [T.FileTime, 8], [T.SysTime, 16], [T.HexInt32, 4], [T.HexInt64, 8],
] as const) WIDTH[t] = w;

/** Whether readSized accepts a value of `type` and `size` (it throws for the others). */
function valueOk(type: number, size: number): boolean {
  switch (type) {
    case T.Null:
    case T.String:
    case T.AnsiString:
    case T.Binary:
    case T.Sid:
    case T.BinXml:
    case T.EvtXml:
    case T.EvtHandle:
      return true;
    case T.SizeT:
      return size >= 4;
    default:
      if (type & T.Array) {
        const base = type & 0x7f;
        return base === T.String || base === T.AnsiString || base === T.Binary || base === T.Sid || base === T.SizeT || WIDTH[base] !== 0;
      }
      return WIDTH[type] !== 0 && (size === 0 || size >= WIDTH[type]!);
  }
}

// The values of the record being written, every template instance's in one table: type, offset
// and size of value i of instance n at base[n] + i; `nested` is the instance a BinXML value holds.
let vType = new Int32Array(1024);
let vOff = new Int32Array(1024);
let vSize = new Int32Array(1024);
let vNested = new Int32Array(1024);
let nValues = 0;
const instTpl: CompiledTemplate[] = [];
let instBase = new Int32Array(64);
let instCount = new Int32Array(64);
let nInst = 0;

function growValues(need: number): void {
  let n = vType.length;
  while (n < need) n *= 2;
  const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
    const b = new Int32Array(n);
    b.set(a);
    return b;
  };
  vType = grow(vType);
  vOff = grow(vOff);
  vSize = grow(vSize);
  vNested = grow(vNested);
}

/**
 * Read the template instance at `pos` (after its token) as BinXmlParser.templateInstance does,
 * without decoding values; the instance number, or -1 when the record is for the builder (any
 * shape not compiled, any value the parser would reject, any error).
 */
function readInstance(p: BinXmlParser, b: Uint8Array, dv: DataView, pos: number, end: number, depth: number): number {
  if (pos + 9 > end) return -1;
  const defOffset = dv.getUint32(pos + 5, true);
  pos += 9;
  if (defOffset === pos) {
    if (pos + 24 > end) return -1;
    const size = dv.getUint32(pos + 20, true);
    if (pos + 24 + size > end) return -1;
    pos += 24 + size;
  }
  const c = compiled(p.template(defOffset, pos, depth));
  if (c === null || pos + 4 > end) return -1;
  const count = dv.getUint32(pos, true);
  pos += 4;
  const desc = pos;
  if (pos + count * 4 > end) return -1;
  pos += count * 4;
  const n = nInst++;
  if (n >= instBase.length) {
    const ib = new Int32Array(n * 2);
    ib.set(instBase);
    instBase = ib;
    const ic = new Int32Array(n * 2);
    ic.set(instCount);
    instCount = ic;
  }
  instTpl[n] = c;
  const base = nValues;
  instBase[n] = base;
  instCount[n] = count;
  nValues += count;
  if (nValues > vType.length) growValues(nValues);
  for (let i = 0; i < count; i++) {
    const size = b[desc + i * 4]! | (b[desc + i * 4 + 1]! << 8);
    const type = b[desc + i * 4 + 2]!;
    if (pos + size > end || !valueOk(type, size)) return -1;
    const j = base + i;
    vType[j] = type;
    vOff[j] = pos;
    vSize[j] = size;
    vNested[j] = -1;
    if (type === T.BinXml && size > 0) {
      // A nested fragment: exactly [a fragment header,] one template instance, end of stream.
      const e = pos + size;
      const q = b[pos] === 0x0f ? pos + 4 : pos;
      if (depth + 1 > MAX_NESTING_DEPTH - 2 || q + 1 > e || b[q] !== 0x0c) return -1;
      const inner = readInstance(p, b, dv, q + 1, e, depth + 1);
      if (inner < 0 || !(instEnd === e || (instEnd < e && b[instEnd] === 0))) return -1;
      vNested[j] = inner;
    }
    pos += size;
  }
  instEnd = pos;
  return n;
}

/** Where the instance last read by readInstance ended. */
let instEnd = 0;

// ---------------------------------------------------------------------------------------------
// Writing

// Output goes into a slab shared by successive chunks: each chunk's text is a view of it, so
// the text of a chunk costs neither an allocation nor a copy; a full slab is left to the views
// still using it and a new one started.
const SLAB = 1 << 22;

/**
 * Node's own Buffer codecs (undocumented, stable since Node 0.x, what Buffer.write and
 * toString call): native from the first call, while a byte loop in JavaScript runs slowly until
 * V8 has optimised it — and on a collection of small files most of the run is that warm-up.
 */
interface Codecs {
  utf8Write(s: string, offset: number): number;
  latin1Write(s: string, offset: number): number;
  ucs2Slice(start: number, end: number): string;
}
const slab = (n: number): Uint8Array & Codecs => Buffer.allocUnsafeSlow(n) as unknown as Uint8Array & Codecs;
let out = slab(SLAB);
let at = 0;
/** Where the current chunk's output starts in the slab. */
let chunkStart = 0;

/**
 * Room for `n` more bytes, and a few besides: the single separators (`,` `}` `\n`) written
 * between calls need no check of their own.
 */
function ensure(n: number): void {
  if (at + n + SLACK <= out.length) return;
  const used = at - chunkStart;
  const o = slab(Math.max(SLAB, 2 * (used + n + SLACK)));
  o.set(out.subarray(chunkStart, at));
  out = o;
  chunkStart = 0;
  at = used;
}

function put(bytes: Uint8Array): void {
  const n = bytes.length;
  ensure(n);
  if (n <= 8) {
    const o = out;
    for (let i = 0; i < n; i++) o[at + i] = bytes[i]!;
  } else {
    out.set(bytes, at);
  }
  at += n;
}

/** ASCII text known to need no escaping. */
function putAscii(s: string): void {
  ensure(s.length);
  at += out.latin1Write(s, at);
}

/** A JS string as UTF-8 (it is JSON text already, or text without anything to escape). */
function putText(s: string): void {
  ensure(s.length * 3);
  at += out.utf8Write(s, at);
}

const HEX_UPPER_CODES = utf8('0123456789ABCDEF');




// Budget spent by the record being written (see resolve.ts), and whether it must go to the
// document builder after all.
let nodes = 0;
let chars = 0;
let bail = false;

/** A string substitution (values.ts substString): cut at NUL, trailing whitespace trimmed. */
function putString(p: number, size: number): void {
  const units = size >> 1;
  let s = chunkCodecs!.ucs2Slice(p, p + units * 2);
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul);
  // decodeUtf16: up to 24 units by hand (as ucs2Slice), longer ones through TextDecoder, which
  // drops a leading byte order mark and replaces lone surrogates.
  if (s.length > 24 && (s.charCodeAt(0) === 0xfeff || SURROGATE.test(s))) s = utf16.decode(chunkCodecs!.subarray(p, p + s.length * 2));
  const last = s.charCodeAt(s.length - 1);
  if (last <= 0x20 || last === 0x85 || last === 0xa0 || last >= 0x1680) s = s.replace(TRAILING_WS, '');
  if ((chars += s.length) > MAX_EXPANDED_CHARS) {
    bail = true;
    return;
  }
  putJsonString(s);
}

const SURROGATE = /[\ud800-\udfff]/;
const utf16 = new TextDecoder('utf-16le');

/** A string value of ASCII characters that need no escaping (hex, SIDs, times), charged. */
function putAsciiString(s: string): void {
  if ((chars += s.length) > MAX_EXPANDED_CHARS) {
    bail = true;
    return;
  }
  ensure(s.length + 2);
  out[at++] = 0x22;
  at += out.latin1Write(s, at);
  out[at++] = 0x22;
}

/** A JS string as a JSON string. */
function putJsonString(s: string): void {
  if (NEEDS_ESCAPE.test(s)) putText(json(s));
  else {
    ensure(s.length * 3 + 2);
    out[at++] = 0x22;
    at += out.utf8Write(s, at);
    out[at++] = 0x22;
  }
}

// Strings JSON.stringify would escape: quotes, backslashes, control characters, surrogates.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function num(n: number): string {
  return Number.isFinite(n) ? '' + n : 'null';
}

function arrayJson(a: ArrayValue): string {
  const items = a.items;
  let s = '[';
  for (let i = 0; i < items.length; i++) {
    if (i) s += ',';
    const x = items[i]!;
    s += typeof x === 'string' ? json(x) : typeof x === 'number' ? num(x) : typeof x === 'bigint' ? num(Number(x)) : x ? 'true' : 'false';
  }
  return s + ']';
}

let cursor: Cursor | null = null;
let parser: BinXmlParser | null = null;
/** The chunk being written, as a Buffer (for ucs2Slice). */
let chunkCodecs: (Uint8Array & Codecs) | null = null;

/** A value decoded as the parser decodes it (for the rarer types), written as json.ts would. */
function putDecoded(j: number): void {
  const c = cursor!;
  c.pos = vOff[j]!;
  c.end = vOff[j]! + vSize[j]!;
  const v: Value = readSized(c, vType[j]!, vSize[j]!, parser!, 0);
  if (typeof v === 'string') {
    if ((chars += v.length) > MAX_EXPANDED_CHARS) {
      bail = true;
      return;
    }
    putJsonString(v);
  } else if (typeof v === 'number') putAscii(num(v));
  else if (typeof v === 'boolean') putAscii(v ? 'true' : 'false');
  else if (typeof v === 'bigint') putAscii(num(Number(v)));
  else if (v instanceof ArrayValue) putText(arrayJson(v));
  else if (v === null) putAscii('null');
  else bail = true;
}

/** Whether value `j` (an index into the table, or -1 for a missing one) is null in the document. */
function isNull(j: number): boolean {
  if (j < 0) return true;
  const t = vType[j]!;
  const size = vSize[j]!;
  if (t === T.Null || (t === T.EvtHandle && size < 4)) return true;
  return size === 0 && (WIDTH[t] !== 0 || t === T.BinXml);
}

/** The JSON of a non-BinXML value (json.ts valueJson, then JSON.stringify), charging strings. */
function putValue(b: Uint8Array, dv: DataView, j: number): void {
  if (isNull(j)) {
    put(NULL);
    return;
  }
  const p = vOff[j]!;
  switch (vType[j]) {
    case T.String:
      putString(p, vSize[j]!);
      return;
    case T.UInt8:
    case T.UInt16:
    case T.UInt32:
    case T.Int8:
    case T.Int16:
    case T.Int32:
      putAscii('' + intAt(dv, vType[j]!, p));
      return;
    case T.Guid:
      if ((chars += 36) > MAX_EXPANDED_CHARS) {
        bail = true;
        return;
      }
      putGuid(b, p);
      return;
    case T.FileTime:
      putAsciiString(filetime(dv.getUint32(p, true), dv.getUint32(p + 4, true)));
      return;
    case T.HexInt32:
      putAsciiString(hex32(dv.getUint32(p, true)));
      return;
    case T.HexInt64:
      putAsciiString(hex64(dv.getUint32(p, true), dv.getUint32(p + 4, true)));
      return;
    case T.Sid:
      putAsciiString(sid(b, p, vSize[j]!));
      return;
    case T.UInt64: {
      const hi = dv.getUint32(p + 4, true);
      if (hi < 0x200000) putAscii('' + (hi * 4294967296 + dv.getUint32(p, true)));
      else putDecoded(j);
      return;
    }
    default:
      putDecoded(j);
  }
}

function intAt(dv: DataView, t: number, p: number): number {
  switch (t) {
    case T.UInt8: return dv.getUint8(p);
    case T.UInt16: return dv.getUint16(p, true);
    case T.UInt32: return dv.getUint32(p, true);
    case T.Int8: return dv.getInt8(p);
    case T.Int16: return dv.getInt16(p, true);
    default: return dv.getInt32(p, true);
  }
}

/** format.ts guid, quoted. */
function putGuid(b: Uint8Array, p: number): void {
  ensure(38);
  const h = HEX_UPPER_CODES;
  out[at++] = 0x22;
  for (const i of GUID_ORDER) {
    if (i < 0) out[at++] = 0x2d;
    else {
      const x = b[p + i]!;
      out[at++] = h[x >> 4]!;
      out[at++] = h[x & 15]!;
    }
  }
  out[at++] = 0x22;
}

const GUID_ORDER = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15];

/** Value `i` of instance `n`, or -1 when the instance has no such value. */
function valueIndex(n: number, i: number): number {
  return i < instCount[n]! ? instBase[n]! + i : -1;
}

// ---------------------------------------------------------------------------------------------
// Plans: a compiled template flattened, for one pattern of absent attributes, into static bytes
// with value slots between them.

/** Slot kinds. */
const OP_VALUE = 0; // a value (a BinXML one sends the record to the builder)
const OP_LEAF = 1; // an element's whole content: a value, or a BinXML value's elements as an object
const OP_SPLICE = 2; // a BinXML value's elements among others (the slot's element holds the keys)

/**
 * `frags[0]`, slot 0, `frags[1]`, slot 1, … `frags[n]`. Budget charged whatever the values:
 * `nodes`, `chars` (value strings and nested instances are charged as they are written).
 */
interface Plan {
  frags: Uint8Array[];
  ops: Int32Array;
  idx: Int32Array;
  parents: (CEl | null)[];
  nodes: number;
  chars: number;
}

class PlanBuilder {
  bytes: number[] = [];
  frags: Uint8Array[] = [];
  ops: number[] = [];
  idx: number[] = [];
  parents: (CEl | null)[] = [];
  nodes = 0;
  chars = 0;

  constructor(readonly mask: number) {}

  add(b: Uint8Array): void {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]!);
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.bytes.push(s.charCodeAt(i));
  }
  slot(op: number, idx: number, parent: CEl | null): void {
    this.frags.push(Uint8Array.from(this.bytes));
    this.bytes = [];
    this.ops.push(op);
    this.idx.push(idx);
    this.parents.push(parent);
  }
  done(): Plan {
    this.frags.push(Uint8Array.from(this.bytes));
    return { frags: this.frags, ops: Int32Array.from(this.ops), idx: Int32Array.from(this.idx), parents: this.parents, nodes: this.nodes, chars: this.chars };
  }

  /** Members of an object (comma-separated; a spliced value always adds at least one). */
  members(children: CEl[], parent: CEl | null, prev: boolean): void {
    for (const c of children) {
      if (c.kind === ABSENT) {
        this.nodes += c.nodes;
        this.chars += c.chars;
        continue;
      }
      if (prev) this.ascii(',');
      prev = true;
      if (c.kind === SPLICE) this.slot(OP_SPLICE, c.idx, parent);
      else {
        this.add(c.pre);
        this.element(c);
      }
    }
  }

  /** `{"#attributes":{…}` (left open) for the attributes present; false when none are. */
  attrs(e: CEl): boolean {
    let any = false;
    for (const a of e.attrs) {
      if (a.text === null && !(this.mask & (1 << a.bit))) continue;
      this.ascii(any ? ',' : '{"#attributes":{');
      any = true;
      this.add(a.pre);
      if (a.text !== null) this.add(a.text);
      else this.slot(OP_VALUE, a.idx, null);
    }
    if (any) this.ascii('}');
    return any;
  }

  element(e: CEl): void {
    this.nodes += e.nodes;
    this.chars += e.chars;
    switch (e.kind) {
      case LEAF_NULL:
        this.ascii('null');
        return;
      case LEAF_TEXT:
        this.add(e.text!);
        return;
      case LEAF_SUBST:
        this.slot(OP_LEAF, e.idx, null);
        return;
      case DATA_TEXT:
        this.ascii('{"#text":');
        if (e.idx >= 0) this.slot(OP_VALUE, e.idx, null);
        else this.add(e.text!);
        this.ascii('}');
        return;
      case OBJ:
        if (!present(e.children)) this.ascii('null');
        else {
          this.ascii('{');
          this.members(e.children, e, false);
          this.ascii('}');
        }
        return;
      case ATTR_OBJ: {
        const any = e.attrs.length > 0 && this.attrs(e);
        if (any) {
          this.members(e.children, e, true);
          this.ascii('}');
        } else if (!present(e.children)) this.ascii('null');
        else {
          this.ascii('{');
          this.members(e.children, e, false);
          this.ascii('}');
        }
        return;
      }
      default: {
        // ATTR_LEAF: text under #text when there are attributes.
        const any = e.attrs.length > 0 && this.attrs(e);
        const hasText = e.idx >= 0 || e.text !== null;
        if (any && hasText) this.ascii(',"#text":');
        if (e.idx >= 0) this.slot(OP_VALUE, e.idx, null);
        else if (e.text !== null) this.add(e.text);
        else if (!any) this.ascii('null');
        if (any) this.ascii('}');
      }
    }
  }
}

/** Whether any of `children` writes a member. */
function present(children: CEl[]): boolean {
  return children.some((c) => c.kind !== ABSENT);
}

/** The plan of `c` for the attributes present in `mask` (bit k: attribute substitution k). */
function planFor(c: CompiledTemplate, mask: number): Plan {
  let p = c.plans.get(mask);
  if (p === undefined) {
    const b = new PlanBuilder(mask);
    b.members(c.els, null, false);
    p = b.done();
    c.plans.set(mask, p);
  }
  return p;
}

/** Which attribute substitutions of instance `n` are present (not null). */
function maskOf(c: CompiledTemplate, n: number): number {
  const slots = c.attrSlots;
  let mask = 0;
  for (let k = 0; k < slots.length; k++) if (!isNull(valueIndex(n, slots[k]!))) mask |= 1 << k;
  return mask;
}

const OPEN = 0x7b;
const CLOSE = 0x7d;
const NULL = utf8('null');

/** Write instance `n`'s members by its plan. */
function runPlan(b: Uint8Array, dv: DataView, c: CompiledTemplate, n: number): void {
  const plan = planFor(c, c.attrSlots.length ? maskOf(c, n) : 0);
  nodes += plan.nodes;
  chars += plan.chars;
  const frags = plan.frags;
  const ops = plan.ops;
  const idx = plan.idx;
  for (let i = 0; i < ops.length; i++) {
    put(frags[i]!);
    const j = valueIndex(n, idx[i]!);
    const nested = j >= 0 ? vNested[j]! : -1;
    switch (ops[i]) {
      case OP_VALUE:
        if (nested >= 0) bail = true;
        else putValue(b, dv, j);
        break;
      case OP_LEAF:
        if (nested < 0) putValue(b, dv, j);
        else {
          ensure(1);
          out[at++] = OPEN;
          runNested(b, dv, nested, null);
          ensure(1);
          out[at++] = CLOSE;
        }
        break;
      default:
        // OP_SPLICE: text among child elements (a null BinXML value is one: `#text: null`) is
        // left to the builder.
        if (nested < 0) bail = true;
        else runNested(b, dv, nested, plan.parents[i]!);
    }
    if (bail) return;
  }
  put(frags[ops.length]!);
}

/**
 * The elements of nested instance `n` (content(v) in json.ts). `parent`, when given, holds other
 * keys, which the nested ones must not repeat.
 */
function runNested(b: Uint8Array, dv: DataView, n: number, parent: CEl | null): void {
  const c = instTpl[n]!;
  // content(v), then the instance's template: one node each, plus its top-level list.
  nodes += 1 + c.topNodes;
  // Nested values are where output can grow exponentially: stop past the record's budget. An
  // instance without elements (rare) leaves the object as it was: left to the builder.
  if (nodes > MAX_EXPANDED_NODES || !c.members) {
    bail = true;
    return;
  }
  if (parent !== null && parent.spliceOk !== c) {
    for (const k of c.keys) {
      if (parent.keys!.has(k)) {
        bail = true;
        return;
      }
    }
    parent.spliceOk = c;
  }
  runPlan(b, dv, c, n);
}

/** What `writeRecordJson` found besides the line: the record's EventRecordID when it is 0 or null. */
export let zeroId: number | null | undefined;

/**
 * Write the JSON line (with its newline) of the record whose BinXML is `[start, end)` of the
 * chunk, straight from the bytes. Returns false, having written nothing and charged nothing,
 * when the document builder must do it (see the module comment); Sets `zeroId` (undefined: the id is neither 0 nor null).
 */
export function writeRecordJson(p: BinXmlParser, start: number, end: number): boolean {
  const b = p.buf;
  if (start + 5 > end || b[start] !== 0x0f || b[start + 4] !== 0x0c) return false;
  const dv = p.dv;
  nValues = 0;
  nInst = 0;
  let root: number;
  try {
    root = readInstance(p, b, dv, start + 5, end, 0);
  } catch {
    // A broken template: the parser reports it (the same error, cached for the chunk).
    return false;
  }
  if (root < 0 || !(instEnd < end && b[instEnd] === 0)) return false;
  const c = instTpl[root]!;
  if (c.els.length !== 1) return false;
  if (parser !== p) {
    parser = p;
    cursor = new Cursor(b, 0, b.length, dv);
    chunkCodecs = Buffer.from(b.buffer, b.byteOffset, b.byteLength) as unknown as Uint8Array & Codecs;
  }
  zeroId = undefined;
  if (c.erid !== ERID_NONE) {
    const j = c.erid === ERID_NULL ? -1 : valueIndex(root, c.erid);
    if (j >= 0 && vNested[j]! >= 0) return false;
    if (isNull(j)) zeroId = null;
    else if (WIDTH[vType[j]!] !== 0 && vType[j] !== T.Bool) {
      cursor!.pos = vOff[j]!;
      cursor!.end = vOff[j]! + vSize[j]!;
      const v = readSized(cursor!, vType[j]!, vSize[j]!, p, 0);
      if (v === 0 || v === 0n) zeroId = 0;
    }
  }
  // The record's node list and the template's, and the root's name, are charged when the
  // record's nodes are resolved (the builder charges the name again for the element itself).
  nodes = 1 + c.topNodes;
  chars = c.rootChars;
  bail = false;
  const line = at;
  ensure(1);
  out[at++] = OPEN;
  runPlan(b, dv, c, root);
  if (bail || !trySpend(nodes, chars)) {
    at = line;
    return false;
  }
  ensure(2);
  out[at++] = 0x7d;
  out[at++] = 0x0a;
  lines++;
  return true;
}

const SLACK = 16;

/** Start a chunk's output. */
export function beginOutput(): void {
  at = chunkStart;
  lines = 0;
}

/** The chunk's output: a view of the slab, which later chunks do not overwrite. */
export function takeOutput(): Uint8Array {
  const o = out.subarray(chunkStart, at);
  chunkStart = at;
  lines = 0;
  return o;
}

/** Lines written since the last takeOutput. */
export let lines = 0;

/** A line the document builder wrote, added to the chunk's output in order. */
export function writeLine(line: string): void {
  putText(line);
  out[at++] = 0x0a;
  lines++;
}
