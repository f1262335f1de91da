/**
 * Resolved BinXML → XML text in the layout of Event Viewer / `evtxexport -f xml`: two-space
 * indentation, one element per line, text-only elements on one line, empty elements
 * self-closed, attributes whose value is empty left out. Values print in the same text form as
 * in the JSON document.
 */
import { Codes, DecodeError } from './errors.js';
import { ArrayValue, K, type Node } from './ir.js';
import { MAX_NESTING_DEPTH } from './limits.js';
import { RElem, resolve, resolveAttrs, resolveChildren, type R } from './resolve.js';

function escText(s: string): string {
  return /[&<>]/.test(s) ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : s;
}

function escAttr(s: string): string {
  return /[&<>"]/.test(s) ? escText(s).replace(/"/g, '&quot;') : s;
}

/** Text of an item in XML: references stay references. */
function itemText(x: R, attr: boolean): string {
  if (typeof x === 'string') return attr ? escAttr(x) : escText(x);
  if (x === null || x instanceof RElem) return '';
  if (typeof x === 'boolean') return x ? 'true' : 'false';
  if (typeof x === 'number' || typeof x === 'bigint' || x instanceof ArrayValue) return String(x);
  switch (x.k) {
    case K.Entity:
      return `&${x.name};`;
    case K.CharRef:
      return `&#${x.code};`;
    case K.PITarget:
      return `<?${x.name} `;
    default:
      return `${x.s}?>`;
  }
}

function element(r: RElem, indent: string, out: string[], depth: number): void {
  if (depth > 4 * MAX_NESTING_DEPTH) throw new DecodeError(Codes.limit, 'document nested too deeply', 0, 'record');
  let open = `${indent}<${r.el.name}`;
  if (r.el.attrs.length) {
    for (const a of resolveAttrs(r)) {
      let v = '';
      for (const x of a.value) v += itemText(x, true);
      if (v) open += ` ${a.name}="${v}"`;
    }
  }
  const children = resolveChildren(r);
  if (!children.some((c) => c instanceof RElem)) {
    let text = '';
    for (const x of children) text += itemText(x, false);
    out.push(text ? `${open}>${text}</${r.el.name}>` : `${open}/>`);
    return;
  }
  out.push(`${open}>`);
  const inner = indent + '  ';
  let text = '';
  for (const c of children) {
    if (c instanceof RElem) {
      if (text.trim()) out.push(inner + text);
      text = '';
      element(c, inner, out, depth + 1);
    } else {
      text += itemText(c, false);
    }
  }
  if (text.trim()) out.push(inner + text);
  out.push(`${indent}</${r.el.name}>`);
}

/** The XML text of one record (without an XML declaration). */
export function toXml(nodes: Node[]): string {
  const out: string[] = [];
  for (const x of resolve(nodes, null, [])) if (x instanceof RElem) element(x, '', out, 0);
  return out.join('\n');
}
