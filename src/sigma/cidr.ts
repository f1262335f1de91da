/** IPv4/IPv6 networks for the `cidr` modifier: parsed once, tested with byte comparisons. */
import { isIPv4, isIPv6 } from 'node:net';

export interface Network {
  bytes: Uint8Array;
  prefix: number;
}

/** Parse `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128). Undefined when invalid. */
export function parseCidr(text: string): Network | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: max };
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  return prefix <= max ? { bytes, prefix } : undefined;
}

/** Bytes of an IPv4 (4) or IPv6 (16) address; IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (isIPv4(t)) return Uint8Array.from(t.split('.').map(Number));
  const bare = t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
  const noZone = bare.includes('%') ? bare.slice(0, bare.indexOf('%')) : bare;
  if (!isIPv6(noZone)) return undefined;
  let s = noZone;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = s
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  if (tail.length) out.set(tail, 12);
  const mapped = out.slice(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff;
  return mapped ? out.slice(12) : out;
}

/** Whether `ip` (bytes) lies inside `net`. Different families never match. */
export function inNetwork(ip: Uint8Array, net: Network): boolean {
  if (ip.length !== net.bytes.length) return false;
  let bits = net.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (net.bytes[i]! & mask)) return false;
  }
  return true;
}
