/**
 * The event store's contract, run against the store process (what `firebreak serve` uses) and
 * against DuckDB in this process: append and replay, durability, filing by day, retention, usage,
 * the field-name catalogue, the field filter, the histogram, scan, and events from hostile senders.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIMITS } from '../../src/core/limits.js';
import type { EventStore } from '../../src/serve/store/types.js';
import { ADAPTERS, DAY, all, ev, rejection, tmp } from './store-helpers.js';

const L = LIMITS.store;
const iso = (ms: number): string => new Date(ms).toISOString();
const dayOf = (ms: number): string => iso(ms).slice(0, 10);

async function withStore<T>(open: (dir: string) => Promise<EventStore>, fn: (s: EventStore, dir: string) => Promise<T>): Promise<T> {
  const dir = tmp();
  const s = await open(dir);
  try {
    return await fn(s, dir);
  } finally {
    await s.close();
  }
}

for (const A of ADAPTERS) {
  const open = (dir: string) => A.open(dir);
  describe(`event store (${A.name})`, () => {
    it('appends, skips a replay, and keeps everything across close and reopen', async () => {
      const dir = tmp();
      const now = Date.now();
      let s = await open(dir);
      assert.equal(await s.maxOffset(), -1);
      // Two events of one record share an offset.
      await s.append([ev(0, now - 60_000, { n: 0 }), ev(0, now - 59_000, { n: 0.5 }), ev(1, now - 50_000, { n: 1 }), ev(2, null, { n: 2 })]);
      assert.equal(await s.maxOffset(), 2);
      // The processor replays from an earlier offset after a restart: what is stored is skipped.
      await s.append([ev(1, now - 50_000, { n: 1 }), ev(2, null, { n: 2 }), ev(3, now - 40_000, { n: 3 })]);
      assert.equal(await s.maxOffset(), 3);
      await s.append([]);
      await s.close();
      await assert.rejects(s.maxOffset(), { code: 'store-closed' });

      s = await open(dir);
      try {
        assert.equal(await s.maxOffset(), 3);
        const got = await all(s);
        assert.deepEqual(
          got.map((e) => e.fields.n),
          [0, 0.5, 1, 3, 2],
        );
        const u = await s.usage();
        assert.equal(u.events, 5);
        assert.ok(u.bytes > 0);
        // Every identity column comes back as it went in.
        const e0 = got[0]!;
        assert.equal(e0.offset, 0);
        assert.equal(e0.source, 'beats');
        assert.equal(e0.computer, 'WS001');
        assert.equal(e0.channel, 'Security');
        assert.equal(e0.provider, 'Microsoft-Windows-Security-Auditing');
        assert.equal(e0.eventId, 4624);
        assert.equal(e0.recordId, 0);
        assert.equal(Date.parse(e0.timestamp!), now - 60_000);
        // An event without a time has none, and is filed by its arrival.
        const e2 = got.find((e) => e.offset === 2)!;
        assert.equal(e2.timestamp, null);
      } finally {
        await s.close();
      }
    });

    it('refuses an offset that is not a whole number ≥ 0, and stores nothing of that append', async () => {
      await withStore(open, async (s) => {
        const err = await rejection(s.append([ev(0, null, {}), ev(-1, null, {})]));
        assert.equal(err.code, 'bad-event');
        assert.equal(await s.maxOffset(), -1);
        await s.append([ev(0, null, { ok: true })]);
        assert.equal((await s.usage()).events, 1);
      });
    });

    it('files events by day and drops whole days past the retention', async () => {
      await withStore(open, async (s) => {
        const now = Date.now();
        await s.append([ev(0, now - 10 * DAY, { a: 1 }), ev(1, now - 10 * DAY + 1000, { a: 2 }), ev(2, now - 3 * DAY, { a: 3 }), ev(3, now, { a: 4 })]);
        let u = await s.usage();
        assert.deepEqual(u.days, [...new Set([dayOf(now - 10 * DAY), dayOf(now - 3 * DAY), dayOf(now)])]);
        assert.equal(u.events, 4);
        // Nothing is old enough for 30 days.
        assert.deepEqual(await s.retain(30), []);
        assert.deepEqual(await s.retain(5), [dayOf(now - 10 * DAY)]);
        u = await s.usage();
        assert.equal(u.events, 2);
        assert.deepEqual(u.days, [dayOf(now - 3 * DAY), dayOf(now)]);
        assert.deepEqual(
          (await all(s)).map((e) => e.fields.a),
          [3, 4],
        );
        // The view no longer reads the dropped day.
        const r = await s.sql('SELECT count(*) AS n FROM events');
        assert.equal(Number(r.rows[0]![0]), 2);
        // Whole days only: an event 3 days old keeps its day under a 3-day retention.
        assert.deepEqual(await s.retain(3), []);
        assert.equal((await rejection(s.retain(-1))).code, 'bad-retention');
        assert.equal((await rejection(s.retain(1.5))).code, 'bad-retention');
        // The maximum offset stays: a replay of dropped events does not store them again.
        await s.append([ev(0, now - 10 * DAY, { a: 1 })]);
        assert.equal((await s.usage()).events, 2);
      });
    });

    it('catalogues field names for autocomplete, within its bounds, and counts what it turned away', async () => {
      await withStore(open, async (s) => {
        const long = 'L'.repeat(L.fieldNameMaxChars + 1);
        await s.append([ev(0, null, { CommandLine: 'a', Image: 'b', [long]: 'v' }), ev(1, null, { CommandLine: 'c', commandHash: 'd' })]);
        // Most common first, then by name; the prefix is case-insensitive.
        assert.deepEqual(await s.fieldNames(), ['CommandLine', 'Image', 'commandHash']);
        assert.deepEqual(await s.fieldNames('comm'), ['CommandLine', 'commandHash']);
        assert.deepEqual(await s.fieldNames('', 1), ['CommandLine']);
        assert.deepEqual(await s.fieldNames('zzz'), []);
        let u = await s.usage();
        assert.equal(u.fieldNames, 3);
        assert.equal(u.fieldNamesDropped, 1);
        // The too-long name is still stored and searchable.
        const r = await s.filter({ filter: `${long}=v` });
        assert.equal(r.rows.length, 1);

        // A hostile sender's thousands of distinct keys fill the catalogue and no further.
        const many: Record<string, string> = {};
        for (let i = 0; i < L.fieldCatalogueMax + 50; i++) many[`k${i}`] = 'x';
        await s.append([ev(2, null, many)]);
        u = await s.usage();
        assert.equal(u.fieldNames, L.fieldCatalogueMax);
        assert.equal(u.fieldNamesDropped, 1 + 3 + 50);
        assert.equal((await s.fieldNames('k', 100_000)).length, L.fieldNamesMax);
        // The event itself is whole.
        const back = (await all(s)).find((e) => e.offset === 2)!;
        assert.equal(Object.keys(back.fields).length, L.fieldCatalogueMax + 50);
      });
    });

    it('filters by field with wildcards, negation, presence, numbers, free text, source and time range', async () => {
      await withStore(open, async (s) => {
        const t0 = Date.now() - 2 * 3_600_000;
        await s.append([
          ev(0, t0, { EventID: 4624, TargetUserName: 'Administrator', LogonType: 3, IpAddress: '10.0.0.5' }),
          ev(1, t0 + 60_000, { EventID: 4624, TargetUserName: 'adm-backup', LogonType: 10 }, { computer: 'WS009' }),
          ev(2, t0 + 120_000, { EventID: 4625, TargetUserName: 'guest', LogonType: 3 }),
          ev(3, t0 + 180_000, { EventID: 1, CommandLine: 'powershell -enc SQBFAFgA', Image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe' }, { source: 'sysmon' }),
          ev(4, t0 + 240_000, { EventID: 1, CommandLine: 'mimikatz.exe "sekurlsa::logonpasswords"', Tags: ['lsass', 'Credential'] }, { source: 'sysmon' }),
        ]);
        const offsets = async (filter: string, from?: string, to?: string): Promise<number[]> => {
          const r = await s.filter({ filter, from, to });
          const i = r.columns.findIndex((c) => c.name === 'offset');
          return r.rows.map((row) => Number(row[i])).sort((a, b) => a - b);
        };
        assert.deepEqual(await offsets(''), [0, 1, 2, 3, 4]);
        assert.deepEqual(await offsets('EventID=4624'), [0, 1]);
        assert.deepEqual(await offsets('TargetUserName=adm*'), [0, 1]);
        assert.deepEqual(await offsets('targetusername=ADM*'), [], 'field names are exact');
        assert.deepEqual(await offsets('TargetUserName=ADMIN*'), [0], 'values are case-insensitive');
        assert.deepEqual(await offsets('TargetUserName=*back*'), [1]);
        assert.deepEqual(await offsets('EventID=4624 -TargetUserName=adm-*'), [0]);
        assert.deepEqual(await offsets('TargetUserName!=guest EventID=462*'), [0, 1]);
        assert.deepEqual(await offsets('IpAddress=*'), [0]);
        assert.deepEqual(await offsets('IpAddress!=* EventID=4624'), [1]);
        assert.deepEqual(await offsets('LogonType>=10'), [1]);
        assert.deepEqual(await offsets('LogonType<10 LogonType>2'), [0, 2]);
        assert.deepEqual(await offsets('CommandLine="* -enc *"'), [3]);
        assert.deepEqual(await offsets('Image=C:\\Windows\\System32\\\\*'), [3], 'a backslash before a wildcard is doubled');
        assert.deepEqual(await offsets('Image=C:\\Windows\\System32\\*'), [], '\\* is a literal star');
        assert.deepEqual(await offsets('mimikatz'), [4]);
        assert.deepEqual(await offsets('"sekurlsa::logonpasswords"'), [4], 'free text finds values holding quotes');
        assert.deepEqual(await offsets('Tags=credential'), [4], 'a list matches when an element does');
        assert.deepEqual(await offsets('@source=sys*'), [3, 4]);
        assert.deepEqual(await offsets('@source!=sysmon'), [0, 1, 2]);
        // `%` and `_` are literal, not LIKE wildcards.
        assert.deepEqual(await offsets('TargetUserName=adm_backup'), []);
        // Time range: from inclusive, to exclusive, on the filing time.
        assert.deepEqual(await offsets('', iso(t0 + 60_000), iso(t0 + 180_000)), [1, 2]);
        assert.deepEqual(await offsets('EventID=4624', iso(t0 + 1)), [1]);
        assert.deepEqual(await offsets('', undefined, iso(t0 - 1)), []);

        // Newest first, with the fields as an object, capped with `truncated`.
        const r = await s.filter({ filter: 'EventID=*', limit: 2 });
        assert.equal(r.rows.length, 2);
        assert.equal(r.truncated, true);
        const cols = r.columns.map((c) => c.name);
        assert.deepEqual(cols, ['offset', 'source', 'time', 'timestamp', 'received', 'computer', 'channel', 'provider', 'event_id', 'record_id', 'fields']);
        assert.equal(Number(r.rows[0]![0]), 4);
        assert.deepEqual((r.rows[0]![cols.indexOf('fields')] as { Tags: string[] }).Tags, ['lsass', 'Credential']);
        assert.equal(r.rows[1]![cols.indexOf('time')], new Date(t0 + 180_000).toISOString().replace('Z', '000Z'));

        // Bad filters and times name what and where.
        const bad = await rejection(s.filter({ filter: 'CommandLine="unclosed' }));
        assert.equal(bad.code, 'filter-syntax');
        assert.equal(bad.column, 13);
        assert.match(bad.message, /column 13: unclosed quote/);
        assert.equal((await rejection(s.filter({ filter: 'LogonType>abc' }))).code, 'filter-syntax');
        assert.equal((await rejection(s.filter({ filter: '=x' }))).code, 'filter-syntax');
        assert.equal((await rejection(s.filter({ filter: 'a=b '.repeat(L.filterMaxTerms + 1) }))).code, 'filter-syntax');
        assert.equal((await rejection(s.filter({ filter: 'x'.repeat(L.filterMaxChars + 1) }))).code, 'filter-syntax');
        assert.equal((await rejection(s.filter({ filter: '', from: 'yesterday' }))).code, 'bad-time');
        assert.equal((await rejection(s.filter({ filter: '', from: iso(t0), to: iso(t0) }))).code, 'bad-time');
      });
    });

    it('counts events per time bucket, with the filter', async () => {
      await withStore(open, async (s) => {
        const hour = 3_600_000;
        const t0 = Math.floor(Date.now() / DAY) * DAY - DAY; // yesterday 00:00 UTC
        const events = [];
        for (let i = 0; i < 24; i++) events.push(ev(i, t0 + i * hour + 1000, { EventID: i % 2 ? 4625 : 4624 }));
        await s.append(events);
        const h = await s.histogram({ filter: '', from: iso(t0), to: iso(t0 + DAY) }, 24);
        assert.equal(h.bucketMs, hour);
        assert.equal(h.from, iso(t0));
        assert.equal(h.to, iso(t0 + DAY));
        assert.deepEqual(h.counts, new Array(24).fill(1));
        // Fewer buckets: a readable step (2 h), aligned to it.
        const h2 = await s.histogram({ filter: 'EventID=4625', from: iso(t0), to: iso(t0 + DAY) }, 12);
        assert.equal(h2.bucketMs, 2 * hour);
        assert.deepEqual(h2.counts, new Array(12).fill(1));
        // The bucket count is capped.
        const h3 = await s.histogram({ filter: '', from: iso(t0), to: iso(t0 + DAY) }, 1e9);
        assert.ok(h3.counts.length <= L.histogramMaxBuckets);
        assert.equal(
          h3.counts.reduce((a, b) => a + b, 0),
          24,
        );
        // An empty range still reports a bad filter.
        assert.equal((await rejection(s.histogram({ filter: 'x="', from: iso(t0 - 10 * DAY), to: iso(t0 - 9 * DAY) }, 10))).code, 'filter-syntax');
        assert.equal((await rejection(s.histogram({ filter: '', from: iso(t0), to: iso(t0 - 1) }, 10))).code, 'bad-time');
      });
    });

    it('scans a time range in batches, oldest first, up to a maximum', async () => {
      await withStore(open, async (s) => {
        const t0 = Date.now() - 3 * DAY;
        const n = L.scanBatch * 2 + 500;
        const events = [];
        for (let i = 0; i < n; i++) events.push(ev(i, t0 + i * 60_000, { i }));
        await s.append(events);
        const sizes: number[] = [];
        const seen: number[] = [];
        const total = await s.scan(iso(t0), iso(t0 + n * 60_000), (b) => {
          sizes.push(b.length);
          for (const e of b) seen.push(e.fields.i as number);
        });
        assert.equal(total, n);
        assert.ok(
          sizes.every((x) => x <= L.scanBatch),
          `batches ${sizes.join(',')}`,
        );
        assert.deepEqual(
          seen,
          events.map((e) => e.fields.i),
        );
        // A sub-range, and a maximum.
        let got = 0;
        assert.equal(await s.scan(iso(t0 + 10 * 60_000), iso(t0 + 20 * 60_000), (b) => void (got += b.length)), 10);
        assert.equal(got, 10);
        assert.equal(await s.scan(iso(t0), iso(t0 + DAY * 10), () => undefined, 25), 25);
        // A consumer that fails ends the scan with its error; the store goes on.
        const err = await rejection(
          s.scan(iso(t0), iso(t0 + DAY * 10), () => {
            throw new Error('consumer gave up');
          }),
        );
        assert.equal(err.message, 'consumer gave up');
        assert.equal(await s.maxOffset(), n - 1);
        assert.equal((await rejection(s.scan('not a time', iso(t0), () => undefined))).code, 'bad-time');
      });
    });

    it('stores events from hostile senders: weird keys, odd values, times far away', async () => {
      await withStore(open, async (s) => {
        const now = Date.now();
        const weird: Record<string, string | number | boolean | null | string[]> = {
          '': 'empty key',
          'a.b': 'dotted',
          'x"y': 'quoted',
          "it's": 'apostrophe',
          'a/b~c': 'pointer chars',
          ключ: 'значение',
          '😀': 'emoji',
          'sp ace': 'spaced',
          'nul\u0000key': 'nul\u0000value',
          '$[0]': 'jsonpath',
          "'); DROP TABLE events; --": 'sql',
          nested: ['a', 'b'],
          big: 1e308,
          neg: -0,
          none: null,
          yes: true,
        };
        await s.append([
          ev(0, now, weird),
          // Times past the believable window are filed by arrival; their own time is kept when readable.
          ev(1, Date.UTC(1, 0, 1), { which: 'year 1' }),
          ev(2, now - (L.eventMaxDaysAgo + 5) * DAY, { which: 'too old' }),
          ev(3, now - (L.eventMaxDaysAgo - 5) * DAY, { which: 'old but believable' }),
          ev(4, now + (L.eventMaxDaysAhead + 1) * DAY, { which: 'future' }),
          ev(5, now + DAY, { which: 'skewed' }),
          { ...ev(6, null, { which: 'garbage time' }), timestamp: 'the day after tomorrow' },
          { ...ev(7, null, { which: 'year 99999' }), timestamp: '+099999-01-01T00:00:00Z' },
          { ...ev(8, now, { which: 'no arrival' }), receivedAt: Number.NaN },
          { ...ev(9, now, { which: 'huge ids' }), eventId: 2 ** 40, recordId: 2 ** 60, computer: null, channel: null, provider: null },
        ]);
        const back = await all(s);
        assert.equal(back.length, 10);
        assert.deepEqual(back.find((e) => e.offset === 0)!.fields, { ...weird, neg: 0 });
        const filed = async (which: string): Promise<{ time: string; timestamp: string | null }> => {
          const r = await s.filter({ filter: `which="${which}"` });
          assert.equal(r.rows.length, 1, which);
          return { time: r.rows[0]![2] as string, timestamp: r.rows[0]![3] as string | null };
        };
        const today = dayOf(now);
        assert.equal((await filed('year 1')).time.slice(0, 10), today);
        assert.equal((await filed('too old')).time.slice(0, 10), today);
        assert.equal((await filed('too old')).timestamp!.slice(0, 10), dayOf(now - (L.eventMaxDaysAgo + 5) * DAY));
        assert.equal((await filed('old but believable')).time.slice(0, 10), dayOf(now - (L.eventMaxDaysAgo - 5) * DAY));
        assert.equal((await filed('future')).time.slice(0, 10), today);
        assert.equal((await filed('skewed')).time.slice(0, 10), dayOf(now + DAY));
        assert.deepEqual(await filed('garbage time').then((f) => [f.time.slice(0, 10), f.timestamp]), [today, null]);
        assert.equal((await filed('year 99999')).timestamp, null);
        assert.equal((await filed('no arrival')).time.slice(0, 10), today);
        const huge = back.find((e) => e.offset === 9)!;
        assert.equal(huge.eventId, null, 'an event ID outside INTEGER is not an ID');
        assert.equal(huge.recordId, null, 'a record ID past 2^53 is not kept inexactly');
        // At most the days the events fall in: far-away times make no tables of their own.
        assert.ok((await s.usage()).days.length <= 4);

        // Every weird key is searchable by name, and catalogued.
        for (const [k, v] of Object.entries(weird)) {
          if (typeof v !== 'string' || k === '') continue;
          const quoted = `"${k.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('*', '\\*')}"`;
          const value = `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('*', '\\*')}"`;
          const r = await s.filter({ filter: `${quoted}=${value}` });
          assert.equal(r.rows.length, 1, `field ${JSON.stringify(k)}`);
        }
        assert.equal((await s.filter({ filter: '""="empty key"' })).rows.length, 1);
        assert.ok((await s.fieldNames('a.')).includes('a.b'));
        assert.ok((await s.fieldNames('КЛ')).includes('ключ'));
        // SQL reaches them through DuckDB's JSON functions.
        const r = await s.sql(`SELECT fields->>'$."a.b"' AS v, fields->>'/x"y' AS w FROM events WHERE "offset" = 0`);
        assert.deepEqual(r.rows, [['dotted', 'quoted']]);
      });
    });

    it('stores a huge field map and a large append in one piece', async () => {
      await withStore(open, async (s) => {
        const huge: Record<string, string> = {};
        for (let i = 0; i < 50_000; i++) huge[`f${i}`] = `v${i}`;
        const events = [ev(0, null, huge)];
        for (let i = 1; i <= 20_000; i++) events.push(ev(i, Date.now() - i * 1000, { i, pad: 'p'.repeat(i % 500) }));
        await s.append(events);
        assert.equal(await s.maxOffset(), 20_000);
        assert.equal((await s.usage()).events, 20_001);
        const r = await s.filter({ filter: 'f49999=v49999' });
        assert.equal(r.rows.length, 1);
        assert.equal(Object.keys(r.rows[0]![10] as object).length, 50_000);
      });
    });
  });
}
