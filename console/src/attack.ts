/**
 * ATT&CK Enterprise tactics in kill-chain order (the matrix's column order): the server's list
 * (src/detections/attack.ts), which test/serve/console-types.test.ts keeps this one equal to.
 */
export const TACTICS: readonly { id: string; short: string; name: string }[] = [
  { id: 'TA0043', short: 'reconnaissance', name: 'Reconnaissance' },
  { id: 'TA0042', short: 'resource-development', name: 'Resource Development' },
  { id: 'TA0001', short: 'initial-access', name: 'Initial Access' },
  { id: 'TA0002', short: 'execution', name: 'Execution' },
  { id: 'TA0003', short: 'persistence', name: 'Persistence' },
  { id: 'TA0004', short: 'privilege-escalation', name: 'Privilege Escalation' },
  { id: 'TA0005', short: 'defense-evasion', name: 'Defense Evasion' },
  // Newer SigmaHQ rules tag what was Defense Evasion as these two (no ATT&CK id shipped for them).
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

/** Position in the kill chain of a tactic (by id or short name, or an object with either); unknown tactics last. */
export function killChainIndex(t: string | { id?: string | null; short?: string | null }): number {
  const keys = (typeof t === 'string' ? [t] : [t.id, t.short]).filter((k): k is string => !!k);
  const i = TACTICS.findIndex((x) => keys.some((k) => (x.id !== '' && x.id === k) || x.short === k));
  return i < 0 ? TACTICS.length : i;
}

/** A tactic's name from its id or short name (the value itself when unknown). */
export function tacticName(idOrShort: string): string {
  return TACTICS.find((x) => (x.id !== '' && x.id === idOrShort) || x.short === idOrShort)?.name ?? idOrShort;
}
