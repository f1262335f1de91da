/**
 * What the stories learnt about the network from the events: which host owned an address when
 * (claims from src/events/addresses.ts), and the longest name seen for each host. Bounded: beyond
 * `maxAddresses` new addresses and names are not remembered, and that is counted.
 */
import { LIMITS } from '../core/limits.js';
import { hostKey, hostName, normaliseIp } from '../events/addresses.js';

/** A claim made slightly after the detection still counts (events are logged with skew). */
const CLAIM_SLACK_MS = 5 * 60_000;
const CLAIMS_PER_IP = LIMITS.stories.claimsPerAddress;
/** Addresses remembered per host for the way back (a host's few addresses; DHCP may add some). */
const ADDRESSES_PER_HOST = 8;

interface Claim {
  t: number;
  host: string;
}

export class AddressBook {
  private readonly claims = new Map<string, Claim[]>();
  /** Host key → the longest name seen for it (FQDN over short name). */
  private readonly names = new Map<string, string>();
  /** Host key → the addresses it claimed (the latest few). */
  private readonly byHost = new Map<string, string[]>();
  dropped = 0;

  constructor(private readonly maxAddresses: number) {}

  get size(): number {
    return this.claims.size;
  }

  /** Remember that `ip` belonged to `host` (at `at`, ISO; any time when omitted). */
  learn(ip: string, host: string, at?: string): void {
    const addr = normaliseIp(ip);
    const name = hostName(host);
    if (!addr || !name) return;
    const key = hostKey(name);
    this.nameHost(key, name);
    const t = at ? Date.parse(at) : -Infinity;
    const when = Number.isNaN(t) ? -Infinity : t;
    let list = this.claims.get(addr);
    if (!list) {
      if (this.claims.size >= this.maxAddresses) {
        this.dropped++;
        return;
      }
      list = [];
      this.claims.set(addr, list);
    }
    const same = list.find((c) => c.host === key);
    if (same) {
      // Keep the earliest time a host was seen with the address: it owned it from then on.
      if (when < same.t) same.t = when;
      return;
    }
    if (list.length >= CLAIMS_PER_IP) list.splice(0, 1);
    list.push({ t: when, host: key });
    list.sort((a, b) => a.t - b.t);
    let mine = this.byHost.get(key);
    if (!mine) this.byHost.set(key, (mine = []));
    if (!mine.includes(addr)) {
      if (mine.length >= ADDRESSES_PER_HOST) mine.shift();
      mine.push(addr);
    }
  }

  /** The addresses a host claimed (an access learnt from its address is its access too). */
  addresses(key: string): readonly string[] {
    return this.byHost.get(key) ?? NONE;
  }

  /** The host that owned `ip` at time `t` (the latest claim not after it, else the earliest). */
  owner(ip: string, t: number): string | undefined {
    const list = this.claims.get(ip);
    if (!list || !list.length) return undefined;
    let best: Claim | undefined;
    for (const c of list) if (c.t <= t + CLAIM_SLACK_MS) best = c;
    return (best ?? list[0]!).host;
  }

  /** Remember a host's name (the longest spelling wins). */
  nameHost(key: string, name: string): void {
    const prev = this.names.get(key);
    if (prev === undefined || name.length > prev.length) {
      if (prev === undefined && this.names.size >= this.maxAddresses) return;
      this.names.set(key, name);
    }
  }

  /** The name to show for a host key. */
  display(key: string): string {
    return this.names.get(key) ?? key;
  }
}

const NONE: readonly string[] = [];
