/**
 * Event search (delegation to the event store, error mapping, CSV export) and rules (list with
 * counts, enable/disable with audit, upload with lint errors at their line, testing against stored
 * events, ATT&CK coverage and the Navigator layer).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StoredEvent } from '../../src/serve/store/types.js';
import { loggedIn, seedAlert, startTestApi, type Api, type Client } from './api-helpers.js';

const day = (offsetDays: number) => new Date(Date.now() - offsetDays * 86_400_000).toISOString();

function proc(offset: number, at: string, computer: string, image: string, commandLine: string): StoredEvent {
  return {
    offset,
    source: 'winlogbeat',
    timestamp: at,
    receivedAt: Date.parse(at),
    computer,
    channel: 'Microsoft-Windows-Sysmon/Operational',
    provider: 'Microsoft-Windows-Sysmon',
    eventId: 1,
    recordId: offset,
    fields: { EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: computer, Image: image, CommandLine: commandLine },
  };
}

describe('api search and rules', { timeout: 120_000 }, () => {
  let api: Api;
  let analyst: Client;
  let viewer: Client;
  before(async () => {
    api = await startTestApi({
      events: [
        proc(1, day(1), 'ws01.corp.example', 'C:\\Windows\\System32\\whoami.exe', 'whoami /all'),
        proc(2, day(2), 'ws02.corp.example', 'C:\\Windows\\System32\\whoami.exe', '=cmd|"/c calc"!A1'),
        proc(3, day(2), 'ws01.corp.example', 'C:\\Windows\\System32\\notepad.exe', 'notepad'),
        proc(4, day(20), 'ws03.corp.example', 'C:\\Windows\\System32\\whoami.exe', 'whoami'),
      ],
    });
    analyst = await loggedIn(api, 'alice', 'analyst');
    viewer = await loggedIn(api, 'viewer', 'read-only');
    seedAlert(api.db, { title: 'Suspicious Whoami', level: 'high', tactics: ['discovery'], techniques: ['T1033'], count: 4 });
    seedAlert(api.db, { title: 'Suspicious Whoami', level: 'high', host: 'ws02', tactics: ['discovery'], techniques: ['T1033'], count: 2 });
  });
  after(() => api.close());

  it('delegates the field filter, SQL, histogram and field names to the event store', async () => {
    const from = day(30);
    const f = await viewer.post('/api/events/search', { filter: 'Image=*whoami.exe', from, limit: 10 });
    assert.equal(f.status, 200);
    assert.equal(f.json.rows.length, 3);
    const call = api.store.calls.find((c) => c.method === 'filter')!;
    assert.deepEqual(call.args[0], { filter: 'Image=*whoami.exe', from, to: undefined, limit: 10 });
    const s = await viewer.post('/api/events/sql', { sql: 'SELECT computer FROM events', maxRows: 2 });
    assert.equal(s.status, 200);
    assert.equal(s.json.rows.length, 2);
    assert.equal(s.json.truncated, true);
    assert.deepEqual(api.store.calls.find((c) => c.method === 'sql')!.args, ['SELECT computer FROM events', { maxRows: 2 }]);
    const h = await viewer.post('/api/events/histogram', { filter: 'EventID=1', buckets: 4 });
    assert.equal(h.json.counts.length, 4);
    assert.equal(
      h.json.counts.reduce((a: number, b: number) => a + b, 0),
      4,
    );
    const names = await viewer.get('/api/events/fields?prefix=comm');
    assert.deepEqual(names.json.fields, ['CommandLine']);
  });

  it('returns the store’s refusals as 400 with its code, and hides internal failures', async () => {
    const syn = await viewer.post('/api/events/sql', { sql: 'SELECT syntax FROM' });
    assert.equal(syn.status, 400);
    assert.equal(syn.json.error.code, 'sql-syntax');
    assert.match(syn.json.error.message, /syntax error/);
    const forbidden = await viewer.post('/api/events/sql', { sql: "ATTACH '/etc/passwd' AS x" });
    assert.equal(forbidden.status, 400);
    assert.equal(forbidden.json.error.code, 'sql-forbidden');
    const crash = await viewer.post('/api/events/sql', { sql: 'SELECT crash' });
    assert.equal(crash.status, 500);
    assert.equal(crash.json.error.code, 'internal');
    assert.ok(!crash.text.includes('/var/lib/secret'), 'no internal detail reaches the client');
    assert.ok(!/\bat\s.+\(.+:\d+:\d+\)/.test(crash.text), 'no stack trace');
    assert.ok(
      api.logs.some((l) => l.includes('/var/lib/secret')),
      'the detail is in the server log',
    );
    assert.equal((await viewer.post('/api/events/search', { filter: 'noequals' })).json.error.code, 'filter-syntax');
    assert.equal((await viewer.post('/api/events/sql', { sql: 'x'.repeat(20_001) })).status, 400);
    assert.equal((await viewer.post('/api/events/sql', {})).status, 400);
  });

  it('exports CSV as a stream, with formula-like cells neutralised', async () => {
    const r = await viewer.get('/api/events/export.csv?sql=' + encodeURIComponent('SELECT computer, CommandLine FROM events'));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/csv/);
    assert.match(r.headers.get('content-disposition')!, /^attachment; filename="firebreak-events-.*\.csv"$/);
    assert.equal(r.headers.get('x-firebreak-truncated'), 'false');
    const lines = r.text.replace(/^\uFEFF/, '').split('\r\n');
    assert.equal(lines[0], 'computer,CommandLine');
    assert.ok(lines.includes(`ws02.corp.example,"'=cmd|""/c calc""!A1"`), lines.join('\n'));
    const byFilter = await viewer.get('/api/events/export.csv?filter=' + encodeURIComponent('Computer=ws01*'));
    assert.equal(
      byFilter.text
        .replace(/^\uFEFF/, '')
        .split('\r\n')
        .filter(Boolean).length,
      3,
    );
    assert.equal((await viewer.get('/api/events/export.csv')).status, 400);
    assert.equal((await viewer.get('/api/events/export.csv?filter=a%3D1&sql=x')).status, 400);
  });

  it('lists rules with alert and detection counts, and filters them', async () => {
    const r = await viewer.get('/api/rules');
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 2);
    const whoami = r.json.items[0];
    assert.equal(whoami.title, 'Suspicious Whoami');
    assert.equal(whoami.alerts, 2);
    assert.equal(whoami.detections, 6);
    assert.deepEqual(whoami.techniques, ['T1033']);
    assert.equal(whoami.enabled, true);
    assert.equal((await viewer.get('/api/rules?fired=false')).json.items[0].title, 'Remote Logon');
    assert.equal((await viewer.get('/api/rules?q=t1021')).json.total, 1);
    assert.equal((await viewer.get('/api/rules?tactic=discovery')).json.total, 1);
    assert.equal((await viewer.get(`/api/rules/${whoami.ref}`)).json.key, whoami.key);
    assert.equal((await viewer.get('/api/rules/ffffffffffffffff')).status, 404);
  });

  it('enables and disables a rule with an audit entry, and the catalogue keeps it', async () => {
    const ref = (await analyst.get('/api/rules?q=Remote')).json.items[0].ref;
    const off = await analyst.req('PUT', `/api/rules/${ref}/enabled`, { enabled: false });
    assert.equal(off.status, 200);
    assert.equal(off.json.enabled, false);
    assert.equal(
      api.catalog.enabled().rules.some((r) => r.title === 'Remote Logon'),
      false,
    );
    const on = await analyst.req('PUT', `/api/rules/${ref}/enabled`, { enabled: true });
    assert.equal(on.json.enabled, true);
    const audit = await analyst.get(`/api/rules/${ref}/audit`);
    assert.deepEqual(
      audit.json.map((a: { action: string; actor: string }) => `${a.actor} ${a.action}`),
      ['alice rule.disable', 'alice rule.enable'],
    );
    assert.equal(audit.json[0].detail.title, 'Remote Logon');
  });

  it('refuses an uploaded rule with lint errors at their line and column, and stores a good one disabled', async () => {
    const bad = `title: Broken
id: 33333333-2222-3333-4444-555555555555
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\\\evil.exe'
  condition: selection and nonexistent
`;
    const r = await analyst.post('/api/rules', { fileName: 'broken.yml', yaml: bad });
    assert.equal(r.status, 422);
    assert.equal(r.json.error.code, 'lint');
    const e = r.json.error.details[0];
    assert.equal(e.line, 9, JSON.stringify(e));
    assert.ok(e.column > 0);
    assert.match(e.message, /nonexistent/);
    const syntax = await analyst.post('/api/rules', { fileName: 'syntax.yml', yaml: 'title: x\ndetection: [\n' });
    assert.equal(syntax.status, 422);
    assert.ok(syntax.json.error.details[0].line >= 2);
    const dup = await analyst.post('/api/rules', { fileName: 'dup.yml', yaml: (await import('./api-helpers.js')).RULE_YAML });
    assert.equal(dup.json.error.details[0].code, 'duplicate-id');
    assert.equal((await analyst.post('/api/rules', { fileName: '../../etc/passwd.yml', yaml: 'x' })).status, 400, 'no paths in file names');
    const lint = await viewer.post('/api/rules/lint', { yaml: bad });
    assert.equal(lint.status, 200);
    assert.equal(lint.json.errors[0].line, 9);

    const good = bad.replace(' and nonexistent', '').replace('Broken', 'Evil Binary');
    const ok = await analyst.post('/api/rules', { fileName: 'evil.yml', yaml: good });
    assert.equal(ok.status, 201);
    assert.equal(ok.json.rules[0].title, 'Evil Binary');
    assert.equal(ok.json.rules[0].origin, 'uploaded');
    assert.equal(ok.json.rules[0].enabled, false, 'uploaded rules start disabled');
    assert.ok(api.db.db.prepare("SELECT 1 FROM audit WHERE action = 'rule.upload'").get());
    assert.equal((await viewer.get('/api/rules?origin=uploaded')).json.total, 1);
  });

  it('tests a rule against the stored events of the last N days', async () => {
    const yaml = `title: Whoami Test
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\\\whoami.exe'
  condition: selection
level: medium
`;
    const r = await analyst.post('/api/rules/test', { yaml, days: 7 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scanned, 3, 'the 20-day-old event is outside the range');
    assert.equal(r.json.matched, 2);
    assert.deepEqual(r.json.byHost.map((h: { host: string }) => h.host).sort(), ['ws01.corp.example', 'ws02.corp.example']);
    assert.equal(r.json.matches[0].rule.title, 'Whoami Test');
    assert.ok(r.json.matches[0].matched.Image.endsWith('whoami.exe'));
    const wide = await analyst.post('/api/rules/test', { yaml, days: 30, maxMatches: 1 });
    assert.equal(wide.json.matched, 3);
    assert.equal(wide.json.matches.length, 1);
    const ref = (await analyst.get('/api/rules?q=Suspicious')).json.items[0].ref;
    const byRef = await analyst.post('/api/rules/test', { ref, days: 30 });
    assert.equal(byRef.json.matched, 3);
    const lintErr = await analyst.post('/api/rules/test', { yaml: 'title: x\n' });
    assert.equal(lintErr.status, 422);
    assert.equal((await analyst.post('/api/rules/test', {})).status, 400);
    assert.equal((await viewer.post('/api/rules/test', { yaml })).status, 403);
  });

  it('reports ATT&CK coverage and exports a Navigator layer', async () => {
    const c = await viewer.get('/api/coverage');
    assert.equal(c.status, 200);
    assert.equal(c.json.rulesEnabled, 2);
    const discovery = c.json.tactics.find((t: { short: string }) => t.short === 'discovery');
    assert.deepEqual(discovery.techniques, [{ id: 'T1033', name: 'T1033', rules: 1, alerts: 2 }]);
    const lateral = c.json.tactics.find((t: { short: string }) => t.short === 'lateral-movement');
    assert.deepEqual(
      lateral.techniques.map((t: { id: string }) => t.id),
      ['T1021.002', 'T1078'],
    );
    assert.equal(lateral.techniques[0].name, 'SMB/Windows Admin Shares');
    const order = c.json.tactics.map((t: { short: string }) => t.short);
    assert.ok(order.indexOf('discovery') < order.indexOf('lateral-movement'), 'kill-chain order');

    const n = await viewer.get('/api/coverage/navigator');
    assert.equal(n.status, 200);
    assert.match(n.headers.get('content-disposition')!, /attachment/);
    const layer = n.json;
    assert.equal(layer.domain, 'enterprise-attack');
    assert.equal(layer.versions.layer, '4.5');
    assert.ok(/^\d+$/.test(layer.versions.attack));
    const t1033 = layer.techniques.find((t: { techniqueID: string }) => t.techniqueID === 'T1033');
    assert.equal(t1033.score, 1);
    assert.equal(t1033.color, '#e53935', 'fired techniques are coloured');
    const t1078 = layer.techniques.find((t: { techniqueID: string }) => t.techniqueID === 'T1078');
    assert.equal(t1078.color, undefined);
    for (const t of layer.techniques) assert.match(t.techniqueID, /^T\d{4}(\.\d{3})?$/);
    assert.ok(Array.isArray(layer.gradient.colors) && typeof layer.gradient.maxValue === 'number');
  });
});
