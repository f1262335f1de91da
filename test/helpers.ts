/** Shared test helpers: build rules from YAML text and evaluate them both ways. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { compileRule, MatchContext } from '../src/engine/compile.js';
import { interpretRule } from '../src/engine/interpret.js';
import { Event, type Fields } from '../src/events/event.js';
import { finalizeCollection, parseRuleText, type RuleCollection } from '../src/sigma/collection.js';
import type { SigmaRule } from '../src/sigma/model.js';
import type { ParseOptions } from '../src/sigma/parse.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export { HAVE_SHARED, SHARED, sharedPath, skipWithoutShared } from './shared.js';

export function collection(text: string, opts: ParseOptions = {}): RuleCollection {
  return finalizeCollection(parseRuleText(text, 'test.yml', opts));
}

/** Parse one rule; fails the test when it has errors. */
export function rule(text: string, opts: ParseOptions = {}): SigmaRule {
  const c = collection(text, opts);
  assert.deepEqual(
    c.errors.map((e) => e.format()),
    [],
  );
  assert.equal(c.rules.length, 1);
  return c.rules[0]!;
}

/** A minimal rule around a detection body (YAML, indented by 2 under `detection:`). */
export function detection(body: string): string {
  return `title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n${body.replace(/^/gm, '  ')}\n`;
}

export function event(fields: Record<string, unknown>): Event {
  return new Event(fields as Fields, { file: 'test' }, fields);
}

/** Evaluate compiled and interpreted; assert they agree; return the result. */
export function matches(r: SigmaRule | string, fields: Record<string, unknown>): boolean {
  const ru = typeof r === 'string' ? rule(r) : r;
  const ev = event(fields);
  const compiled = compileRule(ru)(new MatchContext(ev));
  const interpreted = interpretRule(ru, ev);
  assert.equal(compiled, interpreted, `compiled (${compiled}) and interpreted (${interpreted}) disagree on ${JSON.stringify(fields)}`);
  return compiled;
}

/** Run the CLI in-process; capture exit code, stdout and stderr. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdout, stderr });
  return { code, out, err };
}
