/** How to pick the ATT&CK technique that best describes a movement between hosts. */
import type { TechniqueRef } from '../detections/attack.js';

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
