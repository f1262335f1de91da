/**
 * `EventRoutine` (what a hunt or server worker uses, one event at a time, with no memo tables) must
 * say exactly what the memoised functions the story stage uses say: the same facts for every
 * event, the same fact for every detection and the same subject sent with it. Checked over the
 * bundled sample intrusion (logons, share access, service installs, process starts on ten hosts)
 * and the EVTX attack samples in ../shared with the bundled rules, and over hand-made process starts whose command lines name the user and
 * the host.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../src/engine/engine.js';
import { defaultDomain } from '../../src/events/domain.js';
import type { FieldValue } from '../../src/events/event.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { ruleDirs } from '../../src/sigma/bundled.js';
import { loadRules } from '../../src/sigma/collection.js';
import { detectionFact, eventFacts, EventRoutine, routineOf } from '../../src/stories/facts.js';
import { sharedPath, skipWithoutShared } from '../shared.js';

const SAMPLES = fileURLToPath(new URL('../../../data/samples/intrusion', import.meta.url));

describe('EventRoutine says what the memoised functions say', { timeout: 120_000 }, () => {
  let engine: Engine;
  before(() => {
    engine = new Engine(loadRules(ruleDirs()).rules);
  });

  /** Both ways over every event of `files`: what was compared. */
  async function compare(files: string[]): Promise<{ events: number; facts: number; detections: number; kinds: Set<string> }> {
    const domain = defaultDomain();
    const routine = new EventRoutine(domain);
    const out = { events: 0, facts: 0, detections: 0, kinds: new Set<string>() };
    for (const file of files) {
      for await (const ev of readEventsFromFile(file, { onError: () => undefined })) {
        out.events++;
        const t = ev.timestamp ? Date.parse(ev.timestamp) : Number.NaN;
        // Copies of the fields for the memoised functions: their tables are keyed by the object,
        // so each side works the answer out from the event itself.
        const fields = { ...ev.fields };
        routine.next(ev.fields, ev.computer ?? null, t);
        const mine = routine.facts();
        assert.deepEqual(mine, eventFacts(fields, ev.computer ?? null, t, domain), `${file}: facts of event ${ev.recordId}`);
        out.facts += mine.length;
        for (const f of mine) out.kinds.add(f.kind);
        for (const d of engine.match(ev)) {
          const rule = d.rule.id ?? d.rule.title;
          assert.deepEqual(routine.detection(rule), detectionFact(rule, fields, ev.computer ?? null, t, domain), `${file}: ${d.rule.title} on event ${ev.recordId}`);
          assert.deepEqual(routine.routine(), routineOf(fields, domain), `${file}: subject of ${d.rule.title} on event ${ev.recordId}`);
          out.detections++;
        }
      }
    }
    return out;
  }

  it('over the bundled sample intrusion: every event, every detection', async () => {
    const r = await compare(readdirSync(SAMPLES).map((f) => join(SAMPLES, f)));
    assert.ok(r.events > 4_000, `${r.events} events`);
    assert.ok(r.detections > 100, `${r.detections} detections`);
    assert.ok(r.facts > 100, `${r.facts} facts`);
    assert.deepEqual([...r.kinds].sort(), ['access', 'program', 'service'], 'the sample has accesses, process starts and service installs');
  });

  it('over the EVTX attack samples', { skip: skipWithoutShared('evtx', 'attack-samples') }, async () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else files.push(join(dir, e.name));
      }
    };
    walk(sharedPath('evtx', 'attack-samples'));
    const r = await compare(files);
    assert.ok(r.events > 8_000, `${r.events} events`);
    assert.ok(r.detections > 1_000, `${r.detections} detections`);
    assert.ok(r.kinds.has('program') && r.kinds.has('access'), [...r.kinds].join(', '));
  });

  it('one event after another: nothing of the last event is kept', () => {
    const domain = defaultDomain();
    const routine = new EventRoutine(domain);
    const start = (image: string, cmd: string, user: string, host: string): Record<string, FieldValue> => ({
      EventID: 1,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Computer: host,
      Image: image,
      ParentImage: 'C:\\Windows\\explorer.exe',
      CommandLine: cmd,
      User: `CORP\\${user}`,
    });
    const t = Date.parse('2026-03-01T10:00:00Z');
    const cases = [
      start('C:\\Windows\\System32\\net.exe', 'net use H: \\\\FS01\\home$\\alice', 'alice', 'WS017.corp.local'),
      start('C:\\Windows\\System32\\net.exe', 'net use H: \\\\FS01\\home$\\bob', 'bob', 'WS022.corp.local'),
      start('C:\\Windows\\System32\\cmd.exe', 'cmd /c whoami > C:\\Users\\bob\\out-4711.txt', 'bob', 'WS022.corp.local'),
      { EventID: 4624, Channel: 'Security', Computer: 'SRV01', LogonType: 3, TargetUserName: 'alice', IpAddress: '10.0.0.7', WorkstationName: 'WS017' },
      { EventID: 7045, Channel: 'System', Computer: 'SRV01', ServiceName: 'PSEXESVC', ImagePath: '%SystemRoot%\\PSEXESVC.exe' },
      { EventID: 4688, Channel: 'Security', Computer: 'SRV01', NewProcessName: 'C:\\Windows\\PSEXESVC.exe', SubjectUserName: 'SYSTEM' },
    ];
    const seen = new Set<string>();
    for (const fields of cases) {
      routine.next(fields, String(fields.Computer), t);
      assert.deepEqual(routine.facts(), eventFacts({ ...fields }, String(fields.Computer), t, domain));
      assert.deepEqual(routine.detection('r1'), detectionFact('r1', { ...fields }, String(fields.Computer), t, domain));
      const subject = routine.routine();
      assert.deepEqual(subject, routineOf({ ...fields }, domain));
      seen.add(subject.subject);
    }
    // The two `net use` lines have one shape; every other event its own subject.
    assert.equal(seen.size, cases.length - 1);
  });
});
