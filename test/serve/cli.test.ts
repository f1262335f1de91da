/**
 * The server's command line: `token add` edits the configuration (comments kept, secret in a
 * 0600 file, the result still valid), `user add/list/disable` manage the state database, bad
 * input is refused with a reason, and `serve --demo --once` replays the sample until its story
 * is told.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseServeConfig } from '../../src/serve/config.js';

const BIN = fileURLToPath(new URL('../../../bin/firebreak.js', import.meta.url));
const cli = (args: string[], opts: { input?: string; cwd?: string } = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input: opts.input ?? '', cwd: opts.cwd, timeout: 300_000 });

describe('serve command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'firebreak.yml');
  writeFileSync(
    config,
    `# the shippers' server\ndata: ./data\nlisteners:\n  elastic: { listen: 127.0.0.1:0 }\ntokens:\n  - { source: old, secret: "0123456789abcdef0123", protocols: [elastic] } # kept\n`,
  );

  it('token add writes a secret file and a valid entry, keeping comments; twice is refused', () => {
    const r = cli(['token', 'add', 'dc-beats', '--protocols', 'elastic,hec', '--config', config]);
    assert.equal(r.status, 0, r.stderr);
    const secret = /secret: (\S+)/.exec(r.stdout)![1]!;
    const file = join(dir, 'secrets', 'dc-beats.token');
    assert.equal(readFileSync(file, 'utf8').trim(), secret);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(config, 'utf8');
    assert.match(text, /# the shippers' server/);
    assert.match(text, /# kept/);
    const cfg = parseServeConfig(text, config);
    const t = cfg.tokens.find((x) => x.source === 'dc-beats')!;
    assert.equal(t.secret, secret);
    assert.deepEqual([...t.protocols].sort(), ['elastic', 'hec']);
    assert.equal(cli(['token', 'add', 'dc-beats', '--protocols', 'elastic', '--config', config]).status, 1);
    assert.equal(cli(['token', 'add', 'x', '--protocols', 'smtp', '--config', config]).status, 2);
    assert.equal(cli(['token', 'add', '../evil', '--protocols', 'elastic', '--config', config]).status, 2);
  });

  it('user add, list, disable; weak passwords and unknown roles refused', () => {
    const add = cli(['user', 'add', 'alice', '--role', 'analyst', '--config', config], { input: 'a long enough passphrase\n' });
    assert.equal(add.status, 0, add.stderr);
    const weak = cli(['user', 'add', 'bob', '--role', 'admin', '--config', config], { input: 'short\n' });
    assert.equal(weak.status, 1);
    assert.match(weak.stderr, /password/);
    assert.equal(cli(['user', 'add', 'carol', '--role', 'root', '--config', config], { input: 'a long enough passphrase\n' }).status, 2);
    assert.equal(cli(['user', 'disable', 'alice', '--config', config]).status, 0);
    const list = cli(['user', 'list', '--data', join(dir, 'data')]);
    assert.match(list.stdout, /^alice\tanalyst\tdisabled\t/m);
    assert.doesNotMatch(list.stdout, /bob|carol/);
  });

  it('serve without a configuration says how to start; a bad one is named with its line', () => {
    const none = cli(['serve'], { cwd: dir + '/secrets' });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--demo/);
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'listeners:\n  elastic: { lisen: 9200 }\n');
    const r = cli(['serve', '--config', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.yml:2:/);
  });

  it('serve --demo --once replays the sample intrusion and tells its story', () => {
    const r = cli(['serve', '--demo', '--once', '--speed', '1000000']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Replay done: 4964 events acknowledged/);
    assert.match(r.stdout, /st-[0-9a-f]{12} .*patient zero WS009/);
  });
});
