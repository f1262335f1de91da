/**
 * Rules: the catalogue with detection counts, enable/disable, upload (linted, errors at their line
 * and column), testing against stored events, and ATT&CK coverage (with a Navigator layer).
 */
import type { FastifyInstance } from 'fastify';
import { readAttackTags, TACTICS, techniqueName, UNASSIGNED } from '../../../detections/attack.js';
import { LEVELS, type SigmaCorrelation, type SigmaRule } from '../../../sigma/model.js';
import type { AuditRow } from '../../store/db.js';
import { principal } from '../auth/hooks.js';
import type { ApiContext } from '../context.js';
import type { CatalogRule } from '../deps.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { auditEntry, levelRank, ruleRef } from '../items.js';
import { API_LIMITS } from '../limits.js';
import { lintUpload, testRules } from '../rules/check.js';
import { ref } from '../schemas.js';

interface RuleQuery {
  q?: string;
  enabled?: boolean;
  origin?: 'bundled' | 'uploaded';
  level?: string[];
  kind?: 'sigma' | 'correlation';
  tactic?: string;
  fired?: boolean;
  sort?: 'title' | 'alerts' | 'level';
  limit?: number;
  offset?: number;
}

const FILE_NAME = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^/\\\\\\u0000-\\u001f]+\\.ya?ml$', description: 'A file name ending in .yml or .yaml (no folders)' } as const;
const YAML_TEXT = { type: 'string', minLength: 1, maxLength: API_LIMITS.ruleUploadMaxBytes } as const;

export function ruleRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, rules } = ctx;

  /** Alerts and folded detections per rule key. */
  type Counts = Map<string, { rule_key: string; alerts: number; detections: number; last: string }>;
  const alertCounts = async (): Promise<Counts> =>
    new Map(
      (
        await db.all<{ rule_key: string; alerts: number; detections: number; last: string }>(
          'SELECT rule_key, count(*) AS alerts, sum(count) AS detections, max(last_seen) AS last FROM alerts GROUP BY rule_key',
        )
      ).map((r) => [r.rule_key, r]),
    );

  const view = (r: CatalogRule, counts: Counts) => {
    const c = counts.get(r.key);
    const attack = readAttackTags(r.tags);
    return { ref: ruleRef(r.key), ...r, tactics: attack.tactics, techniques: attack.techniques, alerts: c?.alerts ?? 0, detections: c?.detections ?? 0, lastSeen: c?.last ?? null };
  };

  const byRef = (refValue: string): CatalogRule => {
    const r = rules.list().find((x) => ruleRef(x.key) === refValue);
    if (!r) throw notFound(`rule ${refValue}`);
    return r;
  };

  app.get<{ Querystring: RuleQuery }>(
    '/api/rules',
    {
      config: { access: 'read' },
      schema: {
        tags: ['rules'],
        summary: 'The loaded rules with their alert and detection counts',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', maxLength: 200, description: 'Text in the title, id, tags or file' },
            enabled: { type: 'boolean' },
            origin: { type: 'string', enum: ['bundled', 'uploaded'] },
            level: { type: 'array', items: { type: 'string', enum: LEVELS }, maxItems: LEVELS.length },
            kind: { type: 'string', enum: ['sigma', 'correlation'] },
            tactic: { type: 'string', maxLength: 64 },
            fired: { type: 'boolean', description: 'Only rules that raised alerts (or none)' },
            sort: { type: 'string', enum: ['title', 'alerts', 'level'], default: 'alerts' },
            limit: { type: 'integer', minimum: 1, maximum: API_LIMITS.pageMax, default: 50 },
            offset: { type: 'integer', minimum: 0, maximum: API_LIMITS.offsetMax, default: 0 },
          },
        },
        response: { 200: ref('RulePage') },
      },
    },
    async (req) => {
      const f = req.query;
      const counts = await alertCounts();
      const q = f.q?.toLowerCase();
      let list = rules.list().map((r) => view(r, counts));
      list = list.filter(
        (r) =>
          (f.enabled === undefined || r.enabled === f.enabled) &&
          (f.origin === undefined || r.origin === f.origin) &&
          (!f.level?.length || f.level.includes(r.level)) &&
          (f.kind === undefined || r.kind === f.kind) &&
          (f.tactic === undefined || r.tactics.includes(f.tactic)) &&
          (f.fired === undefined || r.alerts > 0 === f.fired) &&
          (!q || r.title.toLowerCase().includes(q) || (r.id ?? '').toLowerCase().includes(q) || r.file.toLowerCase().includes(q) || r.tags.some((t) => t.toLowerCase().includes(q))),
      );
      const sort = f.sort ?? 'alerts';
      list.sort((a, b) =>
        sort === 'title'
          ? a.title.localeCompare(b.title)
          : sort === 'level'
            ? levelRank(b.level) - levelRank(a.level) || a.title.localeCompare(b.title)
            : b.alerts - a.alerts || a.title.localeCompare(b.title),
      );
      const limit = f.limit ?? 50;
      const offset = f.offset ?? 0;
      return { items: list.slice(offset, offset + limit), total: list.length, limit, offset };
    },
  );

  const refParam = { type: 'object', required: ['ref'], additionalProperties: false, properties: { ref: { type: 'string', pattern: '^[0-9a-f]{16}$' } } } as const;

  app.get<{ Params: { ref: string } }>(
    '/api/rules/:ref',
    { config: { access: 'read' }, schema: { tags: ['rules'], summary: 'One rule', params: refParam, response: { 200: ref('Rule') } } },
    async (req) => view(byRef(req.params.ref), await alertCounts()),
  );

  app.put<{ Params: { ref: string }; Body: { enabled: boolean } }>(
    '/api/rules/:ref/enabled',
    {
      config: { access: 'change' },
      schema: {
        tags: ['rules'],
        summary: 'Enable or disable a rule',
        params: refParam,
        body: { type: 'object', required: ['enabled'], additionalProperties: false, properties: { enabled: { type: 'boolean' } } },
        response: { 200: ref('Rule') },
      },
    },
    async (req) => {
      const actor = principal(req).name;
      const r = byRef(req.params.ref);
      if (r.enabled === req.body.enabled) return view(r, await alertCounts());
      const updated = await rules.setEnabled(r.key, req.body.enabled, actor);
      await ctx.audit(actor, req.body.enabled ? 'rule.enable' : 'rule.disable', { kind: 'rule', id: ruleRef(r.key) }, { title: r.title, ruleId: r.id, file: r.file });
      return view(updated, await alertCounts());
    },
  );

  app.get<{ Params: { ref: string } }>(
    '/api/rules/:ref/audit',
    {
      config: { access: 'read' },
      schema: {
        tags: ['rules', 'audit'],
        summary: "A rule's audit trail (uploads, enables, disables)",
        params: refParam,
        response: { 200: { type: 'array', items: ref('AuditEntry') } },
      },
    },
    async (req) => {
      byRef(req.params.ref);
      return (await db.all<AuditRow>("SELECT * FROM audit WHERE target_kind = 'rule' AND target_id = ? ORDER BY id", req.params.ref)).map(auditEntry);
    },
  );

  app.post<{ Body: { fileName: string; yaml: string } }>(
    '/api/rules/lint',
    {
      config: { access: 'read' },
      schema: {
        tags: ['rules'],
        summary: 'Check a rule file without storing it: every problem with its line and column',
        body: { type: 'object', required: ['yaml'], additionalProperties: false, properties: { fileName: FILE_NAME, yaml: YAML_TEXT } },
        response: {
          200: { type: 'object', required: ['errors', 'rules'], additionalProperties: false, properties: { errors: { type: 'array', items: ref('LintError') }, rules: { type: 'integer' } } },
        },
      },
      bodyLimit: API_LIMITS.ruleUploadMaxBytes + 64 * 1024,
    },
    async (req) => {
      const { collection, errors } = lintUpload(req.body.yaml, req.body.fileName ?? 'rule.yml', (id) => rules.hasRuleId(id));
      return { errors, rules: collection.rules.length + collection.correlations.length };
    },
  );

  app.post<{ Body: { fileName: string; yaml: string } }>(
    '/api/rules',
    {
      config: { access: 'change' },
      schema: {
        tags: ['rules'],
        summary: 'Upload a Sigma rule file (stored disabled: test it, then enable it). Lint errors answer 422 with each error at its line and column in error.details',
        body: { type: 'object', required: ['fileName', 'yaml'], additionalProperties: false, properties: { fileName: FILE_NAME, yaml: YAML_TEXT } },
        response: { 201: { type: 'object', required: ['rules'], additionalProperties: false, properties: { rules: { type: 'array', items: ref('Rule') } } } },
      },
      bodyLimit: API_LIMITS.ruleUploadMaxBytes + 64 * 1024,
    },
    async (req, reply) => {
      const actor = principal(req).name;
      const { fileName, yaml } = req.body;
      const { errors } = lintUpload(yaml, fileName, (id) => rules.hasRuleId(id));
      if (errors.length) throw new ApiError(422, 'lint', `${fileName}: ${errors.length} problem(s); the first at line ${errors[0]!.line}, column ${errors[0]!.column}: ${errors[0]!.message}`, errors);
      const added = await rules.upload({ fileName, yaml }, actor);
      const counts = await alertCounts();
      for (const r of added) await ctx.audit(actor, 'rule.upload', { kind: 'rule', id: ruleRef(r.key) }, { title: r.title, ruleId: r.id, file: fileName });
      return reply.code(201).send({ rules: added.map((r) => view(r, counts)) });
    },
  );

  let testing = 0;
  app.post<{ Body: { yaml?: string; ref?: string; days?: number; maxMatches?: number } }>(
    '/api/rules/test',
    {
      config: { access: 'change' },
      schema: {
        tags: ['rules'],
        summary: 'Run a rule (uploaded text, or a loaded rule by ref) over the stored events of the last N days, before enabling it',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            yaml: YAML_TEXT,
            ref: { type: 'string', pattern: '^[0-9a-f]{16}$' },
            days: { type: 'integer', minimum: 1, maximum: API_LIMITS.ruleTestMaxDays, default: 7 },
            maxMatches: { type: 'integer', minimum: 0, maximum: API_LIMITS.ruleTestMaxMatches, default: 50 },
          },
        },
        response: { 200: ref('RuleTestResult') },
      },
      bodyLimit: API_LIMITS.ruleUploadMaxBytes + 64 * 1024,
    },
    async (req) => {
      const { yaml, days = 7, maxMatches = 50 } = req.body;
      if ((yaml === undefined) === (req.body.ref === undefined)) throw badRequest('bad-test', 'give exactly one of yaml or ref');
      let sigma: SigmaRule[] = [];
      let correlations: SigmaCorrelation[] = [];
      if (yaml !== undefined) {
        // Ids already loaded are fine here: testing a changed copy of a loaded rule is the point.
        const { collection, errors } = lintUpload(yaml, 'test.yml', () => false);
        if (errors.length) throw new ApiError(422, 'lint', `${errors.length} problem(s); the first at line ${errors[0]!.line}, column ${errors[0]!.column}: ${errors[0]!.message}`, errors);
        sigma = collection.rules;
        correlations = collection.correlations;
      } else {
        const r = byRef(req.body.ref!);
        const d = rules.document(r.key);
        if (!d) throw new ApiError(409, 'not-testable', `rule ${req.body.ref} has no parsed form to test here; test its YAML instead`);
        if (d.kind === 'correlation') correlations = [d];
        else sigma = [d];
      }
      if (testing >= API_LIMITS.ruleTestsConcurrent) throw new ApiError(429, 'busy', 'a rule test is already running; try again when it is done', undefined, { 'retry-after': '10' });
      testing++;
      try {
        const to = new Date();
        const from = new Date(to.getTime() - days * 86_400_000);
        return await testRules(ctx.events, sigma, correlations, { from: from.toISOString(), to: to.toISOString() }, { maxEvents: API_LIMITS.ruleTestMaxEvents, maxMatches });
      } finally {
        testing--;
      }
    },
  );

  // ---- ATT&CK coverage ----

  const coverage = async () => {
    const enabled = rules.list().filter((r) => r.enabled);
    const cells = new Map<string, Map<string, { rules: number; alerts: number }>>();
    const cell = (tactic: string, tech: string) => {
      let t = cells.get(tactic);
      if (!t) cells.set(tactic, (t = new Map<string, { rules: number; alerts: number }>()));
      let c = t.get(tech);
      if (!c) t.set(tech, (c = { rules: 0, alerts: 0 }));
      return c;
    };
    let untagged = 0;
    for (const r of enabled) {
      const a = readAttackTags(r.tags);
      if (!a.techniques.length) untagged++;
      for (const tech of a.techniques) for (const tac of a.tactics.length ? a.tactics : [UNASSIGNED]) cell(tac, tech).rules++;
    }
    const fired = await db.all<{ tactics: string; techniques: string; n: number }>('SELECT tactics, techniques, count(*) AS n FROM alerts GROUP BY tactics, techniques');
    const firedByTech = new Map<string, number>();
    for (const f of fired) {
      const tacs = safeList(f.tactics);
      for (const tech of safeList(f.techniques)) {
        firedByTech.set(tech, (firedByTech.get(tech) ?? 0) + f.n);
        for (const tac of tacs.length ? tacs : [UNASSIGNED]) cell(tac, tech).alerts += f.n;
      }
    }
    const order = [...TACTICS.map((t) => ({ id: t.id, short: t.short, name: t.name })), { id: '', short: UNASSIGNED, name: 'No tactic tagged' }];
    return {
      rulesEnabled: enabled.length,
      untagged,
      firedByTech,
      tactics: order
        .filter((t) => cells.has(t.short))
        .map((t) => ({
          ...t,
          techniques: [...cells.get(t.short)!.entries()].map(([id, c]) => ({ id, name: techniqueName(id), rules: c.rules, alerts: c.alerts })).sort((a, b) => a.id.localeCompare(b.id)),
        })),
    };
  };

  app.get(
    '/api/coverage',
    { config: { access: 'read' }, schema: { tags: ['rules'], summary: 'ATT&CK coverage: techniques of the enabled rules, per tactic, and what fired', response: { 200: ref('Coverage') } } },
    async () => {
      const c = await coverage();
      return { rulesEnabled: c.rulesEnabled, untagged: c.untagged, tactics: c.tactics };
    },
  );

  app.get(
    '/api/coverage/navigator',
    {
      config: { access: 'read' },
      schema: { tags: ['rules'], summary: 'The coverage as an ATT&CK Navigator layer (import it at the Navigator)', response: { 200: ref('NavigatorLayer') } },
    },
    async (_req, reply) => {
      const c = await coverage();
      const byTech = new Map<string, { rules: number; alerts: number }>();
      for (const t of c.tactics)
        for (const x of t.techniques) {
          const have = byTech.get(x.id);
          // A technique listed under several tactics counts its rules once (the same rules appear in each).
          if (!have) byTech.set(x.id, { rules: x.rules, alerts: c.firedByTech.get(x.id) ?? 0 });
          else have.rules = Math.max(have.rules, x.rules);
        }
      const max = Math.max(1, ...[...byTech.values()].map((v) => v.rules));
      void reply.header('content-disposition', 'attachment; filename="firebreak-coverage-layer.json"');
      return {
        name: 'Firebreak coverage',
        versions: { attack: '16', navigator: '5.1.0', layer: '4.5' },
        domain: 'enterprise-attack',
        description: `Techniques covered by ${c.rulesEnabled} enabled rules (score = rules); red techniques raised alerts.`,
        sorting: 3,
        hideDisabled: false,
        gradient: { colors: ['#e8f4e8', '#2e7d32'], minValue: 0, maxValue: max },
        legendItems: [
          { label: 'covered by enabled rules', color: '#66bb6a' },
          { label: 'raised alerts', color: '#e53935' },
        ],
        techniques: [...byTech.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([id, v]) => ({
            techniqueID: id,
            score: v.rules,
            enabled: true,
            ...(v.alerts ? { color: '#e53935' } : {}),
            comment: `${v.rules} enabled rule(s)${v.alerts ? `; ${v.alerts} alert(s)` : ''}`,
            metadata: [
              { name: 'rules', value: String(v.rules) },
              { name: 'alerts', value: String(v.alerts) },
            ],
          })),
      };
    },
  );
}

function safeList(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
