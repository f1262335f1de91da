/** A realistic-looking hunt for the report tests: rules with ATT&CK tags, hosts, a burst in time. */
import type { Level } from '../../src/sigma/model.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import type { HuntSummary } from '../../src/output/records.js';
import { detection, rng, summary, XSS } from './fixtures.js';

interface FixtureRule {
  title: string;
  level: Level;
  tags: string[];
  field: string;
}

export const RULES: FixtureRule[] = [
  { title: 'Mimikatz Command Line', level: 'critical', tags: ['attack.credential-access', 'attack.t1003.001'], field: 'CommandLine' },
  { title: 'LSASS Memory Access', level: 'high', tags: ['attack.credential_access', 'attack.t1003.001'], field: 'TargetImage' },
  { title: 'Encoded PowerShell', level: 'high', tags: ['attack.execution', 'attack.defense-evasion', 'attack.t1059.001', 'attack.t1027'], field: 'CommandLine' },
  { title: 'Scheduled Task Created', level: 'medium', tags: ['attack.persistence', 'attack.execution', 'attack.t1053.005'], field: 'TaskName' },
  { title: 'PsExec Service Install', level: 'high', tags: ['attack.lateral-movement', 'attack.t1021.002', 'attack.t1569.002', 'attack.execution'], field: 'ServiceName' },
  { title: 'Whoami Discovery', level: 'low', tags: ['attack.discovery', 'attack.t1033'], field: 'CommandLine' },
  { title: 'Security Log Cleared', level: 'high', tags: ['attack.defense-evasion', 'attack.t1070.001'], field: 'EventID' },
  { title: 'New Service Installed', level: 'informational', tags: ['attack.persistence', 'attack.t1543.003'], field: 'ServiceName' },
  { title: 'Unusual Parent Process', level: 'medium', tags: ['attack.t1036'], field: 'ParentImage' },
  { title: 'Suspicious Network Logon', level: 'low', tags: [], field: 'IpAddress' },
];

export const HOSTS = ['DC01.corp.local', 'WS-FIN-07.corp.local', 'WS-HR-02.corp.local', 'SRV-SQL01.corp.local', 'WS-DEV-11.corp.local'];

/** `n` detections over one day (a burst between 14:00 and 15:00), deterministic; row 3 carries the XSS payload. */
export function huntDetections(n: number, seed = 7): DetectionRecord[] {
  const r = rng(seed);
  const base = Date.UTC(2024, 2, 1, 0, 0, 0);
  const out: DetectionRecord[] = [];
  for (let i = 0; i < n; i++) {
    const rule = RULES[Math.floor(r() * r() * RULES.length)]!;
    const burst = r() < 0.5;
    const t = burst ? base + 14 * 3600_000 + r() * 3600_000 : base + r() * 86400_000;
    const host = HOSTS[Math.floor(r() * r() * HOSTS.length)]!;
    const value = i === 3 ? XSS : `${rule.field === 'CommandLine' ? 'cmd.exe /c ' : ''}value-${i}`;
    out.push(
      detection(
        {
          timestamp: new Date(t).toISOString().replace('Z', '123Z'),
          computer: i === 3 ? XSS : host,
          level: rule.level,
          recordId: 10_000 + i,
          eventId: rule.field === 'ServiceName' ? 7045 : rule.field === 'IpAddress' ? 4624 : 1,
          channel: rule.field === 'ServiceName' ? 'System' : rule.field === 'IpAddress' ? 'Security' : 'Microsoft-Windows-Sysmon/Operational',
          matched: { [rule.field]: value },
          sourceFile: `evidence/${host}/${i % 2 ? 'Security' : 'Sysmon'}.evtx`,
          event: { EventID: 1, Computer: host, [rule.field]: value, User: `CORP\\user${i % 9}`, ProcessId: 4000 + i, Hashes: ['SHA256=ABC', 'IMPHASH=DEF'] },
        },
        { title: rule.title, level: rule.level, tags: rule.tags, id: `rule-${RULES.indexOf(rule)}` },
      ),
    );
  }
  return out;
}

/** A summary that agrees with `ds`. */
export function huntSummary(ds: DetectionRecord[]): HuntSummary {
  const byLevel = { informational: 0, low: 0, medium: 0, high: 0, critical: 0 };
  for (const d of ds) byLevel[d.level]++;
  return summary({ detections: ds.length, byLevel, firstEvent: '2024-03-01T00:00:00.000Z', lastEvent: '2024-03-01T23:59:59.000Z' });
}
