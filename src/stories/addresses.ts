/**
 * Which host owns which IP address, read from single events. The hunt calls `addressClaims` on
 * every event, so it checks the event ID first and returns early for almost all of them.
 *
 * Only events where Windows itself states both an address and the machine it belongs to are
 * used (each source documented in docs/stories.md):
 *
 * - Sysmon 3 (network connection): the local side of the connection belongs to `Computer`:
 *   `SourceIp` when `Initiated` is true (outbound), `DestinationIp` when false (inbound).
 * - Security 4624 / 4625 (logon, failed logon): `IpAddress` belongs to `WorkstationName`, the
 *   client that connected. NTLM clients supply that name themselves, so a hostile client can lie;
 *   it is still how the machine introduced itself, which is what an analyst wants to follow.
 * - Security 4648 (logon with explicit credentials): `IpAddress` is the *target* server's address
 *   and belongs to `TargetServerName`.
 * - Security 5156 (WFP allowed a connection), outbound only: `SourceAddress` belongs to
 *   `Computer`.
 *
 * Loopback, link-local, unspecified and empty addresses are never claimed.
 */
import type { FieldValue } from '../events/event.js';

export interface AddressClaim {
  ip: string;
  /** The host name as the event gives it (FQDN or short); match by short name. */
  host: string;
}

const IDS = new Set([3, 4624, 4625, 4648, 5156]);
const SYSMON = 'microsoft-windows-sysmon/operational';

/** IP → host claims an event makes (usually none). Pure and cheap. */
export function addressClaims(fields: Record<string, FieldValue>, computer: string | null): AddressClaim[] {
  const id = eventIdOf(fields.EventID);
  if (id === undefined || !IDS.has(id)) return NONE;
  const channel = text(fields.Channel)?.toLowerCase();
  if (id === 3) {
    if (channel !== SYSMON || !computer) return NONE;
    const initiated = fields.Initiated;
    const out = initiated === true || text(initiated)?.toLowerCase() === 'true';
    return claim(text(out ? fields.SourceIp : fields.DestinationIp), computer);
  }
  if (channel !== 'security') return NONE;
  if (id === 4624 || id === 4625) return claim(text(fields.IpAddress), text(fields.WorkstationName));
  if (id === 4648) return claim(text(fields.IpAddress), text(fields.TargetServerName));
  // 5156: Direction is `%%14593` (outbound) in the raw event, "Outbound" when rendered.
  const dir = text(fields.Direction);
  if (computer && (dir === '%%14593' || dir?.toLowerCase() === 'outbound')) return claim(text(fields.SourceAddress), computer);
  return NONE;
}

const NONE: AddressClaim[] = [];

function claim(ipRaw: string | undefined, hostRaw: string | undefined | null): AddressClaim[] {
  const ip = normaliseIp(ipRaw);
  const host = hostName(hostRaw);
  return ip && host ? [{ ip, host }] : NONE;
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
