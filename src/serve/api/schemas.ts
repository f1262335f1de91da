/**
 * The JSON schemas of what the API returns, registered as shared schemas so the OpenAPI document
 * names them (`#/components/schemas/Alert`…) and the console can generate its types from it.
 * Responses are serialised through these schemas: a property not listed is not sent, so nothing
 * leaks by accident. Nullable values are `[type, 'null']` (a bare `string` would turn null into "").
 */
import { LEVELS } from '../../sigma/model.js';
import { ALERT_STATUSES, RESOLUTIONS, ROLES } from '../store/db.js';
import { ERROR_SCHEMA } from './errors.js';

const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const nint = { type: ['integer', 'null'] } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const strs = { type: 'array', items: str } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const level = { type: 'string', enum: LEVELS } as const;
const nlevel = { type: ['string', 'null'], enum: [...LEVELS, null] } as const;
const status = { type: 'string', enum: ALERT_STATUSES } as const;
const resolution = { type: ['string', 'null'], enum: [...RESOLUTIONS, null] } as const;
const role = { type: 'string', enum: ROLES } as const;
const ref = (id: string) => ({ $ref: `${id}#` }) as const;

/** An object schema whose listed properties are all present. */
function obj(properties: Record<string, unknown>, extra: { additionalProperties?: boolean; description?: string } = {}) {
  return { type: 'object', required: Object.keys(properties), properties, additionalProperties: extra.additionalProperties ?? false, ...(extra.description ? { description: extra.description } : {}) };
}

/** An object schema whose listed properties are all present, and `optional` ones may be. */
function withOptional(optional: Record<string, unknown>, properties: Record<string, unknown>) {
  const o = obj(properties);
  return { ...o, properties: { ...o.properties, ...optional } };
}

const page = (item: string) => obj({ items: { type: 'array', items: ref(item) }, total: int, limit: int, offset: int });

const technique = obj({ id: nstr, name: str });

const STORY = {
  $id: 'Story',
  description: 'A story: detections joined into one incident across hosts and accounts (src/stories/model.ts).',
  ...obj(
    {
      id: str,
      score: num,
      firstSeen: str,
      lastSeen: str,
      earned: { ...str, description: 'Why this is a story and not a lone alert' },
      hosts: { type: 'array', items: withOptional({ firstSuspicious: obj({ at: str, title: str }) }, { computer: str, firstTouched: str, detections: int, maxLevel: nlevel, addresses: strs }) },
      patientZero: {
        oneOf: [
          { type: 'null' },
          { type: 'object', required: ['computer', 'why'], properties: { computer: str, why: str, entry: obj({ from: str, at: str, technique }) }, additionalProperties: false },
        ],
      },
      spread: {
        type: 'array',
        items: withOptional(
          { attempt: { ...bool, description: 'Only failed attempts were seen: it reached nothing' } },
          {
            from: str,
            fromKind: { type: 'string', enum: ['host', 'ip'] },
            to: str,
            at: str,
            technique,
            techniques: { type: 'array', items: technique },
            detections: { type: 'array', items: obj({ id: nstr, title: str }) },
            evidence: { ...str, description: 'Why this movement is part of the story' },
          },
        ),
      },
      context: {
        type: 'array',
        description: 'Movement into its hosts without evidence, or routine: context, not spread',
        items: obj({ from: str, fromKind: { type: 'string', enum: ['host', 'ip'] }, to: str, at: str, technique, why: str }),
      },
      routine: { type: 'array', description: 'Routine activity on its hosts, left out of it, with the reason', items: obj({ why: str, detections: int }) },
      accounts: strs,
      sourceIps: strs,
      tactics: { type: 'array', items: obj({ id: str, short: str, name: str, first: obj({ at: str, computer: nstr, title: str, significant: bool }) }) },
      techniques: strs,
      levels: { type: 'object', additionalProperties: int },
      detections: int,
      correlations: int,
      topRules: { type: 'array', items: obj({ id: nstr, title: str, level, count: int }) },
      narrative: str,
      timeline: {
        type: 'array',
        items: obj({ timestamp: str, computer: nstr, title: str, ruleId: nstr, level, kind: { type: 'string', enum: ['sigma', 'correlation'] }, eventId: nint, recordId: nint }),
      },
      omitted: obj({ timeline: int, hosts: int, accounts: int, sourceIps: int, spread: int, rules: int, context: int }),
    },
    { additionalProperties: true },
  ),
};

const DETECTION = {
  $id: 'Detection',
  description: 'The first detection of an alert: the rule, the event it matched (flat Sigma field names) and the fields the rule matched on (src/detections/record.ts).',
  type: 'object',
  additionalProperties: true,
  properties: {
    timestamp: nstr,
    computer: nstr,
    channel: nstr,
    provider: nstr,
    eventId: nint,
    recordId: nint,
    level: str,
    rule: { type: 'object', additionalProperties: true, properties: { id: nstr, title: str, level: str, tags: strs, kind: str } },
    matched: { type: 'object', additionalProperties: str },
    event: anyObject,
  },
};

const ALERT_PROPS = {
  id: int,
  ruleKey: str,
  ruleRef: str,
  ruleId: nstr,
  ruleTitle: str,
  kind: { type: 'string', enum: ['sigma', 'correlation'] },
  level: str,
  host: nstr,
  users: strs,
  tactics: strs,
  techniques: strs,
  firstSeen: str,
  lastSeen: str,
  count: int,
  suppressed: int,
  status,
  resolution,
  assignee: nstr,
  storyId: nstr,
  createdAt: str,
  updatedAt: str,
};

const STORY_SUMMARY_PROPS = {
  id: str,
  mergedInto: nstr,
  mergedFrom: strs,
  score: num,
  level: str,
  title: str,
  firstSeen: str,
  lastSeen: str,
  hosts: int,
  patientZero: nstr,
  tactics: strs,
  accounts: int,
  alerts: int,
  status,
  resolution,
  assignee: nstr,
  createdAt: str,
  updatedAt: str,
  escalatedAt: nstr,
};

const logonSource = obj({ source: str, kind: { type: 'string', enum: ['ip', 'host'] }, via: { type: 'string', enum: ['alert', 'story', 'events'] }, count: int, lastAt: nstr });
const seen = obj({ first: nstr, last: nstr });
const eventActivity = {
  oneOf: [{ type: 'null' }, obj({ first: nstr, last: nstr, events: int, histogram: ref('Histogram') })],
  description: 'From the event store (null when it could not be asked: a name the field filter cannot express).',
};

/** Every shared schema, in the order they may reference each other. */
export const SHARED_SCHEMAS: Record<string, unknown>[] = [
  ERROR_SCHEMA,
  { $id: 'Ok', ...obj({ ok: { type: 'boolean', const: true } }) },
  STORY,
  DETECTION,
  { $id: 'Comment', ...obj({ id: int, author: str, body: str, createdAt: str }) },
  {
    $id: 'AuditEntry',
    description: 'One line of the audit trail: who did what to which item, with the details (old and new values).',
    ...obj({ id: int, at: str, actor: str, action: str, targetKind: nstr, targetId: nstr, detail: anyObject }),
  },
  { $id: 'Alert', ...obj(ALERT_PROPS) },
  {
    $id: 'AlertDetail',
    ...obj({ ...ALERT_PROPS, detection: ref('Detection'), comments: { type: 'array', items: ref('Comment') }, audit: { type: 'array', items: ref('AuditEntry') } }),
  },
  { $id: 'AlertPage', ...page('Alert') },
  { $id: 'StorySummary', ...obj(STORY_SUMMARY_PROPS) },
  {
    $id: 'StoryDetail',
    ...obj({
      ...STORY_SUMMARY_PROPS,
      story: { oneOf: [{ type: 'null' }, ref('Story')], description: 'The story with merged stories joined in and split-out detections left out (null if the stored JSON is damaged).' },
      splitAlerts: { type: 'array', items: int },
      alerts: ref('AlertPage'),
      comments: { type: 'array', items: ref('Comment') },
      audit: { type: 'array', items: ref('AuditEntry') },
    }),
  },
  { $id: 'StoryPage', ...page('StorySummary') },
  {
    $id: 'Counts',
    ...obj({
      since: str,
      alerts: obj({ created: int, updated: int, byLevel: { type: 'object', additionalProperties: int } }),
      stories: obj({ created: int, updated: int, byLevel: { type: 'object', additionalProperties: int } }),
    }),
  },
  {
    $id: 'QueryResult',
    ...obj({ columns: { type: 'array', items: obj({ name: str, type: str }) }, rows: { type: 'array', items: { type: 'array', items: {} } }, truncated: bool, elapsedMs: num }),
  },
  { $id: 'Histogram', ...obj({ from: str, to: str, bucketMs: num, counts: { type: 'array', items: int } }) },
  {
    $id: 'Rule',
    ...obj({
      ref: { type: 'string', description: 'Short handle of the rule key, used in URLs' },
      key: str,
      id: nstr,
      title: str,
      level,
      status: nstr,
      kind: { type: 'string', enum: ['sigma', 'correlation'] },
      tags: strs,
      tactics: strs,
      techniques: strs,
      description: nstr,
      logsource: { oneOf: [{ type: 'null' }, { type: 'object', properties: { product: str, category: str, service: str }, additionalProperties: true }] },
      file: str,
      origin: { type: 'string', enum: ['bundled', 'uploaded'] },
      enabled: bool,
      alerts: { type: 'integer', description: 'Alerts this rule raised' },
      detections: { type: 'integer', description: 'Detections folded into those alerts' },
      lastSeen: nstr,
    }),
  },
  { $id: 'RulePage', ...page('Rule') },
  {
    $id: 'LintError',
    description: 'A problem in an uploaded rule, at its line and column (1-based; 0 when unknown).',
    ...obj({ code: str, message: str, line: int, column: int }),
  },
  {
    $id: 'RuleTestResult',
    ...obj({
      rules: { type: 'array', items: obj({ id: nstr, title: str, level }) },
      from: str,
      to: str,
      scanned: int,
      matched: int,
      truncated: { type: 'boolean', description: 'The scan stopped at its event cap before the time range was covered' },
      byHost: { type: 'array', items: obj({ host: nstr, count: int }) },
      matches: { type: 'array', items: ref('Detection') },
      notTested: { type: 'array', items: obj({ title: str, reason: str }) },
    }),
  },
  {
    $id: 'Coverage',
    ...obj({
      rulesEnabled: int,
      tactics: {
        type: 'array',
        items: obj({
          id: str,
          short: str,
          name: str,
          techniques: { type: 'array', items: obj({ id: str, name: str, rules: int, alerts: int }) },
        }),
      },
      untagged: { type: 'integer', description: 'Enabled rules with no ATT&CK technique tag' },
    }),
  },
  {
    $id: 'NavigatorLayer',
    description: 'An ATT&CK Navigator layer (format 4.5): score = enabled rules; techniques that fired are coloured and commented.',
    type: 'object',
    additionalProperties: true,
    required: ['name', 'versions', 'domain', 'techniques'],
    properties: {
      name: str,
      versions: obj({ attack: str, navigator: str, layer: str }),
      domain: str,
      description: str,
      techniques: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: true,
          required: ['techniqueID', 'score'],
          properties: { techniqueID: str, score: num, color: str, comment: str, enabled: bool, metadata: { type: 'array', items: obj({ name: str, value: str }) } },
        },
      },
    },
  },
  {
    $id: 'Health',
    ...withOptional(
      {
        nodes: {
          type: 'array',
          description: "A cluster's api node: every node's last report (docs/scale-out.md, Health); absent in the embedded server",
          items: obj({
            node: str,
            roles: strs,
            startedAt: str,
            reportedAt: str,
            ageSeconds: num,
            stale: { type: 'boolean', description: 'No report for a few intervals: the node stopped or cannot reach PostgreSQL' },
            report: { ...anyObject, description: 'sources, refused, backpressure, pipeline, drops, detect, correlate, rules, ingestTokens' },
          }),
        },
      },
      {
        startedAt: str,
        backpressure: bool,
        sources: {
          type: 'array',
          items: obj({ source: str, protocol: str, accepted: int, rejected: int, bytes: int, lastAt: nstr, ratePerSec: { type: 'number', description: 'Records per second over the last minute' } }),
        },
        refused: { type: 'object', additionalProperties: obj({ auth: int, busy: int, errors: int }) },
        wal: obj({ lagRecords: int, lagBytes: int, diskBytes: int }),
        pipeline: obj({ eventsProcessed: int, detections: int, suppressed: int, late: int, watermark: nstr, lagMs: { type: ['number', 'null'] } }),
        drops: { type: 'object', additionalProperties: int },
        storage: obj({ eventBytes: int, eventDays: int, events: int, stateBytes: int, eventStoreRestarts: int, fieldNames: int, fieldNamesDropped: int, eventStoreError: nstr }),
        notifications: {
          type: 'array',
          items: obj({ channel: str, sent: int, pending: int, failing: int, lastError: nstr, nextRetryAt: nstr }),
        },
        liveStreams: int,
      },
    ),
  },
  {
    $id: 'Session',
    ...obj({ user: str, role, via: { type: 'string', enum: ['session', 'api-key'] }, csrfToken: nstr, expiresAt: nstr }),
  },
  { $id: 'User', ...obj({ name: str, role, createdAt: str, disabled: bool }) },
  { $id: 'ApiKey', ...obj({ id: str, name: str, role, createdBy: str, createdAt: str, revoked: bool }) },
  {
    $id: 'IngestToken',
    description: 'A token shippers send with their data (never its secret). Tokens of the configuration file have no id and cannot be revoked here.',
    ...obj({
      id: nstr,
      source: str,
      protocols: { type: 'array', items: { type: 'string', enum: ['elastic', 'otlp', 'hec'] } },
      origin: { type: 'string', enum: ['config', 'api'] },
      createdBy: nstr,
      createdAt: nstr,
      revoked: bool,
      revokedAt: nstr,
    }),
  },
  {
    $id: 'HostFacts',
    ...obj({
      name: str,
      alerts: obj({ total: int, open: int, byLevel: { type: 'object', additionalProperties: int }, recent: { type: 'array', items: ref('Alert') } }),
      stories: { type: 'array', items: ref('StorySummary') },
      seen: seen,
      events: eventActivity,
      accounts: { type: 'array', items: obj({ name: str, alerts: int }) },
      logonSources: { type: 'array', items: logonSource },
      touched: { type: 'array', items: obj({ host: str, via: { type: 'string', enum: ['story', 'events'] }, at: nstr }), description: 'Hosts this one reached (spread edges from it)' },
    }),
  },
  {
    $id: 'AccountFacts',
    ...obj({
      name: str,
      alerts: obj({ total: int, open: int, byLevel: { type: 'object', additionalProperties: int }, recent: { type: 'array', items: ref('Alert') } }),
      stories: { type: 'array', items: ref('StorySummary') },
      seen: seen,
      events: eventActivity,
      logonSources: { type: 'array', items: logonSource },
      hosts: { type: 'array', items: obj({ host: str, via: { type: 'string', enum: ['alert', 'events'] }, count: int, lastAt: nstr }), description: 'Hosts the account touched' },
    }),
  },
  {
    $id: 'EntityList',
    ...obj({ items: { type: 'array', items: obj({ name: str, alerts: int, firstSeen: str, lastSeen: str, maxLevel: str }) }, total: int, limit: int, offset: int }),
  },
  {
    $id: 'LiveEvent',
    description: 'One message of /api/stream (SSE `data:`); the SSE event name is `type`.',
    ...obj({
      id: str,
      type: { type: 'string', enum: ['alert.created', 'alert.updated', 'story.created', 'story.updated'] },
      at: str,
      data: { type: 'object', required: ['id'], properties: { id: str, summary: {} }, additionalProperties: false },
    }),
  },
];

export { ref };
