/**
 * Building the page. Every string from the data reaches the DOM through `textContent` (or an
 * SVG text node), never as markup; attributes are set one by one with `setAttribute`.
 */
import { isLevel, LABEL } from './format.js';

const SVGNS = 'http://www.w3.org/2000/svg';

/** The element with this id, of this class; a page without it is not this report. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`report: #${id} is missing or not a ${type.name}`);
  return e;
}

/** The element with this id. */
export function $(id: string): HTMLElement {
  return byId(id, HTMLElement);
}

/** The JSON in a `<script type="application/json">` block, null when it is empty or absent. */
export function readJson<T>(id: string): T | null {
  const n = document.getElementById(id);
  return n?.textContent ? (JSON.parse(n.textContent) as T) : null;
}

/** A new element with an optional class and text (null and undefined leave it empty). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, content?: string | number | null): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (content !== undefined && content !== null) e.textContent = String(content);
  return e;
}

/** Append the children that are not null or false; returns the parent. */
export function add<T extends Node>(parent: T, ...children: (Node | null | undefined | false)[]): T {
  for (const c of children) if (c) parent.appendChild(c);
  return parent;
}

/** A new SVG element with its attributes and optional text. */
export function sv<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string | number>>, content?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVGNS, tag);
  for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
  if (content !== undefined) e.textContent = String(content);
  return e;
}

/** A level badge; an unknown level shows as its own name in the informational colour. */
export function badge(level: string): HTMLSpanElement {
  return el('span', 'badge ' + (isLevel(level) ? level : 'informational'), isLevel(level) ? LABEL[level] : level);
}
