/**
 * GUID-typed EVTX values print as Windows prints them, in braces (`{0CCE9215-…}`): in the JSON
 * and XML `evtx dump` writes, in the events `hunt` matches, and as `evtxexport` shows them.
 * SigmaHQ's audit-policy rules compare `SubcategoryGuid` in that form: on a 4719 event that
 * removes auditing of logons the critical rule fires and its low-severity twin (which filters
 * those GUIDs out) does not, whether the event is read from EVTX or from the evtx crate's JSON
 * (which drops the braces).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import type { Event } from '../../src/events/event.js';
import { parseChunk, renderEvtxFiles, type EvtxRecord } from '../../src/readers/evtx/index.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { BUNDLED_SIGMA_ROOT } from '../../src/sigma/bundled.js';
import { loadRules } from '../../src/sigma/collection.js';
import { ChunkWriter, evtxFile, le, str, T, type Sub } from './binxml-writer.js';
import { ATTACK, readAll, SKIP_ATTACK } from './helpers.js';

const SECURITY_AUDITING = '54849625-5478-4994-A5BA-3E3B0328C30D';
const AUDIT_LOGON = '0CCE9215-69AE-11D9-BED3-505054503030';
const AUDIT_DS_REPLICATION = '0CCE923E-69AE-11D9-BED3-505054503030';
const CRITICAL = 'ab4561b1-6c7e-48a7-ad08-087cfb9ce8f1'; // Important Windows Event Auditing Disabled (high)
const LOW = '69aeb277-f15f-4d2d-b32a-55e883609563'; // Windows Event Auditing Disabled (low)

/** GUID bytes as Windows stores them: Data1–3 little-endian, Data4 as written. */
function guidBytes(g: string): number[] {
  const h = g.replace(/-/g, '');
  const b = (i: number) => parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return [b(3), b(2), b(1), b(0), b(5), b(4), b(7), b(6), ...Array.from({ length: 8 }, (_, i) => b(8 + i))];
}
const guidSub = (g: string): Sub => ({ type: T.Guid, bytes: guidBytes(g) });

interface AuditChange {
  recordId: number;
  subcategoryGuid: string;
  subcategoryId: string;
  changes: string;
}

/** One Security 4719 record (System audit policy was changed), laid out as Windows writes it. */
function write4719(w: ChunkWriter, e: AuditChange): void {
  const values: Sub[] = [
    guidSub(SECURITY_AUDITING),
    { type: T.UInt16, bytes: le(4719, 2) },
    { type: T.FileTime, bytes: le(0x01d5e2f0a1b2c3d0, 8) },
    { type: T.UInt64, bytes: le(e.recordId, 8) },
    { type: T.UInt32, bytes: le(640, 4) },
    str('DC01.corp.example'),
    { type: T.Sid, bytes: [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0] },
    str('DC01$'),
    { type: T.HexInt64, bytes: le(0x3e7, 8) },
    str(e.subcategoryId),
    guidSub(e.subcategoryGuid),
    str(e.changes),
  ];
  w.record(
    (x) =>
      x
        .header()
        .template(values, (t) => {
          t.header().open('Event', true).attr('xmlns').text('http://schemas.microsoft.com/win/2004/08/events/event').closeStart();
          t.open('System').closeStart();
          t.open('Provider', true).attr('Name').text('Microsoft-Windows-Security-Auditing').attr('Guid').subst(0, T.Guid).closeEmpty();
          t.open('EventID').closeStart().subst(1, T.UInt16).end();
          t.open('TimeCreated', true).attr('SystemTime').subst(2, T.FileTime).closeEmpty();
          t.open('EventRecordID').closeStart().subst(3, T.UInt64).end();
          t.open('Execution', true).attr('ProcessID').subst(4, T.UInt32).closeEmpty();
          t.open('Channel').closeStart().text('Security').end();
          t.open('Computer').closeStart().subst(5, T.String).end();
          t.end();
          t.open('EventData').closeStart();
          const data = (name: string, index: number, type: number) => t.open('Data', true).attr('Name').text(name).closeStart().subst(index, type).end();
          data('SubjectUserSid', 6, T.Sid);
          data('SubjectUserName', 7, T.String);
          data('SubjectLogonId', 8, T.HexInt64);
          data('SubcategoryId', 9, T.String);
          data('SubcategoryGuid', 10, T.Guid);
          data('AuditPolicyChanges', 11, T.String);
          t.end().end().eof();
        })
        .eof(),
    e.recordId,
  );
}

/** The same record as the evtx crate's JSON prints it (GUIDs without braces). */
function crateJson(e: AuditChange, timestamp: string): unknown {
  return {
    Event: {
      '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' },
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Security-Auditing', Guid: SECURITY_AUDITING } },
        EventID: 4719,
        TimeCreated: { '#attributes': { SystemTime: timestamp } },
        EventRecordID: e.recordId,
        Execution: { '#attributes': { ProcessID: 640 } },
        Channel: 'Security',
        Computer: 'DC01.corp.example',
      },
      EventData: {
        SubjectUserSid: 'S-1-5-18',
        SubjectUserName: 'DC01$',
        SubjectLogonId: '0x3e7',
        SubcategoryId: e.subcategoryId,
        SubcategoryGuid: e.subcategoryGuid,
        AuditPolicyChanges: e.changes,
      },
    },
  };
}

const CHANGES: AuditChange[] = [
  // Success and failure auditing of logons removed: the critical rule's case.
  { recordId: 1, subcategoryGuid: AUDIT_LOGON, subcategoryId: '%%12544', changes: '%%8448, %%8450' },
  // Auditing of directory service replication removed: not in the critical list, the low rule's case.
  { recordId: 2, subcategoryGuid: AUDIT_DS_REPLICATION, subcategoryId: '%%14081', changes: '%%8448' },
  // Auditing of logons added: neither.
  { recordId: 3, subcategoryGuid: AUDIT_LOGON, subcategoryId: '%%12544', changes: '%%8449' },
];

const dir = mkdtempSync(join(tmpdir(), 'firebreak-guid-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const chunk = new ChunkWriter();
for (const c of CHANGES) write4719(chunk, c);
const EVTX = join(dir, 'audit-policy-4719.evtx');
writeFileSync(EVTX, evtxFile([chunk.bytes()], CHANGES.length + 1));
const parsed = parseChunk(chunk.bytes(), { file: EVTX, chunk: 0, fileOffset: 4096 }).filter((i): i is EvtxRecord => 'doc' in i);
const JSON_TWIN = join(dir, 'audit-policy-4719.json');
writeFileSync(
  JSON_TWIN,
  CHANGES.map((c, i) => JSON.stringify(crateJson(c, (parsed[i]!.doc.Event.System as { TimeCreated: { '#attributes': { SystemTime: string } } }).TimeCreated['#attributes'].SystemTime), null, 2)).join(
    '\n',
  ),
);

const asText = (t: string | Uint8Array) => (typeof t === 'string' ? t : Buffer.from(t).toString('utf8'));

async function events(path: string): Promise<Event[]> {
  const out: Event[] = [];
  for await (const ev of readEventsFromFile(path)) out.push(ev);
  return out;
}

describe('GUID-typed values', () => {
  it('print in braces in the JSON document and the XML', async () => {
    assert.equal(parsed.length, 3);
    const doc = parsed[0]!.doc.Event as { System: { Provider: { '#attributes': { Guid: string } } }; EventData: Record<string, unknown> };
    assert.equal(doc.System.Provider['#attributes'].Guid, `{${SECURITY_AUDITING}}`);
    assert.equal(doc.EventData.SubcategoryGuid, `{${AUDIT_LOGON}}`);
    let xml = '';
    for await (const c of renderEvtxFiles([EVTX], 'xml', { threads: 1 })) xml += asText(c.text);
    assert.match(xml, new RegExp(`<Provider Name="Microsoft-Windows-Security-Auditing" Guid="\\{${SECURITY_AUDITING}\\}"/>`));
    assert.match(xml, new RegExp(`<Data Name="SubcategoryGuid">\\{${AUDIT_LOGON}\\}</Data>`));
    let jsonl = '';
    for await (const c of renderEvtxFiles([EVTX], 'jsonl', { threads: 1 })) jsonl += asText(c.text);
    assert.equal(
      jsonl
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { Event: { EventData: { SubcategoryGuid: string } } }).Event.EventData.SubcategoryGuid)[1],
      `{${AUDIT_DS_REPLICATION}}`,
    );
  });

  it('are braced in hunt events from EVTX and from the evtx crate JSON alike (other strings untouched)', async () => {
    const fromEvtx = await events(EVTX);
    const fromJson = await events(JSON_TWIN);
    assert.equal(fromEvtx.length, 3);
    assert.deepEqual(
      fromJson.map((e) => e.fields),
      fromEvtx.map((e) => e.fields),
    );
    assert.equal(fromEvtx[0]!.get('SubcategoryGuid'), `{${AUDIT_LOGON}}`);
    assert.equal(fromEvtx[0]!.get('Provider_Guid'), `{${SECURITY_AUDITING}}`);
    // Only whole upper-case GUIDs in evtx-crate documents gain braces.
    const other = join(dir, 'other.json');
    const doc = crateJson({ ...CHANGES[0]!, subcategoryGuid: AUDIT_LOGON.toLowerCase(), changes: `x ${AUDIT_LOGON}` }, '2020-01-01T00:00:00Z');
    writeFileSync(other, JSON.stringify(doc));
    const [ev] = await events(other);
    assert.equal(ev!.get('SubcategoryGuid'), AUDIT_LOGON.toLowerCase());
    assert.equal(ev!.get('AuditPolicyChanges'), `x ${AUDIT_LOGON}`);
  });

  it('the SubcategoryGuid rule fires on its sample and its low-severity twin does not (EVTX and JSON)', async () => {
    const col = loadRules([join(BUNDLED_SIGMA_ROOT, 'rules/windows/builtin/security')]);
    const rules = col.rules.filter((r) => r.id === CRITICAL || r.id === LOW);
    assert.equal(rules.length, 2);
    const engine = new Engine(rules);
    for (const path of [EVTX, JSON_TWIN]) {
      const fired = (await events(path)).map((ev) => engine.match(ev).map((d) => (d.rule.id === CRITICAL ? 'critical' : 'low')));
      assert.deepEqual(fired, [['critical'], ['low'], []], path);
    }
  });

  const HAVE_EVTXEXPORT = spawnSync('evtxexport', ['-V'], { encoding: 'utf8' }).status === 0;
  const GUID = /\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?/g;
  // The records built above use simplifications (element sizes left 0) that our reader accepts
  // and libfwevt does not, so the comparison with evtxexport runs on real logs.
  const tokens = async (path: string) => {
    let xml = '';
    for await (const c of renderEvtxFiles([path], 'xml', { threads: 1 })) xml += asText(c.text);
    return xml.match(GUID) ?? [];
  };
  const theirs = (path: string) => spawnSync('evtxexport', ['-f', 'xml', path], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout.match(GUID) ?? [];

  it(
    'print as evtxexport prints them in real logs (Security, Sysmon and WMI attack samples)',
    { skip: SKIP_ATTACK || (HAVE_EVTXEXPORT ? false : 'evtxexport not installed (apt-get install libevtx-utils)') },
    async () => {
      let total = 0;
      for (const name of [
        'Credential Access/ACL_ForcePwd_SPNAdd_User_Computer_Accounts.evtx',
        'Credential Access/CA_sysmon_hashdump_cmd_meterpreter.evtx',
        'Lateral Movement/LM_4624_mimikatz_sekurlsa_pth_source_machine.evtx',
        'Persistence/wmighost_sysmon_20_21_1.evtx',
      ]) {
        const path = join(ATTACK, name);
        const { records } = await readAll(path);
        assert.ok(records.length > 0, path);
        const ours = await tokens(path);
        assert.ok(
          ours.some((t) => t.startsWith('{')),
          `${name} has GUID values`,
        );
        assert.deepEqual(ours, theirs(path), name);
        total += ours.length;
      }
      assert.ok(total > 100, `${total} GUIDs compared`);
    },
  );
});
