/** ATT&CK Enterprise tactics in kill-chain order (the matrix's column order). */
export const TACTICS: readonly { id: string; short: string; name: string }[] = [
  { id: 'TA0043', short: 'reconnaissance', name: 'Reconnaissance' },
  { id: 'TA0042', short: 'resource-development', name: 'Resource Development' },
  { id: 'TA0001', short: 'initial-access', name: 'Initial Access' },
  { id: 'TA0002', short: 'execution', name: 'Execution' },
  { id: 'TA0003', short: 'persistence', name: 'Persistence' },
  { id: 'TA0004', short: 'privilege-escalation', name: 'Privilege Escalation' },
  { id: 'TA0005', short: 'defense-evasion', name: 'Defense Evasion' },
  { id: 'TA0006', short: 'credential-access', name: 'Credential Access' },
  { id: 'TA0007', short: 'discovery', name: 'Discovery' },
  { id: 'TA0008', short: 'lateral-movement', name: 'Lateral Movement' },
  { id: 'TA0009', short: 'collection', name: 'Collection' },
  { id: 'TA0011', short: 'command-and-control', name: 'Command and Control' },
  { id: 'TA0010', short: 'exfiltration', name: 'Exfiltration' },
  { id: 'TA0040', short: 'impact', name: 'Impact' },
];

/** Position in the kill chain (unknown tactics last). */
export function killChainIndex(idOrShort: string): number {
  const i = TACTICS.findIndex((t) => t.id === idOrShort || t.short === idOrShort);
  return i < 0 ? TACTICS.length : i;
}
