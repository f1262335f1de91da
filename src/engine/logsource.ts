/**
 * Logsource routing data: which events a rule's `logsource` can apply to. The mapping is data
 * (data/logsources.yml), editable without touching code.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { LIMITS } from '../core/limits.js';
import type { LogSource } from '../sigma/model.js';

/** One place events of a logsource are written. `null` channels/eventIds mean any. */
export interface EventSourceSpec {
  channels: string[] | null;
  eventIds: number[] | null;
  /** Extra field equalities the event must meet (e.g. Sysmon 12 EventType: CreateKey). */
  conditions: Record<string, string | number>;
  /** Rule field → event field renames for this source. */
  fields: Record<string, string>;
}

export interface LogsourceMap {
  services: { product?: string; service: string; channels: string[] }[];
  categories: { product?: string; category: string; channels: string[]; event_ids?: number[] | null; conditions?: Record<string, string | number>; fields?: Record<string, string> }[];
}

export type Resolution =
  /** Windows event log sources. */
  | { kind: 'windows'; sources: EventSourceSpec[] }
  /** Not a Windows event log rule: applies to events from other readers. */
  | { kind: 'generic' }
  /** A Windows rule whose logsource we cannot place (e.g. ETW-only categories). */
  | { kind: 'unmapped'; reason: string };

const DEFAULT_LOGSOURCE_FILE = fileURLToPath(new URL('../../../data/logsources.yml', import.meta.url));

export function loadLogsourceMap(file = DEFAULT_LOGSOURCE_FILE): LogsourceMap {
  const data = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: LIMITS.yamlMaxAliasCount }) as Partial<LogsourceMap> | null;
  if (!data || !Array.isArray(data.services) || !Array.isArray(data.categories)) throw new Error(`${file}: a logsource map needs 'services' and 'categories' lists`);
  return { services: data.services, categories: data.categories };
}

const WINDOWS = 'windows';

/** Where a rule with this logsource can match. */
export function resolveLogsource(ls: LogSource, map: LogsourceMap): Resolution {
  const productOk = (p: string | undefined) => ls.product === undefined || p === undefined || p === ls.product;
  const serviceChannels = ls.service ? map.services.filter((s) => s.service === ls.service && productOk(s.product)).flatMap((s) => s.channels) : undefined;
  if (ls.category) {
    const entries = map.categories.filter((c) => c.category === ls.category && productOk(c.product));
    if (!entries.length) return ls.product === WINDOWS ? { kind: 'unmapped', reason: `no Windows event log carries category '${ls.category}'` } : { kind: 'generic' };
    const sources = entries.map((e) => ({
      channels: serviceChannels?.length ? e.channels.filter((c) => serviceChannels.includes(c)) : e.channels,
      eventIds: e.event_ids ?? null,
      conditions: e.conditions ?? {},
      fields: e.fields ?? {},
    }));
    const usable = sources.filter((s) => s.channels.length);
    if (!usable.length) return { kind: 'unmapped', reason: `category '${ls.category}' is not written to service '${ls.service}'` };
    return { kind: 'windows', sources: usable };
  }
  if (ls.service) {
    if (serviceChannels?.length) return { kind: 'windows', sources: [{ channels: serviceChannels, eventIds: null, conditions: {}, fields: {} }] };
    return ls.product === WINDOWS ? { kind: 'unmapped', reason: `no channel is known for Windows service '${ls.service}'` } : { kind: 'generic' };
  }
  if (ls.product === WINDOWS) return { kind: 'windows', sources: [{ channels: null, eventIds: null, conditions: {}, fields: {} }] };
  return { kind: 'generic' };
}
