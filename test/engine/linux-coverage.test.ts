/**
 * What each Linux log source can detect. For every SigmaHQ Linux rule, a true-positive event is
 * generated from its detection (the first way through its condition that needs no regex; filters
 * left unmet) and written as each log source that can carry it would write it: raw audit records
 * (auditd alone), a Sysmon for Linux XML event, a syslog line. The text goes through the real
 * readers and the routed engine; a rule counts for a source when it fires there. A rule has a
 * usable detection when it fires from at least one source. The table printed is the share of
 * those rules each source detects.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordError } from '../../src/core/errors.js';
import { Engine } from '../../src/engine/engine.js';
import type { Event } from '../../src/events/event.js';
import { LinuxStream } from '../../src/readers/linux/stream.js';
import { defaultRuleDirs } from '../../src/sigma/bundled.js';
import { loadRules } from '../../src/sigma/collection.js';
import type { ConditionNode, SearchExpr, SigmaRule, ValueMatcher } from '../../src/sigma/model.js';

type Assignment = Map<string | null, string[]>;

function valueFor(m: ValueMatcher): string | undefined {
  switch (m.kind) {
    case 'string':
      return m.parts.map((p) => (typeof p === 'string' ? p : p.wildcard === '?' ? 'x' : '')).join('');
    case 'number':
    case 'bool':
      return String(m.value);
    case 'cidr':
      return m.network.split('/')[0];
    case 'exists':
      return m.value ? 'x' : undefined;
    case 'anyOf':
      for (const v of m.values) {
        const x = valueFor(v);
        if (x !== undefined) return x;
      }
      return undefined;
    default:
      return undefined;
  }
}

function merge(into: Assignment, from: Assignment): void {
  for (const [k, v] of from) into.set(k, [...(into.get(k) ?? []), ...v]);
}

function searchAssign(e: SearchExpr): Assignment | undefined {
  if (e.kind === 'item') {
    if (e.negate) return new Map();
    const vals = e.all ? e.values.map(valueFor) : [e.values.map(valueFor).find((x) => x !== undefined)];
    if (!vals.length || vals.some((x) => x === undefined)) return undefined;
    return new Map([[e.field, vals as string[]]]);
  }
  if (e.kind === 'and') {
    const out: Assignment = new Map();
    for (const i of e.items) {
      const a = searchAssign(i);
      if (!a) return undefined;
      merge(out, a);
    }
    return out;
  }
  for (const i of e.items) {
    const a = searchAssign(i);
    if (a) return a;
  }
  return undefined;
}

const isFilter = (name: string) => /^(filter|falsepositive)/i.test(name);

function condAssign(rule: SigmaRule, n: ConditionNode): Assignment | undefined {
  switch (n.kind) {
    case 'ref':
      return rule.searches[n.name] ? searchAssign(rule.searches[n.name]!) : undefined;
    case 'not':
      return new Map();
    case 'and': {
      const out: Assignment = new Map();
      for (const i of n.items) {
        const a = condAssign(rule, i);
        if (!a) return undefined;
        merge(out, a);
      }
      return out;
    }
    case 'or':
      for (const i of n.items) {
        const a = condAssign(rule, i);
        if (a) return a;
      }
      return undefined;
    case 'of': {
      const names = n.names.filter((x) => !isFilter(x) || n.names.every(isFilter));
      if (n.quantifier === 'all') {
        const out: Assignment = new Map();
        for (const x of names) {
          const a = rule.searches[x] ? searchAssign(rule.searches[x]) : undefined;
          if (!a) return undefined;
          merge(out, a);
        }
        return out;
      }
      for (const x of names) {
        const a = rule.searches[x] ? searchAssign(rule.searches[x]) : undefined;
        if (a) return a;
      }
      return undefined;
    }
  }
}

/** One value per field (several needs of one field joined by spaces), and the keywords. */
function flatten(a: Assignment): { fields: Record<string, string>; keywords: string[] } {
  const fields: Record<string, string> = {};
  for (const [k, v] of a) if (k !== null) fields[k] = v.join(' ');
  return { fields, keywords: a.get(null) ?? [] };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
/** An audit value as auditd writes it: quoted when plain, hex otherwise. */
const auditValue = (s: string) => (/^[\x21\x23-\x7e]+$/.test(s) ? `"${s}"` : hex(s));

function read(kind: 'audit' | 'syslog', lines: string[]): Event[] {
  const s = new LinuxStream('gen');
  const out: (Event | RecordError)[] = [];
  lines.forEach((l, i) => out.push(...(kind === 'audit' ? s.auditLine(l, { file: 'gen', line: i + 1 }) : s.syslogLine(l, { file: 'gen', line: i + 1 }))));
  out.push(...s.finish());
  return out.filter((x): x is Event => !(x instanceof RecordError));
}

const SYSMON_IDS: Record<string, number> = { process_creation: 1, network_connection: 3, file_event: 11 };

function sysmonEvents(rule: SigmaRule, g: { fields: Record<string, string>; keywords: string[] }): Event[] {
  const cat = rule.logsource.category;
  const id = cat ? SYSMON_IDS[cat] : rule.logsource.service ? undefined : 1;
  if (id === undefined) return [];
  const data: Record<string, string> = { RuleName: '-', UtcTime: '2024-03-01 10:00:00.000', ProcessGuid: '{1}', ProcessId: '4242', Image: '/usr/bin/true', User: 'root', ...g.fields };
  if (g.keywords.length) data.CommandLine = [data.CommandLine, ...g.keywords].filter(Boolean).join(' ');
  const items = Object.entries(data)
    .map(([k, v]) => `<Data Name="${esc(k)}">${esc(v)}</Data>`)
    .join('');
  const xml = `<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>${id}</EventID><Version>5</Version><Level>4</Level><Task>${id}</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2024-03-01T10:00:00.000000000Z"/><EventRecordID>1</EventRecordID><Correlation/><Execution ProcessID="900" ThreadID="900"/><Channel>Linux-Sysmon/Operational</Channel><Computer>gen</Computer><Security UserId="0"/></System><EventData>${items}</EventData></Event>`;
  return read('syslog', [`Mar  1 10:00:00 gen sysmon[900]: ${xml}`]);
}

function auditEvents(rule: SigmaRule, g: { fields: Record<string, string>; keywords: string[] }): Event[] {
  const { category, service } = rule.logsource;
  const hdr = (serial: number) => `msg=audit(1709287200.000:${serial}):`;
  if (category === 'process_creation') {
    const f = g.fields;
    const lines: string[] = [];
    const exec = (serial: number, pid: number, ppid: number, image: string, cmd: string, cwd?: string, user?: string, auid = '1000') => {
      const uid = !user || user === 'root' ? '0' : '1000';
      const enriched = user && user !== 'root' ? `\x1dUID="${user}"` : '';
      lines.push(
        `type=SYSCALL ${hdr(serial)} arch=c000003e syscall=59 success=yes exit=0 ppid=${ppid} pid=${pid} auid=${auid} uid=${uid} euid=${uid} ses=2 comm=${auditValue(image.split('/').pop() || 'x')} exe=${auditValue(image)} key=(null)${enriched}`,
      );
      const args = cmd.split(' ');
      lines.push(`type=EXECVE ${hdr(serial)} argc=${args.length} ${args.map((a, i) => `a${i}=${auditValue(a)}`).join(' ')}`);
      if (cwd) lines.push(`type=CWD ${hdr(serial)} cwd=${auditValue(cwd)}`);
      lines.push(`type=EOE ${hdr(serial)}`);
    };
    if (f.ParentImage || f.ParentCommandLine) {
      const pimg = f.ParentImage ?? `/usr/bin/${(f.ParentCommandLine ?? 'sh').split(' ')[0]}`;
      exec(1, 100, 1, pimg, f.ParentCommandLine ?? pimg);
    }
    const cmdline = [f.CommandLine, ...g.keywords].filter(Boolean).join(' ');
    const image = f.Image ?? `/usr/bin/${(cmdline || 'true').split(' ')[0]}`;
    exec(2, 200, 100, image, cmdline || image, f.CurrentDirectory, f.User, f.LogonId);
    return read('audit', lines);
  }
  if (service === 'auditd') {
    const { type = 'SYSCALL', ...rest } = g.fields;
    const raw: string[] = [];
    const enriched: string[] = [];
    for (const [k, v] of Object.entries(rest)) {
      if (k === k.toUpperCase()) enriched.push(`${k}=${v}`);
      else if (/^a\d+$/.test(k) && type.toUpperCase() !== 'EXECVE') raw.push(`${k}=${v}`);
      else raw.push(`${k}=${auditValue(v)}`);
    }
    const kw = g.keywords.length ? ` proctitle=${hex(g.keywords.join(' '))}` : '';
    return read('audit', [`type=${type.toUpperCase()} ${hdr(3)} ${raw.join(' ')}${kw}${enriched.length ? `\x1d${enriched.join(' ')}` : ''}`, `type=EOE ${hdr(3)}`]);
  }
  if (!category && !service && g.keywords.length)
    // A product-only keyword rule: the text in a command's title, as auditd writes it.
    return read('audit', [`type=PROCTITLE ${hdr(4)} proctitle=${hex(g.keywords.join(' '))}`, `type=EOE ${hdr(4)}`]);
  return [];
}

const PROGRAMS: Record<string, string> = { sshd: 'sshd', sudo: 'sudo', cron: 'cron', vsftpd: 'vsftpd', clamav: 'clamd', guacamole: 'guacd', auth: 'su', syslog: 'kernel' };

function syslogEvents(rule: SigmaRule, g: { fields: Record<string, string>; keywords: string[] }): Event[] {
  const { category, service } = rule.logsource;
  if (service === 'sudo' && Object.keys(g.fields).length) {
    // Field rules on sudo's own log line: `user : TTY=… ; PWD=… ; USER=… ; COMMAND=…`.
    const f = g.fields;
    return read('syslog', [`Mar  1 10:00:00 gen sudo:    alice : TTY=${f.TTY ?? 'pts/0'} ; PWD=${f.PWD ?? '/home/alice'} ; USER=${f.USER ?? 'root'} ; COMMAND=${f.COMMAND ?? '/usr/bin/id'}`]);
  }
  if (category || service === 'auditd' || !g.keywords.length) return [];
  const program = service ? PROGRAMS[service] : 'bash';
  if (!program) return [];
  return read('syslog', [`Mar  1 10:00:00 gen ${program}[7]: ${g.keywords.join(' ')}`]);
}

describe('SigmaHQ Linux rules: what each log source detects', () => {
  it('generates a true positive per rule and source; prints the share each source detects', () => {
    // SigmaHQ's rules only: Firebreak's own building blocks read fields the syslog reader adds.
    const rules = loadRules(defaultRuleDirs()).rules.filter((r) => r.logsource.product === 'linux' && !/[\\/]data[\\/]correlations[\\/]/.test(r.file));
    assert.equal(rules.length, 248, 'SigmaHQ Linux rules (shared/notes/sigmahq-corpus.md)');
    const engine = new Engine(rules);
    const fires = (rule: SigmaRule, evs: Event[]) => evs.some((e) => engine.match(e).some((d) => d.rule === rule));
    type Row = { rules: number; usable: number; auditd: number; sysmon: number; syslog: number };
    const table = new Map<string, Row>();
    const unusable: string[] = [];
    const sysmonOnly: string[] = [];
    for (const rule of rules) {
      const group = rule.logsource.category ?? (rule.logsource.service ? `service ${rule.logsource.service}` : 'product linux (keywords)');
      const key = group.startsWith('service ') && !['service auditd'].includes(group) ? 'syslog services (sshd, sudo, cron, …)' : group;
      const row = table.get(key) ?? { rules: 0, usable: 0, auditd: 0, sysmon: 0, syslog: 0 };
      table.set(key, row);
      row.rules++;
      const a = condAssign(rule, rule.condition);
      if (!a) {
        unusable.push(`${rule.title} (needs a regex or a negation only)`);
        continue;
      }
      const g = flatten(a);
      const got = { auditd: fires(rule, auditEvents(rule, g)), sysmon: fires(rule, sysmonEvents(rule, g)), syslog: fires(rule, syslogEvents(rule, g)) };
      if (!got.auditd && !got.sysmon && !got.syslog) {
        unusable.push(`${rule.title} (no generated event fires it)`);
        continue;
      }
      row.usable++;
      if (got.auditd) row.auditd++;
      else if (got.sysmon && rule.logsource.category === 'process_creation') sysmonOnly.push(`${rule.title} (${Object.keys(g.fields).join(', ')})`);
      if (got.sysmon) row.sysmon++;
      if (got.syslog) row.syslog++;
    }
    const total: Row = { rules: 0, usable: 0, auditd: 0, sysmon: 0, syslog: 0 };
    for (const r of table.values()) for (const k of Object.keys(total) as (keyof Row)[]) total[k] += r[k];
    const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(0)}%` : '-');
    const lines = ['| log source of the rule | rules | usable detection | fire from auditd alone | fire from Sysmon for Linux | fire from syslog/journald |', '|---|---|---|---|---|---|'];
    for (const [k, r] of [...table].sort((x, y) => y[1].rules - x[1].rules))
      lines.push(`| ${k} | ${r.rules} | ${r.usable} | ${r.auditd} (${pct(r.auditd, r.usable)}) | ${r.sysmon} (${pct(r.sysmon, r.usable)}) | ${r.syslog} (${pct(r.syslog, r.usable)}) |`);
    lines.push(
      `| **all** | ${total.rules} | ${total.usable} | ${total.auditd} (${pct(total.auditd, total.usable)}) | ${total.sysmon} (${pct(total.sysmon, total.usable)}) | ${total.syslog} (${pct(total.syslog, total.usable)}) |`,
    );
    console.log(
      `\n${lines.join('\n')}\n\nprocess_creation rules that fire from Sysmon for Linux but not from auditd alone (fields they need):\n  ${sysmonOnly.join('\n  ')}\n\nwithout a usable detection (${unusable.length}):\n  ${unusable.join('\n  ')}\n`,
    );

    const pc = table.get('process_creation')!;
    const au = table.get('service auditd')!;
    // Sysmon for Linux carries every process-creation field; auditd every field of its records.
    assert.equal(pc.sysmon, pc.usable, 'every usable process_creation rule fires from Sysmon for Linux');
    assert.equal(au.auditd, au.usable, 'every usable auditd rule fires from audit records');
    assert.ok(pc.usable >= 130, `usable process_creation rules: ${pc.usable}`);
    assert.ok(au.usable >= 50, `usable auditd rules: ${au.usable}`);
    // auditd alone: most process-creation rules (those needing no hash or other Sysmon-only field).
    assert.ok(pc.auditd / pc.usable >= 0.8, `auditd share of process_creation: ${pc.auditd}/${pc.usable}`);
    for (const cat of ['file_event', 'network_connection']) assert.equal(table.get(cat)!.sysmon, table.get(cat)!.usable, cat);
  });
});
