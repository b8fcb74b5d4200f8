/// <reference lib="dom" />
/**
 * A tiny element tree shared by the page and the static report: the page turns it into
 * DOM nodes (createElement, setAttribute, textContent) and the report into HTML text with
 * every string escaped. No user string ever reaches innerHTML or unescaped markup.
 * Free of node imports (it goes into the browser bundle).
 */

export interface VNode {
  tag: string
  attrs: Record<string, string | number | undefined>
  children: Array<VNode | string>
}

export const SVG_NS = 'http://www.w3.org/2000/svg'
const SVG_TAGS = new Set(['svg', 'g', 'line', 'polyline', 'circle', 'rect', 'text', 'title', 'path'])

/** Build an element: `h('td', {class: 'num'}, '0.93')`. */
export function h(tag: string, attrs: VNode['attrs'] = {}, ...children: Array<VNode | string | null | undefined | false>): VNode {
  return { tag, attrs, children: children.filter((c): c is VNode | string => c !== null && c !== undefined && c !== false) }
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escape text for HTML content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c])
}

const ATTR_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:.-]*$/

/** Serialise to HTML; names of tags and attributes come from code, values are escaped. */
export function toHtml(n: VNode | string): string {
  if (typeof n === 'string') return escapeHtml(n)
  let attrs = ''
  for (const [k, v] of Object.entries(n.attrs)) {
    if (v === undefined || !ATTR_NAME.test(k) || /^on/i.test(k)) continue
    attrs += ` ${k}="${escapeHtml(String(v))}"`
  }
  return `<${n.tag}${attrs}>${n.children.map(toHtml).join('')}</${n.tag}>`
}

/** Build DOM nodes (browser only): text through text nodes, attributes through setAttribute. */
export function toDom(n: VNode | string, svg = false): Node {
  if (typeof n === 'string') return document.createTextNode(n)
  const inSvg = svg || n.tag === 'svg'
  const el = inSvg && SVG_TAGS.has(n.tag) ? document.createElementNS(SVG_NS, n.tag) : document.createElement(n.tag)
  for (const [k, v] of Object.entries(n.attrs)) if (v !== undefined && ATTR_NAME.test(k) && !/^on/i.test(k)) el.setAttribute(k, String(v))
  for (const c of n.children) el.appendChild(toDom(c, inSvg))
  return el
}
