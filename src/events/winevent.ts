/**
 * Windows event normalisation: the evtx-crate JSON shape (`{"Event":{"System":…,"EventData":…}}`,
 * XML attributes under `#attributes`, element text under `#text`) → a flat Sigma-named `Event`.
 *
 * Both the native EVTX parser and the JSON reader produce this document shape, so an `.evtx`
 * record and its JSON twin become the same `Event`.
 */
import { Event, type EventSource, type FieldValue, type Fields, type Scalar } from './event.js';

type Doc = Record<string, unknown>;

const isObj = (v: unknown): v is Doc => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Sigma field names are XML names with all spaces stripped (`Threat Name` → `ThreatName`). */
export function sigmaFieldName(name: string): string {
  return name.includes(' ') ? name.replace(/ /g, '') : name;
}

/** True when `doc` looks like an evtx-crate JSON record. */
export function isWindowsEventDoc(doc: unknown): doc is { Event: Doc } {
  return isObj(doc) && isObj(doc.Event) && (isObj(doc.Event.System) || 'EventData' in doc.Event || 'UserData' in doc.Event);
}

export interface WindowsDocOptions {
  /**
   * The document comes from the evtx crate's JSON (`evtx_dump`, SigmaHQ's regression twins),
   * which prints GUID-typed values without the braces Windows writes: put them back, so a record
   * read as JSON is the same event as read from its `.evtx` (and SigmaHQ's `{…}` values match).
   */
  braceGuids?: boolean;
}

/** Build an Event from an evtx-crate JSON record. */
export function eventFromWindowsDoc(doc: { Event: Doc }, source: EventSource, opts: WindowsDocOptions = {}): Event {
  const fields: Fields = Object.create(null) as Fields;
  // A damaged record may have another root element (or an empty one): an event without fields.
  const ev: Doc = isObj(doc.Event) ? doc.Event : {};
  if (isObj(ev.System)) flattenSystem(ev.System, fields);
  for (const key of Object.keys(ev)) {
    if (key === 'System' || key === '#attributes') continue;
    flattenData(ev[key], fields, key);
  }
  if (opts.braceGuids) braceBareGuids(fields);
  return new Event(fields, source, doc, 'windows');
}

/** A GUID as the evtx crate prints a GUID-typed value: upper case, no braces. */
const BARE_GUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const braced = (v: Scalar): Scalar => (typeof v === 'string' && v.length === 36 && BARE_GUID.test(v) ? `{${v}}` : v);

function braceBareGuids(fields: Fields): void {
  for (const k in fields) {
    const v = fields[k]!;
    fields[k] = Array.isArray(v) ? v.map(braced) : braced(v as Scalar);
  }
}

/**
 * System: element text keeps its name (`EventID`, `Channel`, `Computer`); attributes become
 * `Element_Attribute` (`Provider_Name`, `TimeCreated_SystemTime`, `Execution_ProcessID`).
 */
function flattenSystem(sys: Doc, out: Fields): void {
  for (const name in sys) {
    const v = sys[name];
    if (isObj(v)) {
      const attrs = v['#attributes'];
      if (isObj(attrs)) for (const a in attrs) out[attributeField(name, a)] = scalar(attrs[a]);
      if ('#text' in v) out[name] = value(v['#text']);
    } else {
      out[name] = value(v);
    }
  }
}

/** `Element_Attribute` names, made once each (the same few dozen occur in every record). */
const attributeNames = new Map<string, Map<string, string>>();
function attributeField(element: string, attribute: string): string {
  let byAttr = attributeNames.get(element);
  if (!byAttr) {
    if (attributeNames.size >= 1024) attributeNames.clear(); // hostile input inventing names
    attributeNames.set(element, (byAttr = new Map<string, string>()));
  }
  let name = byAttr.get(attribute);
  if (name === undefined) {
    if (byAttr.size >= 1024) byAttr.clear();
    byAttr.set(attribute, (name = `${element}_${attribute}`));
  }
  return name;
}

/**
 * EventData / UserData / other sections: every named leaf becomes a field (spaces stripped).
 * UserData nests one wrapper element (`Operation_ClientFailure`), which is walked through.
 * Unnamed `<Data>` items stay under `Data` as a list.
 */
function flattenData(node: unknown, out: Fields, name: string, depth = 0): void {
  if (depth > 16) return; // documents are shallow; cap recursion on hostile input
  if (!isObj(node)) {
    if (node !== null && node !== undefined && depth > 0) setField(out, name, value(node));
    return;
  }
  for (const k in node) {
    const v = node[k];
    if (k === '#attributes') {
      if (depth > 0 && isObj(v)) for (const a in v) if (a !== 'xmlns') setField(out, attributeField(name, a), scalar(v[a]));
      continue;
    }
    if (k === '#text') {
      if (depth > 0) setField(out, name, value(v));
      continue;
    }
    if (isObj(v) && !('#text' in v && textWithAttributes(v))) {
      flattenData(v, out, k, depth + 1);
    } else if (isObj(v)) {
      setField(out, sigmaFieldName(k), value(v['#text']));
    } else {
      setField(out, sigmaFieldName(k), value(v));
    }
  }
}

/** Does the element hold only text and attributes (no child elements)? */
function textWithAttributes(v: Doc): boolean {
  for (const x in v) if (x !== '#text' && x !== '#attributes') return false;
  return true;
}

function setField(out: Fields, name: string, v: FieldValue): void {
  // System fields win over same-named data fields (e.g. a `Channel` data item).
  if (!(name in out)) out[name] = v;
}

function scalar(v: unknown): Scalar {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v === undefined) return null;
  return JSON.stringify(v);
}

function value(v: unknown): FieldValue {
  if (Array.isArray(v)) return v.map(scalar);
  return scalar(v);
}
