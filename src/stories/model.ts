/**
 * A story: detections joined into one incident across hosts and accounts (built by
 * ./builder.ts, explained in docs/stories.md). Plain JSON-able data: the report embeds it, the
 * `--stories` output writes one per line.
 */
import type { TechniqueRef } from '../detections/attack.js';
import type { Level } from '../sigma/model.js';

export type { TechniqueRef };

export interface StoryHost {
  /** The name as the logs write it (the longest seen, usually the FQDN). */
  computer: string;
  /** Earliest time the story touched the host: its first detection, or first incoming/outgoing edge. */
  firstTouched: string;
  /** Detections on this host (0 for a host seen only as the source of spread). */
  detections: number;
  /** The most severe detection level on the host, null when it has none. */
  maxLevel: Level | null;
  /** Addresses the story's detections name that this host owns (learnt, see addresses.ts). */
  addresses: string[];
}

export interface PatientZero {
  computer: string;
  /** Plain-language reason this host was chosen. */
  why: string;
  /** How the attacker reached it, when an edge from outside the story's hosts shows it. */
  entry?: { from: string; at: string; technique: TechniqueRef };
}

/** Movement from one machine to another, as the detections show it. */
export interface SpreadEdge {
  /** Host name, or an IP address when no host is known to own it. */
  from: string;
  fromKind: 'host' | 'ip';
  to: string;
  /** First time this movement was seen (ISO). */
  at: string;
  /** The most telling technique (service install beats a bare network logon). */
  technique: TechniqueRef;
  techniques: TechniqueRef[];
  /** The rules whose detections show this movement (capped). */
  detections: { id: string | null; title: string }[];
}

/** One detection in a story's timeline (enough to list it, not the whole event). */
export interface StoryDetectionRef {
  timestamp: string;
  computer: string | null;
  title: string;
  ruleId: string | null;
  level: Level;
  kind: 'sigma' | 'correlation';
  eventId: number | null;
  recordId: number | null;
}

export interface StoryTactic {
  id: string;
  short: string;
  name: string;
  /**
   * When, where and by which rule the story first reached this tactic: the first medium-or-above
   * detection (`significant`), or the first low one when there is none.
   */
  first: { at: string; computer: string | null; title: string; significant: boolean };
}

export interface Story {
  /** Stable id: a hash of the story's earliest detection. */
  id: string;
  score: number;
  firstSeen: string;
  lastSeen: string;
  hosts: StoryHost[];
  patientZero: PatientZero | null;
  spread: SpreadEdge[];
  /** Accounts as `DOMAIN\name` (or `name` when no domain was seen). */
  accounts: string[];
  /** Addresses named by the detections that no host of the story owns (outside or unknown machines). */
  sourceIps: string[];
  /** ATT&CK tactics reached, in kill-chain order. */
  tactics: StoryTactic[];
  /** Technique ids (`T1003.001`), sorted. */
  techniques: string[];
  levels: Record<Level, number>;
  detections: number;
  correlations: number;
  topRules: { id: string | null; title: string; level: Level; count: number }[];
  narrative: string;
  /** Detections in time order, capped (the most severe are kept when the cap is reached). */
  timeline: StoryDetectionRef[];
  /** What the caps left out of this story. */
  omitted: { timeline: number; hosts: number; accounts: number; sourceIps: number; spread: number; rules: number };
}
