/** Allowlist checks with gitleaks' semantics (OR: any check; AND: every configured check). */
import type { Allowlist } from './model.js';

/** Is the whole file allowed (path or commit) before any content is scanned? */
export function pathAllowed(path: string, allowlists: Allowlist[]): boolean {
  if (!path) return false;
  for (const a of allowlists) {
    const byPath = a.paths.some((r) => r.test(path));
    if (a.condition === 'AND') {
      // AND lists with content checks are decided per finding.
      if (a.regexes.length || a.stopwords.length) continue;
      const checks: boolean[] = [];
      if (a.commits.length) checks.push(false);
      if (a.paths.length) checks.push(byPath);
      if (checks.length && checks.every(Boolean)) return true;
    } else if (byPath) {
      return true;
    }
  }
  return false;
}

/** Is one finding allowed by content (secret, match or line), stopwords, or an AND list? */
export function findingAllowed(f: { secret: string; match: string; line: string }, path: string, allowlists: Allowlist[]): boolean {
  for (const a of allowlists) {
    const target = a.regexTarget === 'match' ? f.match : a.regexTarget === 'line' ? f.line : f.secret;
    const byRegex = a.regexes.some((r) => r.test(target));
    const lower = a.stopwords.length ? f.secret.toLowerCase() : '';
    const byStopword = a.stopwords.some((w) => lower.includes(w));
    if (a.condition === 'AND') {
      const checks: boolean[] = [];
      // No commits exist for a file scan, so an AND list naming commits never applies.
      if (a.commits.length) checks.push(false);
      if (a.paths.length) checks.push(a.paths.some((r) => r.test(path)));
      if (a.regexes.length) checks.push(byRegex);
      if (a.stopwords.length) checks.push(byStopword);
      if (checks.length && checks.every(Boolean)) return true;
    } else if (byRegex || byStopword) {
      return true;
    }
  }
  return false;
}
