/**
 * Alerts and stories through the API: filters, sorting, pagination, one item with comments and
 * audit, counts since a time, every triage action with its audit entry and live-feed message,
 * merging and splitting stories, host and account pages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LiveEvent } from '../../src/serve/api/deps.js';
import { loggedIn, makeStory, seedAlert, seedStory, startTestApi, type Api, type Client } from './api-helpers.js';

describe('api alerts and stories', { timeout: 120_000 }, () => {
  let api: Api;
  let analyst: Client;
  const ids: Record<string, number> = {};
  before(async () => {
    api = await startTestApi({
      events: [
        {
          offset: 1,
          source: 's',
          timestamp: '2026-01-01T00:00:00.000Z',
          receivedAt: Date.parse('2026-01-01T00:00:00.000Z'),
          computer: 'ws01.corp.example',
          channel: 'Security',
          provider: null,
          eventId: 4624,
          recordId: 1,
          fields: { EventID: 4624, Computer: 'ws01.corp.example', TargetUserName: 'alice', IpAddress: '10.9.9.9' },
        },
        {
          offset: 2,
          source: 's',
          timestamp: '2026-01-01T05:00:00.000Z',
          receivedAt: Date.parse('2026-01-01T05:00:00.000Z'),
          computer: 'srv02.corp.example',
          channel: 'Security',
          provider: null,
          eventId: 4624,
          recordId: 2,
          fields: { EventID: 4624, Computer: 'srv02.corp.example', TargetUserName: 'alice', IpAddress: '10.1.1.1' },
        },
      ],
    });
    analyst = await loggedIn(api, 'alice', 'analyst');
    await loggedIn(api, 'bob', 'analyst');
    seedStory(
      api.db,
      makeStory('st-a', {
        hosts: ['ws01.corp.example', 'srv02.corp.example'],
        spread: [['ws01.corp.example', 'srv02.corp.example', '2026-01-01T01:00:00.000Z']],
        score: 80,
        first: '2026-01-01T00:00:00.000Z',
        last: '2026-01-01T02:00:00.000Z',
        timeline: [
          { at: '2026-01-01T00:00:00.000Z', host: 'ws01.corp.example', title: 'Suspicious Whoami' },
          { at: '2026-01-01T01:00:00.000Z', host: 'srv02.corp.example', title: 'Remote Logon' },
        ],
      }),
      { level: 'critical' },
    );
    seedStory(api.db, makeStory('st-b', { hosts: ['ws09.corp.example'], accounts: ['CORP\\bob'], score: 30, first: '2026-01-02T00:00:00.000Z' }), { level: 'medium' });
    ids.whoami = seedAlert(api.db, {
      title: 'Suspicious Whoami',
      level: 'high',
      host: 'ws01.corp.example',
      users: ['CORP\\alice'],
      tactics: ['discovery'],
      techniques: ['T1033'],
      firstSeen: '2026-01-01T00:00:00.000Z',
      storyId: 'st-a',
      count: 3,
      event: { IpAddress: '10.9.9.9' },
    });
    ids.logon = seedAlert(api.db, {
      title: 'Remote Logon',
      ruleId: '22222222-2222-3333-4444-555555555555',
      level: 'medium',
      host: 'srv02.corp.example',
      users: ['alice'],
      tactics: ['lateral-movement'],
      techniques: ['T1021.002'],
      firstSeen: '2026-01-01T01:00:00.000Z',
      storyId: 'st-a',
    });
    ids.crit = seedAlert(api.db, {
      title: 'Mimikatz',
      ruleId: null,
      level: 'critical',
      host: 'ws09.corp.example',
      users: ['CORP\\bob'],
      tactics: ['credential-access'],
      techniques: ['T1003.001'],
      firstSeen: '2026-01-02T00:00:00.000Z',
      storyId: 'st-b',
    });
    ids.low = seedAlert(api.db, { title: '100%_odd\\title', ruleId: null, level: 'low', host: 'ws01.corp.example', firstSeen: '2026-01-03T00:00:00.000Z' });
    for (let i = 0; i < 12; i++) seedAlert(api.db, { title: `Noise ${i}`, ruleId: null, level: 'informational', host: `h${i}`, firstSeen: `2026-01-04T00:00:${String(i).padStart(2, '0')}.000Z` });
  });
  after(() => api.close());

  const titles = (r: { json: { items: { ruleTitle?: string; id: unknown }[] } }) => r.json.items.map((x) => x.ruleTitle ?? x.id);

  it('lists alerts newest first with filters on level, status, host, user, rule, tactic, technique, time and text', async () => {
    const all = await analyst.get('/api/alerts');
    assert.equal(all.status, 200);
    assert.equal(all.json.total, 16);
    assert.equal(all.json.items[0].ruleTitle, 'Noise 11');
    assert.deepEqual(titles(await analyst.get('/api/alerts?level=critical&level=high')), ['Mimikatz', 'Suspicious Whoami']);
    assert.deepEqual(titles(await analyst.get('/api/alerts?minLevel=medium&sort=severity')), ['Mimikatz', 'Suspicious Whoami', 'Remote Logon']);
    assert.deepEqual(titles(await analyst.get('/api/alerts?host=WS01.corp.example')), ['100%_odd\\title', 'Suspicious Whoami']);
    assert.deepEqual(titles(await analyst.get('/api/alerts?user=alice&sort=oldest')), ['Suspicious Whoami', 'Remote Logon'], 'bare name matches DOMAIN\\name');
    assert.deepEqual(titles(await analyst.get('/api/alerts?user=CORP%5Cbob')), ['Mimikatz']);
    assert.deepEqual(titles(await analyst.get('/api/alerts?rule=22222222-2222-3333-4444-555555555555')), ['Remote Logon']);
    const ref = all.json.items.find((a: { ruleTitle: string }) => a.ruleTitle === 'Remote Logon').ruleRef;
    assert.deepEqual(titles(await analyst.get(`/api/alerts?rule=${ref}`)), ['Remote Logon'], 'by ruleRef');
    assert.deepEqual(titles(await analyst.get('/api/alerts?tactic=lateral-movement')), ['Remote Logon']);
    assert.deepEqual(titles(await analyst.get('/api/alerts?technique=T1003')), ['Mimikatz'], 'a technique matches its sub-techniques');
    assert.deepEqual(titles(await analyst.get('/api/alerts?from=2026-01-01T00:30:00Z&to=2026-01-02T12:00:00%2B02:00')), ['Mimikatz', 'Remote Logon']);
    assert.deepEqual(titles(await analyst.get('/api/alerts?q=%25_')), ['100%_odd\\title'], 'LIKE wildcards in the text are literal');
    assert.deepEqual(titles(await analyst.get('/api/alerts?story=st-b')), ['Mimikatz']);
    assert.equal((await analyst.get('/api/alerts?ungrouped=true')).json.total, 13);
  });

  it('paginates with a cap and refuses out-of-range pages', async () => {
    const p1 = await analyst.get('/api/alerts?limit=5');
    const p2 = await analyst.get('/api/alerts?limit=5&offset=5');
    assert.equal(p1.json.items.length, 5);
    assert.equal(p2.json.offset, 5);
    assert.equal(new Set([...p1.json.items, ...p2.json.items].map((a: { id: number }) => a.id)).size, 10);
    for (const q of ['limit=501', 'limit=0', 'offset=-1', 'offset=100001', 'limit=abc', 'sort=random', 'level=fatal', 'from=yesterday', 'bogus=1']) {
      const r = await analyst.get(`/api/alerts?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.error.code, 'invalid-request', q);
    }
  });

  it('treats injection attempts in filters as plain values', async () => {
    for (const v of ["' OR 1=1 --", '"; DROP TABLE alerts; --', "ws01') OR ('1'='1", '%', '*']) {
      for (const f of ['host', 'user', 'rule', 'q', 'tactic', 'assignee']) {
        const r = await analyst.get(`/api/alerts?${f}=${encodeURIComponent(v)}`);
        assert.equal(r.status, 200, `${f}=${v}`);
        // Only the title that really holds a '%' matches a text search for it.
        assert.equal(r.json.total, f === 'q' && v === '%' ? 1 : 0, `${f}=${v}`);
      }
      assert.equal((await analyst.get(`/api/stories?host=${encodeURIComponent(v)}`)).json.total, 0);
    }
    assert.equal((api.db.db.prepare('SELECT count(*) AS n FROM alerts').get() as { n: number }).n, 16);
  });

  it('lists stories with filters, and returns one with its alerts, comments and audit', async () => {
    const all = await analyst.get('/api/stories');
    assert.deepEqual(
      all.json.items.map((s: { id: string }) => s.id),
      ['st-b', 'st-a'],
    );
    assert.deepEqual(
      (await analyst.get('/api/stories?sort=severity')).json.items.map((s: { id: string }) => s.id),
      ['st-a', 'st-b'],
    );
    assert.deepEqual(
      (await analyst.get('/api/stories?host=srv02.corp.example')).json.items.map((s: { id: string }) => s.id),
      ['st-a'],
    );
    assert.deepEqual(
      (await analyst.get('/api/stories?user=bob')).json.items.map((s: { id: string }) => s.id),
      ['st-b'],
    );
    assert.deepEqual(
      (await analyst.get('/api/stories?rule=Mimikatz')).json.items.map((s: { id: string }) => s.id),
      ['st-b'],
    );
    assert.deepEqual(
      (await analyst.get('/api/stories?tactic=lateral-movement&minLevel=high')).json.items.map((s: { id: string }) => s.id),
      ['st-a'],
    );
    const one = await analyst.get('/api/stories/st-a');
    assert.equal(one.status, 200);
    assert.equal(one.json.alerts.total, 2);
    assert.equal(one.json.story.patientZero.computer, 'ws01.corp.example');
    assert.deepEqual(one.json.tactics, ['lateral-movement']);
    assert.equal((await analyst.get('/api/stories/nope')).status, 404);
    const alert = await analyst.get(`/api/alerts/${ids.whoami}`);
    assert.equal(alert.json.detection.event.IpAddress, '10.9.9.9');
    assert.equal(alert.json.count, 3);
    assert.equal((await analyst.get('/api/alerts/999999')).status, 404);
    assert.equal((await analyst.get('/api/alerts/abc')).status, 400);
  });

  it('acknowledges, assigns, changes status, comments — each in the audit trail and on the live feed', async () => {
    const seen: LiveEvent[] = [];
    const stop = api.live.subscribe((e) => seen.push(e));
    const id = ids.crit;
    const ack = await analyst.post(`/api/alerts/${id}/acknowledge`);
    assert.equal(ack.status, 200);
    assert.equal(ack.json.status, 'acknowledged');
    const asg = await analyst.post(`/api/alerts/${id}/assign`, { assignee: 'bob' });
    assert.equal(asg.json.assignee, 'bob');
    assert.equal((await analyst.post(`/api/alerts/${id}/assign`, { assignee: 'ghost' })).json.error.code, 'no-such-user');
    const prog = await analyst.post(`/api/alerts/${id}/status`, { status: 'in_progress' });
    assert.equal(prog.json.status, 'in_progress');
    const noRes = await analyst.post(`/api/alerts/${id}/status`, { status: 'closed' });
    assert.equal(noRes.status, 400);
    assert.equal(noRes.json.error.code, 'resolution-required');
    assert.equal((await analyst.post(`/api/alerts/${id}/status`, { status: 'new', resolution: 'benign' })).json.error.code, 'resolution-not-allowed');
    assert.equal((await analyst.post(`/api/alerts/${id}/status`, { status: 'closed', resolution: 'maybe' })).status, 400);
    const closed = await analyst.post(`/api/alerts/${id}/status`, { status: 'closed', resolution: 'true_positive' });
    assert.equal(closed.json.status, 'closed');
    assert.equal(closed.json.resolution, 'true_positive');
    const com = await analyst.post(`/api/alerts/${id}/comments`, { body: 'Confirmed with the host owner. <b>not html</b>' });
    assert.equal(com.status, 201);
    assert.equal((await analyst.post(`/api/alerts/${id}/comments`, { body: '   ' })).status, 400);
    stop();

    const detail = await analyst.get(`/api/alerts/${id}`);
    assert.deepEqual(
      detail.json.audit.map((a: { action: string; actor: string }) => `${a.actor} ${a.action}`),
      ['alice alert.acknowledge', 'alice alert.assign', 'alice alert.status', 'alice alert.status', 'alice alert.comment'],
    );
    assert.deepEqual(detail.json.audit[1].detail, { from: null, to: 'bob' });
    assert.deepEqual(detail.json.audit[3].detail, { from: 'in_progress', to: 'closed', resolution: 'true_positive' });
    assert.equal(detail.json.comments[0].body, 'Confirmed with the host owner. <b>not html</b>');
    assert.equal(detail.json.comments[0].author, 'alice');
    assert.ok(seen.length >= 5);
    assert.ok(seen.every((e) => e.type === 'alert.updated' && e.data.id === String(id)));
    assert.equal((seen.at(-1)!.data.summary as { status: string }).status, 'closed');
  });

  it('closing a story closes its open alerts with the same resolution (each audited)', async () => {
    const st = await analyst.post('/api/stories/st-b/status', { status: 'closed', resolution: 'false_positive' });
    assert.equal(st.status, 200);
    const story = await analyst.get('/api/stories/st-b');
    assert.equal(story.json.status, 'closed');
    assert.deepEqual(
      story.json.audit.map((a: { action: string }) => a.action),
      ['story.status'],
    );
    // The alert was closed before as a true positive; it stays so (only open alerts follow the story).
    assert.equal((await analyst.get(`/api/alerts/${ids.crit}`)).json.resolution, 'true_positive');
    await analyst.post('/api/stories/st-b/status', { status: 'in_progress' });
    await analyst.post(`/api/alerts/${ids.crit}/status`, { status: 'in_progress' });
    await analyst.post('/api/stories/st-b/status', { status: 'closed', resolution: 'benign' });
    const a = await analyst.get(`/api/alerts/${ids.crit}`);
    assert.equal(a.json.resolution, 'benign');
    assert.equal(a.json.audit.at(-1).detail.via, 'story st-b');
  });

  it('merges two stories (alerts move, the merged id redirects, the view joins both) and splits an alert out', async () => {
    seedStory(api.db, makeStory('st-c', { hosts: ['dc01.corp.example'], accounts: ['CORP\\eve'], first: '2025-12-31T23:00:00.000Z', score: 90 }), { level: 'high' });
    const alertC = seedAlert(api.db, { title: 'DCSync', ruleId: null, level: 'high', host: 'dc01.corp.example', storyId: 'st-c', firstSeen: '2025-12-31T23:00:00.000Z' });
    assert.equal((await analyst.post('/api/stories/st-c/merge', { into: 'st-c' })).status, 400);
    assert.equal((await analyst.post('/api/stories/st-c/merge', { into: 'nope' })).status, 404);
    const m = await analyst.post('/api/stories/st-c/merge', { into: 'st-a' });
    assert.equal(m.status, 200);
    assert.deepEqual(m.json.mergedFrom, ['st-c']);
    assert.equal(m.json.alerts, 3);
    const merged = await analyst.get('/api/stories/st-c');
    assert.equal(merged.json.mergedInto, 'st-a');
    assert.equal((await analyst.post('/api/stories/st-c/acknowledge')).status, 409, 'triage goes to the surviving story');
    assert.ok(!(await analyst.get('/api/stories')).json.items.some((s: { id: string }) => s.id === 'st-c'), 'merged stories leave the list');
    const view = await analyst.get('/api/stories/st-a');
    assert.equal(view.json.alerts.total, 3);
    assert.deepEqual(
      view.json.story.hosts.map((h: { computer: string }) => h.computer),
      ['dc01.corp.example', 'ws01.corp.example', 'srv02.corp.example'],
    );
    assert.equal(view.json.story.patientZero.computer, 'dc01.corp.example', 'the earliest story names patient zero');
    assert.deepEqual(view.json.story.accounts.sort(), ['CORP\\alice', 'CORP\\eve']);
    assert.equal(view.json.story.score, 90);
    assert.deepEqual(
      view.json.audit.map((a: { action: string }) => a.action),
      ['story.merged-in'],
    );
    assert.equal((await analyst.get(`/api/alerts/${alertC}`)).json.storyId, 'st-a');

    // Split the whoami alert out of st-a.
    const before = view.json.story.timeline.length;
    const s = await analyst.post('/api/stories/st-a/split', { alertId: ids.whoami });
    assert.equal(s.status, 200);
    assert.equal(s.json.storyId, null);
    assert.equal((await analyst.post('/api/stories/st-a/split', { alertId: ids.whoami })).status, 409, 'already out');
    assert.equal((await analyst.post('/api/stories/st-a/split', { alertId: ids.low })).status, 409, 'never in');
    const after = await analyst.get('/api/stories/st-a');
    assert.deepEqual(after.json.splitAlerts, [ids.whoami]);
    assert.equal(after.json.alerts.total, 2);
    assert.equal(after.json.story.timeline.length, before - 1);
    assert.ok(!after.json.story.timeline.some((t: { title: string }) => t.title === 'Suspicious Whoami'));
    assert.ok(api.db.db.prepare('SELECT 1 FROM story_splits WHERE alert_id = ? AND story_id = ?').get(ids.whoami, 'st-a'), 'the pipeline can see the split');
    assert.deepEqual(
      after.json.audit.map((a: { action: string }) => a.action),
      ['story.merged-in', 'story.split'],
    );
    assert.equal((await analyst.get(`/api/alerts/${ids.whoami}`)).json.audit.at(-1).action, 'alert.split');
  });

  it('counts what arrived and changed since a time', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    seedAlert(api.db, { title: 'Fresh', ruleId: null, level: 'critical', host: 'new' });
    const c = await analyst.get(`/api/counts?since=${encodeURIComponent(since)}`);
    assert.equal(c.status, 200);
    assert.ok(c.json.alerts.created >= 1);
    assert.ok(c.json.alerts.byLevel.critical >= 1);
    const later = await analyst.get(`/api/counts?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    assert.deepEqual(later.json.alerts, { created: 0, updated: 0, byLevel: {} });
    assert.equal((await analyst.get('/api/counts')).status, 400);
  });

  it('gives a page of facts for a host and an account, from alerts, stories and stored events', async () => {
    const h = await analyst.get('/api/hosts/WS01.corp.example');
    assert.equal(h.status, 200);
    assert.equal(h.json.alerts.total, 2);
    assert.ok(h.json.stories.some((s: { id: string }) => s.id === 'st-a'));
    assert.ok(h.json.touched.some((t: { host: string }) => t.host === 'srv02.corp.example'));
    assert.ok(h.json.logonSources.some((s: { source: string; via: string }) => s.source === '10.9.9.9' && s.via === 'alert'));
    assert.ok(h.json.logonSources.some((s: { source: string; via: string }) => s.source === '10.9.9.9' && s.via === 'events'));
    assert.equal(h.json.events.events, 1);
    // The alert's CORP\alice and the logon event's bare alice (no domain field) are one account.
    assert.deepEqual(h.json.accounts, [{ name: 'CORP\\alice', alerts: 1 }]);
    assert.equal(h.json.events.first <= '2026-01-01T00:00:00.000Z', true);
    const srv = await analyst.get('/api/hosts/srv02.corp.example');
    assert.ok(srv.json.logonSources.some((s: { source: string; via: string }) => s.source === 'ws01.corp.example' && s.via === 'story'));

    const u = await analyst.get('/api/accounts/alice');
    assert.equal(u.json.alerts.total, 2);
    assert.deepEqual(
      u.json.hosts
        .filter((x: { via: string }) => x.via === 'events')
        .map((x: { host: string }) => x.host)
        .sort(),
      ['srv02.corp.example', 'ws01.corp.example'],
    );
    // A host is shown as it is spelt (here by its latest alert), one entry however spelt.
    seedAlert(api.db, { title: 'Mixed Case', ruleId: null, level: 'low', host: 'ws77.corp.example', users: ['zed'] });
    seedAlert(api.db, { title: 'Mixed Case', ruleId: null, level: 'low', host: 'WS77.Corp.Example', users: ['CORP\\zed'] });
    const zed = await analyst.get('/api/accounts/zed');
    assert.deepEqual(
      zed.json.hosts.map((x: { host: string; via: string; count: number }) => [x.host, x.via, x.count]),
      [['WS77.Corp.Example', 'alert', 2]],
    );
    const odd = await analyst.get(`/api/hosts/${encodeURIComponent('we ird*host')}`);
    assert.equal(odd.status, 200);
    assert.equal(odd.json.events, null, 'a name the field filter cannot express is not sent to the event store');
    const hosts = await analyst.get('/api/hosts?q=corp');
    assert.ok(hosts.json.items.some((x: { name: string; maxLevel: string }) => x.name === 'ws09.corp.example' && x.maxLevel === 'critical'));
    const accounts = await analyst.get('/api/accounts');
    assert.ok(accounts.json.items.some((x: { name: string }) => x.name === 'CORP\\bob'));
  });
});
