/** Which rules a hunt runs: level, status, tag, id filters over the loaded collection. */
import { LEVELS, type Level, type SearchExpr, type SigmaCorrelation, type SigmaRule } from '../sigma/model.js';

export interface RuleFilter {
  minLevel?: Level;
  /** Statuses to run; default: all but deprecated and unsupported. */
  statuses?: string[];
  /** Run only rules with at least one of these tags (prefix match: `attack.t1059` matches `attack.t1059.001`). */
  tags?: string[];
  ruleIds?: string[];
  excludeRules?: string[];
}

export const DEFAULT_STATUSES = ['stable', 'test', 'experimental'];

export function levelRank(l: Level | undefined): number {
  return l ? LEVELS.indexOf(l) : 0;
}

/** The rules that pass the filter. Rules without a status count as `experimental`. */
export function selectRules<T extends Pick<SigmaRule, 'status' | 'level' | 'id' | 'name' | 'title' | 'tags'>>(rules: readonly T[], f: RuleFilter): T[] {
  const statuses = new Set((f.statuses?.length ? f.statuses : DEFAULT_STATUSES).map((s) => s.toLowerCase()));
  const min = f.minLevel ? levelRank(f.minLevel) : 0;
  const ids = f.ruleIds?.length ? new Set(f.ruleIds) : undefined;
  const excluded = new Set(f.excludeRules ?? []);
  const tags = f.tags?.map((t) => t.toLowerCase());
  return rules.filter((r) => {
    if (!statuses.has((r.status ?? 'experimental').toLowerCase())) return false;
    if (levelRank(r.level) < min) return false;
    if (ids && !(r.id && ids.has(r.id)) && !(r.name && ids.has(r.name))) return false;
    if ((r.id && excluded.has(r.id)) || (r.name && excluded.has(r.name)) || excluded.has(r.title)) return false;
    if (tags && !r.tags.some((t) => tags.some((want) => t.toLowerCase() === want || t.toLowerCase().startsWith(want + '.')))) return false;
    return true;
  });
}

/**
 * Everything the given correlations need, through chains: the rules and correlations they
 * reference (by id or name), whether or not the filters selected those.
 */
export function correlationInputs(selected: readonly SigmaCorrelation[], all: readonly SigmaCorrelation[], rules: readonly SigmaRule[]): { rules: SigmaRule[]; correlations: SigmaCorrelation[] } {
  const byRef = new Map<string, SigmaRule | SigmaCorrelation>();
  for (const r of [...rules, ...all]) {
    if (r.id) byRef.set(r.id, r);
    if (r.name) byRef.set(r.name, r);
  }
  const needRules = new Set<SigmaRule>();
  const needCorr = new Set<SigmaCorrelation>(selected);
  const queue = [...selected];
  while (queue.length) {
    const c = queue.pop()!;
    for (const ref of c.rules) {
      const target = byRef.get(ref);
      if (!target) continue;
      if (target.kind === 'rule') needRules.add(target);
      else if (!needCorr.has(target)) {
        needCorr.add(target);
        queue.push(target);
      }
    }
  }
  return { rules: [...needRules], correlations: [...needCorr] };
}

const NOWHERE = { file: '', line: 0, column: 0 };

function withoutLocations(e: SearchExpr): SearchExpr {
  return e.kind === 'item' ? { ...e, location: NOWHERE } : { kind: e.kind, items: e.items.map(withoutLocations) };
}

/**
 * A rule as a worker thread needs it: what detections and their records use, without the text
 * location of every detection item (one shared location instead) or the prose nobody matches on.
 * Every worker deserialises its copy of the rule set at start-up; this made it about a third
 * smaller.
 */
export function forWorker(r: SigmaRule): SigmaRule {
  const searches: Record<string, SearchExpr> = {};
  for (const [k, v] of Object.entries(r.searches)) searches[k] = withoutLocations(v);
  return { ...r, location: NOWHERE, description: undefined, author: undefined, references: [], falsepositives: [], conditionText: [], searches };
}
