/**
 * Names for the ATT&CK techniques stories talk about, and how to pick the one that best
 * describes a movement between hosts. Only techniques that commonly appear in Windows intrusions
 * are named here; others show as their id.
 */
import type { TechniqueRef } from './model.js';

/** ATT&CK technique id → name, plus a short plain-language phrase for narratives. */
const NAMES: Record<string, [name: string, phrase: string]> = {
  T1003: ['OS Credential Dumping', 'credential dumping'],
  'T1003.001': ['LSASS Memory', 'LSASS memory dump'],
  'T1003.002': ['Security Account Manager', 'SAM dump'],
  'T1003.003': ['NTDS', 'NTDS dump'],
  'T1003.006': ['DCSync', 'DCSync'],
  T1021: ['Remote Services', 'remote logon'],
  'T1021.001': ['Remote Desktop Protocol', 'RDP logon'],
  'T1021.002': ['SMB/Windows Admin Shares', 'admin share access'],
  'T1021.003': ['Distributed Component Object Model', 'DCOM execution'],
  'T1021.006': ['Windows Remote Management', 'WinRM execution'],
  T1047: ['Windows Management Instrumentation', 'WMI execution'],
  'T1053.005': ['Scheduled Task', 'scheduled task'],
  T1059: ['Command and Scripting Interpreter', 'command execution'],
  'T1059.001': ['PowerShell', 'PowerShell'],
  'T1059.003': ['Windows Command Shell', 'command shell'],
  T1070: ['Indicator Removal', 'indicator removal'],
  'T1070.001': ['Clear Windows Event Logs', 'log clearing'],
  'T1070.004': ['File Deletion', 'file deletion'],
  T1078: ['Valid Accounts', 'valid-account logon'],
  'T1078.002': ['Domain Accounts', 'domain-account logon'],
  'T1078.003': ['Local Accounts', 'local-account logon'],
  T1110: ['Brute Force', 'brute force'],
  'T1110.001': ['Password Guessing', 'password guessing'],
  'T1110.003': ['Password Spraying', 'password spraying'],
  T1133: ['External Remote Services', 'external remote logon'],
  T1485: ['Data Destruction', 'data destruction'],
  T1486: ['Data Encrypted for Impact', 'encryption for impact'],
  T1490: ['Inhibit System Recovery', 'recovery sabotage'],
  T1543: ['Create or Modify System Process', 'system process change'],
  'T1543.003': ['Windows Service', 'service install'],
  'T1550.002': ['Pass the Hash', 'pass-the-hash logon'],
  'T1550.003': ['Pass the Ticket', 'pass-the-ticket logon'],
  T1560: ['Archive Collected Data', 'archiving'],
  'T1560.001': ['Archive via Utility', 'archiving'],
  'T1561.001': ['Disk Content Wipe', 'disk wipe'],
  'T1561.002': ['Disk Structure Wipe', 'disk wipe'],
  T1569: ['System Services', 'service execution'],
  'T1569.002': ['Service Execution', 'remote service install'],
  T1570: ['Lateral Tool Transfer', 'tool transfer'],
};

/** The name of a technique (its id when not known here). */
export function techniqueName(id: string): string {
  return NAMES[id]?.[0] ?? NAMES[id.split('.')[0]!]?.[0] ?? id;
}

/** A short phrase for narratives (`remote service install`), or the technique name. */
export function techniquePhrase(t: TechniqueRef): string {
  if (t.id === null) return t.name;
  return NAMES[t.id]?.[1] ?? NAMES[t.id.split('.')[0]!]?.[1] ?? t.name;
}

export function techniqueRef(id: string): TechniqueRef {
  return { id, name: techniqueName(id) };
}

/**
 * Techniques that move an attacker between hosts, most telling first: executing something on
 * the target (a service, WMI, WinRM, DCOM, a task) says more than the logon that allowed it.
 */
const MOVEMENT_ORDER = [
  'T1569.002',
  'T1543.003',
  'T1569',
  'T1047',
  'T1021.006',
  'T1021.003',
  'T1053.005',
  'T1021.001',
  'T1550.002',
  'T1550.003',
  'T1021.002',
  'T1570',
  'T1021',
  'T1133',
  'T1078',
  'T1078.002',
  'T1078.003',
  'T1110',
  'T1110.001',
  'T1110.003',
];
const RANK = new Map(MOVEMENT_ORDER.map((t, i) => [t, i]));

/** True for a technique that describes moving to (or logging on to) another host. */
export function isMovementTechnique(id: string): boolean {
  return RANK.has(id) || id.startsWith('T1021.') || id.startsWith('T1550.');
}

/** Rank for choosing an edge's main technique (lower is more telling); techniques without id last. */
export function movementRank(t: TechniqueRef): number {
  if (t.id === null) return 1000;
  return RANK.get(t.id) ?? (isMovementTechnique(t.id) ? 500 : 900);
}
