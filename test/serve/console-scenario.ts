/**
 * What the console's browser tests show: a small intrusion as the server would have stored it
 * (a story with patient zero entered from an outside address, lateral movement, a host whose
 * name carries markup, its alerts with matched fields), an older story, an alert in no story,
 * and stored logon and process events to search and to test rules against.
 */
import type { StoredEvent } from '../../src/serve/store/types.js';
import type { Story } from '../../src/stories/model.js';
import { makeStory, seedAlert, seedStory, type Api } from './api-helpers.js';

/** A host name carrying markup: the console must show it as text and run nothing. */
export const XSS_HOST = '<img src=x onerror="window.__xss=1">.corp.example';
export const OUTSIDE = '203.0.113.50';
export const PATIENT_ZERO = 'WS01.corp.example';
export const LIVE_STORY = 'st-intrusion-0001';

const minutes = (m: number): string => new Date(Date.now() - 3 * 3_600_000 + m * 60_000).toISOString();

/** The intrusion raised while the analyst watches. */
export function intrusionStory(): Story {
  const s = makeStory(LIVE_STORY, {
    hosts: [PATIENT_ZERO, 'SRV-FILE01.corp.example', 'DC01.corp.example', XSS_HOST],
    accounts: ['CORP\\adm-attacker'],
    first: minutes(0),
    last: minutes(40),
    score: 92,
    timeline: [
      { at: minutes(0), host: PATIENT_ZERO, title: 'External Remote Logon' },
      { at: minutes(1), host: PATIENT_ZERO, title: 'External Remote Logon' },
      { at: minutes(12), host: 'SRV-FILE01.corp.example', title: 'Remote Logon' },
      { at: minutes(25), host: 'DC01.corp.example', title: 'Suspicious Whoami' },
      { at: minutes(40), host: XSS_HOST, title: 'Remote Logon' },
    ],
  });
  s.patientZero = {
    computer: PATIENT_ZERO,
    why: `its first detection (External Remote Logon) is the earliest of the story, and the logon came from ${OUTSIDE}, an address outside the network`,
    entry: { from: OUTSIDE, at: minutes(0), technique: { id: 'T1133', name: 'External Remote Services' } },
  };
  const edge = (from: string, fromKind: 'host' | 'ip', to: string, at: string, id: string, name: string) => ({
    from,
    fromKind,
    to,
    at,
    technique: { id, name },
    techniques: [{ id, name }],
    detections: [{ id: null, title: 'Remote Logon' }],
    evidence: 'suspicious activity on the source before the move',
  });
  // As the story builder makes it: the entry from outside is a spread edge too (the console draws it once).
  s.spread = [
    edge(OUTSIDE, 'ip', PATIENT_ZERO, minutes(0), 'T1133', 'External Remote Services'),
    edge(PATIENT_ZERO, 'host', 'SRV-FILE01.corp.example', minutes(12), 'T1021.002', 'SMB/Windows Admin Shares'),
    edge('SRV-FILE01.corp.example', 'host', 'DC01.corp.example', minutes(20), 'T1021.006', 'Windows Remote Management'),
    edge('198.51.100.7', 'ip', XSS_HOST, minutes(40), 'T1021.001', 'Remote Desktop Protocol'),
  ];
  s.sourceIps = [OUTSIDE, '198.51.100.7'];
  // Out of kill-chain order on purpose: the console sorts them.
  s.tactics = [
    { id: 'TA0008', short: 'lateral-movement', name: 'Lateral Movement', first: { at: minutes(12), computer: 'SRV-FILE01.corp.example', title: 'Remote Logon', significant: true } },
    { id: 'TA0007', short: 'discovery', name: 'Discovery', first: { at: minutes(25), computer: 'DC01.corp.example', title: 'Suspicious Whoami', significant: true } },
    { id: 'TA0001', short: 'initial-access', name: 'Initial Access', first: { at: minutes(0), computer: PATIENT_ZERO, title: 'External Remote Logon', significant: true } },
  ];
  s.techniques = ['T1133', 'T1021.002', 'T1021.006', 'T1033'];
  s.narrative = `An attacker logged on to ${PATIENT_ZERO} from ${OUTSIDE} as CORP\\adm-attacker, moved to SRV-FILE01 over SMB and to DC01 over WinRM, and ran whoami there.`;
  return s;
}

/** Stores the intrusion's story and alerts; returns the alert ids (the caller announces them). */
export function seedIntrusion(api: Api): { alerts: number[] } {
  const story = intrusionStory();
  seedStory(api.db, story, { level: 'critical', title: 'Intrusion from 203.0.113.50 across 4 hosts' });
  const alerts = [
    seedAlert(api.db, {
      title: 'External Remote Logon',
      ruleId: null,
      host: PATIENT_ZERO,
      users: ['CORP\\adm-attacker'],
      tactics: ['initial-access'],
      techniques: ['T1133'],
      firstSeen: minutes(0),
      storyId: LIVE_STORY,
      event: { LogonType: 10, TargetUserName: 'adm-attacker', IpAddress: OUTSIDE, WorkstationName: 'kali' },
    }),
    seedAlert(api.db, {
      title: 'Remote Logon',
      ruleId: '22222222-2222-3333-4444-555555555555',
      host: 'SRV-FILE01.corp.example',
      users: ['CORP\\adm-attacker'],
      tactics: ['lateral-movement'],
      techniques: ['T1021.002'],
      firstSeen: minutes(12),
      storyId: LIVE_STORY,
      event: { LogonType: 3, TargetUserName: 'adm-attacker', IpAddress: '10.1.1.21' },
    }),
    seedAlert(api.db, {
      title: 'Remote Logon',
      ruleId: '22222222-2222-3333-4444-555555555555',
      host: XSS_HOST,
      users: ['CORP\\adm-attacker'],
      tactics: ['lateral-movement'],
      techniques: ['T1021.001'],
      firstSeen: minutes(40),
      storyId: LIVE_STORY,
      event: { LogonType: 10, TargetUserName: '<script>window.__xss=2</script>', IpAddress: '198.51.100.7' },
    }),
  ];
  return { alerts };
}

/** What is there before the analyst logs in: an older story and an alert in no story. */
export function seedBackground(api: Api): void {
  seedStory(api.db, makeStory('st-older-0001', { hosts: ['ws07.corp.example', 'ws08.corp.example'], first: minutes(-600), spread: [['ws07.corp.example', 'ws08.corp.example', minutes(-590)]] }), {
    level: 'medium',
    title: 'Remote logons between two workstations',
    createdAt: minutes(-600),
  });
  seedAlert(api.db, { title: 'Suspicious Whoami', host: 'ws02.corp.example', users: ['CORP\\bob'], tactics: ['discovery'], techniques: ['T1033'], firstSeen: minutes(-30), createdAt: minutes(-30) });
}

function logon(offset: number, at: string, computer: string, user: string, ip: string): StoredEvent {
  return {
    offset,
    source: 'winlogbeat-dcs',
    timestamp: at,
    receivedAt: Date.parse(at),
    computer,
    channel: 'Security',
    provider: 'Microsoft-Windows-Security-Auditing',
    eventId: 4624,
    recordId: offset,
    fields: { EventID: 4624, Channel: 'Security', Computer: computer, LogonType: 3, TargetUserName: user, IpAddress: ip },
  };
}

function proc(offset: number, at: string, computer: string, image: string, commandLine: string): StoredEvent {
  return {
    offset,
    source: 'winlogbeat',
    timestamp: at,
    receivedAt: Date.parse(at),
    computer,
    channel: 'Microsoft-Windows-Sysmon/Operational',
    provider: 'Microsoft-Windows-Sysmon',
    eventId: 1,
    recordId: offset,
    fields: { EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: computer, Image: image, CommandLine: commandLine },
  };
}

/** Stored events: the attacker's logons, other logons, and process starts. */
export function scenarioEvents(): StoredEvent[] {
  return [
    logon(1, minutes(0), PATIENT_ZERO, 'adm-attacker', OUTSIDE),
    logon(2, minutes(12), 'SRV-FILE01.corp.example', 'adm-attacker', '10.1.1.21'),
    logon(3, minutes(20), 'DC01.corp.example', 'adm-attacker', '10.1.1.30'),
    logon(4, minutes(5), 'ws02.corp.example', 'bob', '10.1.1.22'),
    logon(5, minutes(7), 'ws03.corp.example', 'carol', '10.1.1.23'),
    proc(6, minutes(25), 'DC01.corp.example', 'C:\\Windows\\System32\\whoami.exe', 'whoami /all'),
    proc(7, minutes(26), 'DC01.corp.example', 'C:\\Tools\\evil.exe', 'evil.exe --dump'),
    proc(8, minutes(27), 'ws02.corp.example', 'C:\\Windows\\System32\\notepad.exe', 'notepad'),
  ];
}
