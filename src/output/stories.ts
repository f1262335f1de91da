/**
 * Stories for people and programs: a compact block for the terminal summary, and `--stories
 * FILE.jsonl` (one story per line, the `Story` shape of ./model.ts as JSON).
 */
import { TextSink, type OutputTarget } from './sink.js';
import type { Story } from '../stories/model.js';
import { techniquePhrase } from '../detections/attack.js';

const WIDTH = 100;

/** The top `max` stories as plain text for the terminal (no colour; the caller may add it). */
export function renderStoriesText(stories: readonly Story[], max = 5): string {
  if (!stories.length) return 'Stories: none (no group of detections earned its place: lone alerts and routine stay in the detections).\n';
  const out: string[] = [`Stories: ${stories.length} (top ${Math.min(max, stories.length)} by score)`];
  stories.slice(0, max).forEach((s, i) => {
    const lv = (['critical', 'high', 'medium', 'low'] as const)
      .filter((l) => s.levels[l])
      .map((l) => `${s.levels[l]} ${l}`)
      .join(', ');
    out.push('');
    out.push(
      ...wrap(
        `${i + 1}. score ${s.score} · ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'} · ${s.detections} detection${s.detections === 1 ? '' : 's'} (${lv || 'informational'}) · ${range(s.firstSeen, s.lastSeen)} · ${s.id}`,
        '   ',
      ),
    );
    out.push(...wrap(`   why a story: ${s.earned}`, '                '));
    if (s.patientZero) out.push(...wrap(`   patient zero: ${s.patientZero.computer} (${s.patientZero.why})`, '                 '));
    if (s.spread.length) {
      const shown = s.spread.slice(0, 6).map((e) => `${e.from} → ${e.to} ${e.at.slice(11, 16)} ${techniquePhrase(e.technique)}${e.attempt ? ' (tried, not reached)' : ''} [${e.evidence}]`);
      out.push(...wrap(`   spread: ${shown.join('; ')}${s.spread.length > 6 ? `; +${s.spread.length - 6} more` : ''}`, '           '));
    }
    if (s.context.length)
      out.push(
        ...wrap(
          `   context (not spread): ${s.context.length + s.omitted.context} movement${s.context.length + s.omitted.context === 1 ? '' : 's'} into its hosts, e.g. ${s.context[0]!.from} → ${s.context[0]!.to} (${s.context[0]!.why})`,
          '                          ',
        ),
      );
    const routine = s.routine.reduce((n, r) => n + r.detections, 0);
    if (routine)
      out.push(
        ...wrap(
          `   routine left out: ${routine} detection${routine === 1 ? '' : 's'}: ${s.routine
            .slice(0, 2)
            .map((r) => r.why)
            .join('; ')}${s.routine.length > 2 ? '; …' : ''}`,
          '                     ',
        ),
      );
    if (s.tactics.length) out.push(...wrap(`   tactics: ${s.tactics.map((t) => t.name).join(' → ')}`, '            '));
    if (s.accounts.length) out.push(...wrap(`   accounts: ${s.accounts.slice(0, 6).join(', ')}${s.accounts.length > 6 ? ` +${s.accounts.length - 6}` : ''}`, '             '));
    out.push(...wrap(`   ${s.narrative}`, '   '));
  });
  if (stories.length > max) out.push('', `… ${stories.length - max} more (see --stories or the report).`);
  return out.join('\n') + '\n';
}

function range(a: string, b: string): string {
  const x = a.slice(0, 16).replace('T', ' ');
  const y = b.slice(0, 16).replace('T', ' ');
  return (x.slice(0, 10) === y.slice(0, 10) ? `${x}–${y.slice(11)}` : `${x} – ${y}`) + ' UTC';
}

/** Word-wrap one line at WIDTH, continuation lines indented with `indent`. */
function wrap(line: string, indent: string): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > WIDTH) {
    let cut = rest.lastIndexOf(' ', WIDTH);
    if (cut <= indent.length) cut = WIDTH;
    out.push(rest.slice(0, cut));
    rest = indent + rest.slice(cut).trimStart();
  }
  out.push(rest);
  return out;
}

/** `--stories FILE.jsonl`: one story per line. */
export class StoriesJsonlWriter {
  private readonly sink: TextSink;
  rows = 0;

  constructor(target: OutputTarget) {
    this.sink = new TextSink(target, 'stories');
  }

  /** Add one story; returns a promise (to await) only when the destination is saturated. */
  write(s: Story): void | Promise<void> {
    this.rows++;
    if (!this.sink.write(JSON.stringify(s) + '\n')) return this.sink.drain();
  }

  /** Write them all, in order. */
  async writeAll(stories: readonly Story[]): Promise<void> {
    for (const s of stories) await this.write(s);
  }

  close(): Promise<void> {
    return this.sink.close();
  }

  async abort(): Promise<void> {
    await this.sink.close().catch(() => undefined);
  }
}
