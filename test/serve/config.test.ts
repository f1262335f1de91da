import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/core/errors.js';
import { loadServeConfig, parseListen, parseServeConfig } from '../../src/serve/config.js';

const errorsOf = (text: string): string[] => {
  try {
    parseServeConfig(text, 'serve.yml');
  } catch (e) {
    assert.ok(e instanceof ConfigErrors, String(e));
    return e.errors.map((x) => x.format());
  }
  assert.fail('expected configuration errors');
};

describe('serve configuration', () => {
  it('defaults: loopback, limits from src/core/limits.ts, paths relative to the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-cfg-'));
    const file = join(dir, 'serve.yml');
    writeFileSync(file, 'listeners:\n  elastic: { listen: 9200 }\ntokens:\n  - { source: a, secret: aaaaaaaaaaaaaaaa }\n');
    const c = await loadServeConfig(file);
    assert.deepEqual(c.listeners.elastic?.listen, { host: '127.0.0.1', port: 9200 });
    assert.equal(c.listeners.elastic?.version, '8.17.0');
    assert.equal(c.wal.dir, join(dir, 'firebreak-data/wal'));
    assert.equal(c.limits.recordMaxBytes, 1024 * 1024);
    assert.deepEqual(c.tokens[0]!.protocols, ['elastic', 'otlp', 'hec']);
    assert.equal(c.file, file);
  });

  it('every problem is reported with its line and column', () => {
    const errs = errorsOf(
      [
        'listeners:',
        '  elastic:',
        '    lisen: 9200',
        '  hec: { listen: "localhost:99999" }',
        'tokens:',
        '  - { source: a, secret: short }',
        'backpressure: { highWaterBytes: 10, lowWaterBytes: 20 }',
        '',
      ].join('\n'),
    );
    assert.ok(
      errs.some((e) => /^serve\.yml:3:5: \/listeners\/elastic: unknown setting 'lisen'$/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /^serve\.yml:3:5: \/listeners\/elastic: missing required setting 'listen'$/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /^serve\.yml:6:\d+: \/tokens\/0\/secret: must NOT have fewer than 16 characters$/.test(e)),
      errs.join('\n'),
    );
  });

  it('checks what the schema cannot: ports, CIDRs, duplicate secrets, readable files, water marks', () => {
    const errs = errorsOf(
      [
        'listeners:',
        '  hec: { listen: "localhost:99999" }',
        '  syslog:',
        '    udp: { listen: 514, source: s, allow: [10.0.0.0/33] }',
        '  otlp: { listen: 4318, tls: { cert: nope.pem, key: nope.key } }',
        'tokens:',
        '  - { source: a, secret: aaaaaaaaaaaaaaaa }',
        '  - { source: b, secret: aaaaaaaaaaaaaaaa }',
        'backpressure: { highWaterBytes: 10, lowWaterBytes: 20 }',
        '',
      ].join('\n'),
    );
    const text = errs.join('\n');
    assert.match(text, /serve\.yml:2:\d+: \/listeners\/hec\/listen: port 99999 is out of range/);
    assert.match(text, /serve\.yml:4:\d+: \/listeners\/syslog\/udp\/allow\/0: '10\.0\.0\.0\/33' is not an address or CIDR block/);
    assert.match(text, /\/listeners\/otlp\/tls\/cert: cannot read .*nope\.pem: ENOENT/);
    assert.match(text, /serve\.yml:8:\d+: \/tokens\/1: the same secret is already used by \/tokens\/0/);
    assert.match(text, /lowWaterBytes: must be below highWaterBytes/);
  });

  it('a YAML syntax error and an empty file are reported, not thrown raw', () => {
    assert.match(errorsOf('listeners: [\n')[0]!, /^serve\.yml:\d+:\d+: /);
    assert.match(errorsOf('')[0]!, /no listeners configured/);
  });

  it('listen addresses', () => {
    assert.deepEqual(parseListen('0.0.0.0:514'), { host: '0.0.0.0', port: 514 });
    assert.deepEqual(parseListen('[::1]:6514'), { host: '::1', port: 6514 });
    assert.equal(typeof parseListen('nope'), 'string');
  });
});
