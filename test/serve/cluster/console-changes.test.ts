/**
 * What an analyst or admin changes in the console reaches every node of a cluster without a
 * restart: 3 NATS servers, PostgreSQL, an ingest, a detect, a correlate and an api node (each its
 * own `firebreak serve` process) running a small rule set of their own. A rule disabled through the
 * api node stops firing on the detect node while the others still fire; an uploaded rule fires once
 * enabled; a malformed upload gets the embedded server's lint errors; a detect node started after
 * the changes runs them; an upload that does not parse on a node is reported in its health while
 * the other rules keep running; notices that are not Firebreak's are ignored. An ingest token made
 * through the api node admits data at the ingest node, and is refused once revoked. The api node's
 * health and metrics show every node, and a stopped one as stale.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { toEcs } from '../../hunt/ecs-converter.js';
import { Client, PASSWORD } from '../api-helpers.js';
import { TOKENS, until } from '../ingest-helpers.js';
import { clusterMissing, freePort, REPO, startNatsCluster, startNodeProcess, startPostgres, type NatsCluster, type NodeProcess, type Postgres } from './helpers.js';
import { clusterCaughtUp, nodeConfig } from './scenario.js';

const missing = clusterMissing();

const rule = (title: string, id: string, image: string, level = 'high') => `title: ${title}
id: ${id}
status: test
level: ${level}
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\\\${image}'
  condition: selection
`;

/** The embedded server's test of a malformed upload (test/serve/api-search-rules.test.ts): line 9 names an unknown selection. */
const BROKEN = `title: Broken
id: 33333333-2222-3333-4444-555555555555
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\\\evil.exe'
  condition: selection and nonexistent
`;

let record = 1000;
/** A Sysmon process creation on `host`, as Winlogbeat ships it. */
function proc(host: string, image: string, user = 'CORP\\alice'): Record<string, unknown> {
  const n = record++;
  return toEcs({
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
        EventID: 1,
        Level: 4,
        TimeCreated: { '#attributes': { SystemTime: new Date().toISOString() } },
        EventRecordID: n,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: host,
      },
      EventData: { Image: `C:\\Windows\\System32\\${image}`, CommandLine: image, ProcessId: n, User: user },
    },
  });
}

/** POST /_bulk with `secret` as the token; the HTTP status and the documents' statuses. */
async function bulk(port: number, secret: string, docs: Record<string, unknown>[]): Promise<{ status: number; items: number[] }> {
  const body = docs.map((d) => `{"create":{"_index":"winlogbeat-8"}}\n${JSON.stringify(d)}\n`).join('');
  const r = await fetch(`http://127.0.0.1:${port}/_bulk`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`elastic:${secret}`).toString('base64')}`, 'content-type': 'application/x-ndjson' },
    body,
  });
  const text = await r.text();
  const items = r.status === 200 ? (JSON.parse(text) as { items: Record<string, { status: number }>[] }).items.map((i) => Object.values(i)[0]!.status) : [];
  return { status: r.status, items };
}

type ApiAlert = { ruleTitle: string; host: string | null; count: number; users: string[] };
type NodeRow = {
  node: string;
  roles: string[];
  stale: boolean;
  ageSeconds: number;
  report: Record<string, unknown> & { rules: { revision: number; running: number; error: string | null } | null; ingestTokens: { revision: number } | null };
};

describe('cluster: console changes reach every node without a restart', { skip: missing, timeout: 900_000 }, () => {
  let nats: NatsCluster;
  let pgs: Postgres;
  let dir: string;
  let elasticPort: number;
  let apiPort: number;
  let o: Parameters<typeof nodeConfig>[3];
  const nodes = new Map<string, NodeProcess>();
  const admin = (): Client => client;
  let client: Client;
  const describeNodes = () => [...nodes.values()].map((n) => `--- ${n.name}\n${n.output().slice(-3000)}`).join('\n');

  const alerts = async (): Promise<ApiAlert[]> => ((await admin().get('/api/alerts?limit=500')).json as { items: ApiAlert[] }).items;
  const fired = async (title: string, host: string) => (await alerts()).some((a) => a.ruleTitle === title && a.host === host);
  const health = async (): Promise<{ nodes: NodeRow[]; sources: { source: string; accepted: number }[] }> => {
    const r = await admin().get('/api/health');
    assert.equal(r.status, 200, r.text);
    return r.json as { nodes: NodeRow[]; sources: { source: string; accepted: number }[] };
  };
  const nodeRow = async (name: string) => (await health()).nodes.find((n) => n.node === name);
  const revision = async (): Promise<number> => {
    const c = new pg.Client({ connectionString: pgs.url });
    await c.connect();
    try {
      return Number((await c.query<{ revision: string }>("SELECT revision FROM revisions WHERE name = 'rules'")).rows[0]?.revision ?? 0);
    } finally {
      await c.end();
    }
  };
  /** Until every running node that follows rules reports the stored revision. */
  const rulesApplied = async (names: string[]) => {
    const want = await revision();
    await until(
      async () => {
        const h = await health();
        return names.every((n) => h.nodes.find((x) => x.node === n && !x.stale)?.report.rules?.revision === want);
      },
      () => `every node to run rules revision ${want}\n${describeNodes()}`,
      120_000,
    );
  };
  const ruleRef = async (title: string): Promise<string> => {
    const r = (await admin().get(`/api/rules?q=${encodeURIComponent(title)}`)).json as { items: { ref: string; title: string }[] };
    return r.items.find((x) => x.title === title)!.ref;
  };
  /** Sends `docs` with the configuration's token and waits until the cluster has done them. */
  const send = async (docs: Record<string, unknown>[]) => {
    const r = await bulk(elasticPort, TOKENS.elastic, docs);
    assert.equal(r.status, 200);
    assert.deepEqual(new Set(r.items), new Set([201]));
    await clusterCaughtUp(nats.urls, pgs.url, describeNodes);
  };

  before(async () => {
    nats = await startNatsCluster(3);
    pgs = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'fb-console-'));
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'whoami.yml'), rule('Test Whoami', '0a000000-0000-4000-8000-000000000001', 'whoami.exe'));
    writeFileSync(join(dir, 'rules', 'net.yml'), rule('Test Net', '0a000000-0000-4000-8000-000000000002', 'net.exe', 'medium'));
    // A correlation over Test Net (one account on two hosts: detections of one rule on one host
    // are folded into one alert before correlations see them): with Test Net disabled its
    // detections still feed this, and only the correlate node's alert stage keeps them from being
    // alerts of their own.
    writeFileSync(
      join(dir, 'rules', 'net-burst.yml'),
      `title: Test Net Burst
id: 0a000000-0000-4000-8000-000000000009
level: high
correlation:
  type: event_count
  rules:
    - 0a000000-0000-4000-8000-000000000002
  group-by:
    - User
  timespan: 1h
  condition:
    gte: 2
  generate: true
`,
    );
    elasticPort = await freePort();
    apiPort = await freePort();
    o = { natsUrls: nats.urls, pgUrl: pgs.url, elasticPort, extra: `rules: { paths: [${join(dir, 'rules')}] }\napi: { listen: 127.0.0.1:${apiPort} }\n` };
    for (const [name, roles] of [
      ['correlate-1', ['correlate']],
      ['detect-1', ['detect']],
      ['ingest-1', ['ingest']],
      ['api-1', ['api']],
    ] as const)
      nodes.set(name, await startNodeProcess(name, nodeConfig(dir, name, [...roles], o)));
    const pw = join(dir, 'pw');
    writeFileSync(pw, PASSWORD);
    const bin = new URL('bin/firebreak.js', REPO).pathname;
    execFileSync(process.execPath, [bin, 'user', 'add', 'root', '--role', 'admin', '--password-file', pw, '--config', join(dir, 'api-1.yml')], { stdio: 'pipe' });
    client = new Client(`http://127.0.0.1:${apiPort}`);
    assert.equal((await client.login('root')).status, 200);
  });
  after(async () => {
    await Promise.all([...nodes.values()].map((n) => n.kill()));
    await nats?.stop();
    await pgs?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows every node's report in the api node's health and metrics", async () => {
    await until(
      async () => (await health()).nodes.filter((n) => !n.stale).length === 4,
      () => `4 nodes reporting\n${describeNodes()}`,
      60_000,
    );
    const h = await health();
    assert.deepEqual(
      h.nodes.map((n) => [n.node, n.roles.join(',')]),
      [
        ['api-1', 'api'],
        ['correlate-1', 'correlate'],
        ['detect-1', 'detect'],
        ['ingest-1', 'ingest'],
      ],
    );
    const detect = h.nodes.find((n) => n.node === 'detect-1')!;
    assert.deepEqual(detect.report.rules, { revision: 0, running: 2, error: null });
    assert.equal(typeof (detect.report.detect as Record<string, number>).messages, 'number');
    assert.equal(h.nodes.find((n) => n.node === 'ingest-1')!.report.ingestTokens?.revision, 0);
    const m = await admin().get('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /^firebreak_cluster_node_up\{node="detect-1",roles="detect"\} 1$/m);
    assert.match(m.text, /^firebreak_cluster_correlate_active\{node="correlate-1"\} 1$/m);
  });

  it('a rule disabled in the console stops firing on the detect node; the others still fire; the audit trail has it', async () => {
    await send([proc('hosta.corp', 'whoami.exe'), proc('hosta.corp', 'net.exe')]);
    await until(
      async () => (await fired('Test Whoami', 'hosta.corp')) && (await fired('Test Net', 'hosta.corp')),
      () => `both rules to fire\n${describeNodes()}`,
      60_000,
    );
    // The ingest node's counters reach the api node's health.
    await until(async () => ((await health()).sources.find((s) => s.source === 'winlogbeat')?.accepted ?? 0) >= 2, 'the ingest counters in health', 30_000);

    const ref = await ruleRef('Test Whoami');
    const off = await admin().req('PUT', `/api/rules/${ref}/enabled`, { enabled: false });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.enabled, false);
    const trail = (await admin().get(`/api/rules/${ref}/audit`)).json as { actor: string; action: string }[];
    assert.deepEqual(
      trail.map((a) => `${a.actor} ${a.action}`),
      ['root rule.disable'],
    );
    await rulesApplied(['detect-1', 'correlate-1', 'api-1']);
    assert.equal((await nodeRow('detect-1'))!.report.rules!.running, 1);

    await send([proc('hostb.corp', 'whoami.exe'), proc('hostb.corp', 'net.exe')]);
    await until(() => fired('Test Net', 'hostb.corp'), 'the enabled rule to fire', 60_000);
    assert.equal(await fired('Test Whoami', 'hostb.corp'), false, 'the disabled rule did not fire');
    assert.equal((await alerts()).find((a) => a.ruleTitle === 'Test Whoami' && a.host === 'hosta.corp')!.count, 1);
  });

  it("a malformed upload gets the embedded server's lint errors; an uploaded rule fires once enabled", async () => {
    const bad = await admin().post('/api/rules', { fileName: 'broken.yml', yaml: BROKEN });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error.code, 'lint');
    assert.equal(bad.json.error.details[0].line, 9);
    assert.match(bad.json.error.details[0].message, /nonexistent/);

    const up = await admin().post('/api/rules', { fileName: 'certutil.yml', yaml: rule('Test Certutil', '0a000000-0000-4000-8000-000000000003', 'certutil.exe') });
    assert.equal(up.status, 201, up.text);
    assert.equal(up.json.rules[0].enabled, false, 'uploaded rules start disabled');
    const ref = await ruleRef('Test Certutil');
    assert.equal((await admin().req('PUT', `/api/rules/${ref}/enabled`, { enabled: true })).status, 200);
    const actions = ((await admin().get('/api/audit?action=rule.')).json as { items: { action: string }[] }).items.map((a) => a.action);
    assert.deepEqual(actions, ['rule.enable', 'rule.upload', 'rule.disable']);
    await rulesApplied(['detect-1', 'correlate-1', 'api-1']);

    await send([proc('hostc.corp', 'certutil.exe'), proc('hostc.corp', 'whoami.exe')]);
    await until(
      () => fired('Test Certutil', 'hostc.corp'),
      () => `the uploaded rule to fire\n${describeNodes()}`,
      60_000,
    );
    assert.equal(await fired('Test Whoami', 'hostc.corp'), false);
  });

  it('a detect node started after the changes runs them; the stopped one shows as stale', async () => {
    const old = nodes.get('detect-1')!;
    await old.stop();
    nodes.delete('detect-1');
    nodes.set('detect-2', await startNodeProcess('detect-2', nodeConfig(dir, 'detect-2', ['detect'], o)));
    await rulesApplied(['detect-2']);
    assert.equal((await nodeRow('detect-2'))!.report.rules!.running, 2);
    await send([proc('hostd.corp', 'whoami.exe'), proc('hostd.corp', 'certutil.exe'), proc('hostd.corp', 'net.exe')]);
    await until(async () => (await fired('Test Certutil', 'hostd.corp')) && (await fired('Test Net', 'hostd.corp')), 'the new node to fire the changed rules', 60_000);
    assert.equal(await fired('Test Whoami', 'hostd.corp'), false);
    await until(async () => (await nodeRow('detect-1'))?.stale === true, 'the stopped node to show as stale', 60_000);
    assert.match((await admin().get('/metrics')).text, /^firebreak_cluster_node_up\{node="detect-1",roles="detect"\} 0$/m);
  });

  it("an upload that does not parse on a node is reported in its health, the other rules keep running; others' notices are ignored", async () => {
    const c = new pg.Client({ connectionString: pgs.url });
    await c.connect();
    try {
      // As if written by an api node whose placeholders this node lacks (or by hand): the detect node cannot read it.
      await c.query(
        "INSERT INTO uploaded_rules (id, file_name, yaml, uploaded_by, uploaded_at) VALUES ('feedfacefeedface', 'odd.yml', 'title: Odd\ndetection: [', 'root', '2026-01-01T00:00:00.000Z')",
      );
      await c.query("UPDATE revisions SET revision = revision + 1 WHERE name = 'rules'");
      const rev = Number((await c.query<{ revision: string }>("SELECT revision FROM revisions WHERE name = 'rules'")).rows[0]!.revision);
      await c.query(`SELECT pg_notify('firebreak_rules', '{"v":1,"revision":${rev},"node":"someone"}')`);
      // Notices that are not ours: ignored and logged.
      await c.query("SELECT pg_notify('firebreak_rules', 'not json at all')");
      await c.query(`SELECT pg_notify('firebreak_rules', '{"v":1,"revision":"x"}')`);
      await c.query(`SELECT pg_notify('firebreak_tokens', '${'x'.repeat(2000)}')`);
      // A health row not written by a node: shown read as a report, or left out; health still answers.
      await c.query(
        `INSERT INTO node_health (node, roles, started_at, reported_at, report) VALUES ('odd-1', '"x"', 'x', now(), '{"sources":7,"detect":{"events":"many"}}'), ('odd-2', '[]', 'x', now(), 'not json')`,
      );
    } finally {
      await c.end();
    }
    await rulesApplied(['detect-2', 'correlate-1']);
    const odd = (await health()).nodes.filter((n) => n.node.startsWith('odd-'));
    assert.deepEqual(
      odd.map((n) => [n.node, n.roles, (n.report.detect as Record<string, number>).events]),
      [['odd-1', [], 0]],
    );
    assert.equal((await admin().get('/metrics')).status, 200);
    const row = (await nodeRow('detect-2'))!;
    assert.match(row.report.rules!.error ?? '', /odd\.yml/);
    assert.equal(row.report.rules!.running, 2);
    await until(() => nodes.get('detect-2')!.output().includes("not Firebreak's was ignored"), 'the ignored notice logged', 30_000);
    assert.ok(nodes.get('ingest-1')!.output().includes("not Firebreak's was ignored"));
    await send([proc('hoste.corp', 'net.exe')]);
    await until(() => fired('Test Net', 'hoste.corp'), 'the rules still to fire', 60_000);
  });

  it('a node whose listening connection was cut reads the changes made meanwhile once it is back', async () => {
    const c = new pg.Client({ connectionString: pgs.url });
    await c.connect();
    try {
      const cut = await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN firebreak_rules'");
      assert.ok(cut.rows.length >= 3, `the nodes' listening connections (${cut.rows.length})`);
    } finally {
      await c.end();
    }
    const ref = await ruleRef('Test Net');
    assert.equal((await admin().req('PUT', `/api/rules/${ref}/enabled`, { enabled: false })).status, 200);
    await rulesApplied(['detect-2', 'correlate-1', 'api-1']);
    await until(() => nodes.get('detect-2')!.output().includes('rules: the PostgreSQL connection it listens on was lost'), 'the lost connection logged', 30_000);
    await send([proc('hostg1.corp', 'net.exe', 'CORP\\gina'), proc('hostg1.corp', 'certutil.exe', 'CORP\\gina')]);
    await until(() => fired('Test Certutil', 'hostg1.corp'), 'the enabled rule to fire', 60_000);
    assert.equal(await fired('Test Net', 'hostg1.corp'), false, 'the rule disabled while the nodes were reconnecting made no alert of its own');
    // Still matched for its correlation: the account on a second host makes the correlation's alert.
    await send([proc('hostg2.corp', 'net.exe', 'CORP\\gina')]);
    const burst = async () => (await alerts()).some((a) => a.ruleTitle === 'Test Net Burst' && a.users.includes('CORP\\gina'));
    // Correlations see detections once event time has passed them by the allowed lateness on every
    // partition: later, harmless events from hosts all over the partitions move it on.
    await until(
      async () => {
        if (await burst()) return true;
        await send(Array.from({ length: 32 }, (_, i) => proc(`quiet${i}.corp`, 'notepad.exe')));
        return false;
      },
      () => `the correlation fed by the disabled rule\n${describeNodes()}`,
      90_000,
    );
    assert.equal(await fired('Test Net', 'hostg2.corp'), false);
    assert.equal((await admin().req('PUT', `/api/rules/${ref}/enabled`, { enabled: true })).status, 200);
  });

  it('an ingest token made through the api node admits data at the ingest node; revoked, it is refused', async () => {
    const made = await admin().post('/api/ingest-tokens', { source: 'beats-new', protocols: ['elastic'] });
    assert.equal(made.status, 201, made.text);
    const secret = made.json.secret as string;
    await until(
      async () => (await bulk(elasticPort, secret, [proc('hostf.corp', 'net.exe')])).status === 200,
      () => `the new token accepted\n${describeNodes()}`,
      60_000,
    );
    await until(async () => ((await health()).sources.find((s) => s.source === 'beats-new')?.accepted ?? 0) >= 1, "the token's source in health", 30_000);
    const revoked = await admin().req('DELETE', `/api/ingest-tokens/${made.json.token.id}`);
    assert.equal(revoked.status, 200);
    await until(async () => (await bulk(elasticPort, secret, [proc('hostf.corp', 'net.exe')])).status === 401, 'the revoked token refused', 60_000);
    const actions = ((await admin().get('/api/audit?action=ingest-token.')).json as { items: { action: string }[] }).items.map((a) => a.action);
    assert.deepEqual(actions, ['ingest-token.revoke', 'ingest-token.create']);
    // The configuration's token still works.
    assert.equal((await bulk(elasticPort, TOKENS.elastic, [proc('hostf.corp', 'net.exe')])).status, 200);
  });

  it("an ingest node started while PostgreSQL is down takes data with the configuration's tokens, and the console's once it is back", async () => {
    await pgs.stop();
    const port = await freePort();
    nodes.set('ingest-2', await startNodeProcess('ingest-2', nodeConfig(dir, 'ingest-2', ['ingest'], { ...o, elasticPort: port })));
    assert.match(nodes.get('ingest-2')!.output(), /tries again in the background/);
    assert.equal((await bulk(port, TOKENS.elastic, [proc('hosth.corp', 'net.exe')])).status, 200);
    await pgs.start();
    await until(async () => (await admin().get('/api/health')).status === 200, 'the api node to reach PostgreSQL again', 60_000);
    const made = await admin().post('/api/ingest-tokens', { source: 'beats-late', protocols: ['elastic'] });
    assert.equal(made.status, 201, made.text);
    await until(
      async () => (await bulk(port, made.json.secret as string, [proc('hosth.corp', 'net.exe')])).status === 200,
      () => `the token accepted by ingest-2\n${describeNodes()}`,
      120_000,
    );
    await until(async () => (await nodeRow('ingest-2'))?.stale === false, 'ingest-2 in health', 60_000);
  });
});
