/**
 * Which Linux log source (Channel) a syslog or journal message is routed to, by the program that
 * wrote it: editable data in data/linux-programs.yml (docs/linux.md).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { LIMITS } from '../../core/limits.js';
import { programBase } from './messages.js';

export interface ProgramMap {
  channels: { channel: string; programs?: string[]; prefixes?: string[] }[];
  default: string;
  /** Channel for messages of the auth and authpriv facilities that no entry names. */
  auth_facility?: string;
}

export const DEFAULT_PROGRAM_FILE = fileURLToPath(new URL('../../../../data/linux-programs.yml', import.meta.url));

export function loadProgramMap(file = DEFAULT_PROGRAM_FILE): ProgramMap {
  const data = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: LIMITS.yamlMaxAliasCount }) as Partial<ProgramMap> | null;
  if (!data || !Array.isArray(data.channels) || typeof data.default !== 'string') throw new Error(`${file}: a program map needs a 'channels' list and a 'default' channel`);
  return { channels: data.channels, default: data.default, auth_facility: data.auth_facility };
}

const AUTH_FACILITIES = new Set([4, 10]);

/** Routes program names to channels; remembers each answer (program names are few). */
export class ProgramRouter {
  private readonly exact = new Map<string, string>();
  private readonly prefixes: [string, string][] = [];
  private readonly memo = new Map<string, string | null>();

  constructor(private readonly map: ProgramMap = defaultMap()) {
    for (const e of map.channels) {
      for (const p of e.programs ?? []) if (!this.exact.has(p.toLowerCase())) this.exact.set(p.toLowerCase(), e.channel);
      for (const p of e.prefixes ?? []) this.prefixes.push([p.toLowerCase(), e.channel]);
    }
  }

  /** The channel for a message of `program` (as written) with `facility` (when known). */
  channel(program: string | undefined, facility?: number): string {
    const named = program ? this.named(program) : null;
    if (named) return named;
    if (facility !== undefined && AUTH_FACILITIES.has(facility) && this.map.auth_facility) return this.map.auth_facility;
    return this.map.default;
  }

  private named(program: string): string | null {
    let hit = this.memo.get(program);
    if (hit !== undefined) return hit;
    const base = programBase(program);
    hit = this.exact.get(base) ?? this.prefixes.find(([p]) => base.startsWith(p))?.[1] ?? null;
    // Hostile input can invent program names: the memo stays bounded.
    if (this.memo.size > 10_000) this.memo.clear();
    this.memo.set(program, hit);
    return hit;
  }
}

let cached: ProgramMap | undefined;
function defaultMap(): ProgramMap {
  return (cached ??= loadProgramMap());
}
