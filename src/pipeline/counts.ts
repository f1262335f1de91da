/** The run's detection counts as a pipeline stage: by level, the top rules and the top hosts. */
import { LIMITS } from '../core/limits.js';
import type { DetectionRecord } from '../detections/record.js';
import { ObserverStage, type StageStats } from '../detections/stage.js';
import { LEVELS, type Level } from '../sigma/model.js';

const MAX_TRACKED_HOSTS = LIMITS.maxTrackedHosts;

export interface DetectionCounts {
  detections: number;
  byLevel: Record<Level, number>;
  topRules: { id: string | null; title: string; level: Level; count: number }[];
  topHosts: { computer: string; count: number }[];
}

export class CountStage extends ObserverStage {
  readonly name = 'counts';
  private detections = 0;
  private readonly byLevel = Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<Level, number>;
  private readonly rules = new Map<string, { id: string | null; title: string; level: Level; count: number }>();
  private readonly hosts = new Map<string, number>();

  /** `onDetection` sees each detection as it is counted (e.g. `--fail-on`). */
  constructor(private readonly onDetection?: (d: DetectionRecord) => void) {
    super();
  }

  protected observe(batch: readonly DetectionRecord[]): void {
    for (const d of batch) {
      this.detections++;
      this.byLevel[d.level]++;
      const key = d.rule.id ?? d.rule.title;
      const rc = this.rules.get(key);
      if (rc) rc.count++;
      else this.rules.set(key, { id: d.rule.id, title: d.rule.title, level: d.level, count: 1 });
      const host = d.computer ?? '(unknown)';
      if (this.hosts.has(host) || this.hosts.size < MAX_TRACKED_HOSTS) this.hosts.set(host, (this.hosts.get(host) ?? 0) + 1);
      this.onDetection?.(d);
    }
  }

  counts(top = 10): DetectionCounts {
    return {
      detections: this.detections,
      byLevel: { ...this.byLevel },
      topRules: [...this.rules.values()].sort((a, b) => b.count - a.count || a.title.localeCompare(b.title)).slice(0, top),
      topHosts: [...this.hosts]
        .map(([computer, count]) => ({ computer, count }))
        .sort((a, b) => b.count - a.count)
        .slice(0, top),
    };
  }

  stats(): StageStats {
    return { detections: this.detections, rules: this.rules.size, hosts: this.hosts.size };
  }
}
