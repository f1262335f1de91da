/**
 * MITRE ATT&CK (Enterprise) tactics in kill-chain order, and the reading of Sigma `attack.*`
 * tags. Sigma tags a rule with tactics by short name (`attack.defense-evasion`, older rules
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

/** Tactic short names and technique ids (upper-case, `T1059.001`) in a rule's tags. */
export function readAttackTags(tags: readonly string[]): { tactics: string[]; techniques: string[] } {
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
