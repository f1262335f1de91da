/**
 * evtx-crate JSON (`{"Event":{"System":…,"EventData":…}}`) → the document Winlogbeat 8 /
 * Elastic Agent ships for the same record (ECS): `@timestamp` with millisecond precision,
 * `winlog.*` with `event_data` values as strings, `user_data` flattened with its `xml_name`,
 * unnamed `<Data>` as `param1…N`, provider GUID in braces, `host.name`, `event.code`. Written for
 * the tests from Winlogbeat's documented field list; not used by Firebreak itself.
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

const attr = (v: unknown, name: string): unknown => (isObj(v) && isObj(v['#attributes']) ? v['#attributes'][name] : undefined);
const scalar = (v: unknown): unknown => (isObj(v) && '#text' in v ? v['#text'] : v);
const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : isObj(v) ? JSON.stringify(v) : String(v));

export function toEcs(doc: unknown): Obj {
  const ev = isObj(doc) && isObj(doc.Event) ? doc.Event : {};
  const sys = isObj(ev.System) ? ev.System : {};
  const time = String(attr(sys.TimeCreated, 'SystemTime') ?? '');
  const ms = time ? new Date(time).toISOString() : undefined;
  const eventId = scalar(sys.EventID);
  const guid = attr(sys.Provider, 'Guid');
  const winlog: Obj = {
    channel: sys.Channel,
    event_id: str(eventId),
    provider_name: attr(sys.Provider, 'Name'),
    computer_name: sys.Computer,
    record_id: str(sys.EventRecordID),
    version: sys.Version,
    task: str(sys.Task),
    opcode: str(sys.Opcode),
  };
  if (typeof guid === 'string') winlog.provider_guid = guid.startsWith('{') ? guid : `{${guid}}`;
  const pid = attr(sys.Execution, 'ProcessID');
  if (pid !== undefined) winlog.process = { pid, thread: { id: attr(sys.Execution, 'ThreadID') } };
  const sid = attr(sys.Security, 'UserID');
  if (sid !== undefined) winlog.user = { identifier: sid };
  const data = eventData(ev.EventData);
  if (data) winlog.event_data = data;
  const user = userData(ev.UserData);
  if (user) winlog.user_data = user;
  return {
    '@timestamp': ms,
    event: { code: str(eventId), provider: attr(sys.Provider, 'Name'), kind: 'event' },
    host: { name: sys.Computer },
    winlog,
  };
}

function eventData(d: unknown): Obj | undefined {
  if (d === null || d === undefined) return undefined;
  const out: Obj = {};
  if (!isObj(d)) {
    out.param1 = str(d);
    return out;
  }
  for (const [k, v] of Object.entries(d)) {
    if (k === '#attributes') continue;
    if (k === 'Data') {
      // Unnamed <Data> elements: Winlogbeat numbers them.
      const vals = scalar(v);
      (Array.isArray(vals) ? vals : [vals]).forEach((x, i) => (out[`param${i + 1}`] = str(x) ?? ''));
      continue;
    }
    if (k === 'Binary') {
      out.Binary = str(v);
      continue;
    }
    out[k] = Array.isArray(v) ? v.map(str) : (str(scalar(v)) ?? '');
  }
  return out;
}

function userData(d: unknown): Obj | undefined {
  if (!isObj(d)) return undefined;
  for (const [name, inner] of Object.entries(d)) {
    if (name === '#attributes' || !isObj(inner)) continue;
    const out: Obj = { xml_name: name };
    for (const [k, v] of Object.entries(inner)) if (k !== '#attributes') out[k] = isObj(v) && !('#text' in v) ? v : str(scalar(v));
    return out;
  }
  return undefined;
}
