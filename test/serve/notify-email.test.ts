import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import PostalMime from 'postal-mime';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { Notifier, type ChannelHealth } from '../../src/serve/notify/notifier.js';
import { have, makeCerts, until } from './ingest-helpers.js';
import { hostileStory, notifyConfig, tempDb } from './notify-helpers.js';

interface Mail {
  from: string;
  to: string[];
  raw: string;
  user: string | undefined;
  secure: boolean;
}

/** An SMTP server on loopback that keeps every message it accepts. */
async function smtp(opts: SMTPServerOptions = {}): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    ...opts,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
          secure: session.secure,
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function channel(n: Notifier, name: string): ChannelHealth {
  return n.health().channels.find((x) => x.name === name)!;
}

describe('notifications: e-mail over SMTP', () => {
  it('a story arrives as one mail with a plain and an escaped HTML part; escalations thread under it', async () => {
    const server = await smtp();
    const { db } = tempDb();
    const n = new Notifier(
      db,
      notifyConfig(
        `  channels:\n    - name: mail\n      kind: email\n      smtp: { host: 127.0.0.1, port: ${server.port} }\n      from: "Firebreak <firebreak@corp.example>"\n      to: [soc@corp.example, "On call <oncall@corp.example>"]\n      subjectPrefix: "[SOC]"\n`,
      ),
    );
    n.start();
    try {
      n.enqueue({ kind: 'story-created', story: hostileStory(), url: 'https://fb.example.com/stories/st-1' });
      await until(() => channel(n, 'mail').sent === 1, 'the mail');
      assert.equal(server.mails.length, 1);
      const m = server.mails[0]!;
      assert.equal(m.from, 'firebreak@corp.example');
      assert.deepEqual(m.to, ['soc@corp.example', 'oncall@corp.example']);
      const email = await PostalMime.parse(m.raw);
      assert.equal(email.subject, '[SOC] New critical story (score 87): Mimikatz & friends <img src=x onerror=alert(1)> on <script>alert(1)</script> and 2 more hosts');
      assert.match(email.text ?? '', /Patient zero: <script>alert\(1\)<\/script> \(first host with a high detection/);
      assert.match(email.text ?? '', /Open the story in Firebreak: https:\/\/fb\.example\.com\/stories\/st-1/);
      const html = email.html ?? '';
      assert.ok(!html.includes('<script>') && !html.includes('<img') && !html.includes('<b>'), html);
      assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
      assert.match(html, /<a href="https:\/\/fb\.example\.com\/stories\/st-1">/);
      const header = (k: string) => email.headers.find((h) => h.key === k)?.value;
      assert.equal(header('x-firebreak-story'), 'st-0123456789abcdef');
      const created = email.messageId;
      assert.equal(created, '<firebreak.mail.st-0123456789abcdef.created@corp.example>');

      n.enqueue({ kind: 'story-escalated', story: hostileStory({ score: 99 }), previous: { score: 87, level: 'critical' } });
      await until(() => channel(n, 'mail').sent === 2, 'the escalation');
      const e2 = await PostalMime.parse(server.mails[1]!.raw);
      assert.match(e2.subject ?? '', /^\[SOC\] Story escalated to critical \(score 99\)/);
      assert.equal(e2.inReplyTo, created);
      assert.match(e2.text ?? '', /Score: 87 → 99/);
    } finally {
      await n.stop();
      db.close();
      await server.close();
    }
  });

  it('a relay that refuses a recipient (5xx) fails at once; one that is down is retried', async () => {
    const server = await smtp({
      onRcptTo(addr, _s, cb) {
        cb(addr.address.startsWith('nobody') ? Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }) : null);
      },
    });
    // A port that was free a moment ago: connections to it are refused.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const downPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { db } = tempDb();
    const logs: string[] = [];
    const n = new Notifier(
      db,
      notifyConfig(
        [
          '  retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 20 }',
          '  channels:',
          `    - { name: refused, kind: email, smtp: { host: 127.0.0.1, port: ${server.port} }, from: fb@corp.example, to: [nobody@corp.example] }`,
          `    - { name: down, kind: email, smtp: { host: 127.0.0.1, port: ${downPort} }, from: fb@corp.example, to: [soc@corp.example], timeoutMs: 2000 }`,
          '',
        ].join('\n'),
      ),
      { log: (l, m) => logs.push(`${l}: ${m}`) },
    );
    n.start();
    try {
      n.enqueue({ kind: 'story-created', story: hostileStory() });
      await until(() => channel(n, 'refused').failed === 1 && channel(n, 'down').failed === 1, 'both given up');
      const refused = channel(n, 'refused').lastError!.message;
      assert.match(refused, /550/);
      assert.doesNotMatch(refused, /gave up after/, 'a permanent refusal is not retried');
      assert.match(channel(n, 'down').lastError!.message, /ECONNREFUSED|ESOCKET|ECONNECTION/);
      assert.match(channel(n, 'down').lastError!.message, /gave up after 2 attempts/);
      assert.equal(server.mails.length, 0);
      assert.match(logs.join('\n'), /to down failed \(attempt 1\), retrying in \d+ ms/);
    } finally {
      await n.stop();
      db.close();
      await server.close();
    }
  });

  it('STARTTLS with a private CA and a password from a file; a wrong password is not retried', { skip: !have('openssl') && 'openssl is not installed' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-notify-tls-'));
    const certs = makeCerts(dir, []);
    const server = await smtp({
      disabledCommands: [],
      authOptional: false,
      key: readFileSync(certs.key),
      cert: readFileSync(certs.cert),
      onAuth(auth, _s, cb) {
        cb(auth.username === 'firebreak' && auth.password === 'correct horse' ? null : Object.assign(new Error('Invalid credentials'), { responseCode: 535 }), { user: auth.username });
      },
    });
    writeFileSync(join(dir, 'good.pass'), 'correct horse\n');
    writeFileSync(join(dir, 'bad.pass'), 'wrong\n');
    const { db } = tempDb();
    const ch = (name: string, pass: string) =>
      `    - { name: ${name}, kind: email, ca: ${certs.ca}, smtp: { host: localhost, port: ${server.port}, user: firebreak, passwordFile: ${pass} }, from: fb@corp.example, to: [soc@corp.example] }`;
    const n = new Notifier(db, notifyConfig(['  retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 }', '  channels:', ch('good', 'good.pass'), ch('bad', 'bad.pass'), ''].join('\n'), dir));
    n.start();
    try {
      n.enqueue({ kind: 'story-created', story: hostileStory() });
      await until(() => channel(n, 'good').sent === 1 && channel(n, 'bad').failed === 1, 'one sent, one refused');
      assert.equal(server.mails.length, 1);
      assert.equal(server.mails[0]!.user, 'firebreak');
      assert.equal(server.mails[0]!.secure, true, 'sent over STARTTLS');
      assert.match(channel(n, 'bad').lastError!.message, /535/);
      assert.doesNotMatch(channel(n, 'bad').lastError!.message, /correct horse|wrong/);
    } finally {
      await n.stop();
      db.close();
      await server.close();
    }
  });
});
