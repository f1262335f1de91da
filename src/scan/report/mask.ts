/**
 * Masking: output never carries a secret unless --no-mask. What stays visible identifies the
 * kind of secret without helping anyone use it: a short prefix of long tokens (`AKIA…`, `ghp_…`,
 * which the rule id already gives away), the last four digits of cards and account numbers
 * (what receipts print, PCI DSS 3.4), and the length.
 */
import type { Finding } from '../engine/finding.js';

const STARS = 8;
/** Identifiers masked as receipts print cards: stars, then the last four characters. */
const IDENTIFIERS = new Set(['credit-card', 'iban', 'us-ssn', 'us-itin', 'uk-nino', 'ca-sin', 'us-bank-routing', 'swift-bic', 'phone-numbers']);

/** A masked form of `secret` for rule `ruleId`. */
export function maskSecret(secret: string, ruleId: string): string {
  if (!secret) return secret;
  const n = [...secret].length;
  if (ruleId === 'email-addresses') {
    // The domain says whose list it is (scoping a notification); the person stays hidden.
    const at = secret.lastIndexOf('@');
    return at > 0 ? `${secret[0]}${'*'.repeat(STARS)}${secret.slice(at)}` : '*'.repeat(STARS);
  }
  if (IDENTIFIERS.has(ruleId)) {
    const digits = secret.replace(/[^0-9A-Za-z]/g, '');
    return `${'*'.repeat(Math.min(STARS, Math.max(0, digits.length - 4)))}${digits.slice(-4)}`;
  }
  if (secret.includes('\n')) {
    // Multi-line (PEM blocks): keep the armour line, which names the key type, and nothing else.
    const first = secret.split('\n')[0]!;
    return `${first.startsWith('-----') ? first : first.slice(0, 4)}…[${n} chars masked]`;
  }
  const keep = n >= 20 ? 4 : n >= 12 ? 2 : 0;
  return `${[...secret].slice(0, keep).join('')}${'*'.repeat(STARS)}`;
}

/** A copy of `f` whose match and secret are masked. */
export function maskFinding(f: Finding): Finding {
  const masked = maskSecret(f.secret, f.ruleId);
  let match = f.secret && f.match.includes(f.secret) ? f.match.split(f.secret).join(masked) : maskSecret(f.match, f.ruleId);
  if (match.length > 200) match = `${match.slice(0, 200)}…`;
  return { ...f, secret: masked, match };
}
