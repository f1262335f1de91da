/**
 * Windows events as XML (the `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">`
 * form Event Viewer, `wevtutil`, Windows Event Forwarding, NXLog and Splunk's XmlWinEventLog
 * write) → the same Sigma-named `Event` an EVTX record gives: the XML is turned into the
 * evtx-crate JSON shape (`#attributes`, `#text`, `EventData` keyed by `Data Name`) and read by the
 * one Windows mapping (src/events/winevent.ts). `RenderingInfo` (localised text added by
 * forwarders) is not part of the event.
 */
import { XMLParser } from 'fast-xml-parser';
import type { Event, EventSource } from '../events/event.js';
import { eventFromWindowsDoc } from '../events/winevent.js';

export class WinXmlError {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '#attributes',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'Data',
  processEntities: true,
  // Hostile input: no DTDs and no custom entities (billion laughs, external entities).
  processDocType: false,
} as ConstructorParameters<typeof XMLParser>[0]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Where a Windows XML event starts in a text, or -1. */
export function windowsXmlStart(text: string): number {
  const at = text.indexOf('<Event');
  if (at < 0) return -1;
  const next = text.charCodeAt(at + 6);
  // `<Event>` or `<Event xmlns=…>`, never `<EventData>`.
  return next === 62 /* > */ || next === 32 /* space */ ? at : -1;
}

/** One Windows event as XML → an Event, or why it cannot be one. */
export function eventFromWindowsXml(xml: string, source: EventSource): Event | WinXmlError {
  const close = xml.lastIndexOf('</Event>');
  if (close < 0) return new WinXmlError('winxml-truncated', `Windows XML event cut off after ${xml.trimEnd().length} characters (no closing </Event>)`);
  let doc: unknown;
  try {
    doc = parser.parse(xml.slice(0, close + 8));
  } catch (e) {
    return new WinXmlError('winxml-syntax', `Windows XML event is not well-formed: ${(e as Error).message}`);
  }
  const ev = isObj(doc) ? doc.Event : undefined;
  if (!isObj(ev) || !isObj(ev.System)) return new WinXmlError('winxml-shape', 'Windows XML event has no <System> section');
  const out: Obj = { System: numericSystem(ev.System) };
  for (const key of Object.keys(ev)) {
    if (key === 'System' || key === '#attributes' || key === 'RenderingInfo') continue;
    out[key] = key === 'EventData' ? eventData(ev[key]) : ev[key];
  }
  return eventFromWindowsDoc({ Event: out }, source);
}

/** `<Data Name="X">v</Data>` items → `{X: v}`; unnamed items → `Data` (a list when several). */
function eventData(v: unknown): unknown {
  if (!isObj(v)) return v;
  const items = v.Data;
  if (!Array.isArray(items)) return v;
  const out: Obj = {};
  const unnamed: unknown[] = [];
  for (const d of items) {
    const attrs = isObj(d) ? d['#attributes'] : undefined;
    const name = isObj(attrs) && typeof attrs.Name === 'string' ? attrs.Name : undefined;
    const text: unknown = isObj(d) ? (d['#text'] ?? '') : d;
    if (name === undefined) unnamed.push(text);
    else if (!(name in out)) out[name] = text;
  }
  if (unnamed.length) out.Data = unnamed.length === 1 ? unnamed[0] : unnamed;
  return out;
}

/** System elements that are numbers in an EVTX record (and in the evtx-crate shape) are numbers here too. */
const NUMERIC = ['EventID', 'Version', 'Level', 'Task', 'Opcode', 'EventRecordID'];

function numericSystem(sys: Obj): Obj {
  const out: Obj = { ...sys };
  for (const k of NUMERIC) {
    const v = out[k];
    if (typeof v === 'string' && /^\d{1,10}$/.test(v)) out[k] = Number(v);
    else if (isObj(v) && typeof v['#text'] === 'string' && /^\d{1,10}$/.test(v['#text'])) out[k] = { ...v, '#text': Number(v['#text']) };
  }
  return out;
}
