/**
 * Password hashing with scrypt (RFC 7914), Node's built-in memory-hard function: prebuilt native
 * modules (argon2) cannot be installed everywhere Firebreak runs. Stored as
 * `scrypt$N$r$p$salt$hash` (base64url), so parameters can be raised later and old hashes still
 * verify (and are rehashed at the next login). Comparison is constant-time.
 *
 * At most `passwordConcurrency` hashes run at once (each costs 128·N·r bytes), and a bounded
 * queue waits for them: a flood of login requests costs neither unbounded memory nor threads.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { FirebreakError } from '../../../core/errors.js';
import { API_LIMITS } from '../limits.js';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** OWASP's scrypt recommendation (2023): N=2^17, r=8, p=1 — 128 MiB and a few hundred ms per hash. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Parameters a stored hash may carry: anything larger is a corrupt or hostile row, not a hash to run. */
const MAX_N = 2 ** 20;

/** Passwords shorter than this are refused when set. */
export const PASSWORD_MIN_CHARS = 10;
/** Longer inputs are refused before hashing (scrypt's cost does not depend on length, but memory does). */
export const PASSWORD_MAX_CHARS = 1024;

class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(
    private readonly max: number,
    private readonly queueMax: number,
  ) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      if (this.waiting.length >= this.queueMax) throw new FirebreakError('busy', 'too many logins at once; try again shortly');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

const hashing = new Semaphore(API_LIMITS.passwordConcurrency, API_LIMITS.passwordQueueMax);

function derive(password: string, salt: Buffer, prm: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: prm.N, r: prm.r, p: prm.p, maxmem: 256 * prm.N * prm.r + 1024 * 1024 };
  return hashing.run(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scrypt(password.normalize('NFC'), salt, KEY_BYTES, opts, (err, key) => {
          if (err) reject(err);
          else resolve(key);
        }),
      ),
  );
}

interface Parsed {
  prm: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parse(stored: string): Parsed | null {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  const key = Buffer.from(m[5]!, 'base64url');
  if (key.length !== KEY_BYTES) return null;
  return { prm: { N, r, p }, salt: Buffer.from(m[4]!, 'base64url'), key };
}

/** Hashing and checking passwords with one set of parameters (tests use cheaper ones). */
export class Passwords {
  /** A hash of a random password, verified against when the account does not exist. */
  private dummy: Promise<string> | null = null;

  constructor(readonly params: ScryptParams = DEFAULT_SCRYPT) {}

  /** Hash a password for storage. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await derive(password, salt, this.params);
    return `scrypt$${this.params.N}$${this.params.r}$${this.params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  /**
   * Whether `password` matches `stored`. With `stored` null (no such account, or a disabled one) a
   * dummy hash is still computed, so the answer takes as long as for a real account and does not
   * tell which accounts exist.
   */
  async verify(password: string, stored: string | null): Promise<boolean> {
    const parsed = stored === null ? null : parse(stored);
    if (!parsed) {
      this.dummy ??= this.hash(randomBytes(16).toString('hex'));
      const d = parse(await this.dummy)!;
      await derive(password, d.salt, d.prm);
      return false;
    }
    const key = await derive(password, parsed.salt, parsed.prm);
    return timingSafeEqual(key, parsed.key);
  }

  /** True when a stored hash uses weaker parameters than these (rehash it at the next login). */
  needsRehash(stored: string): boolean {
    const p = parse(stored);
    return !p || p.prm.N < this.params.N || p.prm.r < this.params.r || p.prm.p < this.params.p;
  }
}

/** Why a new password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, user: string): string | null {
  if ([...password].length < PASSWORD_MIN_CHARS) return `a password needs at least ${PASSWORD_MIN_CHARS} characters`;
  if (password.length > PASSWORD_MAX_CHARS) return `a password may have at most ${PASSWORD_MAX_CHARS} characters`;
  if (password.toLowerCase() === user.toLowerCase()) return 'the password must not be the user name';
  return null;
}
