/**
 * The administered network (test/stories/network.ts) and its intrusion, checked against their
 * ground truth on fixed seeds: size and period, every role and activity present, the intrusion's
 * patient zero and spread consistent with the events written, the background the same with or
 * without the intrusion, determinism, events every reader accepts. The simple background's output
 * is checked byte for byte against the bundled sample it makes.
 *
 * Issue 16's story targets hold on the same seeds: the real `hunt()` over each network (the
 * background alone, and with the intrusion), scored as `scripts/story-eval.js` scores them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { generate, measure, type Generated, type SeedResult } from './evaluate.js';
import { ACTIVITIES, ROLES } from './network.js';
import { writeBackgroundOnly, writeScenario } from './scenario.js';

const SEEDS = [1, 4];
/**
 * Issue 16's targets also on seeds that once failed them: 10 (an administrator's one-day PsExec
 * from a jump host), 17 (three administrators on one jump host on the last day, their launchers
 * naming no account or the desktop user), 20 (an administrator's PsExec counted with the
 * attacker's by "Same Service Installed On Many Hosts").
 */
const STORY_SEEDS = [...SEEDS, 10, 17, 20];
const REPO = new URL('../../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'fb-network-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Doc {
  Event: {
    System: { EventID: number | { '#text': number }; EventRecordID: number; Channel: string; Computer: string; TimeCreated: { '#attributes': { SystemTime: string } } };
    EventData?: Record<string, unknown>;
  };
}
const read = (file: string): Doc[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Doc);
const idOf = (d: Doc) => {
  const e = d.Event.System.EventID;
  return typeof e === 'number' ? e : e['#text'];
};
const short = (h: string) => h.split('.')[0]!.toLowerCase();

const generated = new Map<number, Generated>();

describe('the administered network (generator ground truth)', { timeout: 600_000 }, () => {
  before(() => {
    for (const seed of SEEDS) generated.set(seed, generate(seed, join(work, `s${seed}`)));
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: 40+ hosts over several days, every role and activity present`, () => {
      const { background: bg, intrusion: gt } = generated.get(seed)!;
      const net = gt.network!;
      assert.ok(gt.hosts.length >= 40, `${gt.hosts.length} hosts`);
      assert.equal(net.days, 3);
      assert.equal(net.eventsPerDay.length, 3);
      for (const [d, n] of net.eventsPerDay.entries()) assert.ok(n > 5000, `day ${d}: ${n} events`);
      assert.deepEqual(Object.keys(net.roles).sort(), [...ROLES].sort());
      const count = (r: keyof typeof net.roles) => net.roles[r].length;
      assert.equal(count('dc'), 2);
      for (const r of ['file', 'deploy', 'patch', 'backup', 'monitor', 'scanner'] as const) assert.equal(count(r), 1, r);
      assert.equal(count('jump'), 2);
      assert.ok(count('app') >= 2);
      assert.equal(count('admin-ws'), 3);
      assert.equal(count('helpdesk-ws'), 2);
      assert.ok(count('ws') >= 20);
      // Every host plays exactly one role and writes events.
      const all = Object.values(net.roles).flat();
      assert.equal(new Set(all).size, all.length);
      assert.deepEqual([...all].sort(), [...gt.hosts].sort());
      assert.equal(bg.files.length, gt.hosts.length);
      for (const a of ACTIVITIES) assert.ok(net.activities[a] > 0, `activity ${a} wrote no event`);
      assert.equal(
        Object.values(net.activities).reduce((x, y) => x + y, 0),
        bg.events,
      );
      assert.deepEqual(net.accounts.admins.length, 3);
      assert.deepEqual(net.accounts.helpdesk.length, 2);
      assert.ok(net.accounts.services.includes('svc_backup'));
    });

    it(`seed ${seed}: the intrusion's patient zero and spread are consistent and in the events`, () => {
      const { intrusion: gt, dirs } = generated.get(seed)!;
      const net = gt.network!;
      assert.ok(net.roles.ws.includes(gt.patientZero), 'patient zero is an ordinary user workstation');
      assert.equal(gt.compromisedHosts[0], gt.patientZero);
      assert.equal(new Set(gt.compromisedHosts).size, gt.compromisedHosts.length);
      assert.equal(gt.spreadEdges.length, gt.compromisedHosts.length - 1);
      assert.equal(gt.spreadAt.length, gt.spreadEdges.length);
      // Each move starts from a host already reached, and reaches each compromised host once.
      const reached = new Set([gt.patientZero]);
      for (const [from, to] of gt.spreadEdges) {
        assert.ok(reached.has(from), `${from} moves before it was reached`);
        assert.ok(!reached.has(to), `${to} reached twice`);
        reached.add(to);
      }
      assert.deepEqual([...reached].sort(), [...gt.compromisedHosts].sort());
      assert.ok(gt.compromisedHosts.some((h) => net.roles.dc.includes(h)) && gt.compromisedHosts.some((h) => net.roles.file.includes(h)));
      assert.deepEqual([...gt.spreadAt].sort(), gt.spreadAt);
      assert.ok(gt.start < gt.spreadAt[0]! && gt.spreadAt.at(-1)! < gt.end);
      // On the last day, within the period.
      assert.ok(gt.start >= new Date(Date.parse(net.start) + 2 * 86_400_000).toISOString() && gt.end <= net.end, `${gt.start}..${gt.end}`);

      const byHost = new Map(readdirSync(dirs.intrusion).map((f) => [f.replace(/\.json$/, '').toLowerCase(), read(join(dirs.intrusion, f))]));
      const events = (fqdn: string) => byHost.get(short(fqdn))!;
      // The entry: a network logon on patient zero from the attacker's address.
      assert.ok(events(gt.patientZero).some((d) => idOf(d) === 4624 && d.Event.EventData?.IpAddress === gt.attackerIp));
      // Each move: a pass-the-hash logon (NTLM, no session key) on the target from the source's address, at the time the truth says.
      gt.spreadEdges.forEach(([from, to], i) => {
        const at = Date.parse(gt.spreadAt[i]!);
        const hit = events(to).find(
          (d) =>
            idOf(d) === 4624 &&
            d.Event.EventData?.IpAddress === gt.addresses[from] &&
            d.Event.EventData?.WorkstationName === short(from).toUpperCase() &&
            d.Event.EventData?.TargetUserName === 'Administrator' &&
            d.Event.EventData?.AuthenticationPackageName === 'NTLM' &&
            Math.abs(Date.parse(d.Event.System.TimeCreated['#attributes'].SystemTime) - at) < 1000,
        );
        assert.ok(hit, `no logon for ${from} → ${to} at ${gt.spreadAt[i]}`);
        assert.ok(
          events(to).some((d) => idOf(d) === 7045 && Math.abs(Date.parse(d.Event.System.TimeCreated['#attributes'].SystemTime) - at) < 60_000),
          `no service install on ${to}`,
        );
      });
      // Every event is labelled; the intrusion's are the difference between the two runs.
      const labels = gt.labels!;
      assert.equal(labels.size, gt.events);
      const known = new Set<string>([...ACTIVITIES, 'intrusion']);
      for (const l of labels.values()) assert.ok(known.has(l), l);
      assert.equal([...labels.values()].filter((l) => l === 'intrusion').length, gt.events - generated.get(seed)!.background.events);
    });

    it(`seed ${seed}: the background is the same with or without the intrusion`, () => {
      const { dirs, intrusion: gt } = generated.get(seed)!;
      // Record IDs follow time per host and channel, so the intrusion's events shift them: compare without.
      const strip = (d: Doc) => {
        const { EventRecordID: _r, ...system } = d.Event.System;
        return JSON.stringify({ ...d.Event, System: system });
      };
      for (const f of readdirSync(dirs.background)) {
        const bgDocs = read(join(dirs.background, f));
        const withDocs = read(join(dirs.intrusion, f));
        const extra = withDocs.filter((d) => gt.labels!.get(`${d.Event.System.Computer}|${d.Event.System.EventRecordID}`) === 'intrusion');
        assert.deepEqual(withDocs.filter((d) => !extra.includes(d)).map(strip), bgDocs.map(strip), f);
      }
    });
  }

  it('files are time-ordered, record IDs grow per host and channel, and the reader takes every event', async () => {
    const { dirs, intrusion: gt } = generated.get(SEEDS[0]!)!;
    let events = 0;
    for (const f of readdirSync(dirs.intrusion)) {
      const docs = read(join(dirs.intrusion, f));
      const last = new Map<string, number>();
      let t = '';
      for (const d of docs) {
        const at = d.Event.System.TimeCreated['#attributes'].SystemTime;
        assert.ok(at >= t, `${f}: ${at} after ${t}`);
        t = at;
        const ch = d.Event.System.Channel;
        assert.ok(d.Event.System.EventRecordID > (last.get(ch) ?? 0), `${f} ${ch}`);
        last.set(ch, d.Event.System.EventRecordID);
      }
      for await (const ev of readEventsFromFile(join(dirs.intrusion, f))) {
        assert.ok(ev.computer);
        events++;
      }
    }
    assert.equal(events, gt.events);
  });

  it('is deterministic per seed, and seeds vary the roles and the intrusion', () => {
    const again = writeScenario(join(work, 'again'), { seed: SEEDS[0]!, background: 'administered' });
    const first = generated.get(SEEDS[0]!)!.intrusion;
    const digest = (files: string[]) =>
      createHash('sha256')
        .update(files.map((f) => readFileSync(f)).join(''))
        .digest('hex');
    assert.equal(digest(again.files), digest(first.files));
    const other = generated.get(SEEDS[1]!)!.intrusion;
    assert.notDeepEqual(other.network!.roles, first.network!.roles);
    assert.notEqual(other.patientZero, first.patientZero);
  });

  it('asks for a network of at least 40 hosts and 2 days', () => {
    assert.throws(() => writeBackgroundOnly(join(work, 'small'), { background: 'administered', hosts: 39 }), /at least 40 hosts/);
    assert.throws(() => writeBackgroundOnly(join(work, 'short'), { background: 'administered', days: 1 }), /at least 2 days/);
  });

  it('the simple background still makes the bundled sample, byte for byte', () => {
    const gt = writeScenario(join(work, 'sample'), { seed: 11, hosts: 14, noiseEvents: 4000 });
    const dir = join(REPO, 'data/samples/intrusion');
    assert.deepEqual(readdirSync(dir).sort(), gt.files.map((f) => f.slice(f.lastIndexOf('/') + 1) + '.gz').sort());
    for (const f of gt.files) assert.ok(readFileSync(f).equals(gunzipSync(readFileSync(join(dir, f.slice(f.lastIndexOf('/') + 1) + '.gz')))), f);
    const { files: _files, ...truth } = gt;
    assert.deepEqual(JSON.parse(readFileSync(join(REPO, 'data/samples/intrusion-ground-truth.json'), 'utf8')), JSON.parse(JSON.stringify(truth)));
  });
});

/** Issue 16's targets (docs/stories.md, "Measuring stories"), on the fixed seeds. */
describe('stories on the administered network (issue 16 targets)', { timeout: 900_000 }, () => {
  const results = new Map<number, Promise<SeedResult>>();
  const result = (seed: number) => {
    let r = results.get(seed);
    if (!r) {
      let g = generated.get(seed);
      if (!g) generated.set(seed, (g = generate(seed, join(work, `s${seed}`))));
      results.set(seed, (r = measure(seed, g, { threads: 2 })));
    }
    return r;
  };

  for (const seed of STORY_SEEDS) {
    it(`seed ${seed}: background only makes at most 1 story`, async () => {
      const r = await result(seed);
      assert.ok(r.background.stories <= 1, `${r.background.stories} stories`);
    });
    it(`seed ${seed}: a background story, if any, is the vulnerability scanner's one sweep (the routine administration makes none)`, async () => {
      const r = await result(seed);
      const scanner = generated.get(seed)!.intrusion.network!.roles.scanner.map(short);
      for (const b of r.background.briefs) assert.ok(scanner.includes(short(b.patientZero ?? '-')), `a background story from ${b.patientZero}: ${b.topRules.join('; ')}`);
    });
    it(`seed ${seed}: a background story spans at most a tenth of the fleet (the hosts a sweep only tried are not its hosts)`, async () => {
      const r = await result(seed);
      for (const b of r.background.briefs) assert.ok(b.hosts <= 0.1 * r.hosts, `a background story of ${b.hosts} of ${r.hosts} hosts: ${b.topRules.join('; ')}`);
    });
    it(`seed ${seed}: the top story is the intrusion`, async () => {
      const r = await result(seed);
      assert.equal(r.intrusion.rank, 1);
    });
    it(`seed ${seed}: the top story names the right patient zero`, async () => {
      const r = await result(seed);
      assert.ok(r.intrusion.patientZeroRight, `${r.intrusion.foundPatientZero}, truth ${r.intrusion.patientZero}`);
    });
    it(`seed ${seed}: the top story recovers at least 90% of the spread edges`, async () => {
      const r = await result(seed);
      assert.ok(r.intrusion.edgesRecovered >= 0.9 * r.intrusion.edges, `${r.intrusion.edgesRecovered}/${r.intrusion.edges}`);
    });
    it(`seed ${seed}: at most 10% of the top story's hosts are not part of the intrusion`, async () => {
      const r = await result(seed);
      assert.ok(r.intrusion.foreignHosts <= 0.1 * r.intrusion.topHosts, `${r.intrusion.foreignHosts}/${r.intrusion.topHosts}`);
    });
  }
});
