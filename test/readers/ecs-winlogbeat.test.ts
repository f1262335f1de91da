/**
 * Real Winlogbeat 8 documents (test/fixtures/ecs, written from the field layout Elastic
 * documents for Winlogbeat and its Security and Sysmon modules) are routed and matched exactly
 * as the same events read from an EVTX file: a 4625 password spray and a 4697 service install
 * through the Security module, a Sysmon process creation, network connection and registry
 * changes through the Sysmon module, a 7045 service install from the System log (no module) and
 * a Sysmon process creation shipped without the module.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { toText } from '../../src/engine/values.js';
import type { Event, Scalar } from '../../src/events/event.js';
import { hunt } from '../../src/hunt/run.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { eventFromEcs } from '../../src/readers/ecs.js';
import { ruleDirs } from '../../src/sigma/bundled.js';
import { loadRulesCached } from '../../src/sigma/cache.js';
import { ChunkWriter, evtxFile, recordFromDoc } from '../evtx/binxml-writer.js';
import { REPO } from '../helpers.js';

const FIXTURES = join(REPO, 'test/fixtures/ecs');
const ECS_FILES = ['winlogbeat8-security-module.ndjson', 'winlogbeat8-sysmon-module.ndjson', 'winlogbeat8-system.ndjson', 'winlogbeat8-sysmon-no-module.ndjson'];

/**
 * Event data a Winlogbeat module drops for good: Sysmon's pipeline deletes values that are `-`
 * or empty (`RuleName: -`), turns the port names into one `network.protocol` and keeps only
 * `network.type` of the two IPv6 flags. Nothing else may differ.
 */
const MODULE_LOSSES: Record<string, string[]> = {
  'Microsoft-Windows-Sysmon/Operational': ['RuleName', 'SourcePortName', 'DestinationPortName', 'DestinationHostname', 'SourceIsIpv6', 'DestinationIsIpv6'],
};

const dir = mkdtempSync(join(tmpdir(), 'fb-ecs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The Windows events as an EVTX file: the documents `evtx dump` prints, written back as records. */
function writeEquivalentEvtx(): string {
  const docs = readFileSync(join(FIXTURES, 'windows-equivalent.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Event: Record<string, unknown> });
  const chunks: Uint8Array[] = [];
  let w = new ChunkWriter();
  for (const d of docs) {
    if (w.next > 40_000) {
      chunks.push(w.bytes());
      w = new ChunkWriter();
    }
    recordFromDoc(w, d);
  }
  chunks.push(w.bytes());
  const path = join(dir, 'windows-equivalent.evtx');
  writeFileSync(path, evtxFile(chunks, docs.length + 1));
  return path;
}

async function events(path: string): Promise<Event[]> {
  const out: Event[] = [];
  for await (const ev of readEventsFromFile(path)) out.push(ev);
  return out;
}

const id = (ev: Event) => `${ev.computer}|${ev.channel}|${String(ev.get('EventRecordID'))}`;
const text = (v: unknown) => (Array.isArray(v) ? v.map((x: Scalar) => toText(x)).join('\n') : v === undefined ? undefined : toText(v as Scalar));

async function detections(paths: string[]): Promise<DetectionRecord[]> {
  const out: DetectionRecord[] = [];
  await hunt({ paths, filter: {}, threads: 1, sinks: [{ needsEvent: false, write: (d) => void out.push(d), close: async () => undefined }] });
  return out;
}
const key = (d: DetectionRecord) => [d.rule.id, d.computer, d.channel, d.eventId, d.recordId, d.timestamp?.slice(0, 23), JSON.stringify(d.correlation?.group ?? null)].join('|');

describe('Winlogbeat 8 documents read like the EVTX records they came from', () => {
  let evtxPath = '';
  let windows: Event[] = [];
  const ecs: Event[] = [];
  before(async () => {
    evtxPath = writeEquivalentEvtx();
    windows = await events(evtxPath);
    for (const f of ECS_FILES) ecs.push(...(await events(join(FIXTURES, f))));
  });

  it('the EVTX file holds the same events as its JSON form', async () => {
    const fromJson = await events(join(FIXTURES, 'windows-equivalent.jsonl'));
    assert.equal(windows.length, 19);
    assert.deepEqual(
      windows.map((e) => e.fields),
      fromJson.map((e) => e.fields),
    );
  });

  it('every event data field is there with the same value (what the modules drop aside)', () => {
    assert.equal(ecs.length, windows.length);
    const byId = new Map(ecs.map((e) => [id(e), e]));
    let compared = 0;
    for (const w of windows) {
      const e = byId.get(id(w));
      assert.ok(e, `${id(w)} has a Winlogbeat document`);
      assert.equal(e.eventId, w.eventId);
      assert.equal(new Date(e.timestamp!).toISOString().slice(0, 23), new Date(w.timestamp!).toISOString().slice(0, 23));
      const doc = w.raw as { Event: { EventData: Record<string, unknown> } };
      const lost = MODULE_LOSSES[w.channel!] ?? [];
      const fromModule = ECS_FILES.slice(0, 2).some((f) => readFileSync(join(FIXTURES, f), 'utf8').includes(`"record_id": "${String(w.get('EventRecordID'))}"`));
      for (const name of Object.keys(doc.Event.EventData)) {
        if (fromModule && lost.includes(name)) continue;
        assert.equal(text(e.get(name)), text(w.get(name)), `${id(w)}: ${name}`);
        compared++;
      }
    }
    assert.ok(compared > 300, `${compared} fields compared`);
  });

  it('each event is routed to the same rules', () => {
    const engine = new Engine(loadRulesCached(ruleDirs()).rules);
    const byId = new Map(ecs.map((e) => [id(e), e]));
    for (const w of windows) {
      const routed = (ev: Event) => engine.candidates(ev).map((c) => c.rule.id);
      const want = routed(w);
      assert.ok(want.length > 0, `${id(w)} meets some rules`);
      assert.deepEqual(routed(byId.get(id(w))!), want, id(w));
    }
  });

  it('hunt finds the same detections and correlations in both', async () => {
    const fromEvtx = await detections([evtxPath]);
    const fromEcs = await detections(ECS_FILES.map((f) => join(FIXTURES, f)));
    assert.deepEqual(fromEcs.map(key).sort(), fromEvtx.map(key).sort());
    const titles = new Map<string, number>();
    for (const d of fromEcs) titles.set(d.rule.title, (titles.get(d.rule.title) ?? 0) + 1);
    // What each module-shaped document must still be found by.
    for (const [title, n] of [
      ['Password Spraying From One Source', 1], // correlation grouped by IpAddress (source.ip)
      ['Metasploit SMB Authentication', 12], // WorkstationName (source.domain)
      ['Suspicious File Downloaded From Direct IP Via Certutil.EXE', 1], // Image, CommandLine (process.*)
      ['Uncommon Network Connection Initiated By Certutil.EXE', 1], // Initiated, DestinationPort (network.*, destination.*)
      ['UAC Disabled', 1], // TargetObject, Details as DWORD (registry.*)
      ['New RUN Key Pointing to Suspicious Folder', 1],
      ['CobaltStrike Service Installations - System', 1], // System 7045, no module
      ['CobaltStrike Service Installations - Security', 1], // Security 4697
      ['Suspicious Encoded PowerShell Command Line', 1], // Sysmon without the module
    ] as const)
      assert.equal(titles.get(title), n, `${title}: ${titles.get(title) ?? 0}`);
    const spray = fromEcs.find((d) => d.rule.title === 'Password Spraying From One Source')!;
    assert.deepEqual(spray.correlation?.group, { IpAddress: '203.0.113.50' });
  });
});

describe('fields the Winlogbeat modules move, put back', () => {
  const read = (doc: Record<string, unknown>) => eventFromEcs(doc as Parameters<typeof eventFromEcs>[0], { file: 'x.ndjson' });
  const winlog = (channel: string, eventId: string, eventData: Record<string, unknown> = {}) => ({ channel, event_id: eventId, computer_name: 'H', event_data: eventData });

  it('Security 4688: new process, parent and their IDs in hex', () => {
    const ev = read({
      process: { pid: 4660, executable: 'C:\\Windows\\System32\\whoami.exe', command_line: 'whoami /all', parent: { executable: 'C:\\Windows\\System32\\cmd.exe', pid: 5120 } },
      winlog: winlog('Security', '4688', { ProcessId: '0x1400', CommandLine: 'whoami /all', TargetUserName: '-' }),
    });
    assert.equal(ev.get('NewProcessId'), '0x1234');
    assert.equal(ev.get('NewProcessName'), 'C:\\Windows\\System32\\whoami.exe');
    assert.equal(ev.get('ParentProcessName'), 'C:\\Windows\\System32\\cmd.exe');
    assert.equal(ev.get('ProcessId'), '0x1400', 'kept in the event data, not replaced');
  });

  it('Security 5145: access codes get their %% back; fields only for the events the module touches', () => {
    const ev = read({ source: { ip: '10.0.0.5', port: 50123 }, winlog: winlog('Security', '5145', { AccessList: ['4416', '4423'], ShareName: '\\\\*\\C$' }) });
    assert.deepEqual(ev.get('AccessList'), ['%%4416', '%%4423']);
    assert.equal(ev.get('IpAddress'), '10.0.0.5');
    assert.equal(ev.get('IpPort'), '50123');
    const session = read({ source: { ip: '10.0.0.5' }, winlog: winlog('Security', '4778', { ClientAddress: '10.0.0.5' }) });
    assert.equal(session.get('IpAddress'), undefined, '4778 never had IpAddress');
  });

  it('Sysmon 7, 10 and 22: loaded image and its hashes, source process, DNS query', () => {
    const img = read({
      process: { executable: 'C:\\a\\b.exe', pid: 10 },
      file: { path: 'C:\\a\\evil.dll', hash: { sha256: 'ab12' }, pe: { imphash: 'cd34', original_file_name: 'evil.dll' } },
      winlog: winlog('Microsoft-Windows-Sysmon/Operational', '7', { Signed: 'false' }),
    });
    assert.equal(img.get('ImageLoaded'), 'C:\\a\\evil.dll');
    assert.equal(img.get('Hashes'), 'SHA256=AB12,IMPHASH=CD34');
    assert.equal(img.get('OriginalFileName'), 'evil.dll');
    assert.equal(img.get('Image'), 'C:\\a\\b.exe');
    const access = read({
      process: { executable: 'C:\\tools\\x.exe', pid: 77, entity_id: '{A}', thread: { id: 9 } },
      winlog: winlog('Microsoft-Windows-Sysmon/Operational', '10', { TargetImage: 'C:\\Windows\\system32\\lsass.exe', GrantedAccess: '0x1010' }),
    });
    assert.equal(access.get('SourceImage'), 'C:\\tools\\x.exe');
    assert.equal(access.get('SourceProcessId'), 77);
    assert.equal(access.get('SourceProcessGUID'), '{A}');
    assert.equal(access.get('SourceThreadId'), 9);
    assert.equal(access.get('Image'), undefined);
    const dns = read({ dns: { question: { name: 'evil.example' } }, winlog: winlog('Microsoft-Windows-Sysmon/Operational', '22') });
    assert.equal(dns.get('QueryName'), 'evil.example');
  });

  it('never overwrites what the event data holds, and leaves other channels alone', () => {
    const ev = read({ process: { executable: 'C:\\other.exe' }, winlog: winlog('Microsoft-Windows-Sysmon/Operational', '1', { Image: 'C:\\real.exe' }) });
    assert.equal(ev.get('Image'), 'C:\\real.exe');
    const app = read({ process: { executable: 'C:\\x.exe' }, source: { ip: '1.2.3.4' }, winlog: winlog('Application', '1000') });
    assert.equal(app.get('Image'), undefined);
    assert.equal(app.get('IpAddress'), undefined);
  });
});
