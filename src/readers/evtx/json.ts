/**
 * Resolved BinXML → the document shape of the evtx crate's JSON output, as in SigmaHQ's
 * regression `.json` twins and as `eventFromWindowsDoc` reads it. The builder follows the
 * crate's streaming rules, element by element:
 *
 * - an element without attributes starts as `null`; its text replaces the null
 *   (`"EventID": 4624` — one integer, boolean or real value stays a JSON number/boolean, an
 *   array value stays a JSON array); more text is appended to a string;
 * - an element with attributes becomes `{"#attributes": {…}}` (null attributes left out), its
 *   text goes under `#text` (a second text item turns `#text` into an array);
 * - `<Data Name="X">` becomes the key `X`; unnamed `<Data>` items collect under
 *   `"Data": {"#text": v}` (an array when there are several);
 * - a repeated key moves the earlier value to `Name_1`, `Name_2`, … so the latest one keeps the
 *   plain name;
 * - entity and character references are decoded (the crate decodes entities and rejects
 *   character references; a record is not worth losing over one).
 */
import { Codes, DecodeError } from './errors.js';
import { ArrayValue, K, T, type ElementNode, type Node, type Value } from './ir.js';
import { MAX_NESTING_DEPTH } from './limits.js';
import { RElem, resolve, spend, spendText, type R } from './resolve.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const isObject = (v: Json | undefined): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

function isEmptyObject(o: JsonObject): boolean {
  for (const _ in o) return false;
  return true;
}

/** The text of one item, as it reads when concatenated. */
function itemText(x: R): string {
  if (typeof x === 'string') return x;
  if (x === null || x instanceof RElem) return '';
  if (typeof x === 'boolean') return x ? 'true' : 'false';
  if (typeof x === 'number' || typeof x === 'bigint' || x instanceof ArrayValue) return String(x);
  if (x.k === K.Entity) return ENTITIES[x.name] ?? `&${x.name};`;
  if (x.k === K.CharRef) return String.fromCharCode(x.code);
  return '';
}

/** The JSON value of one value. */
function valueJson(x: Value): Json {
  if (typeof x === 'string') {
    spendText(x.length);
    return x;
  }
  if (x === null || typeof x === 'number' || typeof x === 'boolean') return x;
  if (typeof x === 'bigint') return Number(x);
  if (x instanceof ArrayValue) return x.items.map((i) => (typeof i === 'bigint' ? Number(i) : i));
  return '';
}

/** The JSON value of one item. */
function itemJson(x: R): Json {
  if (x === null || typeof x !== 'object' || x instanceof ArrayValue) return valueJson(x);
  return itemText(x);
}

/** The JSON value of an attribute: its single value, or the text of several; undefined: none. */
function attrJson(nodes: Node[], ctx: Value[] | null): Json | undefined {
  if (nodes.length === 1) {
    // The common cases (one substitution, one literal) without building an item list.
    const n = nodes[0]!;
    if (n.k === K.Text) {
      spendText(n.s.length);
      return n.s;
    }
    if (n.k === K.Subst) {
      if (n.optional && n.type === T.Null) return undefined;
      const v = ctx !== null && n.index < ctx.length ? ctx[n.index]! : null;
      if (!Array.isArray(v)) return valueJson(v);
    }
  }
  const items = resolve(nodes, ctx, []);
  if (!items.length) return undefined;
  if (items.length === 1) return itemJson(items[0]!);
  let s = '';
  for (const x of items) s += itemText(x);
  return s;
}

// Next suffix to try per object and name, so a name repeated n times costs O(n), not O(n²).
const nextSuffix = new WeakMap<JsonObject, Map<string, number>>();

/** First free `key_N` (N ≥ 1) in `obj`. */
function dupKey(obj: JsonObject, key: string): string {
  let m = nextSuffix.get(obj);
  if (!m) nextSuffix.set(obj, (m = new Map<string, number>()));
  let n = m.get(key) ?? 1;
  while (`${key}_${n}` in obj) n++;
  m.set(key, n + 1);
  return `${key}_${n}`;
}

/** Insert a null placeholder for `key`, moving a previous real value aside. */
function insertPlain(parent: JsonObject, key: string): void {
  const old = parent[key];
  parent[key] = null;
  if (old !== undefined && old !== null && !(isObject(old) && isEmptyObject(old))) parent[dupKey(parent, key)] = old;
}

/** Insert `{"#attributes": …}` for `key`, moving a previous non-empty object aside. */
function insertWithAttributes(parent: JsonObject, key: string, attrs: JsonObject): void {
  const old = parent[key];
  if (old !== undefined && isObject(old) && !isEmptyObject(old)) parent[dupKey(parent, key)] = old;
  parent[key] = { '#attributes': attrs };
}

/** Add text (`json` its JSON value, `text` its text) to the value at `parent[key]`. */
function characters(parent: JsonObject, key: string, json: Json, text: string): void {
  const cur = parent[key];
  if (cur === undefined) {
    parent[key] = { '#text': json };
  } else if (cur === null) {
    parent[key] = json;
  } else if (typeof cur === 'string') {
    parent[key] = cur + text;
  } else if (Array.isArray(cur)) {
    cur.push(json);
  } else if (typeof cur === 'object') {
    const t = cur['#text'];
    if (t === undefined || t === null) cur['#text'] = json;
    else if (Array.isArray(t)) t.push(json);
    else cur['#text'] = [t, json];
  } else {
    // A number or boolean followed by more text: keep both as text.
    parent[key] = String(cur) + text;
  }
}

function valueCharacters(parent: JsonObject, key: string, v: Value): void {
  if (typeof v === 'string') {
    spendText(v.length);
    characters(parent, key, v, v);
  } else {
    characters(
      parent,
      key,
      valueJson(v),
      v === null ? '' : typeof v === 'boolean' ? (v ? 'true' : 'false') : typeof v === 'number' || typeof v === 'bigint' ? String(v) : v instanceof ArrayValue ? v.toString() : '',
    );
  }
}

/** The object at `parent[key]`, made one if it is not (child elements need an object). */
function objectAt(parent: JsonObject, key: string): JsonObject {
  const cur = parent[key];
  if (cur !== undefined && cur !== null && typeof cur === 'object' && !Array.isArray(cur)) return cur;
  // Text already there is kept under #text.
  const obj: JsonObject = {};
  if (cur !== undefined && cur !== null) obj['#text'] = cur;
  parent[key] = obj;
  return obj;
}

/**
 * Emit the content `nodes` (read in `ctx`) of the element stored at `parent[key]`, without
 * building intermediate lists: child elements recurse, text and values are added in order.
 */
function content(parent: JsonObject, key: string, nodes: Node[], ctx: Value[] | null, depth: number): void {
  spend(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    switch (n.k) {
      case K.Element:
        element(objectAt(parent, key), n, ctx, depth + 1);
        break;
      case K.Text:
        spendText(n.s.length);
        characters(parent, key, n.s, n.s);
        break;
      case K.Subst: {
        if (n.optional && n.type === T.Null) break;
        const v = ctx !== null && n.index < ctx.length ? ctx[n.index]! : null;
        if (Array.isArray(v)) content(parent, key, v, null, depth + 1);
        else valueCharacters(parent, key, v);
        break;
      }
      case K.Value:
        if (Array.isArray(n.v)) content(parent, key, n.v, null, depth + 1);
        else valueCharacters(parent, key, n.v);
        break;
      case K.Template:
        content(parent, key, n.tpl.nodes, n.values, depth + 1);
        break;
      case K.Entity:
      case K.CharRef: {
        const t = itemText(n);
        characters(parent, key, t, t);
        break;
      }
      default:
      // Processing instructions carry no data for the document.
    }
  }
}

/**
 * The JSON value of `nodes` when they are a single literal or plain substitution (most template
 * elements: `<EventID>%1</EventID>`), else undefined. Ignored substitutions give null.
 */
function simpleContent(nodes: Node[], ctx: Value[] | null): Json | undefined {
  if (nodes.length !== 1) return nodes.length === 0 ? null : undefined;
  const n = nodes[0]!;
  if (n.k === K.Text) {
    spendText(n.s.length);
    return n.s;
  }
  if (n.k !== K.Subst) return undefined;
  if (n.optional && n.type === T.Null) return null;
  const v = ctx !== null && n.index < ctx.length ? ctx[n.index]! : null;
  return Array.isArray(v) ? undefined : valueJson(v);
}

function element(parent: JsonObject, el: ElementNode, ctx: Value[] | null, depth: number): void {
  if (depth > 4 * MAX_NESTING_DEPTH) throw new DecodeError(Codes.limit, 'document nested too deeply', 0, 'record');
  let key = el.name;
  spendText(key.length);
  const attrs = el.attrs;
  // Fast path: a new key holding one value (the same result as the general steps below,
  // which would store null and then replace it).
  if (attrs.length === 0 && key !== 'Data' && parent[key] === undefined) {
    const v = simpleContent(el.children, ctx);
    if (v !== undefined) {
      spend(1);
      parent[key] = v;
      return;
    }
  }
  if (key === 'Data') {
    for (let i = 0; i < attrs.length; i++) {
      if (attrs[i]!.name !== 'Name') continue;
      const v = attrJson(attrs[i]!.value, ctx);
      key =
        v === undefined || v === null
          ? ''
          : typeof v === 'string'
            ? v
            : Array.isArray(v)
              ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',')
              : typeof v === 'object'
                ? JSON.stringify(v)
                : String(v);
      if (parent[key] === undefined) {
        const c = simpleContent(el.children, ctx);
        if (c !== undefined) {
          spend(1);
          parent[key] = c;
          return;
        }
      }
      insertPlain(parent, key);
      break;
    }
    // An unnamed Data item adds to the shared "Data" entry when it has text.
  } else if (attrs.length === 0) {
    insertPlain(parent, key);
  } else {
    let obj: JsonObject | null = null;
    for (let i = 0; i < attrs.length; i++) {
      const v = attrJson(attrs[i]!.value, ctx);
      if (v !== undefined && v !== null) (obj ??= {})[attrs[i]!.name] = v;
    }
    if (obj) insertWithAttributes(parent, key, obj);
    else parent[key] = null;
  }
  content(parent, key, el.children, ctx, depth);
}

/** The document of one record: `{ "<root name>": … }`, normally `{ "Event": {…} }`. */
export function toDocument(nodes: Node[]): JsonObject {
  const doc: JsonObject = {};
  let roots = 0;
  for (const x of resolve(nodes, null, [])) {
    if (!(x instanceof RElem)) continue;
    if (++roots > 1) throw new DecodeError(Codes.binxmlStructure, 'record has more than one root element', 0, 'record');
    element(doc, x.el, x.ctx, 0);
  }
  if (!roots) throw new DecodeError(Codes.binxmlStructure, 'record has no root element', 0, 'record');
  return doc;
}
