/**
 * Notifications of `firebreak serve` (docs/serve.md, "Notifications"): a story created or
 * escalated is queued in the state database's outbox with the batch that made it, and delivered
 * in the background to webhooks, Slack-compatible webhooks and e-mail.
 */
export { NOTIFICATIONS_SCHEMA, NOTIFY_EVENT_KINDS, defaultNotifications, resolveNotifications } from './config.js';
export type { ChannelConfig, ChannelKind, EmailChannel, NotificationsConfig, NotifyEventKind, RetryPolicy, SlackChannel, SmtpSettings, WebhookChannel } from './config.js';
export { noticeOf, storyLevel, storyTitle, type NotifyEvent, type StoryNotice } from './message.js';
export { enqueue, wants } from './outbox.js';
export { Notifier, backoffDelay, notifyMetrics, type ChannelHealth, type NotifierOptions, type NotifyHealth } from './notifier.js';
