/// <reference lib="dom" />
/**
 * DOM helpers for the page. Text goes in through text nodes and attributes through
 * setAttribute: no user string is ever parsed as HTML.
 */
import { toDom, type VNode } from '../html.js'

type Child = Node | string | number | null | undefined | false
export interface Props {
  class?: string
  attrs?: Record<string, string | number | boolean | undefined>
  // biome-ignore lint/suspicious/noExplicitAny: each handler takes its own event type (MouseEvent, InputEvent, ...)
  on?: Partial<Record<keyof HTMLElementEventMap, (e: any) => void>>
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | string = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  const p: Props = typeof props === 'string' ? { class: props } : props
  if (p.class) e.className = p.class
  for (const [k, v] of Object.entries(p.attrs ?? {})) {
    if (v === undefined || v === false) continue
    if (/^on/i.test(k)) continue
    e.setAttribute(k, v === true ? '' : String(v))
  }
  for (const [k, f] of Object.entries(p.on ?? {})) if (f) e.addEventListener(k, f)
  append(e, ...children)
  return e
}

export function append(parent: Node, ...children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)))
  }
}

export function clear(node: Node) {
  while (node.firstChild) node.removeChild(node.firstChild)
}

export function svg(v: VNode): Node {
  return toDom(v)
}
