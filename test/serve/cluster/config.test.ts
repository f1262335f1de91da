/** The `cluster:` section of the serve configuration: roles, NATS, PostgreSQL; the embedded default untouched. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../../src/core/errors.js';
import { parseRoles } from '../../../src/serve/cluster/config.js';
import { parseServeConfig, type ConfigOverrides } from '../../../src/serve/config.js';

const INGEST = `listeners:
  elastic: { listen: 9200 }
tokens:
  - { source: a, secret: aaaaaaaaaaaaaaaa }
`;

const errorsOf = (text: string, overrides: ConfigOverrides = {}): string[] => {
  try {
    parseServeConfig(text, 'serve.yml', overrides);
  } catch (e) {
    assert.ok(e instanceof ConfigErrors, String(e));
    return e.errors.map((x) => x.format());
  }
  assert.fail('expected configuration errors');
};

describe('serve configuration: cluster', () => {
  it('without a cluster section the server is the embedded one', () => {
    const c = parseServeConfig(INGEST, 'serve.yml');
    assert.equal(c.cluster, undefined);
  });

  it('roles, NATS and PostgreSQL with their defaults', () => {
    const c = parseServeConfig(
      `${INGEST}api: { listen: 8080 }
cluster:
  roles: [api, detect, ingest, correlate]
  node: node-1
  nats: { servers: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"], replicas: 3 }
  postgres: { url: "postgres://firebreak@db:5432/firebreak" }
`,
      'serve.yml',
    );
    const k = c.cluster!;
    // In the order the data flows, whatever order they were written in.
    assert.deepEqual(k.roles, ['ingest', 'detect', 'correlate', 'api']);
    assert.equal(k.node, 'node-1');
    assert.deepEqual(k.nats?.servers, ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']);
    assert.equal(k.nats?.replicas, 3);
    assert.equal(k.nats?.prefix, 'FIREBREAK');
    assert.equal(k.nats?.partitions, 16);
    assert.equal(k.nats?.ackWaitMs, 30_000);
    assert.equal(k.nats?.leaseMs, 10_000);
    assert.ok(k.nats.events.maxBytes > 0 && k.nats.events.maxMessages > 0);
    assert.equal(k.postgres?.url, 'postgres://firebreak@db:5432/firebreak');
    assert.equal(k.postgres?.maxConnections, 4);
  });

  it('secrets from files, relative to the configuration', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-ccfg-'));
    writeFileSync(join(dir, 'nats.token'), 'nats-secret\n');
    writeFileSync(join(dir, 'pg.pw'), 'pg-secret\n');
    const c = parseServeConfig(
      `cluster:
  roles: [correlate]
  nats: { servers: ["nats://127.0.0.1:4222"], tokenFile: nats.token }
  postgres: { url: "postgres://fb@127.0.0.1/fb", passwordFile: pg.pw }
`,
      join(dir, 'serve.yml'),
    );
    assert.equal(c.cluster?.nats?.token, 'nats-secret');
    assert.equal(c.cluster?.postgres?.password, 'pg-secret');
  });

  it('a node without the ingest role needs no listeners; one with it does', () => {
    const detect = parseServeConfig('cluster:\n  roles: [detect]\n  nats: { servers: ["nats://127.0.0.1:4222"] }\n', 'serve.yml');
    assert.deepEqual(detect.cluster?.roles, ['detect']);
    const errs = errorsOf('cluster:\n  roles: [ingest]\n  nats: { servers: ["nats://127.0.0.1:4222"] }\n');
    assert.ok(
      errs.some((e) => /no listeners configured/.test(e)),
      errs.join('\n'),
    );
  });

  it('what each role needs is checked, with the line of the problem', () => {
    const errs = errorsOf(`${INGEST}cluster:
  roles: [ingest, correlate, api]
`);
    assert.ok(
      errs.some((e) => /^serve\.yml:6:3: \/cluster: the ingest, correlate roles need NATS/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /the correlate and api roles need PostgreSQL/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /the api role needs an 'api' section/.test(e)),
      errs.join('\n'),
    );
  });

  it('shapes are checked by the schema: unknown roles and settings, bad URLs', () => {
    const errs = errorsOf(`cluster:
  roles: [ingest, search]
  nats: { servers: ["http://x:4222"], replicaz: 3 }
  postgres: { url: "mysql://x" }
`);
    assert.ok(
      errs.some((e) => /\/cluster\/roles\/1: must be one of "ingest", "detect", "correlate", "api"/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /\/cluster\/nats: unknown setting 'replicaz'/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /\/cluster\/nats\/servers\/0: must match pattern/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /\/cluster\/postgres\/url: must match pattern/.test(e)),
      errs.join('\n'),
    );
  });

  it('unreadable secret and certificate files are named', () => {
    const errs = errorsOf(`cluster:
  roles: [detect]
  nats: { servers: ["nats://127.0.0.1:4222"], user: fb, passwordFile: /nonexistent/pw, tls: { ca: /nonexistent/ca.pem, cert: /nonexistent/c.pem } }
`);
    assert.ok(
      errs.some((e) => /\/cluster\/nats\/password: cannot read \/nonexistent\/pw: ENOENT/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /\/cluster\/nats\/tls\/ca: cannot read/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /a client certificate needs both cert and key/.test(e)),
      errs.join('\n'),
    );
  });

  it('--roles overrides the file, so one file serves every node', () => {
    const text = `${INGEST}api: { listen: 8080 }
cluster:
  roles: [ingest]
  nats: { servers: ["nats://127.0.0.1:4222"] }
  postgres: { url: "postgres://fb@127.0.0.1/fb" }
`;
    const roles = parseRoles('correlate, api');
    assert.ok(Array.isArray(roles));
    assert.deepEqual(parseServeConfig(text, 'serve.yml', { roles }).cluster?.roles, ['correlate', 'api']);
    assert.equal(parseRoles('ingest,serach'), "unknown role 'serach': the roles are ingest, detect, correlate, api");
    const errs = errorsOf(INGEST, { roles: ['detect'] });
    assert.ok(
      errs.some((e) => /roles are given on the command line but the configuration has no cluster section/.test(e)),
      errs.join('\n'),
    );
  });
});
