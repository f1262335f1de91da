/**
 * Elastic Common Schema documents from Winlogbeat / Elastic Agent (`winlog.event_data.*`,
 * `winlog.channel`, `winlog.event_id`, `winlog.provider_name`, `host.name`, `@timestamp`) →
 * the same Sigma-named `Event` an EVTX record gives, so detections do not depend on the shipper.
 */
import { Event, toFieldValue, type EventSource, type Fields, type Scalar } from '../events/event.js';
import { sigmaFieldName } from '../events/winevent.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An Elasticsearch `_bulk` action line (`{"index":{…}}`), which carries no event. */
export function isBulkAction(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  const keys = Object.keys(doc);
  return keys.length === 1 && ['index', 'create', 'update', 'delete'].includes(keys[0]!) && isObj(doc[keys[0]!]);
}

/** A Winlogbeat/Elastic Agent Windows event (`winlog` object with a channel or event id). */
export function isEcsWindowsDoc(doc: unknown): doc is Obj & { winlog: Obj } {
  return isObj(doc) && isObj(doc.winlog) && ('channel' in doc.winlog || 'event_id' in doc.winlog || 'event_data' in doc.winlog);
}

/** Build an Event from an ECS Windows document, with Sigma field names. */
export function eventFromEcs(doc: Obj & { winlog: Obj }, source: EventSource): Event {
  const w = doc.winlog;
  const fields: Fields = Object.create(null) as Fields;
  const set = (k: string, v: unknown) => {
    const fv = toFieldValue(v);
    if (fv !== undefined && !(k in fields)) fields[k] = fv;
  };
  const eventId = typeof w.event_id === 'string' && /^\d+$/.test(w.event_id) ? Number(w.event_id) : w.event_id;
  set('EventID', eventId);
  set('Channel', w.channel);
  set('Provider_Name', w.provider_name);
  set('Provider_Guid', w.provider_guid);
  set('Computer', w.computer_name ?? (isObj(doc.host) ? (doc.host.name ?? doc.host.hostname) : undefined));
  set('EventRecordID', w.record_id);
  set('TimeCreated_SystemTime', doc['@timestamp']);
  if (isObj(w.process)) {
    set('Execution_ProcessID', w.process.pid);
    if (isObj(w.process.thread)) set('Execution_ThreadID', w.process.thread.id);
  }
  if (isObj(w.user)) set('Security_UserID', w.user.identifier);
  set('Task', w.task);
  set('Opcode', w.opcode);
  set('Keywords', w.keywords);
  set('Version', w.version);
  for (const section of ['event_data', 'user_data']) {
    const data = w[section];
    if (!isObj(data)) continue;
    for (const [k, v] of Object.entries(data)) {
      if (isObj(v)) for (const [k2, v2] of Object.entries(v)) set(sigmaFieldName(k2), v2);
      else set(sigmaFieldName(k), v);
    }
  }
  // Winlogbeat numbers unnamed <Data> items param1…N; the EVTX record (and SigmaHQ's rules for
  // classic Application/System logs) has them as one `Data` list. Give both names.
  if (isObj(w.event_data) && !('Data' in fields)) {
    const params = Object.keys(w.event_data)
      .filter((k) => /^param\d{1,4}$/.test(k))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
    if (params.length) {
      const list = params.map((k) => toFieldValue((w.event_data as Obj)[k]) ?? null).map((v) => (Array.isArray(v) ? JSON.stringify(v) : v) as Scalar);
      fields.Data = list.length === 1 ? list[0]! : list;
    }
  }
  return new Event(fields, source, doc, 'windows');
}
