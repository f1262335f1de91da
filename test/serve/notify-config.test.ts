import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/core/errors.js';
import { parseServeConfig } from '../../src/serve/config.js';
import { checkHttpUrl, checkMailbox } from '../../src/serve/notify/config.js';
import { notifyConfig } from './notify-helpers.js';

const HEAD = 'listeners:\n  syslog:\n    udp: { listen: 0, source: s, allow: [127.0.0.1] }\nnotifications:\n';

const errorsOf = (section: string, dir?: string): string[] => {
  const file = dir ? join(dir, 'serve.yml') : 'serve.yml';
  try {
    parseServeConfig(HEAD + section, file);
  } catch (e) {
    assert.ok(e instanceof ConfigErrors, String(e));
    return e.errors.map((x) => x.format().replace(file, 'serve.yml'));
  }
  assert.fail('expected configuration errors');
};

describe('notifications configuration', () => {
  it('absent: no channels, default delivery settings', () => {
    const c = parseServeConfig(HEAD.replace('notifications:\n', ''), 'serve.yml').notifications;
    assert.deepEqual(c.channels, []);
    assert.equal(c.retry.maxAttempts, 10);
    assert.equal(c.concurrency, 4);
  });

  it('one channel of each kind, secrets read from files relative to the config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-ncfg-'));
    writeFileSync(join(dir, 'hook.auth'), 'Bearer abc123\n');
    writeFileSync(join(dir, 'slack.url'), 'https://hooks.slack.com/services/T0/B0/xyz\n');
    writeFileSync(join(dir, 'smtp.pass'), 's3cret\n');
    writeFileSync(join(dir, 'hmac'), '0123456789abcdef0123\n');
    const c = notifyConfig(
      [
        '  retry: { maxAttempts: 5, maxAgeMinutes: 60, initialDelayMs: 500, maxDelayMs: 60000 }',
        '  channels:',
        '    - name: soc-hook',
        '      kind: webhook',
        '      url: https://soar.example.com/hooks/firebreak',
        '      headers: { Authorization: { file: hook.auth }, X-Team: soc }',
        '      signingSecretFile: hmac',
        '      minScore: 50',
        '    - { name: soc-slack, kind: slack, urlFile: slack.url, minLevel: high, events: [story-escalated] }',
        '    - name: soc-mail',
        '      kind: email',
        '      smtp: { host: smtp.example.com, user: firebreak, passwordFile: smtp.pass }',
        '      from: "Firebreak <firebreak@example.com>"',
        '      to: [soc@example.com, "On call <oncall@example.com>"]',
        '',
      ].join('\n'),
      dir,
    );
    assert.deepEqual(c.retry, { maxAttempts: 5, maxAgeMs: 3_600_000, initialDelayMs: 500, maxDelayMs: 60000 });
    const [hook, slack, mail] = c.channels;
    assert.ok(hook?.kind === 'webhook');
    assert.deepEqual(hook.headers, { Authorization: 'Bearer abc123', 'X-Team': 'soc' });
    assert.equal(hook.signingSecret, '0123456789abcdef0123');
    assert.equal(hook.minScore, 50);
    assert.deepEqual(hook.events, ['story-created', 'story-escalated']);
    assert.equal(hook.timeoutMs, 10_000);
    assert.ok(slack?.kind === 'slack');
    assert.equal(slack.url, 'https://hooks.slack.com/services/T0/B0/xyz');
    assert.equal(slack.minLevel, 'high');
    assert.deepEqual(slack.events, ['story-escalated']);
    assert.ok(mail?.kind === 'email');
    // Port 587 (STARTTLS) by default; credentials are never sent unencrypted unless told so.
    assert.deepEqual(mail.smtp, { host: 'smtp.example.com', port: 587, secure: false, requireTLS: true, auth: { user: 'firebreak', pass: 's3cret' } });
    assert.equal(mail.subjectPrefix, '[Firebreak]');
  });

  it('port 465 means TLS from the start', () => {
    const c = notifyConfig('  channels:\n    - { name: m, kind: email, smtp: { host: mx.example.com, port: 465 }, from: a@example.com, to: [b@example.com] }\n');
    assert.ok(c.channels[0]?.kind === 'email');
    assert.equal(c.channels[0].smtp.secure, true);
    assert.equal(c.channels[0].smtp.requireTLS, false);
  });

  it('refuses wrong settings with their line and a clear reason', () => {
    const errs = errorsOf(
      [
        '  channels:',
        '    - { name: a, kind: webhook, url: "ftp://example.com/x" }',
        '    - { name: b, kind: webhook, url: "https://user:pw@example.com/x" }',
        '    - { name: c, kind: slack, url: "https://hooks.slack.com/x", to: [x@example.com] }',
        '    - { name: d, kind: slack }',
        '    - { name: a, kind: webhook, url: "https://example.com/x", headers: { "Content-Type": text/plain, "X-Evil": "a\\r\\nInjected: 1", "bad name": x } }',
        '    - { name: f, kind: email, smtp: { host: mx.example.com, port: 465, secure: false }, from: "not an address", to: ["x@example.com, y@example.com"] }',
        '    - { name: g, kind: email, smtp: { host: mx.example.com, port: 587, secure: true, user: u }, from: a@example.com, to: [b@example.com] }',
        '    - { name: h, kind: webhook, url: "https://example.com", urlFile: nope.txt }',
        '    - { name: i, kind: email, from: a@example.com }',
        '    - { name: j, kind: slack, url: "http://chat.example.com/hooks/x", ca: ca.pem }',
        '',
      ].join('\n'),
    );
    const text = errs.join('\n');
    const expect = [
      /serve\.yml:6:\d+: \/notifications\/channels\/0\/url: the URL scheme must be http or https, not ftp/,
      /serve\.yml:7:\d+: \/notifications\/channels\/1\/url: the URL holds credentials/,
      /serve\.yml:8:\d+: \/notifications\/channels\/2\/to: 'to' is not a setting of a slack channel/,
      /serve\.yml:9:\d+: \/notifications\/channels\/3: missing 'url' \(or 'urlFile'\)/,
      /serve\.yml:10:\d+: \/notifications\/channels\/4\/name: 'a' is already the name of \/notifications\/channels\/0/,
      /\/notifications\/channels\/4\/headers\/Content-Type: 'Content-Type' is set by Firebreak itself/,
      /\/notifications\/channels\/4\/headers\/X-Evil: a header value cannot hold line breaks/,
      /\/notifications\/channels\/4\/headers\/bad name: 'bad name' is not a valid header name/,
      /\/notifications\/channels\/5\/smtp\/secure: port 465 speaks TLS from the start: set secure: true/,
      /\/notifications\/channels\/5\/from: 'not an address' is not an e-mail address/,
      /\/notifications\/channels\/5\/to\/0: 'x@example\.com, y@example\.com' is not one e-mail address/,
      /\/notifications\/channels\/6\/smtp\/secure: port 587 starts in plain text/,
      /\/notifications\/channels\/6\/smtp: 'user' is set but no 'password'/,
      /\/notifications\/channels\/7: give 'url' or 'urlFile', not both/,
      /\/notifications\/channels\/8: missing required setting 'smtp' for an email channel/,
      /\/notifications\/channels\/8: missing required setting 'to' for an email channel/,
      /\/notifications\/channels\/9\/ca: cannot read .*ca\.pem: ENOENT/,
      /\/notifications\/channels\/9\/ca: the URL is plain http, so a certificate authority has no use: use https/,
    ];
    for (const re of expect) assert.match(text, re);
    // Schema errors (a wrong kind, an unknown setting) are reported before the checks above run.
    const schema = errorsOf('  channels:\n    - { name: "bad name", kind: sms, lvl: 3 }\n').join('\n');
    assert.match(schema, /serve\.yml:6:\d+: \/notifications\/channels\/0: unknown setting 'lvl'/);
    assert.match(schema, /\/notifications\/channels\/0\/kind: must be one of "webhook", "slack", "email"/);
    assert.match(schema, /\/notifications\/channels\/0\/name: must match pattern/);
  });

  it('a secret file that cannot be read is named; the URL (a secret itself) is never quoted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-ncfg-'));
    writeFileSync(join(dir, 'slack.url'), 'javascript:alert(1)//hooks.slack.com/services/T0/B0/topsecret\n');
    const errs = errorsOf(
      '  channels:\n    - { name: s, kind: slack, urlFile: slack.url }\n    - { name: w, kind: webhook, url: "https://example.com/", headers: { X-Key: { file: missing.key } } }\n',
      dir,
    ).join('\n');
    assert.match(errs, /\/notifications\/channels\/0\/urlFile: the URL scheme must be http or https, not javascript/);
    assert.doesNotMatch(errs, /topsecret/);
    assert.match(errs, /\/notifications\/channels\/1\/headers\/X-Key\/file: cannot read .*missing\.key: ENOENT/);
  });

  it('URL and address checks', () => {
    assert.equal(checkHttpUrl('https://hooks.slack.com/services/a/b/c'), undefined);
    assert.equal(checkHttpUrl('http://10.0.0.1:8080/x?y=1'), undefined);
    assert.match(checkHttpUrl('hooks.slack.com/services')!, /not a valid URL/);
    assert.match(checkHttpUrl('file:///etc/passwd')!, /scheme/);
    assert.match(checkHttpUrl('https://example.com/#frag')!, /fragment/);
    assert.equal(checkMailbox('Firebreak <fb@example.com>'), undefined);
    assert.match(checkMailbox('fb@example.com\r\nBcc: x@evil.example')!, /line breaks/);
    assert.match(checkMailbox('fb@localhost')!, /not an e-mail address/);
  });
});
