import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { noticeOf } from '../../src/serve/notify/message.js';
import { Notifier, type ChannelHealth } from '../../src/serve/notify/notifier.js';
import { Outbox } from '../../src/serve/notify/outbox.js';
import { StateDb } from '../../src/serve/store/db.js';
import { have, makeCerts, until } from './ingest-helpers.js';
import { hostileStory, notifyConfig, receiver, tempDb } from './notify-helpers.js';

const FAST = '  retry: { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 40 }\n';
const event = (over: Parameters<typeof hostileStory>[0] = {}) => ({ kind: 'story-created' as const, story: hostileStory(over), url: 'https://fb.example.com/stories/st-1' });

function channel(n: Notifier, name: string): ChannelHealth {
  const c = n.health().channels.find((x) => x.name === name);
  assert.ok(c, `no health for ${name}`);
  return c;
}

const count = (db: StateDb, where = '1 = 1'): number => (db.db.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE ${where}`).get() as { n: number }).n;

describe('notifications: delivery', () => {
  it('webhook and Slack receive the story once, in their formats, values escaped for Slack', async () => {
    const hook = await receiver((_n, _r, res) => res.writeHead(202).end());
    const slack = await receiver();
    const { db } = tempDb();
    const cfg = notifyConfig(
      [
        FAST + '  channels:',
        `    - name: hook`,
        `      kind: webhook`,
        `      url: ${hook.url}`,
        `      headers: { Authorization: Bearer t0k3n }`,
        `      signingSecret: 0123456789abcdef-signing`,
        `    - { name: slack, kind: slack, url: "${slack.url}" }`,
        `    - { name: picky, kind: webhook, url: "${hook.url}", minScore: 90 }`,
        `    - { name: crit-only, kind: webhook, url: "${hook.url}", minLevel: critical, events: [story-escalated] }`,
        '',
      ].join('\n'),
    );
    const logs: string[] = [];
    const n = new Notifier(db, cfg, { log: (l, m) => logs.push(`${l}: ${m}`) });
    n.start();
    try {
      // Filters: score 87 < 90, and crit-only wants escalations only.
      assert.deepEqual(n.enqueue(event()), ['hook', 'slack']);
      await until(() => channel(n, 'hook').sent === 1 && channel(n, 'slack').sent === 1, 'both deliveries');
      assert.equal(hook.requests.length, 1);
      const h = hook.requests[0]!;
      assert.equal(h.method, 'POST');
      assert.equal(h.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(h.headers.authorization, 'Bearer t0k3n');
      assert.equal(h.headers['x-firebreak-event'], 'story-created');
      const ts = String(h.headers['x-firebreak-timestamp']);
      const sig = createHmac('sha256', '0123456789abcdef-signing').update(`${ts}.${h.body}`).digest('hex');
      assert.equal(h.headers['x-firebreak-signature'], `sha256=${sig}`);
      const body = JSON.parse(h.body);
      assert.equal(body.kind, 'story-created');
      assert.equal(body.deliveryId, h.headers['x-firebreak-delivery']);
      assert.equal(body.story.id, 'st-0123456789abcdef');
      assert.equal(body.story.score, 87);
      assert.equal(body.story.level, 'critical');
      assert.equal(body.story.patientZero.host, '<script>alert(1)</script>');
      assert.deepEqual(body.story.hosts, ['<script>alert(1)</script>', 'ws02 <!channel> & <@U123>', 'dc01.corp.example']);
      assert.deepEqual(body.story.tactics, ['Execution', 'Lateral Movement']);
      assert.equal(body.story.firstSeen, '2026-08-05T14:03:00.000Z');
      assert.equal(body.story.url, 'https://fb.example.com/stories/st-1');
      assert.match(body.story.narrative, /powershell -enc <!here>/);

      assert.equal(slack.requests.length, 1);
      const s = slack.requests[0]!;
      const msg = JSON.parse(s.body);
      assert.ok(typeof msg.text === 'string' && Array.isArray(msg.blocks));
      assert.ok(!s.body.includes('<script>'), 'a raw <script> reached Slack');
      assert.ok(!s.body.includes('<!channel>') && !s.body.includes('<!here>') && !s.body.includes('<@U123>'), 'a Slack control sequence reached Slack');
      assert.ok(s.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(s.body.includes('ws02 &lt;!channel&gt; &amp; &lt;@U123&gt;'));
      // Slack-only headers stay with the webhook channel.
      assert.equal(s.headers.authorization, undefined);

      const hh = channel(n, 'hook');
      assert.equal(hh.kind, 'webhook');
      assert.equal(hh.pending, 0);
      assert.equal(hh.failed, 0);
      assert.ok(hh.lastSuccessAt);
      assert.equal(hh.lastError, null);
      assert.ok(n.health().ok);
      assert.equal(channel(n, 'picky').sent, 0);

      // An escalation to critical reaches the channel that waits for one.
      assert.deepEqual(n.enqueue({ kind: 'story-escalated', story: hostileStory({ score: 95 }), previous: { score: 87, level: 'high' } }).sort(), ['crit-only', 'hook', 'picky', 'slack']);
      await until(() => hook.requests.length === 4 && slack.requests.length === 2, 'escalations');
      const esc = JSON.parse(hook.requests.find((r) => JSON.parse(r.body).kind === 'story-escalated')!.body);
      assert.deepEqual(esc.story.previous, { score: 87, level: 'high' });
    } finally {
      await n.stop();
      db.close();
      await hook.close();
      await slack.close();
    }
  });

  it('a receiver that fails twice: retried with backoff, sent once, same delivery id each time', async () => {
    const flaky = await receiver((i, _r, res) => (i <= 2 ? res.writeHead(503, { 'retry-after': '0' }).end('busy') : res.end('ok')));
    const { db } = tempDb();
    const logs: string[] = [];
    const n = new Notifier(db, notifyConfig(`${FAST}  channels:\n    - { name: flaky, kind: webhook, url: "${flaky.url}" }\n`), { log: (l, m) => logs.push(`${l}: ${m}`) });
    n.start();
    try {
      n.enqueue(event());
      await until(() => channel(n, 'flaky').sent === 1, 'delivery after two failures');
      assert.equal(flaky.requests.length, 3);
      assert.equal(new Set(flaky.requests.map((r) => r.headers['x-firebreak-delivery'])).size, 1);
      const row = new Outbox(db).get(1)!;
      assert.equal(row.attempts, 3);
      assert.ok(row.sent_at);
      assert.equal(row.last_error, 'HTTP 503: busy');
      const h = channel(n, 'flaky');
      assert.deepEqual([h.sent, h.failed, h.pending, h.retrying], [1, 0, 0, 0]);
      assert.equal(h.lastError, null, 'an error resolved by a success is not the channel health');
      assert.ok(h.ok);
      assert.equal(logs.filter((l) => /failed \(attempt \d\), retrying/.test(l)).length, 2, logs.join('\n'));
    } finally {
      await n.stop();
      db.close();
      await flaky.close();
    }
  });

  it('a receiver that always fails: given up after the attempts, visible in health, retried on request', async () => {
    let healthy = false;
    const bad = await receiver((_i, _r, res) => (healthy ? res.end('ok') : res.writeHead(500).end('internal <b>error</b>\r\n')));
    const { db } = tempDb();
    const n = new Notifier(db, notifyConfig(`${FAST}  channels:\n    - { name: bad, kind: slack, url: "${bad.url}" }\n`));
    n.start();
    try {
      n.enqueue(event());
      await until(() => channel(n, 'bad').failed === 1, 'giving up');
      assert.equal(bad.requests.length, 4);
      const h = channel(n, 'bad');
      assert.deepEqual([h.sent, h.failed, h.pending], [0, 1, 0]);
      assert.equal(h.ok, false);
      assert.equal(n.health().ok, false);
      assert.equal(h.lastError?.storyId, 'st-0123456789abcdef');
      assert.equal(h.lastError?.message, 'HTTP 500: internal <b>error</b> (gave up after 4 attempts)');
      // The operator fixes the receiver and asks for a retry.
      healthy = true;
      assert.equal(n.retryFailed('bad'), 1);
      await until(() => channel(n, 'bad').sent === 1, 'delivery after retryFailed');
      const after = channel(n, 'bad');
      assert.deepEqual([after.sent, after.failed, after.pending], [1, 0, 0]);
      assert.ok(after.ok && n.health().ok);
    } finally {
      await n.stop();
      db.close();
      await bad.close();
    }
  });

  it('a refusal (4xx) is not retried', async () => {
    const gone = await receiver((_i, _r, res) => res.writeHead(404).end('no_service'));
    const { db } = tempDb();
    const n = new Notifier(db, notifyConfig(`${FAST}  channels:\n    - { name: gone, kind: slack, url: "${gone.url}" }\n`));
    n.start();
    try {
      n.enqueue(event());
      await until(() => channel(n, 'gone').failed === 1, 'refusal');
      assert.equal(gone.requests.length, 1);
      assert.equal(channel(n, 'gone').lastError?.message, 'HTTP 404: no_service');
    } finally {
      await n.stop();
      db.close();
      await gone.close();
    }
  });

  it('a slow receiver: each attempt times out, then the notification is given up', async () => {
    const held: ServerResponse[] = [];
    const slow = await receiver((_i, _r, res) => void held.push(res));
    const { db } = tempDb();
    const n = new Notifier(db, notifyConfig(`  retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 20 }\n  channels:\n    - { name: slow, kind: webhook, url: "${slow.url}", timeoutMs: 150 }\n`));
    n.start();
    try {
      n.enqueue(event());
      await until(() => channel(n, 'slow').failed === 1, 'timeouts');
      assert.equal(slow.requests.length, 2);
      assert.match(channel(n, 'slow').lastError!.message, /^timed out after 150 ms \(.*\) \(gave up after 2 attempts\)$/);
    } finally {
      await n.stop();
      db.close();
      await slow.close();
    }
  });

  it('an endless or hostile answer is cut off, not read to the end, and cleaned for health', async () => {
    const timers: NodeJS.Timeout[] = [];
    const endless = await receiver((_i, _r, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.write('\x1b[31mboom\u202e\n');
      timers.push(setInterval(() => res.write('x'.repeat(4096)), 1));
    });
    const { db } = tempDb();
    const n = new Notifier(db, notifyConfig(`  retry: { maxAttempts: 1 }\n  channels:\n    - { name: e, kind: webhook, url: "${endless.url}", timeoutMs: 60000 }\n`));
    n.start();
    try {
      n.enqueue(event());
      await until(() => channel(n, 'e').failed === 1, 'the failure');
      const msg = channel(n, 'e').lastError!.message;
      assert.match(msg, /^HTTP 500: \uFFFD\[31mboom\uFFFD x{100,}…? \(gave up after 1 attempts\)$/u);
      assert.ok(msg.length < 600, String(msg.length));
    } finally {
      timers.forEach(clearInterval);
      await n.stop();
      db.close();
      await endless.close();
    }
  });

  it('HTTPS with a private certificate authority', { skip: !have('openssl') && 'openssl is not installed' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-notify-https-'));
    const certs = makeCerts(dir, []);
    const bodies: string[] = [];
    const server = createHttpsServer({ key: readFileSync(certs.key), cert: readFileSync(certs.cert) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://localhost:${(server.address() as AddressInfo).port}/hook`;
    const { db } = tempDb();
    const cfg = notifyConfig(
      `  retry: { maxAttempts: 1 }\n  channels:\n    - { name: trusted, kind: webhook, url: "${url}", ca: ${certs.ca} }\n    - { name: untrusted, kind: webhook, url: "${url}" }\n`,
      dir,
    );
    const n = new Notifier(db, cfg);
    n.start();
    try {
      n.enqueue(event());
      await until(() => channel(n, 'trusted').sent === 1 && channel(n, 'untrusted').failed === 1, 'one trusted, one refused');
      assert.equal(bodies.length, 1);
      assert.match(channel(n, 'untrusted').lastError!.message, /certificate/i);
    } finally {
      await n.stop();
      db.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('bounded concurrency per channel; nothing waits on delivery', async () => {
    let open = 0;
    let most = 0;
    const r = await receiver((_i, _r, res) => {
      open++;
      most = Math.max(most, open);
      setTimeout(() => {
        open--;
        res.end('ok');
      }, 10);
    });
    const { db } = tempDb();
    const n = new Notifier(db, notifyConfig(`  perChannelConcurrency: 2\n  channels:\n    - { name: r, kind: webhook, url: "${r.url}" }\n`));
    n.start();
    try {
      for (let i = 0; i < 12; i++) assert.deepEqual(n.enqueue(event({ id: `st-${i}` })), ['r']);
      await until(() => channel(n, 'r').sent === 12, 'all twelve');
      assert.equal(r.requests.length, 12);
      assert.ok(most <= 2, `at most 2 at once, saw ${most}`);
    } finally {
      await n.stop();
      db.close();
      await r.close();
    }
  });
});

describe('notifications: the outbox', () => {
  it('re-enqueueing is a no-op; a rolled-back batch queues nothing', async () => {
    const { db } = tempDb();
    const cfg = notifyConfig(`  channels:\n    - { name: a, kind: webhook, url: "http://127.0.0.1:9/x" }\n    - { name: b, kind: slack, url: "http://127.0.0.1:9/y" }\n`);
    const n = new Notifier(db, cfg); // not started: rows stay pending
    try {
      assert.deepEqual(n.enqueue(event()), ['a', 'b']);
      assert.deepEqual(n.enqueue(event()), []);
      // A replay that built the story slightly differently still announces its creation once.
      assert.deepEqual(n.enqueue(event({ score: 88 })), []);
      assert.equal(count(db), 2);
      const esc = { kind: 'story-escalated' as const, story: hostileStory({ score: 95 }), previous: { score: 87, level: 'critical' as const } };
      assert.deepEqual(n.enqueue(esc), ['a', 'b']);
      assert.deepEqual(n.enqueue(esc), []);
      assert.equal(count(db), 4);
      // The batch that made the story fails: its notifications go with it.
      assert.throws(() =>
        db.tx(() => {
          assert.deepEqual(n.enqueue(event({ id: 'st-rolled-back' })), ['a', 'b']);
          throw new Error('batch failed');
        }),
      );
      assert.equal(count(db, "story_id = 'st-rolled-back'"), 0);
      const h = n.health();
      assert.equal(h.running, false);
      assert.deepEqual(
        h.channels.map((c) => [c.name, c.pending]),
        [
          ['a', 2],
          ['b', 2],
        ],
      );
    } finally {
      await n.stop();
      db.close();
    }
  });

  it('shutdown leaves unsent notifications pending; the next start delivers each once', async () => {
    const held: ServerResponse[] = [];
    const stuck = await receiver((_i, _r, res) => void held.push(res));
    const { db, path } = tempDb();
    const n1 = new Notifier(db, notifyConfig(`  perChannelConcurrency: 2\n  channels:\n    - { name: ch, kind: webhook, url: "${stuck.url}", timeoutMs: 60000 }\n`));
    n1.start();
    for (let i = 0; i < 5; i++) n1.enqueue(event({ id: `st-${i}` }));
    await until(() => stuck.requests.length === 2, 'two sends in flight');
    assert.equal(channel(n1, 'ch').inFlight, 2);
    await n1.stop(20); // the two in flight are aborted, not failed
    assert.equal(count(db, 'sent_at IS NULL AND failed_at IS NULL'), 5);
    assert.equal(count(db, 'attempts > 0'), 0, 'an attempt cut by shutdown is not counted');
    assert.deepEqual(n1.enqueue(event({ id: 'st-5' })), ['ch'], 'queuing still works while stopped');
    db.close();
    await stuck.close();

    const ok = await receiver();
    const db2 = new StateDb(path);
    const n2 = new Notifier(db2, notifyConfig(`  channels:\n    - { name: ch, kind: webhook, url: "${ok.url}" }\n`));
    n2.start();
    try {
      await until(() => channel(n2, 'ch').sent === 6, 'delivery after restart');
      assert.equal(ok.requests.length, 6);
      assert.deepEqual(ok.requests.map((r) => JSON.parse(r.body).story.id).sort(), ['st-0', 'st-1', 'st-2', 'st-3', 'st-4', 'st-5']);
    } finally {
      await n2.stop();
      db2.close();
      await ok.close();
    }
  });

  it('stop lets a send in flight finish within the grace period', async () => {
    const r = await receiver((_i, _r, res) => setTimeout(() => res.end('ok'), 30));
    const { db } = tempDb();
    const n = new Notifier(db, notifyConfig(`  channels:\n    - { name: ch, kind: webhook, url: "${r.url}" }\n`));
    n.start();
    n.enqueue(event());
    await until(() => r.requests.length === 1, 'the send to start');
    await n.stop(30_000);
    assert.equal(count(db, 'sent_at IS NOT NULL'), 1);
    db.close();
    await r.close();
  });

  it('pending notifications of a channel removed from the configuration are given up, and shown', async () => {
    const { db, path } = tempDb();
    const n1 = new Notifier(db, notifyConfig(`  channels:\n    - { name: old, kind: webhook, url: "http://127.0.0.1:9/x" }\n`));
    n1.enqueue(event());
    await n1.stop();
    db.close();
    const db2 = new StateDb(path);
    const r = await receiver();
    const logs: string[] = [];
    const n2 = new Notifier(db2, notifyConfig(`  channels:\n    - { name: new, kind: webhook, url: "${r.url}" }\n`), { log: (l, m) => logs.push(`${l}: ${m}`) });
    n2.start();
    try {
      const old = channel(n2, 'old');
      assert.equal(old.kind, null);
      assert.equal(old.failed, 1);
      assert.equal(old.lastError?.message, 'the channel is no longer in the configuration');
      assert.match(logs.join('\n'), /1 pending notification\(s\) of channels no longer configured were marked failed/);
      assert.equal(channel(n2, 'new').sent, 0);
    } finally {
      await n2.stop();
      db2.close();
      await r.close();
    }
  });

  it('a database of the first schema is migrated with its pending rows, which are then delivered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-notify-mig-'));
    const path = join(dir, 'state.db');
    // Take a database back to schema 1 (the outbox without the delivery columns) with a row in it.
    const a = new StateDb(path);
    a.db.exec(
      'DROP INDEX outbox_pending; DROP INDEX outbox_created_once; ALTER TABLE outbox DROP COLUMN created_at; ALTER TABLE outbox DROP COLUMN attempted_at; ALTER TABLE outbox DROP COLUMN failed_at; DROP TABLE story_splits; DROP TABLE ingest_tokens',
    );
    a.db.pragma('user_version = 1');
    const r = await receiver();
    const cfg = notifyConfig(`  channels:\n    - { name: ch, kind: webhook, url: "${r.url}" }\n`);
    const payload = JSON.stringify(noticeOf(event()));
    a.db.prepare('INSERT INTO outbox (channel, kind, story_id, payload, next_at) VALUES (?, ?, ?, ?, ?)').run('ch', 'story-created', 'st-0123456789abcdef', payload, '2026-01-01T00:00:00.000Z');
    a.close();
    const b = new StateDb(path);
    assert.equal(b.db.pragma('user_version', { simple: true }), 4);
    const n = new Notifier(b, cfg);
    n.start();
    try {
      await until(() => channel(n, 'ch').sent === 1, 'the old row delivered');
      assert.equal(JSON.parse(r.requests[0]!.body).queuedAt, '2026-01-01T00:00:00.000Z');
      // The migrated table has the once-per-story rule too.
      assert.deepEqual(n.enqueue(event({ score: 99 })), []);
    } finally {
      await n.stop();
      b.close();
      await r.close();
    }
  });
});
