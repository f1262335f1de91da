/** Small generators of hunt records for the output tests (no evidence files needed). */
import type { Level } from '../../src/sigma/model.js';
import type { DetectionRecord, EventRecord } from '../../src/detections/record.js';
import type { HuntSummary } from '../../src/output/records.js';
import { rng } from '../../src/core/rng.js';

/** Re-exported for the tests that use it through the fixtures. */
export { rng };

export const XSS = `"><img src=x onerror="window.__xss=1"></script><script>window.__xss=2</script>`;

/** One detection with sensible defaults; `over` replaces top-level keys, `rule` rule keys. */
export function detection(over: Partial<DetectionRecord> = {}, rule: Partial<DetectionRecord['rule']> = {}): DetectionRecord {
  const base: DetectionRecord = {
    timestamp: '2024-03-01T10:15:30.123456Z',
    computer: 'WS01.corp.local',
    channel: 'Microsoft-Windows-Sysmon/Operational',
    provider: 'Microsoft-Windows-Sysmon',
    eventId: 1,
    recordId: 4242,
    level: 'high',
    rule: {
      id: '5b1f2a51-1b3c-4c7e-9a59-0f6e4fd0a001',
      title: 'Suspicious Encoded PowerShell',
      level: 'high',
      status: 'test',
      tags: ['attack.execution', 'attack.t1059.001', 'cve.2021-0001'],
      file: 'rules/ps.yml',
      kind: 'sigma',
      ...rule,
    },
    matched: { Image: 'C:\\Windows\\System32\\powershell.exe', CommandLine: 'powershell -enc SQBFAFgA' },
    sourceFile: 'evidence/WS01/Sysmon.evtx',
    event: {
      EventID: 1,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Computer: 'WS01.corp.local',
      Image: 'C:\\Windows\\System32\\powershell.exe',
      CommandLine: 'powershell -enc SQBFAFgA',
      Hashes: ['SHA1=AA', 'MD5=BB'],
    },
    ...over,
  };
  if (over.level && !rule.level) base.rule.level = over.level;
  return base;
}

export const LEVEL_CYCLE: Level[] = ['informational', 'low', 'medium', 'high', 'critical'];

/** One event record with predictable identity fields. */
export function eventRecord(i: number): EventRecord {
  const ts = new Date(Date.UTC(2024, 2, 1, 0, 0, 0) + i * 1000).toISOString();
  return {
    timestamp: ts,
    computer: `HOST${i % 3}`,
    channel: i % 2 ? 'Security' : 'Microsoft-Windows-Sysmon/Operational',
    provider: i % 2 ? 'Microsoft-Windows-Security-Auditing' : 'Microsoft-Windows-Sysmon',
    eventId: i % 2 ? 4624 : 1,
    recordId: 1000 + i,
    sourceFile: `evidence/${i % 3}.evtx`,
    fields: { EventID: i % 2 ? 4624 : 1, TargetUserName: `user${i}`, Multi: ['a', String(i)], Flag: i % 5 === 0, Empty: null },
  };
}

/** A summary that agrees with `n` detections spread over the level cycle. */
export function summary(over: Partial<HuntSummary> = {}): HuntSummary {
  return {
    startedAt: '2024-03-02T08:00:00.000Z',
    elapsedMs: 12_345,
    files: { read: 12, skipped: [{ file: 'evidence/notes.txt', reason: 'unknown format' }] },
    events: 123_456,
    firstEvent: '2024-03-01T00:00:00.000Z',
    lastEvent: '2024-03-01T23:59:59.000Z',
    detections: 0,
    byLevel: { informational: 0, low: 0, medium: 0, high: 0, critical: 0 },
    topRules: [],
    topHosts: [],
    rules: { loaded: 2100, failed: 3, unmapped: 1 },
    errors: { count: 2, sample: [{ kind: 'record', file: 'evidence/bad.evtx', message: 'chunk 3: bad CRC', code: 'evtx-crc' }] },
    eventsPerSecond: 10_000,
    ...over,
  };
}
