/**
 * Stories on the live stream: the story stage reports the stories that grew, merged or closed
 * (`StoryStage.changed`); this writes them to the state database, links their alerts, tells the
 * live feed and queues notifications when a story is created or escalates.
 *
 * A story's id is stable as it grows: the first id written for a story component is kept for it;
 * when two components merge, the survivor keeps an id (its own, or the absorbed one's when it had
 * none yet) and the other story row points at it (`merged_into`). Ids are a hash of the story's
 * first detection, so a replay after a restart rebuilds the same ids and the writes are upserts:
 * the analyst's triage columns (status, assignee, resolution) are never overwritten.
 */
import { LIMITS } from '../core/limits.js';
import type { DetectionRecord } from '../detections/record.js';
import type { LiveStory } from '../stories/builder.js';
import type { StoryStage } from '../stories/stage.js';
import { LEVELS, type Level } from '../sigma/model.js';
import { storyLevel, storyTitle } from './notify/message.js';
import type { NotifyEvent } from './notify/message.js';
import { now, type StateDb } from './store/db.js';

export type StoryChange = { kind: 'story-created' | 'story-updated'; id: string };

export interface LiveStoriesOptions {
  /** The alert a detection went into (AlertStage.alertOf). */
  alertOf: (d: DetectionRecord) => number | undefined;
  /** Queue a notification (in the caller's transaction). */
  notify?: (e: NotifyEvent) => void;
  /** The console's address, for links in notifications. */
  publicUrl?: string;
}

const rank = (l: Level) => LEVELS.indexOf(l);

export class LiveStories {
  /** Story component → its story id (components that have been written). */
  private readonly ids = new Map<number, string>();
  /** Story component → alerts of its detections not yet linked (bounded per component). */
  private readonly pending = new Map<number, Set<number>>();
  /** Merges seen since the last flush: [into, from]. */
  private readonly merges: [number, number][] = [];
  private readonly changes: StoryChange[] = [];
  readonly counters = { created: 0, updated: 0, merged: 0, escalated: 0, alertsLinked: 0, linksDropped: 0 };

  constructor(
    private readonly db: StateDb,
    private readonly o: LiveStoriesOptions,
  ) {}

  /** Hook for the story builder's `live.merged`. */
  merged(into: number, from: number): void {
    this.merges.push([into, from]);
    const moving = this.pending.get(from);
    if (moving) {
      for (const a of moving) this.link(into, a);
      this.pending.delete(from);
    }
  }

  /**
   * Hook for the story builder's `live.dropped`: the component closed without earning its place
   * and will never be written, so the alerts waiting for it are forgotten (they stay unlinked, as
   * a lone alert is).
   */
  dropped(key: number): void {
    this.pending.delete(key);
    this.ids.delete(key);
  }

  /** Story components with alerts waiting to be linked (bounded by the components open or closing). */
  get pendingComponents(): number {
    return this.pending.size;
  }

  /** Hook for `StoryStage.onJoin`: remember the detection's alert for its story. */
  joined(d: DetectionRecord, key: number): void {
    const a = this.o.alertOf(d);
    if (a !== undefined) this.link(key, a);
  }

  /** Changes since the last call (for the live feed), oldest first. */
  takeChanges(): StoryChange[] {
    return this.changes.splice(0);
  }

  /** Write what the story stage reports as changed, in one transaction. */
  flush(stage: StoryStage): void {
    const changed = stage.changed();
    if (!changed.length && !this.merges.length) return;
    this.db.tx(() => {
      for (const [into, from] of this.merges.splice(0)) this.merge(into, from);
      for (const c of changed) this.write(c);
    });
  }

  private link(key: number, alert: number): void {
    let set = this.pending.get(key);
    if (!set) this.pending.set(key, (set = new Set()));
    if (set.size >= LIMITS.serve.storyPendingAlerts) return void this.counters.linksDropped++;
    set.add(alert);
  }

  private merge(into: number, from: number): void {
    const fromId = this.ids.get(from);
    this.ids.delete(from);
    if (fromId === undefined) return;
    const intoId = this.ids.get(into);
    if (intoId === undefined) {
      // The survivor had not been written yet: it takes the absorbed story's id.
      this.ids.set(into, fromId);
      return;
    }
    if (intoId === fromId) return;
    const t = now();
    this.db.db.prepare('UPDATE stories SET merged_into = ?, updated_at = ? WHERE id = ?').run(intoId, t, fromId);
    this.db.db.prepare('UPDATE alerts SET story_id = ?, updated_at = ? WHERE story_id = ? AND id NOT IN (SELECT alert_id FROM story_splits)').run(intoId, t, fromId);
    this.counters.merged++;
    this.changes.push({ kind: 'story-updated', id: fromId }, { kind: 'story-updated', id: intoId });
  }

  private write({ key, story, open }: LiveStory): void {
    const id = this.ids.get(key) ?? story.id;
    const stored = { ...story, id };
    const level = storyLevel(stored);
    const before = this.db.db.prepare('SELECT score, level, merged_into FROM stories WHERE id = ?').get(id) as { score: number; level: Level; merged_into: string | null } | undefined;
    const t = now();
    this.db.db
      .prepare(
        `INSERT INTO stories (id, score, level, title, first_seen, last_seen, hosts, patient_zero, story, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET score = excluded.score, level = excluded.level, title = excluded.title, first_seen = excluded.first_seen,
           last_seen = excluded.last_seen, hosts = excluded.hosts, patient_zero = excluded.patient_zero, story = excluded.story, updated_at = excluded.updated_at`,
      )
      .run(id, stored.score, level, storyTitle(stored), stored.firstSeen, stored.lastSeen, stored.hosts.length, stored.patientZero?.computer ?? null, JSON.stringify(stored), t, t);
    const alerts = this.pending.get(key);
    if (alerts?.size) {
      const link = this.db.db.prepare('UPDATE alerts SET story_id = ?, updated_at = ? WHERE id = ? AND story_id IS NOT ? AND id NOT IN (SELECT alert_id FROM story_splits)');
      for (const a of alerts) this.counters.alertsLinked += link.run(id, t, a, id).changes;
      alerts.clear();
    }
    if (open) this.ids.set(key, id);
    else {
      this.ids.delete(key);
      this.pending.delete(key);
    }
    if (!before) {
      this.counters.created++;
      this.changes.push({ kind: 'story-created', id });
      this.o.notify?.({ kind: 'story-created', story: stored, url: this.url(id) });
      return;
    }
    this.counters.updated++;
    this.changes.push({ kind: 'story-updated', id });
    if (rank(level) > rank(before.level)) {
      this.counters.escalated++;
      this.db.db.prepare('UPDATE stories SET escalated_at = ? WHERE id = ?').run(t, id);
      this.o.notify?.({ kind: 'story-escalated', story: stored, url: this.url(id), previous: { score: before.score, level: before.level } });
    }
  }

  private url(id: string): string | undefined {
    return this.o.publicUrl ? `${this.o.publicUrl.replace(/\/+$/, '')}/#/stories/${encodeURIComponent(id)}` : undefined;
  }
}
