import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emailMessage, slackEscape, slackMessage, webhookBody } from '../../src/serve/notify/formats.js';
import { NOTIFY_LIMITS } from '../../src/serve/notify/limits.js';
import { clean, cut, noticeOf, parseNotice, storyLevel, storyTitle } from '../../src/serve/notify/message.js';
import { backoffDelay, notifyMetrics } from '../../src/serve/notify/notifier.js';
import { httpOutcome, parseRetryAfter } from '../../src/serve/notify/senders.js';
import { hostileStory } from './notify-helpers.js';

/** Every string inside a Slack payload's text objects. */
function slackTexts(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => slackTexts(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'text' && typeof x === 'string') out.push(x);
      else slackTexts(x, out);
    }
  }
  return out;
}

describe('notification contents', () => {
  it('a notice is a deterministic, cleaned snapshot of the story', () => {
    const s = hostileStory();
    const a = noticeOf({ kind: 'story-created', story: s, url: 'https://fb.example.com/stories/st-0123456789abcdef' });
    const b = noticeOf({ kind: 'story-created', story: structuredClone(s), url: 'https://fb.example.com/stories/st-0123456789abcdef' });
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    assert.equal(a.level, 'critical');
    assert.equal(a.title, 'Mimikatz & friends <img src=x onerror=alert(1)> on <script>alert(1)</script> and 2 more hosts');
    assert.equal(a.hostCount, 3);
    assert.deepEqual(a.tactics, ['Execution', 'Lateral Movement']);
    // CR and the right-to-left override are replaced; the narrative keeps its line breaks.
    assert.ok(!/[\r\u202e]/.test(a.narrative), a.narrative);
    assert.match(a.narrative, /\uFFFD\ntake|\uFFFD\nthen/);
    assert.deepEqual(parseNotice(JSON.stringify(a)), a);
    assert.throws(() => parseNotice('{"v":2}'), /not a version-1 story notice/);
    assert.equal(storyLevel(hostileStory({ levels: { informational: 2, low: 0, medium: 0, high: 0, critical: 0 } })), 'informational');
    assert.equal(storyTitle(hostileStory({ hosts: [], patientZero: null })), 'Mimikatz & friends <img src=x onerror=alert(1)>');
  });

  it('values from logs are capped, and a huge story still fits a row', () => {
    const big = 'Ж'.repeat(100_000);
    const hosts = Array.from({ length: 500 }, (_, i) => ({ computer: `${big}${i}`, firstTouched: '2026-08-05T00:00:00.000Z', detections: 1, maxLevel: 'high' as const, addresses: [] }));
    const n = noticeOf({
      kind: 'story-created',
      story: hostileStory({ hosts, accounts: hosts.map((h) => h.computer), narrative: big, omitted: { timeline: 0, hosts: 100, accounts: 0, sourceIps: 0, spread: 0, rules: 0, context: 0 } }),
    });
    assert.equal(n.hostCount, 600);
    assert.ok(n.hosts.length <= NOTIFY_LIMITS.listMaxItems);
    assert.ok(n.hosts.every((h) => h.length <= NOTIFY_LIMITS.valueMaxChars));
    assert.equal(n.narrative.length, NOTIFY_LIMITS.narrativeMaxChars);
    assert.ok(Buffer.byteLength(JSON.stringify(n)) <= NOTIFY_LIMITS.payloadMaxBytes);
    // A cut never leaves half a surrogate pair.
    const emoji = cut('😀'.repeat(10), 6);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(emoji), JSON.stringify(emoji));
    assert.equal(clean('a\x1b[31mb\nc'), 'a\uFFFD[31mb c');
  });

  it('webhook JSON carries the story fields, values as they were', () => {
    const n = noticeOf({ kind: 'story-escalated', story: hostileStory(), previous: { score: 40, level: 'high' }, url: 'https://fb.example.com/s/1' });
    const b = webhookBody(n, { deliveryId: '7', queuedAt: '2026-08-05T15:00:00.000Z' });
    assert.equal(b.kind, 'story-escalated');
    assert.equal(b.deliveryId, '7');
    const st = b.story as Record<string, unknown>;
    assert.equal(st.id, 'st-0123456789abcdef');
    assert.equal(st.score, 87);
    assert.deepEqual(st.previous, { score: 40, level: 'high' });
    assert.deepEqual((st.patientZero as { host: string }).host, '<script>alert(1)</script>');
    assert.ok((st.hosts as string[]).includes('ws02 <!channel> & <@U123>'));
    assert.equal(st.url, 'https://fb.example.com/s/1');
    for (const k of ['title', 'firstSeen', 'lastSeen', 'tactics', 'narrative']) assert.ok(k in st, k);
  });

  it('Slack: every log value escaped, no mention or link can be planted, limits kept', () => {
    const n = noticeOf({ kind: 'story-created', story: hostileStory(), url: 'https://fb.example.com/s/a|b?x=<1>&y' });
    const m = slackMessage(n);
    const texts = [m.text, ...slackTexts(m.blocks)];
    const all = texts.join('\n');
    // The only `<…>` sequences left are the links we made ourselves.
    const brackets = all.match(/<[^>]*>/g) ?? [];
    assert.deepEqual([...new Set(brackets)].sort(), ['<https://fb.example.com/s/a%7Cb?x=%3C1%3E&amp;y|Open the story in Firebreak>', '<https://fb.example.com/s/a%7Cb?x=%3C1%3E&amp;y|open>'].sort());
    assert.match(all, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(all, /ws02 &lt;!channel&gt; &amp; &lt;@U123&gt;/);
    assert.match(all, /&lt;https:\/\/evil\.example\|click&gt;/);
    assert.match(all, /powershell -enc &lt;!here&gt;/);
    // A bare & is always the start of one of the three entities.
    assert.ok(!/&(?!amp;|lt;|gt;)/.test(all), all);
    // Text objects are verbatim: Slack links nothing by itself.
    const objs = JSON.stringify(m.blocks).match(/"type":"mrkdwn"[^}]*}/g) ?? [];
    assert.ok(objs.length > 3 && objs.every((o) => o.includes('"verbatim":true')), objs.join('\n'));
    assert.equal(m.blocks[0]!.type, 'header');
  });

  it('Slack: a story with enormous values stays within Block Kit limits', () => {
    const long = '<&>'.repeat(5000);
    const hosts = Array.from({ length: 50 }, (_, i) => ({ computer: long + i, firstTouched: '2026-08-05T00:00:00.000Z', detections: 1, maxLevel: 'high' as const, addresses: [] }));
    const n = noticeOf({ kind: 'story-created', story: hostileStory({ hosts, narrative: long, topRules: [{ id: null, title: long, level: 'high', count: 1 }] }) });
    const m = slackMessage(n);
    const L = NOTIFY_LIMITS.slack;
    assert.ok(m.text.length <= L.textMaxChars);
    assert.ok(m.blocks.length <= 50);
    for (const b of m.blocks) {
      const t = (b.text as { text?: string } | undefined)?.text;
      if (t !== undefined) assert.ok(t.length <= (b.type === 'header' ? L.headerMaxChars : L.sectionMaxChars), `${String(b.type)}: ${t.length}`);
      const fields = (b.fields as { text: string }[] | undefined) ?? [];
      assert.ok(fields.length <= L.maxFields);
      for (const f of fields) assert.ok(f.text.length <= L.fieldMaxChars, String(f.text.length));
    }
    // Cutting never leaves half an entity behind.
    assert.ok(!/&(?!amp;|lt;|gt;)/.test(slackTexts(m.blocks).join('\n') + m.text));
    assert.equal(slackEscape('a<b>&c'), 'a&lt;b&gt;&amp;c');
  });

  it('e-mail: one-line subject, every value escaped in HTML, only our own link', () => {
    const n = noticeOf({
      kind: 'story-escalated',
      story: hostileStory({ topRules: [{ id: null, title: 'evil\r\nBcc: victim@example.com', level: 'high', count: 1 }] }),
      previous: { score: 40, level: 'high' },
      url: 'javascript:alert(1)',
    });
    const m = emailMessage(n, '[SOC]');
    assert.ok(!/[\r\n]/.test(m.subject), m.subject);
    assert.match(m.subject, /^\[SOC\] Story escalated to critical \(score 87\): evil\uFFFD Bcc/);
    assert.ok(!m.html.includes('<script>'), 'raw script tag in HTML');
    assert.ok(!m.html.includes('<b>'), 'raw markup from an account name');
    assert.match(m.html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.ok(!/href="javascript/i.test(m.html), 'a javascript: link');
    assert.ok(!m.text.includes('javascript:'), 'the non-http link is left out');
    assert.match(m.text, /Score: 40 → 87/);
    assert.match(m.text, /Patient zero: <script>alert\(1\)<\/script>/);
    const ok = emailMessage(noticeOf({ kind: 'story-created', story: hostileStory(), url: 'https://fb.example.com/s/1?a=1&b="2"' }), '[Firebreak]');
    assert.match(ok.html, /<a href="https:\/\/fb\.example\.com\/s\/1\?a=1&#38;b=%222%22">/);
  });

  it('HTTP answers: which are retried, which are not', () => {
    assert.deepEqual(httpOutcome(200, {}, 'ok'), { ok: true });
    assert.deepEqual(httpOutcome(204, {}, ''), { ok: true });
    const r503 = httpOutcome(503, { 'retry-after': '30' }, 'busy');
    assert.deepEqual(r503, { ok: false, permanent: false, error: 'HTTP 503: busy', retryAfterMs: 30_000 });
    assert.equal((httpOutcome(429, {}, '') as { permanent: boolean }).permanent, false);
    assert.equal((httpOutcome(408, {}, '') as { permanent: boolean }).permanent, false);
    const r400 = httpOutcome(400, {}, 'invalid_blocks');
    assert.deepEqual(r400, { ok: false, permanent: true, error: 'HTTP 400: invalid_blocks' });
    assert.match((httpOutcome(301, { location: 'https://x' }, '') as { error: string }).error, /redirect/);
    assert.equal((httpOutcome(404, {}, 'no_service') as { permanent: boolean }).permanent, true);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')), 60_000);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  it('backoff doubles up to the cap, with jitter between half and all of the step', () => {
    const p = { initialDelayMs: 1000, maxDelayMs: 60_000 };
    assert.equal(
      backoffDelay(1, p, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(1, p, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(3, p, () => 1),
      4000,
    );
    assert.equal(
      backoffDelay(30, p, () => 1),
      60_000,
    );
    assert.equal(
      backoffDelay(30, p, () => 0),
      30_000,
    );
    assert.equal(
      backoffDelay(200, p, () => 0.5),
      45_000,
    );
    // Retry-After is honoured, up to the cap.
    assert.equal(
      backoffDelay(1, p, () => 0, 20_000),
      20_000,
    );
    assert.equal(
      backoffDelay(1, p, () => 0, 3_600_000),
      60_000,
    );
  });

  it('metrics in Prometheus text format, labels escaped', () => {
    const text = notifyMetrics({
      ok: false,
      running: true,
      channels: [
        { name: 'soc', kind: 'slack', sent: 3, failed: 1, pending: 2, retrying: 1, inFlight: 0, lastSuccessAt: '2026-08-05T00:00:10.000Z', lastError: null, oldestPendingAt: null, ok: false },
        { name: 'old"one', kind: null, sent: 0, failed: 4, pending: 0, retrying: 0, inFlight: 0, lastSuccessAt: null, lastError: null, oldestPendingAt: null, ok: false },
      ],
    });
    assert.match(text, /^firebreak_notifications_sent_total\{channel="soc",kind="slack"\} 3$/m);
    assert.match(text, /^firebreak_notifications_failed\{channel="old\\"one",kind="unconfigured"\} 4$/m);
    assert.match(text, /^firebreak_notifications_last_success_timestamp_seconds\{channel="soc",kind="slack"\} 1785888010$/m);
    assert.match(text, /^# TYPE firebreak_notifications_pending gauge$/m);
  });
});
