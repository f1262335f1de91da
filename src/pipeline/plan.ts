/**
 * What a run of the detection pipeline needs, decided once from the rules and the options, for
 * `hunt` and `serve` alike: the rules to match (the selected ones plus those only correlations
 * need), the correlation engine, which fields each rule's detections must carry, which detections
 * are never explained, and the stages that follow matching.
 */
import { createHash } from 'node:crypto';
import { CorrelationEngine } from '../correlation/engine.js';
import { CorrelationStage } from '../correlation/stage.js';
import { ruleKey } from '../detections/convert.js';
import type { DetectionRecord } from '../detections/record.js';
import type { Stage } from '../detections/stage.js';
import { loadLogsourceMap, resolveLogsource, type LogsourceMap } from '../engine/logsource.js';
import { defaultDomain, type Domain } from '../events/domain.js';
import { SinkStage, type DetectionSink } from '../output/stage.js';
import { defaultRuleDirs } from '../sigma/bundled.js';
import { loadRulesCached } from '../sigma/cache.js';
import { loadPlaceholders, type RuleCollection } from '../sigma/collection.js';
import type { SigmaCorrelation, SigmaRule } from '../sigma/model.js';
import type { RuleError } from '../core/errors.js';
import { StoryBuilder, type StoryOptions } from '../stories/builder.js';
import { storyFields } from '../stories/entities.js';
import { StoryStage } from '../stories/stage.js';
import { CountStage } from './counts.js';
import { Pipeline } from './pipeline.js';
import { correlationInputs, selectRules, type RuleFilter } from './select.js';

export interface PlanOptions {
  /** Rule files/folders; default: the bundled SigmaHQ set and Firebreak's correlation rules. */
  rulePaths?: string[];
  placeholders?: string;
  filter: RuleFilter;
  /** Evaluate correlation rules (default true). */
  correlations?: boolean;
  /** Build stories (default true). */
  stories?: boolean;
  /** Some output shows whole events: detections carry them in full. */
  fullEvents?: boolean;
  domain?: Domain;
  /** Rules already loaded (instead of reading `rulePaths`), e.g. the server's rule catalogue. */
  collection?: Pick<RuleCollection, 'rules' | 'correlations' | 'errors'>;
  /** Which rules run (instead of `filter`): the server's enabled rules. Correlations still draw their inputs from every rule. */
  enabled?: (rule: SigmaRule | SigmaCorrelation) => boolean;
}

export interface DetectionPlan {
  /** Rules the matchers run: the selected ones, then those only correlations need. */
  rules: SigmaRule[];
  /** Names `rules` exactly (the rule pack's cache key and which of its rules, in order) when the pack came through the rule cache. */
  rulesKey?: string;
  /** Rules that failed to load (reported, never silently dropped). */
  ruleErrors: RuleError[];
  correlations: SigmaCorrelation[];
  /** Rules run only to feed a correlation (by `ruleKey`): never an output of their own. */
  feederKeys: ReadonlySet<string>;
  correlationEngine: CorrelationEngine | undefined;
  logsources: LogsourceMap;
  /** Per rule (by `ruleKey`): the event fields its detections carry; absent: the whole event. */
  slim: Record<string, string[]>;
  /** Rules (by `ruleKey`) whose detections are never output: their matched fields are not worked out. */
  unexplained: string[];
  wantStories: boolean;
  domain: Domain;
  counts: { loaded: number; correlations: number; failed: number; unmapped: number };
}

export function planDetection(o: PlanOptions): DetectionPlan {
  const domain = o.domain ?? defaultDomain();
  const col = o.collection ?? loadRulesCached(o.rulePaths?.length ? o.rulePaths : defaultRuleDirs(), { placeholders: o.placeholders ? loadPlaceholders(o.placeholders) : undefined });
  const pick = <T extends SigmaRule | SigmaCorrelation>(list: readonly T[]): T[] => (o.enabled ? list.filter((r) => o.enabled!(r)) : selectRules(list, o.filter));
  const selected = pick(col.rules);
  // Correlations pass the same filters; the rules they consume run whatever the filters say
  // (a brute-force correlation needs its informational failed-logon rule), but a rule that only
  // runs for a correlation is never reported on its own.
  const inputs = correlationInputs(o.correlations !== false ? pick(col.correlations) : [], col.correlations, col.rules);
  const selectedSet = new Set(selected);
  const feeders = inputs.rules.filter((r) => !selectedSet.has(r));
  const feederKeys = new Set(feeders.map(ruleKey));
  const rules = [...selected, ...feeders];
  // Only a pack read here, unchanged, is named by its cache key (a collection handed in may hold
  // rules added or changed since it was read).
  const packKey = o.collection ? undefined : (col as Partial<RuleCollection>).cacheKey;
  const rulesKey = packKey ? rulesKeyOf(packKey, col.rules, rules) : undefined;
  const correlationEngine = inputs.correlations.length ? new CorrelationEngine(inputs.correlations, rules, { domain }) : undefined;
  const logsources = loadLogsourceMap();
  const wantStories = o.stories !== false;

  // Building-block rules: their detections only feed correlations, so they carry only the fields
  // the correlations read (a third of all detections on the attack samples). Other detections
  // carry their whole event only when an output shows it; otherwise only the fields stories and
  // correlations read, which makes the records crossing threads and the time sort a fraction of
  // the size. Detections nobody sees (building blocks, rules run only for a correlation) are not
  // explained.
  const slim: Record<string, string[]> = {};
  const unexplained: string[] = [];
  // One shared list where a rule adds nothing to it (a shared array is cloned to workers once).
  const shown = wantStories ? storyFields(domain) : [];
  for (const r of rules) {
    const key = ruleKey(r);
    const hidden = correlationEngine?.fieldsUsed(r);
    if (hidden) slim[key] = hidden;
    else if (!o.fullEvents) {
      const read = correlationEngine?.fieldsRead(r) ?? [];
      slim[key] = read.length ? [...new Set([...shown, ...read])] : shown;
    }
    if (hidden || feederKeys.has(key)) unexplained.push(key);
  }
  return {
    rules,
    rulesKey,
    ruleErrors: col.errors,
    correlations: inputs.correlations,
    feederKeys,
    correlationEngine,
    logsources,
    slim,
    unexplained,
    wantStories,
    domain,
    counts: {
      loaded: selected.length,
      correlations: inputs.correlations.length,
      failed: col.errors.length,
      unmapped: rules.filter((r) => resolveLogsource(r.logsource, logsources).kind === 'unmapped').length,
    },
  };
}

export interface StageOptions {
  sinks?: readonly DetectionSink[];
  /** Each detection as it is counted (e.g. `--fail-on`). */
  onDetection?: (d: DetectionRecord) => void;
  stories?: StoryOptions;
  /** Stages put first (e.g. a reorder stage for a live stream). */
  before?: Stage[];
  /** Stages right after correlation (they see its detections first). */
  afterCorrelation?: Stage[];
  /** Stages put last, given the stages built (e.g. a sink that reads the stories). */
  after?: (parts: Pick<DetectionStages, 'stories' | 'counts'>) => Stage[];
}

/** The stages after matching, in order: correlation, counts, stories, outputs. */
export interface DetectionStages {
  pipeline: Pipeline;
  counts: CountStage;
  correlation?: CorrelationStage;
  stories?: StoryStage;
}

export function detectionStages(plan: DetectionPlan, o: StageOptions = {}): DetectionStages {
  const feeders = plan.feederKeys;
  const correlation = plan.correlationEngine ? new CorrelationStage(plan.correlationEngine, feeders.size ? (d) => feeders.has(ruleKey(d.rule)) : undefined) : undefined;
  const counts = new CountStage(o.onDetection);
  const stories = plan.wantStories ? new StoryStage(new StoryBuilder({ domain: plan.domain, ...o.stories })) : undefined;
  const stages: Stage[] = [...(o.before ?? [])];
  if (correlation) stages.push(correlation);
  stages.push(...(o.afterCorrelation ?? []));
  stages.push(counts);
  if (stories) stages.push(stories);
  if (o.sinks?.length) stages.push(new SinkStage(o.sinks));
  stages.push(...(o.after?.({ stories, counts }) ?? []));
  return { pipeline: new Pipeline(stages), counts, correlation, stories };
}

/** The pack's key and the place in it of each rule of `chosen`, in order. */
function rulesKeyOf(packKey: string, pack: readonly SigmaRule[], chosen: readonly SigmaRule[]): string | undefined {
  const at = new Map(pack.map((r, i) => [r, i]));
  const h = createHash('sha256').update(`${packKey}\0`);
  for (const r of chosen) {
    const i = at.get(r);
    if (i === undefined) return undefined;
    h.update(`${i},`);
  }
  return h.digest('hex').slice(0, 32);
}
