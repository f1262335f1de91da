/**
 * Template instantiation for rendering: expands a node list in the context of one record's
 * substitution values into a flat list of resolved items, without copying the template.
 * As in the evtx crate, an optional substitution declared with the null type is dropped, a
 * substitution whose index is past the values is a null value, and a BinXML value splices its
 * elements in (MS-EVEN6 §3.1.4.7.5).
 */
import { Codes, DecodeError } from './errors.js';
import { ArrayValue, K, T, type CharRefNode, type ElementNode, type EntityNode, type Node, type PIDataNode, type PITargetNode, type Value } from './ir.js';
import { MAX_EXPANDED_CHARS, MAX_EXPANDED_CHARS_PER_CHUNK, MAX_EXPANDED_NODES, MAX_EXPANDED_NODES_PER_CHUNK } from './limits.js';

/** An element of a template (or a plain fragment) with the values it reads from. */
export class RElem {
  constructor(
    readonly el: ElementNode,
    readonly ctx: Value[] | null,
  ) {}
}

/** A resolved item: an element, text or a value, or a reference / processing instruction. */
export type R = RElem | string | number | bigint | boolean | null | ArrayValue | EntityNode | CharRefNode | PITargetNode | PIDataNode;

let budget = MAX_EXPANDED_NODES;
let chunkBudget = MAX_EXPANDED_NODES_PER_CHUNK;
let chunkSpent = 0;
let chars = MAX_EXPANDED_CHARS;
let chunkChars = MAX_EXPANDED_CHARS_PER_CHUNK;
let chunkCharsSpent = 0;

/** The chunk's budgets where they stand (a lazily parsed chunk keeps them across its pauses). */
export interface BudgetState {
  chunkBudget: number;
  chunkChars: number;
}
export function saveBudget(): BudgetState {
  resetBudget();
  return { chunkBudget, chunkChars };
}
export function restoreBudget(s: BudgetState): void {
  chunkBudget = s.chunkBudget;
  chunkChars = s.chunkChars;
  chunkSpent = chunkCharsSpent = 0;
  budget = Math.min(MAX_EXPANDED_NODES, chunkBudget);
  chars = Math.min(MAX_EXPANDED_CHARS, chunkChars);
}

/** Start the expansion budgets for a chunk. */
export function resetChunkBudget(): void {
  chunkBudget = MAX_EXPANDED_NODES_PER_CHUNK;
  chunkChars = MAX_EXPANDED_CHARS_PER_CHUNK;
  chunkSpent = chunkCharsSpent = 0;
}

/** Start the expansion budgets for one record (what is left of the chunk's, at most). */
export function resetBudget(): void {
  chunkBudget -= chunkSpent;
  chunkChars -= chunkCharsSpent;
  chunkSpent = chunkCharsSpent = 0;
  budget = Math.min(MAX_EXPANDED_NODES, chunkBudget);
  chars = Math.min(MAX_EXPANDED_CHARS, chunkChars);
}

function overBudget(what: string, perRecord: number, perChunk: number, chunkLeft: number): never {
  const which = chunkLeft < perRecord ? `the chunk's records expand to more than ${perChunk}` : `record expands to more than ${perRecord}`;
  throw new DecodeError(Codes.limit, `${which} ${what}`, 0, 'record');
}

/** Count `n` nodes against the record's and the chunk's expansion budgets (throws past them). */
export function spend(n: number): void {
  budget -= n;
  chunkSpent += n;
  if (budget < 0) overBudget('nodes', MAX_EXPANDED_NODES, MAX_EXPANDED_NODES_PER_CHUNK, chunkBudget);
}

/** Count `n` characters of output text against the record's and the chunk's budgets. */
export function spendText(n: number): void {
  chars -= n;
  chunkCharsSpent += n;
  if (chars < 0) overBudget('characters', MAX_EXPANDED_CHARS, MAX_EXPANDED_CHARS_PER_CHUNK, chunkChars);
}

function pushValue(v: Value, out: R[]): void {
  if (Array.isArray(v)) resolve(v, null, out);
  else {
    if (typeof v === 'string') spendText(v.length);
    out.push(v);
  }
}

/** Append the items `nodes` stand for, reading substitutions from `ctx`. */
export function resolve(nodes: Node[], ctx: Value[] | null, out: R[]): R[] {
  spend(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    switch (n.k) {
      case K.Element:
        spendText(n.name.length);
        out.push(new RElem(n, ctx));
        break;
      case K.Text:
        spendText(n.s.length);
        out.push(n.s);
        break;
      case K.Value:
        pushValue(n.v, out);
        break;
      case K.Subst:
        if (n.optional && n.type === T.Null) break;
        pushValue(ctx !== null && n.index < ctx.length ? ctx[n.index]! : null, out);
        break;
      case K.Template:
        resolve(n.tpl.nodes, n.values, out);
        break;
      default:
        out.push(n);
    }
  }
  return out;
}

/** Attributes of `r` with their resolved values; attributes that resolve to nothing are dropped. */
export function resolveAttrs(r: RElem): { name: string; value: R[] }[] {
  const attrs = r.el.attrs;
  const out: { name: string; value: R[] }[] = [];
  for (let i = 0; i < attrs.length; i++) {
    const value = resolve(attrs[i]!.value, r.ctx, []);
    if (value.length) out.push({ name: attrs[i]!.name, value });
  }
  return out;
}

export function resolveChildren(r: RElem): R[] {
  return resolve(r.el.children, r.ctx, []);
}
