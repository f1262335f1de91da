/**
 * Hosts and addresses as entities: the normal forms stories match by, and which host owns which IP
 * address, read from single events. The hunt calls `addressClaims` on every event, so it checks
 * the event ID first and returns early for almost all of them.
 *
 * Only events where the system itself states both an address and the machine it belongs to are
 * used: the `address_claims` of data/domain.yml (documented in docs/stories.md). Loopback,
 * link-local, unspecified and empty addresses are never claimed.
 */
import { defaultDomain, type Domain } from './domain.js';
import type { FieldValue } from './event.js';

export interface AddressClaim {
  ip: string;
  /** The host name as the event gives it (FQDN or short); match by short name. */
  host: string;
}

/** IP → host claims an event makes (usually none). Pure and cheap. */
export function addressClaims(fields: Record<string, FieldValue>, computer: string | null, domain: Domain = defaultDomain()): AddressClaim[] {
  const id = eventIdOf(fields.EventID);
  if (!domain.mayClaim(id)) return NONE;
  const specs = domain.claimsOf({ eventId: id ?? null, channel: text(fields.Channel) ?? null, provider: text(fields.Provider_Name) ?? null, fields });
  let out = NONE;
  for (const s of specs) {
    const c = claim(text(fields[s.address]), s.host === 'Computer' ? computer : text(fields[s.host]));
    if (c) out = out === NONE ? [c] : [...out, c];
  }
  return out;
}

const NONE: AddressClaim[] = [];

function claim(ipRaw: string | undefined, hostRaw: string | undefined | null): AddressClaim | undefined {
  const ip = normaliseIp(ipRaw);
  const host = hostName(hostRaw);
  return ip && host ? { ip, host } : undefined;
}

function eventIdOf(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.length < 7 && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function text(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * An address as an entity key, or undefined when it names no remote machine: empty, `-`,
 * loopback, unspecified, link-local (IPv4 169.254/16, IPv6 fe80::/10). IPv4-mapped IPv6
 * (`::ffff:10.0.0.5`, as Kerberos events write it) becomes the IPv4 address.
 */
export function normaliseIp(raw: string | undefined | null): string | undefined {
  if (!raw) return undefined;
  let ip = raw.trim().toLowerCase();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  const pct = ip.indexOf('%');
  if (pct > 0) ip = ip.slice(0, pct);
  if (ip.includes('.')) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return undefined;
    if (ip.startsWith('127.') || ip.startsWith('0.') || ip.startsWith('169.254.') || ip === '255.255.255.255') return undefined;
    return ip;
  }
  if (!ip.includes(':') || !/^[0-9a-f:]+$/.test(ip)) return undefined;
  if (ip === '::' || ip === '::1' || /^fe[89ab][0-9a-f]?:/.test(ip)) return undefined;
  return ip;
}

/** A host name as written in an event, or undefined for the placeholders Windows uses. */
export function hostName(raw: string | undefined | null): string | undefined {
  if (!raw) return undefined;
  let h = raw.trim();
  if (h.startsWith('\\\\')) h = h.slice(2);
  if (!h || h === '-' || h === 'localhost' || normaliseIp(h) !== undefined || /^[\d.:]+$/.test(h)) return undefined;
  return h;
}

/** The key hosts are matched by: the first DNS label, lower-cased (`WS01.corp.local` → `ws01`). */
export function hostKey(name: string): string {
  const dot = name.indexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name).toLowerCase();
}
