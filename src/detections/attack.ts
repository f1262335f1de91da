/**
 * MITRE ATT&CK (Enterprise) tactics in kill-chain order, names of the techniques Firebreak talks
 * about, and the reading of Sigma `attack.*` tags. Sigma tags a rule with tactics by short name (`attack.defense-evasion`, older rules
 * `attack.defense_evasion`) and with technique ids (`attack.t1059.001`); a technique is placed
 * under the tactics tagged on the same rule, which is the rule author's own mapping.
 */

export interface Tactic {
  /** ATT&CK id (`TA0005`); empty where the bundled rules use a tactic whose id we do not ship. */
  id: string;
  /** Short name as used in Sigma tags, with hyphens. */
  short: string;
  name: string;
}

/** ATT&CK Enterprise tactics in the matrix's (kill-chain) order. */
export const TACTICS: readonly Tactic[] = [
  { id: 'TA0043', short: 'reconnaissance', name: 'Reconnaissance' },
  { id: 'TA0042', short: 'resource-development', name: 'Resource Development' },
  { id: 'TA0001', short: 'initial-access', name: 'Initial Access' },
  { id: 'TA0002', short: 'execution', name: 'Execution' },
  { id: 'TA0003', short: 'persistence', name: 'Persistence' },
  { id: 'TA0004', short: 'privilege-escalation', name: 'Privilege Escalation' },
  { id: 'TA0005', short: 'defense-evasion', name: 'Defense Evasion' },
  // Newer SigmaHQ rules tag what was Defense Evasion as these two (1,094 and 415 rules in the
  // bundled snapshot, against none still tagged defense-evasion).
  { id: '', short: 'stealth', name: 'Stealth' },
  { id: '', short: 'defense-impairment', name: 'Defense Impairment' },
  { id: 'TA0006', short: 'credential-access', name: 'Credential Access' },
  { id: 'TA0007', short: 'discovery', name: 'Discovery' },
  { id: 'TA0008', short: 'lateral-movement', name: 'Lateral Movement' },
  { id: 'TA0009', short: 'collection', name: 'Collection' },
  { id: 'TA0011', short: 'command-and-control', name: 'Command and Control' },
  { id: 'TA0010', short: 'exfiltration', name: 'Exfiltration' },
  { id: 'TA0040', short: 'impact', name: 'Impact' },
];

/** Column for techniques whose rule names no tactic we know. */
export const UNASSIGNED = 'unassigned';

const BY_KEY = new Map<string, string>();
for (const t of TACTICS) {
  BY_KEY.set(t.short, t.short);
  if (t.id) BY_KEY.set(t.id.toLowerCase(), t.short);
}

const TECHNIQUE = /^t\d{4}(?:\.\d{3})?$/;

export interface AttackTags {
  readonly tactics: readonly string[];
  readonly techniques: readonly string[];
}

/**
 * Tag lists read before, by their joined text: stories and alerts read a rule's tags once per
 * detection, and detections that crossed a thread carry copies of the rule's array, so the text
 * is the key. Bounded by the distinct tag lists of the loaded rules (a few thousand); cleared
 * past the bound, which only means reading again.
 */
const READ = new Map<string, AttackTags>();
const READ_MAX = 20_000;

/** The same by the array itself: a hunt's detections share their rule's, and this skips the join. */
const BY_ARRAY = new WeakMap<readonly string[], AttackTags>();

/** Tactic short names and technique ids (upper-case, `T1059.001`) in a rule's tags (shared: do not change them). */
export function readAttackTags(tags: readonly string[]): AttackTags {
  const known = BY_ARRAY.get(tags);
  // A frozen list cannot have changed since; another may have (its text is the key then).
  if (known && Object.isFrozen(tags)) return known;
  const key = tags.join('\u0000');
  let r = READ.get(key);
  if (!r) {
    if (READ.size >= READ_MAX) READ.clear();
    r = readTags(tags);
    Object.freeze(r.tactics);
    Object.freeze(r.techniques);
    READ.set(key, Object.freeze(r));
  }
  if (Object.isFrozen(tags)) BY_ARRAY.set(tags, r);
  return r;
}

function readTags(tags: readonly string[]): { tactics: string[]; techniques: string[] } {
  const tactics: string[] = [];
  const techniques: string[] = [];
  for (const tag of tags) {
    const t = tag.toLowerCase();
    if (!t.startsWith('attack.')) continue;
    const rest = t.slice(7);
    if (TECHNIQUE.test(rest)) {
      const id = rest.toUpperCase();
      if (!techniques.includes(id)) techniques.push(id);
      continue;
    }
    const tactic = BY_KEY.get(rest.replace(/_/g, '-'));
    if (tactic && !tactics.includes(tactic)) tactics.push(tactic);
  }
  return { tactics, techniques };
}

/** A technique as shown on a spread edge or in a narrative. */
export interface TechniqueRef {
  /** ATT&CK id (`T1021.002`), or null when the movement is seen but no technique is tagged. */
  id: string | null;
  name: string;
}

/**
 * Names for the techniques that commonly appear in Windows and Linux intrusions; others show as
 * their id.
 */
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
