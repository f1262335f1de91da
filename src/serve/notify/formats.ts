/**
 * A story notice in each channel's format: the generic webhook's JSON, a Slack-compatible message
 * (`text` for notifications and for Mattermost/Rocket.Chat-style receivers that ignore blocks,
 * `blocks` for Slack), and an e-mail (plain text and simple HTML). Host names, accounts, titles
 * and narratives come from logs, so from attackers: in Slack every such value has `&`, `<` and `>`
 * escaped (so `<!channel>` or `<https://evil|bank>` are shown, never acted on) and text objects are
 * `verbatim` (no automatic mentions or links); in HTML every value is escaped; nothing from a log
 * ever becomes a link target.
 */
import { escapeHtml } from '../../output/report/html.js';
import { clean, cut, type StoryNotice } from './message.js';
import { NOTIFY_LIMITS } from './limits.js';

/** What a delivery is, beside the notice: the outbox row id and when it was queued. */
export interface DeliveryInfo {
  deliveryId: string;
  queuedAt: string;
}

/** The generic webhook's JSON body (docs/serve.md, "Notifications"). */
export function webhookBody(n: StoryNotice, d: DeliveryInfo): Record<string, unknown> {
  return {
    source: 'firebreak',
    kind: n.kind,
    deliveryId: d.deliveryId,
    queuedAt: d.queuedAt,
    story: {
      id: n.storyId,
      title: n.title,
      score: n.score,
      level: n.level,
      previous: n.previous,
      firstSeen: n.firstSeen,
      lastSeen: n.lastSeen,
      patientZero: n.patientZero,
      hosts: n.hosts,
      hostCount: n.hostCount,
      accounts: n.accounts,
      accountCount: n.accountCount,
      tactics: n.tactics,
      techniques: n.techniques,
      techniqueCount: n.techniqueCount,
      detections: n.detections,
      narrative: n.narrative,
      url: n.url,
    },
  };
}

/** Slack's control characters escaped: `&`, `<`, `>` (docs.slack.dev, "Formatting text"). */
export function slackEscape(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Escaped text cut to `max` characters without splitting an entity. */
function slackFit(raw: string, max: number): string {
  const e = slackEscape(raw);
  if (e.length <= max) return e;
  return cut(e, max).replace(/&[a-z]{0,4}…$/, '…');
}

/** A link target we made ourselves (the console URL), only http(s); `null` otherwise. */
function safeLink(url: string | null): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

const LEVEL_EMOJI: Record<string, string> = { critical: ':red_circle:', high: ':large_orange_circle:', medium: ':large_yellow_circle:', low: ':white_circle:', informational: ':white_circle:' };

function headline(n: StoryNotice): string {
  return n.kind === 'story-created' ? `New ${n.level} story` : `Story escalated to ${n.level}`;
}

function scoreLine(n: StoryNotice): string {
  const score = n.previous ? `${n.previous.score} → ${n.score}` : String(n.score);
  const level = n.previous && n.previous.level !== n.level ? `${n.previous.level} → ${n.level}` : n.level;
  return `score ${score} · ${level} · ${n.hostCount} host${n.hostCount === 1 ? '' : 's'} · ${n.detections} detection${n.detections === 1 ? '' : 's'}`;
}

function listText(items: readonly string[], total: number, sep = ', '): string {
  if (!items.length) return '—';
  return items.join(sep) + (total > items.length ? ` and ${total - items.length} more` : '');
}

/** `2026-08-05T14:03:11.000Z` → `2026-08-05 14:03:11 UTC` (anything else is shown as it is). */
function when(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** The Slack incoming-webhook body: `text` (fallback) and Block Kit `blocks`. */
export function slackMessage(n: StoryNotice): { text: string; blocks: Record<string, unknown>[] } {
  const L = NOTIFY_LIMITS.slack;
  const md = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });
  const field = (label: string, raw: string) => md(`*${label}*\n${slackFit(raw, L.fieldMaxChars - label.length - 3)}`);
  const link = safeLink(n.url);
  const emoji = LEVEL_EMOJI[n.level] ?? '';
  const fields = [
    field('Patient zero', n.patientZero ? `${n.patientZero.host} (${n.patientZero.why})` : 'not determined'),
    field(`Hosts (${n.hostCount})`, listText(n.hosts, n.hostCount)),
    field('First seen', when(n.firstSeen)),
    field('Last seen', when(n.lastSeen)),
    field('Tactics', n.tactics.length ? n.tactics.join(' → ') : '—'),
    field(`Accounts (${n.accountCount})`, listText(n.accounts, n.accountCount)),
  ].slice(0, L.maxFields);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${headline(n)} — Firebreak`, L.headerMaxChars), emoji: true } },
    { type: 'section', text: md(`${emoji} *${slackFit(n.title, L.sectionMaxChars - 200)}*\n${slackEscape(scoreLine(n))}`) },
    { type: 'section', fields },
  ];
  if (n.narrative) blocks.push({ type: 'section', text: md(slackFit(n.narrative, L.sectionMaxChars)) });
  if (link) blocks.push({ type: 'section', text: md(`<${slackLinkTarget(link)}|Open the story in Firebreak>`) });
  const techniques = n.techniques.length ? ` · ${listText(n.techniques, n.techniqueCount)}` : '';
  blocks.push({ type: 'context', elements: [md(slackFit(`story ${n.storyId}${techniques}`, L.sectionMaxChars))] });
  const text =
    slackFit(`${headline(n)} (${scoreLine(n)}): ${n.title} — patient zero ${n.patientZero?.host ?? 'not determined'}`, L.textMaxChars - 200) + (link ? ` <${slackLinkTarget(link)}|open>` : '');
  return { text: `${emoji} ${text}`, blocks };
}

/** A URL inside Slack's `<url|label>`: `|` and `>` would end it early, and `&`/`<` must be escaped. */
function slackLinkTarget(url: string): string {
  return slackEscape(url.replace(/\|/g, '%7C'));
}

/** Subject, plain text and HTML of the e-mail. */
export function emailMessage(n: StoryNotice, subjectPrefix: string): { subject: string; text: string; html: string } {
  const link = safeLink(n.url);
  const rows: [string, string][] = [
    ['Score', n.previous ? `${n.previous.score} → ${n.score}` : String(n.score)],
    ['Level', n.previous && n.previous.level !== n.level ? `${n.previous.level} → ${n.level}` : n.level],
    ['Patient zero', n.patientZero ? `${n.patientZero.host} (${n.patientZero.why})` : 'not determined'],
    [`Hosts (${n.hostCount})`, listText(n.hosts, n.hostCount)],
    [`Accounts (${n.accountCount})`, listText(n.accounts, n.accountCount)],
    ['Tactics', n.tactics.length ? n.tactics.join(' → ') : '—'],
    ['Techniques', listText(n.techniques, n.techniqueCount)],
    ['First seen', when(n.firstSeen)],
    ['Last seen', when(n.lastSeen)],
    ['Detections', String(n.detections)],
    ['Story', n.storyId],
  ];
  const subject = cut(`${clean(subjectPrefix, 64)} ${headline(n)} (score ${n.score}): ${n.title}`.trim(), 200);
  const text = [`${headline(n)} — ${scoreLine(n)}`, n.title, '', ...rows.map(([k, v]) => `${k}: ${v}`), '', n.narrative, '', link ? `Open the story in Firebreak: ${link}` : ''].join('\n').trimEnd();
  const h = escapeHtml;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<p style="color:#555">${h(headline(n))} — ${h(scoreLine(n))}</p>`,
    `<h2 style="margin:0 0 12px">${h(n.title)}</h2>`,
    '<table cellpadding="4" style="border-collapse:collapse">',
    ...rows.map(([k, v]) => `<tr><th align="left" valign="top">${h(k)}</th><td>${h(v)}</td></tr>`),
    '</table>',
    `<p style="white-space:pre-wrap">${h(n.narrative)}</p>`,
    link ? `<p><a href="${h(link)}">Open the story in Firebreak</a></p>` : '',
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
