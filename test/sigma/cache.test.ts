/** The parsed-rules cache: same collection as a parse, invalidated by any change to a rule file. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadRulesCached } from '../../src/sigma/cache.js';
import { loadRules } from '../../src/sigma/collection.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-cache-'));
const cache = join(dir, 'cache');
const rules = join(dir, 'rules');
after(() => {
  delete process.env.FIREBREAK_CACHE_DIR;
  rmSync(dir, { recursive: true, force: true });
});

const rule = (title: string, value: string) => `title: ${title}\nlogsource: {product: windows}\ndetection:\n  s: {A|contains: '${value}', N|gte: 1e400}\n  condition: s\n`;

describe('rules cache', () => {
  it('returns what a parse returns, from the cache the second time, and follows changes', () => {
    process.env.FIREBREAK_CACHE_DIR = cache;
    mkdirSync(rules, { recursive: true });
    writeFileSync(join(rules, 'a.yml'), rule('A', 'one'));
    writeFileSync(join(rules, 'bad.yml'), 'title: bad\nlogsource: {product: windows}\ndetection: {s: {A|nope: 1}, condition: s}\n');
    const first = loadRulesCached([rules]);
    assert.equal(readdirSync(cache).length, 1, 'an entry was written');
    const second = loadRulesCached([rules]);
    const parsed = loadRules([rules]);
    for (const c of [first, second]) {
      assert.deepEqual(c.rules, parsed.rules);
      assert.deepEqual(
        c.errors.map((e) => e.format()),
        parsed.errors.map((e) => e.format()),
      );
    }
    assert.equal(second.rules[0]!.searches.s!.kind, 'and');
    // A changed rule file gives a new parse, not the old entry.
    writeFileSync(join(rules, 'a.yml'), rule('A', 'two-longer'));
    const third = loadRulesCached([rules]);
    assert.match(JSON.stringify(third.rules[0]), /two-longer/);
    assert.equal(readdirSync(cache).length, 2);
    // Off switch.
    process.env.FIREBREAK_NO_CACHE = '1';
    writeFileSync(join(rules, 'b.yml'), rule('B', 'three'));
    assert.equal(loadRulesCached([rules]).rules.length, 2);
    assert.equal(readdirSync(cache).length, 2, 'nothing written when off');
    delete process.env.FIREBREAK_NO_CACHE;
  });

  it('gives cached rules their searches only when asked, exactly, and keeps a search written before', () => {
    process.env.FIREBREAK_CACHE_DIR = join(dir, 'cache-lazy');
    writeFileSync(join(rules, 'c.yml'), rule('C', 'four'));
    const parsed = loadRules([rules]);
    loadRulesCached([rules]);
    const cached = loadRulesCached([rules]);
    const isLazy = (i: number) => typeof Object.getOwnPropertyDescriptor(cached.rules[i], 'searches')?.get === 'function';
    assert.ok(
      cached.rules.every((_, i) => isLazy(i)),
      'not read back yet',
    );
    assert.deepEqual(Object.keys(cached.rules[0]!), Object.keys(parsed.rules[0]!), 'the properties keep their order');
    const mine = { s: { kind: 'and', items: [] } } as unknown as (typeof cached.rules)[number]['searches'];
    cached.rules[2]!.searches = mine;
    assert.ok(isLazy(0) && isLazy(1) && !isLazy(2), 'writing one reads none back');
    // A copy of a rule carries its searches.
    assert.equal(JSON.stringify(structuredClone(cached.rules[1])), JSON.stringify(parsed.rules[1]));
    assert.ok(!isLazy(0) && !isLazy(1), 'read back once for all');
    assert.equal(cached.rules[2]!.searches, mine, 'a search written before is kept');
    assert.deepEqual(cached.rules[0]!.searches, parsed.rules[0]!.searches);
    assert.deepEqual(cached.rules.slice(0, 2), parsed.rules.slice(0, 2));
  });

  it('an entry whose searches were damaged is not used: the rules are parsed again', () => {
    process.env.FIREBREAK_CACHE_DIR = join(dir, 'cache-damaged');
    writeFileSync(join(rules, 'c.yml'), rule('C', 'damage-me'));
    loadRulesCached([rules]);
    const [entry] = readdirSync(process.env.FIREBREAK_CACHE_DIR);
    const path = join(process.env.FIREBREAK_CACHE_DIR, entry!);
    const bytes = readFileSync(path);
    const at = bytes.indexOf('damage-me');
    assert.ok(at > 0, 'the search value is in the entry');
    bytes[at] = 'D'.charCodeAt(0);
    writeFileSync(path, bytes);
    const again = loadRulesCached([rules]);
    assert.deepEqual(again.rules, loadRules([rules]).rules);
    assert.match(JSON.stringify(again.rules), /damage-me/);
    assert.doesNotMatch(JSON.stringify(again.rules), /Damage-me/);
  });
});
