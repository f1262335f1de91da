/**
 * Sysmon for Linux events: one XML document per syslog message or journal entry
 * (`<Event><System>…<Channel>Linux-Sysmon/Operational</Channel>…</System><EventData><Data
 * Name="…">…</Data>…</EventData></Event>`, one line, no namespace, XML-escaped; SysmonForLinux
 * outputxml.cpp). The fields get the names Windows Sysmon events have (`EventID`, `Image`,
 * `CommandLine`, `Computer`, `TimeCreated_SystemTime`…), so the same Sigma field names apply; the
 * event is routed as product linux by its Channel and EventID (data/logsources.yml).
 *
 * Syslog daemons cut long messages (often at 1–8 KB): a document without its closing
 * `</Event>` is reported as truncated, never parsed into a partial event.
 */
import { XMLParser } from 'fast-xml-parser';
import { Event, type EventSource } from '../../events/event.js';
import { eventFromWindowsDoc } from '../../events/winevent.js';

export class SysmonParseError {
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
  trimValues: false,
  isArray: (name) => name === 'Data',
  processEntities: true,
});

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Where a Sysmon for Linux document starts in a message, or -1. */
export function sysmonStart(message: string): number {
  const at = message.indexOf('<Event>');
  if (at < 0) return -1;
  return message.startsWith('<System><Provider Name="Linux-Sysmon"', at + 7) ? at : -1;
}

/** One Sysmon for Linux XML document → an Event (product linux), or why it cannot be one. */
export function parseSysmonXml(xml: string, source: EventSource): Event | SysmonParseError {
  const close = xml.indexOf('</Event>');
  if (close < 0) return new SysmonParseError('sysmon-truncated', `Sysmon for Linux event cut off after ${xml.trimEnd().length} characters (no closing </Event>; a syslog message size limit?)`);
  const text = xml.slice(0, close + 8);
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (e) {
    return new SysmonParseError('sysmon-xml', `Sysmon for Linux event is not well-formed XML: ${(e as Error).message}`);
  }
  const ev = isObj(doc) ? doc.Event : undefined;
  if (!isObj(ev) || !isObj(ev.System)) return new SysmonParseError('sysmon-xml', 'Sysmon for Linux event has no <System> section');
  const sys = ev.System;
  if (sys.EventID === undefined) return new SysmonParseError('sysmon-xml', 'Sysmon for Linux event has no EventID');
  const data: Obj = {};
  const items = isObj(ev.EventData) ? ev.EventData.Data : undefined;
  if (Array.isArray(items))
    for (const d of items) {
      if (!isObj(d)) continue;
      const attrs = d['#attributes'];
      const name = isObj(attrs) && typeof attrs.Name === 'string' ? attrs.Name : undefined;
      if (name !== undefined && !(name in data)) data[name] = typeof d['#text'] === 'string' ? d['#text'] : '';
    }
  const eventId = typeof sys.EventID === 'string' && /^\d{1,5}$/.test(sys.EventID) ? Number(sys.EventID) : sys.EventID;
  const win = eventFromWindowsDoc({ Event: { System: { ...sys, EventID: eventId }, EventData: data } }, source);
  // Keyword searches look at the event's data, not at its time stamps or the daemon's System header.
  const keywords = Object.keys(data).filter((k) => !k.endsWith('UtcTime'));
  return new Event(
    win.fields,
    source,
    undefined,
    'linux',
    keywords.map((k) => (k.includes(' ') ? k.replace(/ /g, '') : k)),
  );
}
