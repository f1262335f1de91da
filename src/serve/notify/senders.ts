/**
 * One sender per channel: an HTTP POST of JSON (generic webhook, Slack-compatible) or an e-mail
 * over SMTP (nodemailer). A sender makes one attempt and says how it went; retrying, timing out
 * and recording are the notifier's. Each attempt is bounded: the caller's signal (timeout or
 * shutdown) aborts it, and at most NOTIFY_LIMITS.responseMaxBytes of an answer is read.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import nodemailer, { type NodemailerError } from 'nodemailer';
import type { ChannelConfig, EmailChannel, SlackChannel, WebhookChannel } from './config.js';
import { emailMessage, slackMessage, webhookBody, type DeliveryInfo } from './formats.js';
import { NOTIFY_LIMITS } from './limits.js';
import { clean, type StoryNotice } from './message.js';

/** How one attempt went. A permanent failure is not retried (the same request would fail again). */
export type Outcome = { ok: true } | { ok: false; permanent: boolean; error: string; retryAfterMs?: number };

export interface Sender {
  send(n: StoryNotice, d: DeliveryInfo, signal: AbortSignal): Promise<Outcome>;
  /** Releases connections (kept-alive sockets, the SMTP transport). */
  close(): void;
}

const USER_AGENT = 'firebreak-notify/1';

/** The sender for a channel. */
export function createSender(ch: ChannelConfig, concurrency: number): Sender {
  switch (ch.kind) {
    case 'webhook':
    case 'slack':
      return new HttpSender(ch, concurrency);
    case 'email':
      return new SmtpSender(ch);
  }
}

/** An error in a form fit to store and show: no stack, no control characters, capped. */
export function describeError(e: unknown): string {
  if (e instanceof AggregateError && !e.message) return describeError(e.errors[0] ?? (e as Error & { code?: string }).code ?? 'connection failed');
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const msg = e.message || code || e.name;
    return clean(code && !msg.includes(code) ? `${code}: ${msg}` : msg, NOTIFY_LIMITS.errorMaxChars);
  }
  return clean(String(e), NOTIFY_LIMITS.errorMaxChars);
}

/** `Retry-After` (seconds or an HTTP date) in milliseconds, if it says anything sensible. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** What an HTTP status means for a notification. */
export function httpOutcome(status: number, headers: http.IncomingHttpHeaders, body: string): Outcome {
  if (status >= 200 && status < 300) return { ok: true };
  const detail = `HTTP ${status}${body.trim() ? `: ${clean(body.trim(), 200)}` : ''}`;
  // A redirect's target is not followed: a webhook that moved must be configured anew (and
  // following it could send the signed body and its headers somewhere else).
  if (status >= 300 && status < 400) return { ok: false, permanent: true, error: `${detail} (a redirect: configure the address it points to)` };
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headers['retry-after']);
    return retryAfterMs === undefined ? { ok: false, permanent: false, error: detail } : { ok: false, permanent: false, error: detail, retryAfterMs };
  }
  return { ok: false, permanent: true, error: detail };
}

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** POSTs `body`; resolves with the status and the start of the answer. */
function post(url: URL, body: string, headers: Record<string, string>, agent: http.Agent, signal: AbortSignal): Promise<HttpAnswer> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: 'POST', agent, signal, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      };
      res.on('data', (c: Buffer) => {
        if (done) return;
        chunks.push(c.subarray(0, NOTIFY_LIMITS.responseMaxBytes - size));
        size += c.length;
        // Enough to explain a failure: an endless answer is cut off, not read.
        if (size >= NOTIFY_LIMITS.responseMaxBytes) {
          finish();
          res.destroy();
        }
      });
      res.on('end', finish);
      res.on('error', (e) => (done ? undefined : reject(e)));
      res.on('close', () => (done ? undefined : reject(new Error('the connection closed before the answer was complete'))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

class HttpSender implements Sender {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(
    private readonly ch: WebhookChannel | SlackChannel,
    concurrency: number,
  ) {
    this.url = new URL(ch.url);
    const opts = { keepAlive: true, maxSockets: concurrency };
    // A configured CA is trusted besides the public ones, not instead of them.
    this.agent = this.url.protocol === 'https:' ? new https.Agent({ ...opts, ...(ch.ca ? { ca: [...rootCertificates, ch.ca] } : {}) }) : new http.Agent(opts);
  }

  async send(n: StoryNotice, d: DeliveryInfo, signal: AbortSignal): Promise<Outcome> {
    const ch = this.ch;
    const body = JSON.stringify(ch.kind === 'slack' ? slackMessage(n) : webhookBody(n, d));
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': USER_AGENT };
    if (ch.kind === 'webhook') {
      Object.assign(headers, ch.headers, { 'x-firebreak-event': n.kind, 'x-firebreak-delivery': d.deliveryId });
      if (ch.signingSecret) {
        const ts = String(Math.floor(Date.now() / 1000));
        headers['x-firebreak-timestamp'] = ts;
        headers['x-firebreak-signature'] = 'sha256=' + createHmac('sha256', ch.signingSecret).update(`${ts}.${body}`).digest('hex');
      }
    }
    try {
      const a = await post(this.url, body, headers, this.agent, signal);
      return httpOutcome(a.status, a.headers, a.body);
    } catch (e) {
      return { ok: false, permanent: false, error: describeError(e) };
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

class SmtpSender implements Sender {
  private readonly transport: ReturnType<typeof nodemailer.createTransport>;
  private readonly domain: string;

  constructor(private readonly ch: EmailChannel) {
    const s = ch.smtp;
    const t = ch.timeoutMs;
    this.transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: s.requireTLS,
      ...(s.auth ? { auth: { user: s.auth.user, pass: s.auth.pass } } : {}),
      ...(ch.ca ? { tls: { ca: [...rootCertificates, ch.ca] } } : {}),
      connectionTimeout: t,
      greetingTimeout: t,
      socketTimeout: t,
      dnsTimeout: t,
      // The message is built from our own strings: never let it read files or fetch URLs.
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    this.domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(ch.from)?.[1] ?? 'firebreak.invalid';
  }

  /** Message ids that let mail clients thread a story's escalations under its creation. */
  private messageId(n: StoryNotice, suffix: string): string {
    const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
    return `<firebreak.${safe(this.ch.name)}.${safe(n.storyId)}.${suffix}@${this.domain}>`;
  }

  async send(n: StoryNotice, d: DeliveryInfo, signal: AbortSignal): Promise<Outcome> {
    const m = emailMessage(n, this.ch.subjectPrefix);
    const created = this.messageId(n, 'created');
    try {
      await this.transport.sendMail({
        from: this.ch.from,
        to: this.ch.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        messageId: n.kind === 'story-created' ? created : this.messageId(n, `escalated-${d.deliveryId}`),
        ...(n.kind === 'story-created' ? {} : { inReplyTo: created, references: [created] }),
        headers: { 'X-Firebreak-Event': n.kind, 'X-Firebreak-Story': n.storyId, 'X-Firebreak-Delivery': d.deliveryId },
        signal,
      });
      return { ok: true };
    } catch (e) {
      const err = e as NodemailerError;
      // A 5xx reply (bad recipient, refused credentials) would be refused again: not retried.
      return { ok: false, permanent: err.permanent === true || err.code === 'ECONFIG', error: describeError(e) };
    }
  }

  close(): void {
    this.transport.close();
  }
}
