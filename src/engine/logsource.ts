/**
 * Logsource routing data: which events a rule's `logsource` can apply to. The mapping is data
 * (data/logsources.yml), editable without touching code.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseYamlFile } from '../core/yaml.js';
import type { LogSource } from '../sigma/model.js';

/** One place events of a logsource are written. `null` channels/eventIds mean any. */
export interface EventSourceSpec {
  /** The product whose readers write these events (`windows`, `linux`). */
  product: string;
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
  /** Event log sources of a product Firebreak has readers for (Windows, Linux). */
  | { kind: 'routed'; sources: EventSourceSpec[] }
  /** Not a rule for such a product: applies to events from other readers (generic JSON). */
  | { kind: 'generic' }
  /** A rule of such a product whose logsource we cannot place (e.g. ETW-only categories). */
  | { kind: 'unmapped'; reason: string };

const DEFAULT_LOGSOURCE_FILE = fileURLToPath(new URL('../../../data/logsources.yml', import.meta.url));

export function loadLogsourceMap(file = DEFAULT_LOGSOURCE_FILE): LogsourceMap {
  const data = parseYamlFile(readFileSync(file, 'utf8'), file).data as Partial<LogsourceMap> | null;
  if (!data || !Array.isArray(data.services) || !Array.isArray(data.categories)) throw new Error(`${file}: a logsource map needs 'services' and 'categories' lists`);
  return { services: data.services, categories: data.categories };
}

const WINDOWS = 'windows';
/** An entry of the map without a product is a Windows one (the map's first format had none). */
const productOf = (e: { product?: string }): string => e.product ?? WINDOWS;
const PRODUCT_NAMES: Record<string, string> = { windows: 'Windows', linux: 'Linux' };
const productName = (p: string): string => PRODUCT_NAMES[p] ?? p;

const routedCache = new WeakMap<LogsourceMap, ReadonlySet<string>>();
/**
 * Products whose events come from Firebreak's own readers with a Channel, so their rules are
 * routed by channel and a rule that no channel carries is reported as unmapped: Windows, and
 * every product the map names.
 */
export function routedProducts(map: LogsourceMap): ReadonlySet<string> {
  let set = routedCache.get(map);
  if (!set) {
    set = new Set([WINDOWS, ...map.services.map(productOf), ...map.categories.map(productOf)]);
    routedCache.set(map, set);
  }
  return set;
}

/** Where a rule with this logsource can match. */
export function resolveLogsource(ls: LogSource, map: LogsourceMap): Resolution {
  const routed = routedProducts(map);
  if (ls.product !== undefined && !routed.has(ls.product)) return { kind: 'generic' };
  const productOk = (p: string) => ls.product === undefined || p === ls.product;
  const services = ls.service ? map.services.filter((s) => s.service === ls.service && productOk(productOf(s))) : undefined;
  if (ls.category) {
    const entries = map.categories.filter((c) => c.category === ls.category && productOk(productOf(c)));
    if (!entries.length) return ls.product ? { kind: 'unmapped', reason: `no ${productName(ls.product)} log carries category '${ls.category}'` } : { kind: 'generic' };
    const sources = entries.map((e) => {
      const product = productOf(e);
      const serviceChannels = services?.filter((s) => productOf(s) === product).flatMap((s) => s.channels);
      return {
        product,
        channels: serviceChannels?.length ? e.channels.filter((c) => serviceChannels.includes(c)) : e.channels,
        eventIds: e.event_ids ?? null,
        conditions: e.conditions ?? {},
        fields: e.fields ?? {},
      };
    });
    const usable = sources.filter((s) => s.channels.length);
    if (!usable.length) return { kind: 'unmapped', reason: `category '${ls.category}' is not written to service '${ls.service}'` };
    return { kind: 'routed', sources: usable };
  }
  if (services) {
    const byProduct = new Map<string, string[]>();
    for (const s of services) byProduct.set(productOf(s), [...(byProduct.get(productOf(s)) ?? []), ...s.channels]);
    if (byProduct.size) return { kind: 'routed', sources: [...byProduct].map(([product, channels]) => ({ product, channels, eventIds: null, conditions: {}, fields: {} })) };
    return ls.product ? { kind: 'unmapped', reason: `no channel is known for ${productName(ls.product)} service '${ls.service}'` } : { kind: 'generic' };
  }
  if (ls.product) return { kind: 'routed', sources: [{ product: ls.product, channels: null, eventIds: null, conditions: {}, fields: {} }] };
  return { kind: 'generic' };
}
