/**
 * Users, login sessions and API keys in the state database. Session ids and API-key secrets are
 * random 256-bit values given to the client once; the database keeps only their SHA-256 (a
 * stolen database file opens no session). Comparisons of secrets are constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FirebreakError } from '../../../core/errors.js';
import { now, ROLES, type Role, type StateDb, type UserRow } from '../../store/db.js';
import { asSql, type Sql } from '../../store/sql.js';
import { passwordProblem, type Passwords } from './passwords.js';

/** Who is making a request. */
export interface Principal {
  /** The user name, or `key:<name>` for an API key. */
  name: string;
  role: Role;
  via: 'session' | 'api-key';
  /** Session requests: the session's CSRF token and its (hashed) id. */
  csrf?: string;
  sessionId?: string;
  /** API-key requests: the key's public id. */
  keyId?: string;
}

/** User names: printable, no spaces or separators that would confuse logs and audit lines. */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Constant-time equality of two strings (false for different lengths, without early exit on content). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}

/** How much a role may do: read-only < analyst < admin. */
export function roleRank(r: Role): number {
  return r === 'admin' ? 2 : r === 'analyst' ? 1 : 0;
}

export interface UserInfo {
  name: string;
  role: Role;
  createdAt: string;
  disabled: boolean;
}

function info(u: UserRow): UserInfo {
  return { name: u.name, role: u.role, createdAt: u.created_at, disabled: u.disabled !== 0 };
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  revoked: boolean;
}

/** Users, sessions and keys over the state database (SQLite, or PostgreSQL for the api role). */
export class Credentials {
  readonly db: Sql;

  constructor(
    db: StateDb | Sql,
    readonly passwords: Passwords,
  ) {
    this.db = asSql(db);
  }

  // ---- users ----

  getUser(name: string): Promise<UserRow | undefined> {
    return this.db.get<UserRow>('SELECT * FROM users WHERE name = ?', name);
  }

  async listUsers(): Promise<UserInfo[]> {
    return (await this.db.all<UserRow>('SELECT * FROM users ORDER BY name')).map(info);
  }

  /** Create a user; throws `user-exists`, `bad-user-name`, `weak-password`. */
  async addUser(name: string, role: Role, password: string): Promise<UserInfo> {
    if (!USER_NAME.test(name)) throw new FirebreakError('bad-user-name', `'${name}' is not a user name: letters, digits and . _ @ - (at most 64, starting with a letter or digit)`);
    const problem = passwordProblem(password, name);
    if (problem) throw new FirebreakError('weak-password', problem);
    if (await this.getUser(name)) throw new FirebreakError('user-exists', `user '${name}' already exists`);
    const hash = await this.passwords.hash(password);
    try {
      await this.db.run('INSERT INTO users (name, role, password, created_at) VALUES (?, ?, ?, ?)', name, role, hash, now());
    } catch (e) {
      if (this.db.isUniqueViolation(e)) throw new FirebreakError('user-exists', `user '${name}' already exists`);
      throw e;
    }
    return info((await this.getUser(name))!);
  }

  /** Set a new password; ends every session of the user except `keepSession` (hashed id). */
  async setPassword(name: string, password: string, keepSession?: string): Promise<void> {
    const problem = passwordProblem(password, name);
    if (problem) throw new FirebreakError('weak-password', problem);
    if (!(await this.getUser(name))) throw new FirebreakError('no-such-user', `no user '${name}'`);
    const hash = await this.passwords.hash(password);
    await this.db.tx(async (t) => {
      await t.run('UPDATE users SET password = ? WHERE name = ?', hash, name);
      await t.run('DELETE FROM sessions WHERE "user" = ? AND id IS DISTINCT FROM ?', name, keepSession ?? null);
    });
  }

  /** Disable or re-enable a user; disabling ends the user's sessions. */
  async setDisabled(name: string, disabled: boolean): Promise<UserInfo> {
    await this.db.tx(async (t) => {
      const r = await t.run('UPDATE users SET disabled = ? WHERE name = ?', disabled ? 1 : 0, name);
      if (!r.changes) throw new FirebreakError('no-such-user', `no user '${name}'`);
      if (disabled) await t.run('DELETE FROM sessions WHERE "user" = ?', name);
    });
    return info((await this.getUser(name))!);
  }

  async setRole(name: string, role: Role): Promise<UserInfo> {
    const r = await this.db.run('UPDATE users SET role = ? WHERE name = ?', role, name);
    if (!r.changes) throw new FirebreakError('no-such-user', `no user '${name}'`);
    return info((await this.getUser(name))!);
  }

  /** Admins that are not disabled (the last one may not be disabled or demoted). */
  async activeAdmins(): Promise<number> {
    return (await this.db.get<{ n: number }>("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0"))!.n;
  }

  /** Check a login; returns the user when the password is right and the account enabled. */
  async checkLogin(name: string, password: string): Promise<UserRow | null> {
    const u = USER_NAME.test(name) ? await this.getUser(name) : undefined;
    const usable = u && !u.disabled ? u : undefined;
    const ok = await this.passwords.verify(password, usable?.password ?? null);
    if (!ok || !usable) return null;
    if (this.passwords.needsRehash(usable.password)) await this.db.run('UPDATE users SET password = ? WHERE name = ?', await this.passwords.hash(password), usable.name);
    return usable;
  }

  // ---- sessions ----

  /** Start a session; returns the cookie value (given to the client only) and its CSRF token. */
  async createSession(user: string, hours: number): Promise<{ token: string; csrf: string; expiresAt: string }> {
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const t = Date.now();
    const expiresAt = new Date(t + hours * 3600_000).toISOString();
    await this.db.tx(async (q) => {
      await q.run('DELETE FROM sessions WHERE expires_at <= ?', new Date(t).toISOString());
      await q.run('INSERT INTO sessions (id, "user", csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', sha256(token), user, csrf, new Date(t).toISOString(), expiresAt);
    });
    return { token, csrf, expiresAt };
  }

  /** The principal of a session cookie, or null (unknown, expired, user disabled or gone). */
  async session(token: string): Promise<(Principal & { expiresAt: string }) | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const id = sha256(token);
    const row = await this.db.get<{ id: string; user: string; csrf: string; expires_at: string; role: Role; disabled: number }>(
      'SELECT s.id, s."user" AS "user", s.csrf, s.expires_at, u.role, u.disabled FROM sessions s JOIN users u ON u.name = s."user" WHERE s.id = ?',
      id,
    );
    if (!row || row.disabled) return null;
    if (row.expires_at <= new Date().toISOString()) {
      await this.db.run('DELETE FROM sessions WHERE id = ?', id);
      return null;
    }
    return { name: row.user, role: row.role, via: 'session', csrf: row.csrf, sessionId: row.id, expiresAt: row.expires_at };
  }

  async endSession(sessionId: string): Promise<void> {
    await this.db.run('DELETE FROM sessions WHERE id = ?', sessionId);
  }

  // ---- API keys ----

  /** Create a key; the returned `secret` (`fbk_<id>_<secret>`) is shown once and never stored. */
  async createApiKey(name: string, role: Role, createdBy: string): Promise<{ key: ApiKeyInfo; secret: string }> {
    const id = randomBytes(9).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    await this.db.run('INSERT INTO api_keys (id, hash, name, role, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)', id, sha256(secret), name, role, createdBy, now());
    return { key: (await this.getApiKey(id))!, secret: `fbk_${id}_${secret}` };
  }

  async getApiKey(id: string): Promise<ApiKeyInfo | undefined> {
    const r = await this.db.get<{ id: string; name: string; role: Role; created_by: string; created_at: string; revoked: number }>('SELECT * FROM api_keys WHERE id = ?', id);
    return r && { id: r.id, name: r.name, role: r.role, createdBy: r.created_by, createdAt: r.created_at, revoked: r.revoked !== 0 };
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    const rows = await this.db.all<{ id: string; name: string; role: Role; created_by: string; created_at: string; revoked: number }>('SELECT * FROM api_keys ORDER BY created_at, id');
    return rows.map((r) => ({ id: r.id, name: r.name, role: r.role, createdBy: r.created_by, createdAt: r.created_at, revoked: r.revoked !== 0 }));
  }

  async revokeApiKey(id: string): Promise<ApiKeyInfo> {
    const r = await this.db.run('UPDATE api_keys SET revoked = 1 WHERE id = ?', id);
    if (!r.changes) throw new FirebreakError('no-such-key', `no API key '${id}'`);
    return (await this.getApiKey(id))!;
  }

  /** The principal of a bearer token, or null (malformed, unknown, revoked). */
  async apiKey(bearer: string): Promise<Principal | null> {
    const m = /^fbk_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/.exec(bearer);
    if (!m) return null;
    const row = await this.db.get<{ id: string; hash: string; name: string; role: Role; revoked: number }>('SELECT id, hash, name, role, revoked FROM api_keys WHERE id = ?', m[1]);
    if (!row || !safeEqual(sha256(m[2]!), row.hash) || row.revoked) return null;
    return { name: `key:${row.name}`, role: row.role, via: 'api-key', keyId: row.id };
  }
}
