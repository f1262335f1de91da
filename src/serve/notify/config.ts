/**
 * The `notifications:` section of the serve configuration: delivery settings and a list of
 * channels (generic JSON webhook, Slack-compatible incoming webhook, e-mail over SMTP). The JSON
 * schema checks shapes and types; `resolveNotifications` checks what a schema says badly or not at
 * all (which settings belong to which kind, URLs, addresses, ports against TLS mode) and reads
 * secrets from files, so every problem is reported at start with its line and column.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import addressparser from 'nodemailer/lib/addressparser';
import { LEVELS, type Level } from '../../sigma/model.js';
import { NOTIFY_LIMITS } from './limits.js';

export type NotifyEventKind = 'story-created' | 'story-escalated';
export const NOTIFY_EVENT_KINDS: readonly NotifyEventKind[] = ['story-created', 'story-escalated'];
export type ChannelKind = 'webhook' | 'slack' | 'email';

interface ChannelBase {
  /** Unique; names the channel in the outbox, health and metrics. */
  name: string;
  /** Stories whose most severe detection is below this are not sent (null: any). */
  minLevel: Level | null;
  /** Stories scoring below this are not sent. */
  minScore: number;
  /** Which events this channel receives. */
  events: NotifyEventKind[];
  /** One delivery attempt, connection to answer. */
  timeoutMs: number;
  /** PEM text of extra certificate authorities trusted for this channel (a private CA). */
  ca?: string;
}

export interface WebhookChannel extends ChannelBase {
  kind: 'webhook';
  url: string;
  /** Extra request headers (values may have come from files). */
  headers: Record<string, string>;
  /** When set, each body is signed: `X-Firebreak-Signature: sha256=HMAC(secret, timestamp + "." + body)`. */
  signingSecret?: string;
}

export interface SlackChannel extends ChannelBase {
  kind: 'slack';
  url: string;
}

export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when offered (or required). */
  secure: boolean;
  /** Refuse to send unless STARTTLS succeeds (default: true when credentials are configured). */
  requireTLS: boolean;
  auth?: { user: string; pass: string };
}

export interface EmailChannel extends ChannelBase {
  kind: 'email';
  smtp: SmtpSettings;
  from: string;
  to: string[];
  /** Put before every subject (default `[Firebreak]`). */
  subjectPrefix: string;
}

export type ChannelConfig = WebhookChannel | SlackChannel | EmailChannel;

export interface RetryPolicy {
  maxAttempts: number;
  maxAgeMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface NotificationsConfig {
  channels: ChannelConfig[];
  retry: RetryPolicy;
  concurrency: number;
  perChannelConcurrency: number;
}

/** The settings when the section is absent: no channels. */
export function defaultNotifications(): NotificationsConfig {
  return {
    channels: [],
    retry: { maxAttempts: NOTIFY_LIMITS.maxAttempts, maxAgeMs: NOTIFY_LIMITS.maxAgeMs, initialDelayMs: NOTIFY_LIMITS.initialDelayMs, maxDelayMs: NOTIFY_LIMITS.maxDelayMs },
    concurrency: NOTIFY_LIMITS.concurrency,
    perChannelConcurrency: NOTIFY_LIMITS.perChannelConcurrency,
  };
}

const secretRef = { type: 'string', minLength: 1 };

/** The JSON schema of the `notifications:` section (added to SERVE_CONFIG_SCHEMA by ../config.ts). */
export const NOTIFICATIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    concurrency: { type: 'integer', minimum: 1, maximum: 64 },
    perChannelConcurrency: { type: 'integer', minimum: 1, maximum: 16 },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxAttempts: { type: 'integer', minimum: 1, maximum: 100 },
        maxAgeMinutes: { type: 'integer', minimum: 1, maximum: 30 * 24 * 60 },
        initialDelayMs: { type: 'integer', minimum: 1, maximum: 3_600_000 },
        maxDelayMs: { type: 'integer', minimum: 1, maximum: 24 * 3_600_000 },
      },
    },
    channels: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        // Every kind's settings are listed here so a misspelt one is "unknown"; which belong to
        // which kind is checked by resolveNotifications with a message naming the kind.
        additionalProperties: false,
        required: ['name', 'kind'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
          kind: { enum: ['webhook', 'slack', 'email'] },
          minLevel: { enum: LEVELS },
          minScore: { type: 'integer', minimum: 0 },
          events: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: NOTIFY_EVENT_KINDS } },
          timeoutMs: { type: 'integer', minimum: 100, maximum: 300_000 },
          ca: secretRef,
          url: { type: 'string', minLength: 1 },
          urlFile: secretRef,
          headers: {
            type: 'object',
            additionalProperties: { type: ['string', 'object'], additionalProperties: false, required: ['file'], properties: { file: secretRef } },
          },
          signingSecret: { type: 'string', minLength: 16 },
          signingSecretFile: secretRef,
          smtp: {
            type: 'object',
            additionalProperties: false,
            required: ['host'],
            properties: {
              host: { type: 'string', minLength: 1 },
              port: { type: 'integer', minimum: 1, maximum: 65535 },
              secure: { type: 'boolean' },
              requireTLS: { type: 'boolean' },
              user: { type: 'string', minLength: 1 },
              password: { type: 'string', minLength: 1 },
              passwordFile: secretRef,
            },
          },
          from: { type: 'string', minLength: 3 },
          to: { type: 'array', minItems: 1, maxItems: NOTIFY_LIMITS.emailMaxRecipients, items: { type: 'string', minLength: 3 } },
          subjectPrefix: { type: 'string', maxLength: 64 },
        },
      },
    },
  },
} as const;

/** What the schema guarantees about the raw section. */
export interface RawNotifications {
  concurrency?: number;
  perChannelConcurrency?: number;
  retry?: { maxAttempts?: number; maxAgeMinutes?: number; initialDelayMs?: number; maxDelayMs?: number };
  channels?: RawChannel[];
}

interface RawChannel {
  name: string;
  kind: ChannelKind;
  minLevel?: Level;
  minScore?: number;
  events?: NotifyEventKind[];
  timeoutMs?: number;
  ca?: string;
  url?: string;
  urlFile?: string;
  headers?: Record<string, string | { file: string }>;
  signingSecret?: string;
  signingSecretFile?: string;
  smtp?: { host: string; port?: number; secure?: boolean; requireTLS?: boolean; user?: string; password?: string; passwordFile?: string };
  from?: string;
  to?: string[];
  subjectPrefix?: string;
}

const COMMON = ['name', 'kind', 'minLevel', 'minScore', 'events', 'timeoutMs', 'ca'];
const SETTINGS: Record<ChannelKind, readonly string[]> = {
  webhook: [...COMMON, 'url', 'urlFile', 'headers', 'signingSecret', 'signingSecretFile'],
  slack: [...COMMON, 'url', 'urlFile'],
  email: [...COMMON, 'smtp', 'from', 'to', 'subjectPrefix'],
};

// RFC 9110 token characters; the headers we set ourselves (or the HTTP layer owns) are refused.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'expect']);

/**
 * Resolves the raw section: defaults, secrets read from files (relative to `base`), and every
 * check the schema cannot express; `err(path, message)` collects problems (path as JSON pointer).
 */
export function resolveNotifications(raw: RawNotifications | undefined, base: string, err: (path: string, msg: string) => void): NotificationsConfig {
  const out = defaultNotifications();
  if (!raw) return out;
  const r = raw.retry ?? {};
  out.retry = {
    maxAttempts: r.maxAttempts ?? out.retry.maxAttempts,
    maxAgeMs: r.maxAgeMinutes !== undefined ? r.maxAgeMinutes * 60_000 : out.retry.maxAgeMs,
    initialDelayMs: r.initialDelayMs ?? out.retry.initialDelayMs,
    maxDelayMs: r.maxDelayMs ?? out.retry.maxDelayMs,
  };
  if (out.retry.initialDelayMs > out.retry.maxDelayMs) err('/notifications/retry/initialDelayMs', '/notifications/retry/initialDelayMs: must not exceed maxDelayMs');
  out.concurrency = raw.concurrency ?? out.concurrency;
  out.perChannelConcurrency = raw.perChannelConcurrency ?? out.perChannelConcurrency;
  const names = new Map<string, number>();
  (raw.channels ?? []).forEach((c, i) => {
    const where = `/notifications/channels/${i}`;
    const prev = names.get(c.name);
    if (prev !== undefined) err(`${where}/name`, `${where}/name: '${c.name}' is already the name of /notifications/channels/${prev}`);
    names.set(c.name, i);
    const ch = resolveChannel(c, where, base, err);
    if (ch) out.channels.push(ch);
  });
  return out;
}

function resolveChannel(c: RawChannel, where: string, base: string, err: (path: string, msg: string) => void): ChannelConfig | undefined {
  const before = { n: 0 };
  const fail = (path: string, msg: string) => {
    before.n++;
    err(path, msg);
  };
  for (const key of Object.keys(c)) {
    if (!SETTINGS[c.kind].includes(key)) fail(`${where}/${key}`, `${where}/${key}: '${key}' is not a setting of a ${c.kind} channel (it has ${SETTINGS[c.kind].join(', ')})`);
  }
  const readSecret = (file: string, path: string): string | undefined => {
    const full = resolve(base, file);
    try {
      const v = readFileSync(full, 'utf8').trim();
      if (!v) fail(path, `${path}: ${full} is empty`);
      return v;
    } catch (e) {
      fail(path, `${path}: cannot read ${full}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return undefined;
    }
  };
  const oneOf = (value: string | undefined, file: string | undefined, key: string, at = where): string | undefined => {
    if (value !== undefined && file !== undefined) {
      fail(at, `${at}: give '${key}' or '${key}File', not both`);
      return undefined;
    }
    return file !== undefined ? readSecret(file, `${at}/${key}File`) : value;
  };
  const common = {
    name: c.name,
    minLevel: c.minLevel ?? null,
    minScore: c.minScore ?? 0,
    events: c.events ?? [...NOTIFY_EVENT_KINDS],
    timeoutMs: c.timeoutMs ?? (c.kind === 'email' ? 3 * NOTIFY_LIMITS.timeoutMs : NOTIFY_LIMITS.timeoutMs),
  };
  const ca = c.ca !== undefined ? readSecret(c.ca, `${where}/ca`) : undefined;
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) fail(`${where}/ca`, `${where}/ca: ${resolve(base, c.ca!)} holds no PEM certificate`);
  const withCa = <T extends object>(o: T): T => (ca !== undefined ? { ...o, ca } : o);

  switch (c.kind) {
    case 'webhook':
    case 'slack': {
      if (c.url === undefined && c.urlFile === undefined) fail(where, `${where}: missing 'url' (or 'urlFile')`);
      const url = oneOf(c.url, c.urlFile, 'url');
      if (url !== undefined) {
        const problem = checkHttpUrl(url);
        // The URL of a Slack webhook is itself the secret: never repeat it in a message.
        if (problem) fail(`${where}/${c.urlFile !== undefined ? 'urlFile' : 'url'}`, `${where}/${c.urlFile !== undefined ? 'urlFile' : 'url'}: ${problem}`);
        else if (c.ca !== undefined && url.startsWith('http:')) fail(`${where}/ca`, `${where}/ca: the URL is plain http, so a certificate authority has no use: use https`);
      }
      if (c.kind === 'slack') return before.n || url === undefined ? undefined : withCa<SlackChannel>({ ...common, kind: 'slack', url });
      const headers: Record<string, string> = {};
      for (const [name, v] of Object.entries(c.headers ?? {})) {
        const path = `${where}/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (!HEADER_NAME.test(name)) fail(path, `${path}: '${name}' is not a valid header name`);
        else if (RESERVED_HEADERS.has(name.toLowerCase()) || name.toLowerCase().startsWith('x-firebreak-')) fail(path, `${path}: '${name}' is set by Firebreak itself`);
        const value = typeof v === 'string' ? v : readSecret(v.file, `${path}/file`);
        if (value === undefined) continue;
        if (/[\r\n\0]/.test(value)) fail(path, `${path}: a header value cannot hold line breaks or NUL`);
        headers[name] = value;
      }
      const signingSecret = oneOf(c.signingSecret, c.signingSecretFile, 'signingSecret');
      if (c.signingSecretFile !== undefined && signingSecret !== undefined && signingSecret.length < 16)
        fail(`${where}/signingSecretFile`, `${where}/signingSecretFile: the secret is shorter than 16 characters`);
      if (before.n || url === undefined) return undefined;
      const w: WebhookChannel = { ...common, kind: 'webhook', url, headers };
      if (signingSecret !== undefined) w.signingSecret = signingSecret;
      return withCa(w);
    }
    case 'email': {
      for (const k of ['smtp', 'from', 'to'] as const) if (c[k] === undefined) fail(where, `${where}: missing required setting '${k}' for an email channel`);
      if (!c.smtp || c.from === undefined || c.to === undefined) return undefined;
      const s = c.smtp;
      const secure = s.secure ?? s.port === 465;
      const port = s.port ?? (secure ? 465 : 587);
      if (port === 465 && !secure) fail(`${where}/smtp/secure`, `${where}/smtp/secure: port 465 speaks TLS from the start: set secure: true`);
      if (secure && (port === 25 || port === 587))
        fail(`${where}/smtp/secure`, `${where}/smtp/secure: port ${port} starts in plain text and upgrades with STARTTLS: set secure: false (STARTTLS is used when offered)`);
      if (/[\s/:@]/.test(s.host)) fail(`${where}/smtp/host`, `${where}/smtp/host: '${s.host}' is not a host name or address`);
      const pass = oneOf(s.password, s.passwordFile, 'password', `${where}/smtp`);
      if (s.user !== undefined && s.password === undefined && s.passwordFile === undefined) fail(`${where}/smtp`, `${where}/smtp: 'user' is set but no 'password' (or 'passwordFile')`);
      if (s.user === undefined && (s.password !== undefined || s.passwordFile !== undefined)) fail(`${where}/smtp`, `${where}/smtp: a password is set but no 'user'`);
      const smtp: SmtpSettings = { host: s.host, port, secure, requireTLS: s.requireTLS ?? (!secure && s.user !== undefined) };
      if (s.user !== undefined && pass !== undefined) smtp.auth = { user: s.user, pass };
      const from = checkMailbox(c.from);
      if (from) fail(`${where}/from`, `${where}/from: ${from}`);
      c.to.forEach((t, i) => {
        const p = checkMailbox(t);
        if (p) fail(`${where}/to/${i}`, `${where}/to/${i}: ${p}`);
      });
      if (before.n) return undefined;
      return withCa<EmailChannel>({ ...common, kind: 'email', smtp, from: c.from, to: c.to, subjectPrefix: c.subjectPrefix ?? '[Firebreak]' });
    }
  }
}

/** Why `url` cannot be a webhook target, or undefined when it can. Never quotes the URL (it may hold a token). */
export function checkHttpUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `the URL scheme must be http or https, not ${u.protocol.replace(/:$/, '')}`;
  if (!u.hostname) return 'the URL has no host';
  if (u.username || u.password) return 'the URL holds credentials: put them in headers (or use a token in the path) instead';
  if (u.hash) return 'the URL has a #fragment, which is never sent to the server';
  return undefined;
}

/** Why `s` is not one mailbox (`a@b.example` or `Name <a@b.example>`), or undefined. */
export function checkMailbox(s: string): string | undefined {
  if (/[\r\n\0]/.test(s)) return 'an address cannot hold line breaks';
  const parsed = addressparser(s, { flatten: true });
  if (parsed.length !== 1) return `'${s}' is not one e-mail address`;
  const a = parsed[0]!;
  if (!/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(a.address)) return `'${s}' is not an e-mail address (user@domain)`;
  return undefined;
}
