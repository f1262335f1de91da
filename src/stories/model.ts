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
  /** The host's first suspicious activity (a detection of medium level or above that is not routine), if any. */
  firstSuspicious?: { at: string; title: string };
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
  /**
   * Why this movement is part of the story, in words: a technique suspicious in itself
   * (pass-the-hash), suspicious activity on the source before it, or on the target right after
   * by the same account or logon session; an entry from an outside address needs none.
   */
  evidence: string;
  /** Only failed attempts (wrong passwords) were seen: it shows the intent, but reached nothing. */
  attempt?: boolean;
}

/** Movement into a story host shown for context: it has no evidence of being part of the intrusion, or it is routine. */
export interface ContextEdge {
  from: string;
  fromKind: 'host' | 'ip';
  to: string;
  at: string;
  technique: TechniqueRef;
  /** Why it is context, not spread ("SRV05 reaches 38 of 40 hosts, on 3 of 3 days"; "no suspicious activity around it"). */
  why: string;
}

/** Routine activity seen on a story's hosts while it grew, left out of the story (not joined, not scored). */
export interface RoutineNote {
  why: string;
  /** Detections this explained. */
  detections: number;
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
  /**
   * Stable id: a hash of the detection that started the story. It stays as the story grows; when
   * two stories merge the older one's id survives.
   */
  id: string;
  score: number;
  /** Why this is a story and not a lone alert, in words. */
  earned: string;
  firstSeen: string;
  lastSeen: string;
  /**
   * The hosts involved: with detections of the story, or an end of a movement with evidence. A
   * host that another host of the story only tried (failed logons counted by a correlation, nothing
   * reached) is not one: it is the target of an attempt in `spread`.
   */
  hosts: StoryHost[];
  patientZero: PatientZero | null;
  spread: SpreadEdge[];
  /** Movement into the story's hosts without evidence, or routine: context, not spread (capped). */
  context: ContextEdge[];
  /** Routine activity on the story's hosts, left out of it, with the reason (capped). */
  routine: RoutineNote[];
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
  omitted: { timeline: number; hosts: number; accounts: number; sourceIps: number; spread: number; rules: number; context: number };
}
