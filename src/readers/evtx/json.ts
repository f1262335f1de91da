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
import { ArrayValue, K, type Node } from './ir.js';
import { MAX_NESTING_DEPTH } from './limits.js';
import { RElem, resolve, type R } from './resolve.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const isObject = (v: Json | undefined): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

function isEmptyObject(o: JsonObject): boolean {
  for (const _ in o) return false;
  return true;
}

/** The text of one item, as it reads when concatenated. */
export function itemText(x: R): string {
  if (typeof x === 'string') return x;
  if (x === null || x instanceof RElem) return '';
  if (typeof x === 'boolean') return x ? 'true' : 'false';
  if (typeof x === 'number' || typeof x === 'bigint' || x instanceof ArrayValue) return String(x);
  if (x.k === K.Entity) return ENTITIES[x.name] ?? `&${x.name};`;
  if (x.k === K.CharRef) return String.fromCharCode(x.code);
  return '';
}

/** The JSON value of one item. */
function itemJson(x: R): Json {
  if (x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') return x;
  if (typeof x === 'bigint') return Number(x);
  if (x instanceof ArrayValue) return x.items.map((i) => (typeof i === 'bigint' ? Number(i) : i));
  return itemText(x);
}

/** The JSON value of an attribute: its single value, or the text of several. */
function attrJson(items: R[]): Json {
  if (items.length === 1) return itemJson(items[0]!);
  let s = '';
  for (const x of items) s += itemText(x);
  return s;
}

/** First free `key_N` (N ≥ 1) in `obj`. */
function dupKey(obj: JsonObject, key: string): string {
  let n = 1;
  while (`${key}_${n}` in obj) n++;
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
  if (isObject(old) && !isEmptyObject(old)) parent[dupKey(parent, key)] = old;
  parent[key] = { '#attributes': attrs };
}

/** Add text item `x` to the value at `parent[key]`. */
function characters(parent: JsonObject, key: string, x: R): void {
  if (x !== null && typeof x === 'object' && !(x instanceof ArrayValue) && !(x instanceof RElem) && (x.k === K.PITarget || x.k === K.PIData)) return;
  const cur = parent[key];
  if (cur === undefined) {
    parent[key] = { '#text': itemJson(x) };
  } else if (cur === null) {
    parent[key] = itemJson(x);
  } else if (typeof cur === 'string') {
    parent[key] = cur + itemText(x);
  } else if (Array.isArray(cur)) {
    cur.push(itemJson(x));
  } else if (isObject(cur)) {
    const t = cur['#text'];
    if (t === undefined || t === null) cur['#text'] = itemJson(x);
    else if (Array.isArray(t)) t.push(itemJson(x));
    else cur['#text'] = [t, itemJson(x)];
  } else {
    // A number or boolean followed by more text: keep both as text.
    parent[key] = String(cur) + itemText(x);
  }
}

function element(parent: JsonObject, r: RElem, depth: number): void {
  if (depth > 4 * MAX_NESTING_DEPTH) throw new DecodeError(Codes.limit, 'document nested too deeply', 0, 'record');
  const el = r.el;
  let key = el.name;
  if (key === 'Data') {
    const nameAttr = el.attrs.find((a) => a.name === 'Name');
    if (nameAttr) {
      key = resolve(nameAttr.value, r.ctx, []).map(itemText).join('');
      insertPlain(parent, key);
    }
    // An unnamed Data item adds to the shared "Data" entry when it has text.
  } else if (el.attrs.length === 0) {
    insertPlain(parent, key);
  } else {
    let attrs: JsonObject | null = null;
    for (const a of el.attrs) {
      const items = resolve(a.value, r.ctx, []);
      if (!items.length) continue;
      const v = attrJson(items);
      if (v !== null) (attrs ??= {})[a.name] = v;
    }
    if (attrs) insertWithAttributes(parent, key, attrs);
    else parent[key] = null;
  }
  const children = resolve(el.children, r.ctx, []);
  for (let i = 0; i < children.length; i++) {
    const x = children[i]!;
    if (x instanceof RElem) {
      let cur = parent[key];
      if (!isObject(cur)) {
        // Child elements need an object; text already there is kept under #text.
        const obj: JsonObject = {};
        if (cur !== undefined && cur !== null) obj['#text'] = cur;
        parent[key] = cur = obj;
      }
      element(cur, x, depth + 1);
    } else {
      characters(parent, key, x);
    }
  }
}

/** The document of one record: `{ "<root name>": … }`, normally `{ "Event": {…} }`. */
export function toDocument(nodes: Node[]): JsonObject {
  const doc: JsonObject = {};
  let roots = 0;
  for (const x of resolve(nodes, null, [])) {
    if (!(x instanceof RElem)) continue;
    if (++roots > 1) throw new DecodeError(Codes.binxmlStructure, 'record has more than one root element', 0, 'record');
    element(doc, x, 0);
  }
  if (!roots) throw new DecodeError(Codes.binxmlStructure, 'record has no root element', 0, 'record');
  return doc;
}
