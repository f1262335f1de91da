/**
 * The routine baselines (src/stories/routine.ts) on their own and through the story stage:
 * management hosts, familiar pairs, common programs and services explained in words; the warm-up;
 * bounded memory (tables forget the least recently seen); the state to JSON and back (a server's
 * stored baselines), hostile state refused; and the same verdicts after a save and restore as
 * without one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FirebreakError } from '../../src/core/errors.js';
import { LIMITS } from '../../src/core/limits.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { defaultDomain } from '../../src/events/domain.js';
import type { FieldValue } from '../../src/events/event.js';
import type { Level } from '../../src/sigma/model.js';
import { StoryBuilder, type StoryOptions } from '../../src/stories/builder.js';
import { detectionFact, eventFacts, type RoutineFact } from '../../src/stories/facts.js';
import type { Story } from '../../src/stories/model.js';
import { Routine, rhythm, type RoutineState } from '../../src/stories/routine.js';
import { BASELINE_NAME, StoryStage } from '../../src/stories/stage.js';
import { detection } from '../output/fixtures.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const D0 = Date.UTC(2024, 2, 4);
/** Day `d`, hour `h`, minute `m` (UTC). */
const at = (d: number, h: number, m = 0) => D0 + d * DAY + h * HOUR + m * 60_000;
const host = (i: number) => `ws${String(i).padStart(2, '0')}`;
const FLEET = 40;

const access = (t: number, source: string, target: string, account = 'svc_deploy'): RoutineFact => ({ kind: 'access', t, source, target, account });
const program = (t: number, h: string, shape = 'shape-updater', label = 'updater.exe started by services.exe'): RoutineFact => ({ kind: 'program', t, host: h, shape, label });

/** Every host of the fleet seen (a logon from its own user), so the fleet is 40 hosts. */
function fleetFacts(day: number): RoutineFact[] {
  return Array.from({ length: FLEET }, (_, i) => access(at(day, 9, i), 'ip:10.0.9.' + i, host(i), 'user' + i));
}

/** A software-distribution server logging onto 30 of the 40 hosts every night around 01:00. */
function nightlyPush(days: number[]): RoutineFact[] {
  return days.flatMap((d) => Array.from({ length: 30 }, (_, i) => access(at(d, 1, i), 'h:deploy01', host(i))));
}

describe('routine baselines', () => {
  it('a source reaching a large share of the fleet every night is a management host, explained in words', () => {
    const r = new Routine();
    for (const d of [0, 1, 2]) r.learn(fleetFacts(d));
    r.learn(nightlyPush([0, 1, 2]));
    const why = r.management('h:deploy01', 'DEPLOY01');
    assert.equal(why?.kind, 'management');
    assert.equal(why.why, 'DEPLOY01 reaches 30 of 40 hosts every night (3 of 3 days, around 01:00 UTC)');
    // A workstation reaching one host, and an unknown source, are not.
    assert.equal(r.management('ip:10.0.9.3', '10.0.9.3'), undefined);
    assert.equal(r.management('h:nobody', 'NOBODY'), undefined);
  });

  it('a sweep done once is not routine, nor is fan-out on a minority of the days', () => {
    const r = new Routine();
    for (const d of [0, 1, 2, 3]) r.learn(fleetFacts(d));
    // The scanner sweeps all 40 hosts on day 2 only.
    r.learn(Array.from({ length: FLEET }, (_, i) => access(at(2, 14, i), 'h:scan01', host(i), '')));
    assert.equal(r.management('h:scan01', 'SCAN01'), undefined);
    // Fan-out on 2 of 6 days: not most days.
    r.learn(Array.from({ length: FLEET }, (_, i) => access(at(3, 14, i), 'h:scan01', host(i), '')));
    for (const d of [4, 5]) r.learn(fleetFacts(d));
    assert.equal(r.management('h:scan01', 'SCAN01'), undefined);
    // …while a push on 4 of the 6 days is.
    r.learn(nightlyPush([0, 1, 4, 5]));
    assert.match(r.management('h:deploy01', 'DEPLOY01')!.why, /^DEPLOY01 reaches 30 of 40 hosts on 4 of 6 days, around 01:00 UTC$/);
  });

  it('says when a source fans out: every night, every day, around the clock, or on some days', () => {
    const hours = (spec: Record<number, number>) => Array.from({ length: 24 }, (_, h) => spec[h] ?? 0);
    assert.equal(rhythm(hours({ 1: 30, 2: 2 }), 3, 3), 'every night (3 of 3 days, around 01:00 UTC)');
    assert.equal(rhythm(hours({ 13: 30 }), 5, 5), 'every day (5 of 5 days, around 13:00 UTC)');
    assert.equal(rhythm(Array<number>(24).fill(3), 4, 4), 'every day (4 of 4 days, around the clock)');
    assert.equal(rhythm(hours({ 1: 10, 13: 10 }), 4, 7), 'on 4 of 7 days');
  });

  it('an account fanning out from changing hosts on most days is a management account; one sweep by an account is not', () => {
    const r = new Routine();
    for (const d of [0, 1, 2]) r.learn(fleetFacts(d));
    // An administrator reaching 4 servers a day from one of two jump hosts (a different one each day).
    for (const d of [0, 1, 2]) for (let i = 0; i < 4; i++) r.learnOne(access(at(d, 10, i), d % 2 ? 'h:jump01' : 'h:jump02', host(10 + ((d * 4 + i) % 12)), 'adm_alice'));
    // The same account once from a workstation: it is the account, not the source, that fans out.
    r.learnOne(access(at(2, 15), 'h:ws05', host(30), 'adm_alice'));
    // An account sweeping the fleet on one day.
    for (let i = 0; i < FLEET; i++) r.learnOne(access(at(1, 14, i), 'h:scan01', host(i), 'svc_scan'));
    const why = r.managementAccount('adm_alice');
    assert.equal(why?.kind, 'management');
    assert.equal(why.why, 'adm_alice reaches 13 of 40 hosts every day (3 of 3 days, around 10:00 UTC)');
    assert.equal(r.management('h:jump01', 'JUMP01'), undefined, 'neither jump host reaches enough on its own');
    assert.equal(r.managementAccount('svc_scan'), undefined, 'a sweep done once');
    assert.equal(r.managementAccount('user3'), undefined, 'a user reaching one host');
    assert.equal(r.managementAccount(''), undefined, 'no account');
    // Stored and restored: the same answer; state stored before management accounts were learnt still loads.
    assert.deepEqual(Routine.import(JSON.parse(JSON.stringify(r.export()))).managementAccount('adm_alice'), why);
    const old = r.export();
    delete old.accounts;
    assert.equal(Routine.import(old).managementAccount('adm_alice'), undefined);
    assert.ok(Routine.import(old).management('ip:10.0.9.3', '10.0.9.3') === undefined);
  });

  it('a logon pair seen on two days is familiar, a first-seen one is not', () => {
    const r = new Routine();
    r.learn(fleetFacts(0));
    r.learn(fleetFacts(1));
    r.learnOne(access(at(0, 10), 'h:jump01', 'srv07', 'alice'));
    const names = { source: 'JUMP01', target: 'SRV07' };
    assert.equal(r.familiar('alice', ['h:jump01'], 'srv07', names), undefined, 'seen on one day');
    r.learnOne(access(at(1, 15), 'h:jump01', 'srv07', 'alice'));
    assert.deepEqual(r.familiar('alice', ['h:jump01'], 'srv07', names), { kind: 'familiar', why: 'alice reaches SRV07 from JUMP01 on 2 days (first 2024-03-04)' });
    // Another account, source or target is another pair.
    assert.equal(r.familiar('mallory', ['h:jump01'], 'srv07', names), undefined);
    assert.equal(r.familiar('alice', ['h:ws05'], 'srv07', names), undefined);
    assert.equal(r.familiar('alice', ['h:jump01'], 'dc01', names), undefined);
    // The same fact twice changes nothing.
    const before = JSON.stringify(r.export());
    r.learnOne(access(at(1, 15), 'h:jump01', 'srv07', 'alice'));
    assert.equal(JSON.stringify(r.export()), before);
  });

  it('a program run the same way on most hosts is common, one run on a single host is rare', () => {
    const r = new Routine();
    for (const d of [0, 1]) r.learn(fleetFacts(d));
    for (let i = 0; i < 25; i++) r.learnOne(program(at(1, 8, i), host(i)));
    r.learnOne(program(at(1, 8), host(3), 'shape-rare', 'x.exe started by cmd.exe'));
    assert.deepEqual(r.commonProgram('shape-updater'), { kind: 'common-program', why: 'updater.exe started by services.exe runs this way on 25 of 40 hosts' });
    assert.equal(r.commonProgram('shape-rare'), undefined);
    // Detections: common for the same thing on most hosts, a habit on one host over two days.
    for (let i = 0; i < 25; i++) r.learnOne({ kind: 'detection', t: at(1, 8, i), host: host(i), rule: 'r-msi', subject: 'msi', label: 'msiexec.exe' });
    r.learnOne({ kind: 'detection', t: at(0, 8), host: host(7), rule: 'r-task', subject: 'task', label: 'schtasks.exe' });
    assert.match(r.commonDetection('r-msi', 'Silent install', 'msi')!.why, /^"Silent install" fires for msiexec.exe on 25 of 40 hosts$/);
    assert.equal(r.habit('r-task', 'Task', host(7), 'WS07', 'task'), undefined, 'one day');
    r.learnOne({ kind: 'detection', t: at(1, 8), host: host(7), rule: 'r-task', subject: 'task', label: 'schtasks.exe' });
    assert.match(r.habit('r-task', 'Task', host(7), 'WS07', 'task')!.why, /^"Task" fires on WS07 for schtasks.exe on 2 days \(first 2024-03-04\)$/);
    assert.equal(r.ruleHosts('r-task'), 1);
    assert.equal(r.ruleHosts('r-msi'), 16, 'hosts per rule are counted up to 16: enough to tell rare from common');
    // A service installed on several hosts on several days.
    for (const d of [0, 1]) for (let i = 0; i < 4; i++) r.learnOne({ kind: 'service', t: at(d, 2, i), host: host(i), name: 'psexesvc' });
    assert.match(r.commonService('PSEXESVC')!.why, /^service PSEXESVC is installed on 4 of 40 hosts on 2 days$/);
    assert.equal(r.commonService('evilsvc'), undefined);
  });

  it('nothing is routine before the warm-up, everything learnt counts after it', () => {
    const r = new Routine({ warmupMs: 36 * HOUR });
    r.learn(fleetFacts(0));
    r.learn(nightlyPush([0, 1]));
    for (let i = 0; i < 25; i++) r.learnOne(program(at(0, 8, i), host(i)));
    r.learnOne(access(at(0, 10), 'h:jump01', 'srv07', 'alice'));
    r.learnOne(access(at(1, 10), 'h:jump01', 'srv07', 'alice'));
    // Day 0 01:00 to day 1 10:00: 33 h of data.
    assert.equal(r.ready(), false);
    assert.equal(r.management('h:deploy01', 'DEPLOY01'), undefined);
    assert.equal(r.commonProgram('shape-updater'), undefined);
    assert.equal(r.familiar('alice', ['h:jump01'], 'srv07', { source: 'JUMP01', target: 'SRV07' }), undefined);
    // Rarity is not gated: one host is rare from the start.
    r.learnOne({ kind: 'detection', t: at(1, 9), host: host(1), rule: 'r-one', subject: '-', label: '' });
    assert.equal(r.ruleHosts('r-one'), 1);
    r.learnOne(access(at(1, 14), 'h:jump01', 'srv08', 'alice'));
    assert.equal(r.ready(), true);
    assert.ok(r.management('h:deploy01', 'DEPLOY01'));
    assert.ok(r.commonProgram('shape-updater'));
    assert.ok(r.familiar('alice', ['h:jump01'], 'srv07', { source: 'JUMP01', target: 'SRV07' }));
  });

  it('keeps memory bounded over months: full tables forget what was least recently seen, and what is learnt now still counts', () => {
    const limits = { pairs: 300, sources: 50, cells: 3000, programs: 100, detections: 100, habits: 100 };
    const r = new Routine({ limits });
    let n = 0;
    for (let d = 0; d < 120; d++) {
      // Every day, new accounts reach new hosts from new sources, new programs run: nothing repeats for long.
      for (let k = 0; k < 40; k++) {
        n++;
        r.learnOne(access(at(d, 10, k), `h:src${(d * 7 + k) % 400}`, `h${(d * 13 + k) % 2000}`, `u${n % 997}`));
        r.learnOne(program(at(d, 11, k), `h${k}`, `shape${n}`, 'p.exe'));
        r.learnOne({ kind: 'detection', t: at(d, 12, k), host: `h${k}`, rule: `r${n % 500}`, subject: `s${n}`, label: '' });
      }
      const s = r.stats();
      assert.ok(s.pairs <= limits.pairs && s.sources <= limits.sources && s.programs <= limits.programs && s.detections <= limits.detections && s.habits <= limits.habits, JSON.stringify(s));
      assert.ok(s.cells <= limits.cells, `day ${d}: ${s.cells} cells`);
    }
    const s = r.stats();
    assert.ok(s.forgotten > 1000, `forgotten ${s.forgotten}`);
    // The cell count is exact: it matches what the state holds.
    const st = r.export();
    const reach = (rows: RoutineState['sources']) => rows.reduce((x, [, v]) => x + v.targets.length + v.days.reduce((y, [, ts]) => y + ts.length, 0), 0);
    const cells =
      reach(st.sources) +
      reach(st.accounts ?? []) +
      st.pairs.reduce((x, [, d]) => x + d.length, 0) +
      st.programs.reduce((x, [, , h]) => x + h.length, 0) +
      st.detections.reduce((x, [, , h]) => x + h.length, 0) +
      st.habits.reduce((x, [, , d]) => x + d.length, 0) +
      st.services.reduce((x, [, h, d]) => x + h.length + d.length, 0) +
      st.rules.reduce((x, [, h]) => x + h.length, 0);
    assert.equal(cells, s.cells);
    // The stored state is bounded too.
    assert.ok(JSON.stringify(st).length < 200_000, `${JSON.stringify(st).length} bytes`);
    // What happens now is learnt: a pair seen yesterday and today is familiar.
    r.learnOne(access(at(120, 9), 'h:jump09', 'srv01', 'alice'));
    r.learnOne(access(at(121, 9), 'h:jump09', 'srv01', 'alice'));
    assert.ok(r.familiar('alice', ['h:jump09'], 'srv01', { source: 'JUMP09', target: 'SRV01' }));
  });

  it('refuses limits above the bundled ones', () => {
    assert.throws(() => new Routine({ limits: { pairs: LIMITS.stories.routine.pairs + 1 } }), /routine limits: pairs must be an integer from 1 to/);
    assert.throws(() => new Routine({ limits: { cells: 0 } }), /cells must be an integer/);
  });

  it('exports to JSON and back: the same answers, and learning on gives what learning without a restart gives', () => {
    const facts = [...fleetFacts(0), ...fleetFacts(1), ...nightlyPush([0, 1, 2]), ...fleetFacts(2)];
    for (let i = 0; i < 25; i++) facts.push(program(at(1, 8, i), host(i)));
    for (const d of [0, 1, 2]) facts.push({ kind: 'service', t: at(d, 2), host: host(d), name: 'agentsvc' }, access(at(d, 16), 'h:jump01', 'srv07', 'alice'));
    facts.push({ kind: 'detection', t: at(1, 3), host: host(2), rule: 'r1', subject: 's', label: 'x.exe' });
    const whole = new Routine();
    whole.learn(facts);
    const half = new Routine();
    const cut = 77;
    half.learn(facts.slice(0, cut));
    const text = JSON.stringify(half.export());
    const restored = Routine.import(JSON.parse(text));
    assert.equal(JSON.stringify(restored.export()), text, 'round trip');
    restored.learn(facts.slice(cut));
    assert.deepEqual(restored.export(), whole.export());
    const ask = (r: Routine) => [
      r.management('h:deploy01', 'DEPLOY01'),
      r.familiar('alice', ['h:jump01'], 'srv07', { source: 'J', target: 'S' }),
      r.commonProgram('shape-updater'),
      r.commonService('agentsvc'),
      r.ruleHosts('r1'),
      r.spreadOf('r1', 's'),
      r.fleet,
      r.ready(),
    ];
    assert.deepEqual(ask(restored), ask(whole));
    assert.ok(ask(whole)[0], 'the questions have answers worth comparing');
  });

  it('refuses damaged or hostile state, naming the mistake, and keeps what it had', () => {
    const r = new Routine();
    r.learn([...fleetFacts(0), ...nightlyPush([0, 1])]);
    const good = r.export();
    const before = JSON.stringify(good);
    const bad = (mutate: (s: RoutineState & Record<string, unknown>) => void, message: RegExp) => {
      const s = JSON.parse(before) as RoutineState & Record<string, unknown>;
      mutate(s);
      assert.throws(
        () => r.load(s),
        (e: unknown) => e instanceof FirebreakError && message.test(e.message),
      );
      assert.equal(JSON.stringify(r.export()), before, 'unchanged');
    };
    bad((s) => ((s as { version: number }).version = 2), /stories baseline: .*version/);
    bad((s) => (s.extra = 1), /stories baseline: .*extra/);
    bad((s) => (s.pairs[0]![1] = [1, 'x' as unknown as number]), /stories baseline: .*pairs/);
    bad((s) => (s.sources[0]![1].targets = [9999]), /stories baseline: sources .*: host 9999 is not one of the 40 hosts/);
    bad((s) => s.hosts.push(s.hosts[0]!), /stories baseline: hosts: a host is listed twice/);
    bad((s) => (s.accounts![0]![1].targets = [9999]), /stories baseline: accounts .*: host 9999 is not one of the 40 hosts/);
    bad((s) => s.accounts!.push(s.accounts![0]!), /stories baseline: accounts: a key is listed twice/);
    bad((s) => (s.pairs[0]![1] = Array.from({ length: 50 }, (_, i) => i)), /stories baseline: pairs .*: 50 entries, at most 8/);
    bad((s) => s.pairs.push(s.pairs[0]!), /stories baseline: pairs: a key is listed twice/);
    bad((s) => ((s.first = 5), (s.last = 1)), /stories baseline: first\/last: not a time span/);
    assert.throws(() => r.load('not json state'), /stories baseline/);
    assert.throws(() => r.load(null), /stories baseline/);
    // Larger than this baseline's bounds.
    assert.throws(() => Routine.import(good, { limits: { pairs: 10 } }), /stories baseline: pairs: \d+ entries, at most 10/);
    // More numbers in all than this baseline holds: refused, and what it had is kept.
    const small = new Routine({ limits: { cells: 40 } });
    small.learn(nightlyPush([0]).slice(0, 3));
    const kept = JSON.stringify(small.export());
    assert.throws(() => small.load(good), /stories baseline: cells: \d+ numbers, at most 40/);
    assert.equal(JSON.stringify(small.export()), kept, 'unchanged');
  });
});

// ---------------------------------------------------------------------------------------------
// Through the story stage, as `serve` runs it: facts and detections as they arrive.

let rec = 0;
function det(t: number, computer: string, level: Level, title: string, fields: Record<string, FieldValue>, tags: string[]): DetectionRecord {
  rec++;
  return detection(
    {
      timestamp: new Date(t).toISOString(),
      computer,
      level,
      recordId: rec,
      eventId: typeof fields.EventID === 'number' ? fields.EventID : 1,
      channel: typeof fields.Channel === 'string' ? fields.Channel : null,
      provider: null,
      event: { Computer: computer, ...fields },
      matched: {},
    },
    { id: `rule-${title}`, title, level, tags },
  );
}

/** A network logon of `user` from `ws` (address `ip`); pass-the-hash shaped (NTLM without a session key) when `pth`. */
const logon = (ip: string, ws: string, user: string, pth: boolean): Record<string, FieldValue> => ({
  EventID: 4624,
  Channel: 'Security',
  LogonType: 3,
  IpAddress: ip,
  WorkstationName: ws,
  TargetUserName: user,
  TargetDomainName: 'CORP',
  ...(pth ? { LogonProcessName: 'NtLmSsp', AuthenticationPackageName: 'NTLM', KeyLength: 0 } : {}),
});

/**
 * Four days of a network where a management tool logs onto 30 of 40 hosts every night with NTLM
 * without a session key (suspicious-looking, and routine here), users log on to their machines,
 * and on day 3 an attacker moves WS05 → FS01 → DC01 the same way, with a dump on each.
 */
function liveInput(): { t: number; facts: RoutineFact[]; detections: DetectionRecord[] }[] {
  const domain = defaultDomain();
  const steps: { t: number; facts: RoutineFact[]; detections: DetectionRecord[] }[] = [];
  const lateral = ['attack.lateral-movement', 'attack.t1021.002'];
  const push = (t: number, computer: string, d: DetectionRecord | null, fields: Record<string, FieldValue>) =>
    steps.push({
      t,
      facts: [...eventFacts({ Computer: computer, ...fields }, computer, t, domain), ...(d ? [detectionFact(d.rule.id!, d.event, computer, t, domain)!] : [])],
      detections: d ? [d] : [],
    });
  for (let d = 0; d < 4; d++) {
    for (let i = 0; i < FLEET; i++) push(at(d, 8, i), host(i), null, logon(`10.0.1.${i}`, host(i).toUpperCase(), `user${i}`, false));
    for (let i = 0; i < 30; i++) {
      const f = logon('10.0.0.2', 'DEPLOY01', 'svc_deploy', true);
      push(at(d, 1, i), host(i), det(at(d, 1, i), host(i), 'medium', 'NTLM logon without session key', f, lateral), f);
    }
    // The agent's silent installer on 30 hosts every morning: a common program from the first day on, were it not for the warm-up.
    for (let i = 0; i < 30; i++) {
      const f = {
        EventID: 1,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Image: 'C:\\Windows\\System32\\msiexec.exe',
        ParentImage: 'C:\\Windows\\System32\\services.exe',
        CommandLine: `msiexec.exe /i C:\\ProgramData\\agent\\agent-7.${d}.msi /qn`,
      };
      push(at(d, 11, i), host(i), det(at(d, 11, i), host(i), 'medium', 'Silent MSI install', f, ['attack.defense-evasion', 'attack.t1218.007']), f);
    }
  }
  // Day 3, 14:00: the intrusion (hosts outside the management tool's reach).
  const attack: [number, string, string][] = [
    [0, 'ws35', ''],
    [10, 'fs01', 'ws35'],
    [25, 'dc01', 'fs01'],
  ];
  for (const [m, h, from] of attack) {
    if (from) {
      const f = logon(`10.0.2.${m}`, from.toUpperCase(), 'Administrator', true);
      push(at(3, 14, m), h, det(at(3, 14, m), h, 'medium', 'NTLM logon without session key', f, lateral), f);
    }
    const dump = { EventID: 10, Channel: 'Microsoft-Windows-Sysmon/Operational', TargetImage: 'C:\\Windows\\System32\\lsass.exe', SourceImage: 'C:\\Users\\Public\\p.exe' };
    push(at(3, 14, m + 2), h, det(at(3, 14, m + 2), h, 'high', 'LSASS access', dump, ['attack.credential-access', 'attack.t1003.001']), dump);
  }
  return steps.sort((a, b) => a.t - b.t);
}

interface Run {
  stage: StoryStage;
  routine: number[];
  shown: Map<string, Story>;
}

/** Feed steps as a server does: facts, then detections, then the watermark; collect what `changed()` shows (the latest version of each story). */
function feed(stage: StoryStage, steps: ReturnType<typeof liveInput>, run: Run): void {
  for (const s of steps) {
    stage.learnRoutine(s.facts);
    void stage.push(s.detections);
    void stage.advance(s.t);
    run.routine.push(Number(stage.stats().routine));
    for (const c of stage.changed()) run.shown.set(c.story.id, c.story);
  }
}

const newStage = (o: StoryOptions = {}) => new StoryStage(new StoryBuilder({ live: { merged: () => undefined }, ...o }));

/** The end of input: every story closes and is shown one last time. */
function close(run: Run): void {
  void run.stage.finish();
  for (const c of run.stage.changed()) run.shown.set(c.story.id, c.story);
}

describe('baselines in a live story stage (serve)', () => {
  it('make no routine verdict during the warm-up, then explain the management tool and keep the intrusion', () => {
    const steps = liveInput();
    const run: Run = { stage: newStage({ routine: { warmupMs: DAY } }), routine: [], shown: new Map() };
    feed(run.stage, steps, run);
    const firstRoutine = steps[run.routine.findIndex((n) => n > 0)]!.t;
    const warmEnd = steps[0]!.t + DAY;
    assert.ok(firstRoutine >= warmEnd, `a routine verdict at ${new Date(firstRoutine).toISOString()}, warm-up ends ${new Date(warmEnd).toISOString()}`);
    // During the warm-up the management tool's pass-the-hash-shaped logons are spread with evidence: stories.
    const early = [...run.shown.values()].filter((s) => Date.parse(s.firstSeen) < warmEnd);
    assert.ok(early.length > 0, 'before the warm-up, nothing is routine');
    // After it, on days 2 and 3, it is routine: no new story from it, and the intrusion's story explains it as context or routine.
    close(run);
    const late = [...run.shown.values()].filter((s) => Date.parse(s.firstSeen) >= at(2, 0));
    assert.equal(late.length, 1, late.map((s) => `${s.patientZero?.computer}: ${s.earned}`).join(' | '));
    const intrusion = late[0]!;
    assert.deepEqual(intrusion.hosts.map((h) => h.computer).sort(), ['dc01', 'fs01', 'ws35']);
    assert.equal(intrusion.patientZero?.computer, 'ws35');
    assert.deepEqual(
      intrusion.spread.filter((e) => e.fromKind === 'host').map((e) => `${e.from}>${e.to}`),
      ['ws35>fs01', 'fs01>dc01'],
    );
    const stats = run.stage.stats();
    // Days 1-3: the management tool's logons (from the third of day 1) and the installer (from the 16th host of day 1) are routine.
    assert.ok(Number(stats.routine) >= 3 * 30 + 2 * 30 + 14, `routine ${stats.routine}`);
  });

  it('gives the same verdicts after a save and restore as without one', () => {
    const steps = liveInput();
    const cut = steps.findIndex((s) => s.t >= at(2, 0));
    const whole: Run = { stage: newStage(), routine: [], shown: new Map() };
    feed(whole.stage, steps, whole);

    // A server that stops at the end of day 1: its baselines go to the state db as JSON text…
    const first: Run = { stage: newStage(), routine: [], shown: new Map() };
    feed(first.stage, steps.slice(0, cut), first);
    const stored = JSON.stringify(first.stage.exportBaseline());
    assert.equal(BASELINE_NAME, 'stories.routine');
    // …and a new one restores them before it reads on.
    const second: Run = { stage: newStage(), routine: [], shown: new Map() };
    second.stage.importBaseline(JSON.parse(stored));
    feed(second.stage, steps.slice(cut), second);

    const routineAfter = (r: Run, offset: number) => r.routine.map((n) => n - offset);
    assert.deepEqual(routineAfter(second, 0), routineAfter(whole, whole.routine[cut - 1]!).slice(cut), 'the same detections are routine');
    const later = (r: Run) =>
      [...r.shown.values()]
        .filter((s) => Date.parse(s.firstSeen) >= at(2, 0))
        .map((s) => JSON.stringify(s))
        .sort();
    assert.deepEqual(later(second), later(whole), 'the same stories');
    assert.equal(later(whole).length, 1);
    close(whole);
    close(second);
    assert.deepEqual(second.stage.exportBaseline(), whole.stage.exportBaseline(), 'the same baselines at the end');
    // Without the stored baselines the restarted server would warm up again and tell the management tool's logons as stories.
    const cold: Run = { stage: newStage(), routine: [], shown: new Map() };
    feed(cold.stage, steps.slice(cut), cold);
    assert.ok(later(cold).length > 1, 'a cold start cries wolf');
  });

  it('refuses damaged stored baselines and keeps learning from scratch', () => {
    const stage = newStage();
    assert.throws(
      () => stage.importBaseline({ version: 1 }),
      (e: unknown) => e instanceof FirebreakError && /stories baseline/.test(e.message),
    );
    assert.equal(stage.exportBaseline().hosts.length, 0);
  });
});
