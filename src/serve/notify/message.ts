/**
 * What a notification says: a snapshot of the story at the moment of the event (`StoryNotice`),
 * made once at enqueue time and stored in the outbox, so a retry hours later sends what was true
 * then, and replaying the batch that made the story yields the same bytes (the outbox's UNIQUE key
 * turns the second enqueue into a no-op). Every value from a log is cleaned (control and bidi
 * characters replaced) and capped here; each format escapes it again for its own syntax.
 */
import { LEVELS, type Level } from '../../sigma/model.js';
import type { Story } from '../../stories/model.js';
import type { NotifyEventKind } from './config.js';
import { NOTIFY_LIMITS } from './limits.js';

/** Something to tell the channels about. */
export interface NotifyEvent {
  kind: NotifyEventKind;
  story: Story;
  /** Link to the story in the console. */
  url?: string;
  /** The story's title as the console shows it (default: made from the story). */
  title?: string;
  /** For an escalation: the story's score and level before it. */
  previous?: { score: number; level: Level };
}

/** The stored snapshot every channel renders from (JSON in `outbox.payload`). */
export interface StoryNotice {
  v: 1;
  kind: NotifyEventKind;
  storyId: string;
  score: number;
  level: Level;
  title: string;
  previous: { score: number; level: Level } | null;
  firstSeen: string;
  lastSeen: string;
  patientZero: { host: string; why: string } | null;
  /** Host names (capped at NOTIFY_LIMITS.listMaxItems); `hostCount` is the whole number. */
  hosts: string[];
  hostCount: number;
  accounts: string[];
  accountCount: number;
  /** ATT&CK tactic names in kill-chain order. */
  tactics: string[];
  techniques: string[];
  techniqueCount: number;
  detections: number;
  narrative: string;
  url: string | null;
}

/** The most severe level among a story's detections. */
export function storyLevel(story: Story): Level {
  for (let i = LEVELS.length - 1; i > 0; i--) if ((story.levels[LEVELS[i]!] ?? 0) > 0) return LEVELS[i]!;
  return 'informational';
}

/** A one-line title when the console gave none: the top rule and where it fired. */
export function storyTitle(story: Story): string {
  const rule = story.topRules[0]?.title ?? `${story.detections} detections`;
  const first = story.patientZero?.computer ?? story.hosts[0]?.computer;
  if (!first) return rule;
  const others = story.hosts.length - 1;
  return `${rule} on ${first}${others > 0 ? ` and ${others} more host${others === 1 ? '' : 's'}` : ''}`;
}

// C0/C1 controls (ANSI escapes, CR/LF that would fake lines in a subject or a chat message) and
// bidirectional overrides (which can make `exe.txt` read as `txt.exe`).
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A value from a log made safe to show: unsafe characters replaced, cut to `max` characters. */
export function clean(s: string, max: number = NOTIFY_LIMITS.valueMaxChars, singleLine = true): string {
  let out = s.replace(UNSAFE, '\uFFFD');
  if (singleLine) out = out.replace(/[\n\t]/g, ' ');
  return cut(out, max);
}

/** `s` cut to at most `max` characters (an ellipsis marking the cut), never inside a surrogate pair. */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end) + '…';
}

/** The snapshot of `event` (deterministic: the same story gives the same JSON). */
export function noticeOf(event: NotifyEvent): StoryNotice {
  const s = event.story;
  let max: number = NOTIFY_LIMITS.listMaxItems;
  for (;;) {
    const list = (xs: readonly string[]) => xs.slice(0, max).map((x) => clean(x));
    const n: StoryNotice = {
      v: 1,
      kind: event.kind,
      storyId: clean(s.id, 128),
      score: s.score,
      level: storyLevel(s),
      title: clean(event.title ?? storyTitle(s)),
      previous: event.previous ? { score: event.previous.score, level: event.previous.level } : null,
      firstSeen: clean(s.firstSeen, 64),
      lastSeen: clean(s.lastSeen, 64),
      patientZero: s.patientZero ? { host: clean(s.patientZero.computer), why: clean(s.patientZero.why, 512) } : null,
      hosts: list(s.hosts.map((h) => h.computer)),
      hostCount: s.hosts.length + s.omitted.hosts,
      accounts: list(s.accounts),
      accountCount: s.accounts.length + s.omitted.accounts,
      tactics: list(s.tactics.map((t) => t.name)),
      techniques: list(s.techniques),
      techniqueCount: s.techniques.length,
      detections: s.detections,
      narrative: clean(s.narrative, NOTIFY_LIMITS.narrativeMaxChars, false),
      url: event.url !== undefined ? clean(event.url, 2048) : null,
    };
    // Lists of long multi-byte names could still overflow a row: halve them until it fits.
    if (Buffer.byteLength(JSON.stringify(n)) <= NOTIFY_LIMITS.payloadMaxBytes || max === 0) return n;
    max = Math.floor(max / 2);
  }
}

/** Parses a stored snapshot, checking its shape (a row written by a newer version is refused). */
export function parseNotice(payload: string): StoryNotice {
  const n = JSON.parse(payload) as Partial<StoryNotice> | null;
  if (!n || typeof n !== 'object' || n.v !== 1 || typeof n.storyId !== 'string' || !Array.isArray(n.hosts) || typeof n.title !== 'string') {
    throw new Error('the stored notification is not a version-1 story notice');
  }
  return n as StoryNotice;
}

/** Level order for comparisons (informational = 0 … critical = 4). */
export function levelRank(l: Level): number {
  return LEVELS.indexOf(l);
}
