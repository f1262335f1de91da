/**
 * Binary XML (MS-EVEN6 §3.1.4.7, libyal "Binary XML") → IR nodes. One parser per chunk: element
 * and attribute names are offsets into the chunk, resolved once and cached, and template
 * definitions are parsed once per chunk and shared by every record that instantiates them.
 */
import { Cursor, decodeUtf16 } from './cursor.js';
import { Codes, DecodeError } from './errors.js';
import { guid } from './format.js';
import { K, type Attr, type ElementNode, type Node, type Template, type TemplateNode, type Value } from './ir.js';
import { CHUNK_HEADER_SIZE, MAX_NAME_CHARS, MAX_NESTING_DEPTH } from './limits.js';
import { readSized, readUnsized, type NestedParser } from './values.js';

const TOKEN = {
  EOF: 0x00,
  OpenStart: 0x01,
  CloseStart: 0x02,
  CloseEmpty: 0x03,
  End: 0x04,
  Value: 0x05,
  Attribute: 0x06,
  CData: 0x07,
  CharRef: 0x08,
  EntityRef: 0x09,
  PITarget: 0x0a,
  PIData: 0x0b,
  TemplateInstance: 0x0c,
  Subst: 0x0d,
  OptionalSubst: 0x0e,
  FragmentHeader: 0x0f,
} as const;

/** Tokens that may carry the 0x40 "more follows" flag. */
const FLAGGABLE = new Set<number>([TOKEN.OpenStart, TOKEN.Value, TOKEN.Attribute, TOKEN.CData, TOKEN.CharRef, TOKEN.EntityRef]);

/** A template definition header: next offset (4), GUID (16), data size (4). */
const TEMPLATE_HEADER_SIZE = 24;

function fail(code: string, message: string, at: number, what: string): never {
  throw new DecodeError(code, message, at, what);
}

/** Failed template parses are remembered so a broken template costs one parse per chunk. */
interface Broken {
  error: DecodeError;
}

export class BinXmlParser implements NestedParser {
  private readonly names = new Map<number, string>();
  private readonly templates = new Map<number, Template | Broken | null>();

  private readonly dv: DataView;

  constructor(readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Parse a record's BinXML in `[start, end)` of the chunk. */
  parseRecord(start: number, end: number): Node[] {
    const c = new Cursor(this.buf, start, end, this.dv);
    const b = this.buf;
    // Nearly every record is a fragment header, one template instance and end-of-stream:
    // take that shape directly, and anything else through the general token loop.
    if (start + 5 <= end && b[start] === 0x0f && b[start + 4] === 0x0c) {
      c.pos = start + 5;
      const node = this.templateInstance(c, 0);
      if (c.pos < end && b[c.pos] === 0x00) return [node];
      c.pos = start;
    }
    return this.fragment(c, end, false, 0);
  }

  /** The element name stored at `offset` (name-link u32, hash u16, length u16, UTF-16, NUL). */
  private nameAt(offset: number, at: number): string {
    const cached = this.names.get(offset);
    if (cached !== undefined) return cached;
    const buf = this.buf;
    if (offset < 0 || offset + 8 > buf.length) fail(Codes.binxmlStructure, `name offset ${offset} is outside the chunk`, at, 'name');
    const chars = buf[offset + 6]! | (buf[offset + 7]! << 8);
    if (chars > MAX_NAME_CHARS) fail(Codes.binxmlStructure, `name at ${offset} claims ${chars} characters (at most ${MAX_NAME_CHARS})`, at, 'name');
    if (offset + 8 + chars * 2 > buf.length) fail(Codes.truncated, `name at ${offset} of ${chars} characters runs past the chunk`, at, 'name');
    const name = decodeUtf16(buf, offset + 8, chars);
    this.names.set(offset, name);
    return name;
  }

  /** A name reference; when it points at the cursor the name is stored inline and is skipped. */
  private nameRef(c: Cursor): string {
    const at = c.pos;
    const offset = c.u32('name offset');
    const name = this.nameAt(offset, at);
    if (offset === c.pos) c.skip(8 + name.length * 2 + 2, 'inline name');
    return name;
  }

  /** A name offset is plausible when it is inline (here) or points back into the chunk body. */
  private plausibleName(offset: number, here: number): boolean {
    return offset === here || (offset >= CHUNK_HEADER_SIZE && offset + 8 <= here);
  }

  /**
   * An element start: [dependency id u16], data size u32, name, [attribute list size u32].
   * Template definitions carry the dependency id, record bodies and nested BinXML do not; a few
   * writers break that rule (WEC-forwarded logs), so when the expected layout yields an
   * implausible name offset the other layout is tried.
   */
  private elementName(c: Cursor, hasDepId: boolean): string {
    const start = c.pos;
    const nameAt = start + (hasDepId ? 6 : 4);
    if (nameAt + 4 <= c.end && !this.plausibleName(c.dv.getUint32(nameAt, true), nameAt + 4)) {
      const alt = start + (hasDepId ? 4 : 6);
      if (alt + 4 <= c.end && this.plausibleName(c.dv.getUint32(alt, true), alt + 4)) hasDepId = !hasDepId;
    }
    if (hasDepId) c.u16('dependency id');
    c.u32('element data size');
    return this.nameRef(c);
  }

  /**
   * Parse tokens until end-of-stream or `end` (-1: only end-of-stream). Returns the top-level
   * nodes: elements and template instances.
   */
  fragment(c: Cursor, end: number, inTemplate: boolean, depth: number): Node[] {
    if (depth > MAX_NESTING_DEPTH) fail(Codes.limit, `BinXML nested deeper than ${MAX_NESTING_DEPTH}`, c.pos, 'fragment');
    const limit = end < 0 ? c.end : end;
    const top: Node[] = [];
    const stack: ElementNode[] = [];
    let open: ElementNode | null = null;
    let attr: Attr | null = null;

    const attach = (n: Node, at: number): void => {
      if (open) fail(Codes.binxmlStructure, 'element inside a start tag', at, 'element');
      if (stack.length) stack[stack.length - 1]!.children.push(n);
      else top.push(n);
    };
    const push = (n: Node, at: number): void => {
      if (open) {
        // Content in a start tag belongs to the attribute being read; before any attribute
        // it has nowhere to go and is dropped, as Windows does.
        if (attr) attr.value.push(n);
      } else if (stack.length) {
        stack[stack.length - 1]!.children.push(n);
      } else {
        fail(Codes.binxmlStructure, 'content outside any element', at, 'fragment');
      }
    };

    while (c.pos < limit) {
      const at = c.pos;
      const raw = c.u8('token');
      const tok = raw & 0xbf;
      if (raw & 0x40 && !FLAGGABLE.has(tok)) fail(Codes.binxmlToken, `invalid token 0x${raw.toString(16)}`, at, 'token');
      switch (tok) {
        case TOKEN.EOF:
          if (open || stack.length) fail(Codes.binxmlStructure, 'end of stream inside an element', at, 'fragment');
          return top;
        case TOKEN.FragmentHeader:
          c.skip(3, 'fragment header');
          break;
        case TOKEN.OpenStart: {
          if (open) fail(Codes.binxmlStructure, 'element start inside a start tag', at, 'element');
          const name = this.elementName(c, inTemplate);
          if (raw & 0x40) c.u32('attribute list size');
          open = { k: K.Element, name, attrs: [], children: [] };
          attr = null;
          break;
        }
        case TOKEN.CloseStart:
          if (!open) fail(Codes.binxmlStructure, 'close of a start tag that is not open', at, 'element');
          if (depth + stack.length >= MAX_NESTING_DEPTH) fail(Codes.limit, `elements nested deeper than ${MAX_NESTING_DEPTH}`, at, 'element');
          stack.push(open);
          open = attr = null;
          break;
        case TOKEN.CloseEmpty: {
          if (!open) fail(Codes.binxmlStructure, 'close of a start tag that is not open', at, 'element');
          const el: ElementNode = open;
          open = attr = null;
          attach(el, at);
          break;
        }
        case TOKEN.End: {
          if (open || !stack.length) fail(Codes.binxmlStructure, 'end tag with no open element', at, 'element');
          attach(stack.pop()!, at);
          break;
        }
        case TOKEN.Attribute: {
          if (!open) fail(Codes.binxmlStructure, 'attribute outside a start tag', at, 'attribute');
          attr = { name: this.nameRef(c), value: [] };
          open.attrs.push(attr);
          break;
        }
        case TOKEN.Value: {
          const v = readUnsized(c, c.u8('value type'), this, depth + stack.length + 1);
          if (Array.isArray(v)) for (const n of v) attach(n, at);
          else if (typeof v === 'string') push({ k: K.Text, s: v, cdata: false }, at);
          else if (v !== null) push({ k: K.Value, v }, at);
          break;
        }
        case TOKEN.CData:
          push({ k: K.Text, s: c.lenPrefixedUtf16('CDATA section'), cdata: true }, at);
          break;
        case TOKEN.CharRef:
          push({ k: K.CharRef, code: c.u16('character reference') }, at);
          break;
        case TOKEN.EntityRef:
          push({ k: K.Entity, name: this.nameRef(c) }, at);
          break;
        case TOKEN.PITarget:
          push({ k: K.PITarget, name: this.nameRef(c) }, at);
          break;
        case TOKEN.PIData:
          push({ k: K.PIData, s: c.lenPrefixedUtf16('processing instruction data') }, at);
          break;
        case TOKEN.TemplateInstance:
          if (inTemplate) fail(Codes.binxmlTemplate, 'template instance inside a template definition', at, 'template instance');
          attach(this.templateInstance(c, depth + stack.length), at);
          break;
        case TOKEN.Subst:
        case TOKEN.OptionalSubst: {
          if (!inTemplate) fail(Codes.binxmlStructure, 'substitution outside a template definition', at, 'substitution');
          const index = c.u16('substitution index');
          const type = c.u8('substitution type');
          push({ k: K.Subst, index, type, optional: tok === TOKEN.OptionalSubst }, at);
          break;
        }
        default:
          fail(Codes.binxmlToken, `invalid token 0x${raw.toString(16)}`, at, 'token');
      }
    }
    if (open || stack.length) fail(Codes.binxmlStructure, `fragment ends inside element <${(open ?? stack[stack.length - 1])!.name}>`, c.pos, 'fragment');
    return top;
  }

  /**
   * A template instance: unknown u8, template id u32, definition offset u32, the definition
   * itself when this is its first use in the chunk, then the substitution descriptors
   * (size u16, type u8, pad u8) and the values.
   */
  private templateInstance(c: Cursor, depth: number): TemplateNode {
    c.u8('template instance');
    c.u32('template id');
    const defOffset = c.u32('template definition offset');
    if (defOffset === c.pos) {
      c.need(TEMPLATE_HEADER_SIZE, 'template definition header');
      const size = c.dv.getUint32(c.pos + 20, true);
      c.skip(TEMPLATE_HEADER_SIZE + size, 'inline template definition');
    }
    const tpl = this.template(defOffset, c.pos, depth);
    const count = c.u32('substitution count');
    // Each descriptor (size u16, type u8, padding u8) is 4 bytes: checking that they fit bounds
    // the value array below by the record size.
    const desc = c.pos;
    c.skip(count * 4, 'substitution descriptors');
    const values = new Array<Value>(count);
    const dv = c.dv;
    for (let i = 0; i < count; i++) values[i] = readSized(c, this.buf[desc + i * 4 + 2]!, dv.getUint16(desc + i * 4, true), this, depth + 1);
    return { k: K.Template, tpl, values };
  }

  /** The template defined at `offset`, parsed on first use and cached for the chunk. */
  private template(offset: number, at: number, depth: number): Template {
    const cached = this.templates.get(offset);
    if (cached) {
      if ('error' in cached) throw cached.error;
      return cached;
    }
    if (cached === null) fail(Codes.binxmlTemplate, `template at ${offset} refers to itself`, at, 'template definition');
    const buf = this.buf;
    if (offset < CHUNK_HEADER_SIZE || offset + TEMPLATE_HEADER_SIZE > buf.length) {
      fail(Codes.binxmlTemplate, `template definition offset ${offset} is outside the chunk`, at, 'template definition');
    }
    const size = this.dv.getUint32(offset + 20, true);
    const start = offset + TEMPLATE_HEADER_SIZE;
    if (start + size > buf.length) {
      fail(Codes.binxmlTemplate, `template definition at ${offset} declares ${size} bytes, past the chunk end`, at, 'template definition');
    }
    this.templates.set(offset, null);
    try {
      const nodes = this.fragment(new Cursor(buf, start, start + size, this.dv), start + size, true, depth + 1);
      const tpl: Template = { offset, guid: guid(buf, offset + 4), nodes };
      this.templates.set(offset, tpl);
      return tpl;
    } catch (e) {
      const error =
        e instanceof DecodeError
          ? new DecodeError(e.code, `in template definition at ${offset}: ${e.message}`, e.at, e.what)
          : new DecodeError(Codes.binxmlTemplate, `template definition at ${offset}: ${String(e)}`, at, 'template definition');
      this.templates.set(offset, { error });
      throw error;
    }
  }
}
