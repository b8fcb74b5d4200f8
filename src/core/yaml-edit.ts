/**
 * Edit YAML and JSON files as text, keeping every byte that the edit does not touch:
 * comments, key order, quoting, flow lists (`[params.yaml]` stays `[params.yaml]`), CRLF
 * line ends, a BOM, JSON's indentation. The yaml library parses the text for the ranges
 * of its nodes; an edit is a splice at those ranges. Its result is parsed again and
 * compared with the intended value: a splice that would mean anything else is refused
 * (XP_EDIT_FAILED), so an edit is exact or nothing is written.
 *
 * @example
 * editText('lr: 0.1 # rate\nlist: [a]\n', 'params.yaml', [{ op: 'set', path: ['lr'], value: 0.01 }])
 * // 'lr: 0.01 # rate\nlist: [a]\n'
 */
import { isDeepStrictEqual } from 'node:util'
import type { Node, Pair, YAMLMap } from 'yaml'
import { yaml } from './yaml.js'
import { XpError } from './errors.js'

export type EditPath = Array<string | number>

/** A parsed document as plain nested values, walked by key. */
type Tree = { [key: string | number]: unknown }

export type TextEdit =
  /** replace the value at path (it exists) or add it under an existing map (its parent) */
  | { op: 'set'; path: EditPath; value: unknown; raw?: string }
  | { op: 'delete'; path: EditPath }
  /** replace a top-level key's whole entry by `source` (lines of another file), or remove it when null */
  | { op: 'replaceTop'; key: string; source: string | null }

const isJson = (file: string) => file.endsWith('.json')

/** Splice `edits` into `text`, one at a time; the result is verified by parsing it. */
export function editText(text: string, file: string, edits: TextEdit[]): string {
  let out = text
  for (const e of edits) out = editOnce(out, file, e)
  return out
}

function parse(text: string) {
  const doc = yaml().parseDocument(text, { uniqueKeys: true })
  if (doc.errors.length) throw new XpError('XP_BAD_FILE', `cannot edit: ${doc.errors[0].message.split('\n')[0]}`)
  return doc
}

function plainValue(text: string): unknown {
  return yaml().parse(text.replace(/^\uFEFF/, ''), { maxAliasCount: 100 }) ?? null
}

function editOnce(text: string, file: string, e: TextEdit): string {
  const doc = parse(text)
  const expected = structuredClone(plainValue(text) ?? (e.op === 'set' ? {} : null)) as Tree
  let out: string
  if (e.op === 'replaceTop') {
    out = replaceTop(text, doc, e.key, e.source)
    const src = e.source === null ? undefined : (plainValue(e.source) as Record<string, unknown> | null)?.[e.key]
    if (expected && typeof expected === 'object') {
      if (src === undefined) delete expected[e.key]
      else expected[e.key] = src
    }
  } else if (e.op === 'delete') {
    out = deleteAt(text, doc, e.path)
    deleteIn(expected, e.path)
  } else {
    out = setAt(text, doc, e.path, e.value, e.raw, isJson(file))
    setIn(expected, e.path, e.value)
  }
  let got: unknown
  try {
    got = plainValue(out)
  } catch {
    got = Symbol('unparseable')
  }
  const want = expected ?? null
  if (!isDeepStrictEqual(normal(got), normal(want)))
    throw new XpError('XP_EDIT_FAILED', `${file}: this edit cannot be made without changing other parts of the file; nothing was written`, {
      hint: 'edit the file by hand',
      data: { file },
    })
  return out
}

/** Numbers compare by value: `1e-3` and 0.001 are one value. */
function normal(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)))
}

function setIn(obj: Tree, keys: EditPath, value: unknown) {
  let cur = obj
  for (let i = 0; i < keys.length - 1; i++) {
    if (cur[keys[i]] === null || typeof cur[keys[i]] !== 'object') cur[keys[i]] = {}
    cur = cur[keys[i]] as Tree
  }
  cur[keys[keys.length - 1]] = value
}

function deleteIn(obj: Tree | null, keys: EditPath) {
  let cur: unknown = obj
  for (let i = 0; i < keys.length - 1 && cur && typeof cur === 'object'; i++) cur = (cur as Tree)[keys[i]]
  if (Array.isArray(cur)) cur.splice(Number(keys[keys.length - 1]), 1)
  else if (cur && typeof cur === 'object') delete (cur as Tree)[keys[keys.length - 1]]
}

const eolOf = (text: string) => (/\r\n/.test(text) ? '\r\n' : '\n')
const lineStart = (text: string, at: number) => text.lastIndexOf('\n', at - 1) + 1
/** The offset just after the line holding `at - 1` (after its newline), or the text's end. */
function afterLine(text: string, at: number): number {
  if (at > 0 && text[at - 1] === '\n') return at
  const nl = text.indexOf('\n', at)
  return nl < 0 ? text.length : nl + 1
}

/** A key as the file would write it. */
function keyText(key: string | number, json: boolean): string {
  const k = String(key)
  return json || !/^[A-Za-z_][\w.-]*$/.test(k) ? JSON.stringify(k) : k
}

/** A value as text: JSON in a JSON file, YAML flow style otherwise. */
export function valueText(value: unknown, json: boolean, raw?: string, quoted?: string): string {
  if (json) {
    if (typeof value === 'number' && raw !== undefined && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw.trim()) && Number(raw) === value) return raw.trim()
    return JSON.stringify(value)
  }
  if (value === null) return 'null'
  if (Array.isArray(value)) return `[${value.map((v) => valueText(v, false)).join(', ')}]`
  if (typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${keyText(k, false)}: ${valueText(v, false)}`)
      .join(', ')}}`
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan'
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf'
    if (raw !== undefined && plainSafe(raw.trim()) && yaml().parse(raw.trim()) === value) return raw.trim()
    return String(value)
  }
  if (typeof value === 'boolean') return String(value)
  const s = String(value)
  if (quoted === 'QUOTE_SINGLE') return `'${s.replace(/'/g, "''")}'`
  if (quoted !== 'QUOTE_DOUBLE' && plainSafe(s) && yaml().parse(s) === s) return s
  return JSON.stringify(s)
}

const plainSafe = (s: string) => /^[A-Za-z0-9_./@~+-]([A-Za-z0-9_./@~+ -]*[A-Za-z0-9_./@~+-])?$/.test(s)

/** Walk to the node at `keys`; returns the deepest existing map or seq and the rest of the path. */
function walk(doc: ReturnType<typeof parse>, keys: EditPath): { node: Node | null; parent: Node | null; rest: EditPath } {
  const { isMap, isSeq } = yaml()
  let node: Node | null = doc.contents as Node | null
  let parent: Node | null = null
  for (let i = 0; i < keys.length; i++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyOf(p) === String(keys[i]))
      if (!pair) return { node: null, parent: node, rest: keys.slice(i) }
      parent = node
      node = pair.value as Node | null
    } else if (isSeq(node)) {
      const idx = Number(keys[i])
      if (!Number.isInteger(idx) || idx < 0 || idx >= node.items.length) return { node: null, parent: node, rest: keys.slice(i) }
      parent = node
      node = node.items[idx] as Node | null
    } else {
      return { node: null, parent: node, rest: keys.slice(i) }
    }
  }
  return { node, parent, rest: [] }
}

function keyOf(p: Pair): string {
  const k = p.key as { value?: unknown } | null
  return String(k && typeof k === 'object' && 'value' in k ? k.value : k)
}

function setAt(text: string, doc: ReturnType<typeof parse>, keys: EditPath, value: unknown, raw: string | undefined, json: boolean): string {
  const { isMap, isScalar } = yaml()
  const found = walk(doc, keys)
  if (found.node && found.rest.length === 0 && found.node.range) {
    const [start, end] = found.node.range
    const quoted = isScalar(found.node) ? (found.node.type as string | undefined) : undefined
    return text.slice(0, start) + valueText(value, json, raw, quoted) + text.slice(end)
  }
  if (found.rest.length === 0) {
    // a key with no value (`key:`): write after the colon
    return insertIntoMap(text, found.parent as YAMLMap, keys[keys.length - 1], value, json, raw, true)
  }
  // add: the parent must be a map; missing maps on the way are written as one flow value
  const parent = found.parent ?? (doc.contents as Node | null)
  if (parent && !isMap(parent)) throw new XpError('XP_EDIT_FAILED', 'cannot add a key inside a list or a value')
  let v: unknown = value
  for (let i = found.rest.length - 1; i >= 1; i--) v = { [String(found.rest[i])]: v }
  const nested = found.rest.length > 1
  if (!parent) return appendTop(text, found.rest[0], v, json, nested ? undefined : raw)
  return insertIntoMap(text, parent as YAMLMap, found.rest[0], v, json, nested ? undefined : raw, false)
}

function appendTop(text: string, key: string | number, value: unknown, json: boolean, raw?: string): string {
  const eol = eolOf(text)
  if (json) return `{${eol}  ${keyText(key, true)}: ${valueText(value, true, raw)}${eol}}${eol}`
  const sep = text.length && !text.endsWith('\n') ? eol : ''
  return `${text}${sep}${keyText(key, false)}: ${valueText(value, false, raw)}${eol}`
}

function insertIntoMap(text: string, map: YAMLMap, key: string | number, value: unknown, json: boolean, raw: string | undefined, emptyValue: boolean): string {
  const eol = eolOf(text)
  const kv = `${keyText(key, json)}: ${valueText(value, json, raw)}`
  if (emptyValue) {
    const pair = map.items.find((p) => keyOf(p) === String(key))!
    const at = (pair.key as Node).range![1]
    const colon = text.indexOf(':', at)
    return text.slice(0, colon + 1) + ' ' + valueText(value, json, raw) + text.slice(colon + 1)
  }
  const [start, end] = map.range!
  if (map.flow) {
    const close = text.lastIndexOf('}', end)
    if (!map.items.length) return text.slice(0, close) + kv + text.slice(close)
    const last = map.items[map.items.length - 1]
    const lastEnd = ((last.value as Node | null)?.range ?? (last.key as Node).range!)[1]
    const between = text.slice(lastEnd, close)
    const comma = between.indexOf(',')
    const insertAt = comma >= 0 ? lastEnd + comma + 1 : lastEnd
    const trailing = comma >= 0 // a trailing comma (allowed in YAML flow): write after it
    if (between.includes('\n')) {
      const firstKey = (map.items[0].key as Node).range![0]
      const indent = text.slice(lineStart(text, firstKey), firstKey)
      return text.slice(0, insertAt) + `${trailing ? '' : ','}${eol}${/^\s*$/.test(indent) ? indent : '  '}${kv}${trailing ? ',' : ''}` + text.slice(insertAt)
    }
    return text.slice(0, insertAt) + `${trailing ? ' ' : ', '}${kv}${trailing ? ',' : ''}` + text.slice(insertAt)
  }
  // block map: a new line after its last entry, at its entries' indentation
  const firstKey = (map.items[0]?.key as Node | undefined)?.range?.[0] ?? start
  const indent = text.slice(lineStart(text, firstKey), firstKey).replace(/^\uFEFF/, '')
  const last = map.items[map.items.length - 1]
  const lastEnd = last ? ((last.value as Node | null)?.range ?? (last.key as Node).range!)[2] : end
  const at = afterLine(text, lastEnd)
  const sep = at === text.length && text.length && !text.endsWith('\n') ? eol : ''
  return text.slice(0, at) + `${sep}${indent}${kv}${eol}` + text.slice(at)
}

function deleteAt(text: string, doc: ReturnType<typeof parse>, keys: EditPath): string {
  const { isMap } = yaml()
  const parentPath = keys.slice(0, -1)
  const found = walk(doc, parentPath)
  const map = found.node
  if (!isMap(map)) return text
  const idx = map.items.findIndex((p) => keyOf(p) === String(keys[keys.length - 1]))
  if (idx < 0) return text
  const pair = map.items[idx]
  const kStart = (pair.key as Node).range![0]
  const vEnd = (pair.value as Node | null)?.range ?? (pair.key as Node).range!
  if (map.flow) {
    const next = map.items[idx + 1]
    if (next) return text.slice(0, kStart) + text.slice((next.key as Node).range![0])
    const prev = map.items[idx - 1]
    const from = prev ? ((prev.value as Node | null)?.range ?? (prev.key as Node).range!)[1] : kStart
    return text.slice(0, from) + text.slice(vEnd[1])
  }
  return text.slice(0, lineStart(text, kStart)) + text.slice(afterLine(text, vEnd[2]))
}

/** The text of a top-level entry: from its key's line to the end of its value's last line. */
export function topEntry(text: string, key: string): string | null {
  const doc = parse(text)
  if (doc.contents === null) return null
  if (!yaml().isMap(doc.contents) || doc.contents.flow) throw new XpError('XP_EDIT_FAILED', 'not a block mapping')
  const pair = doc.contents.items.find((p) => keyOf(p) === key)
  if (!pair) return null
  const kStart = (pair.key as Node).range![0]
  const vEnd = ((pair.value as Node | null)?.range ?? (pair.key as Node).range!)[2]
  return text.slice(lineStart(text, kStart), afterLine(text, vEnd)).replace(/^\uFEFF/, '')
}

function replaceTop(text: string, doc: ReturnType<typeof parse>, key: string, source: string | null): string {
  const { isMap } = yaml()
  const root = doc.contents
  if (root !== null && (!isMap(root) || root.flow)) throw new XpError('XP_EDIT_FAILED', 'cannot edit a file that is not a block mapping')
  const pair = root ? (root as YAMLMap).items.find((p) => keyOf(p) === key) : undefined
  const eol = eolOf(text)
  const src = source === null ? '' : source.replace(/\r?\n/g, eol).replace(/(\r?\n)?$/, eol)
  if (!pair) {
    if (source === null) return text
    const sep = text.length && !text.endsWith('\n') ? eol : ''
    // after the last entry (before trailing comments), else at the end
    const last = root ? (root as YAMLMap).items[(root as YAMLMap).items.length - 1] : undefined
    if (!last) return text + sep + src
    const at = afterLine(text, ((last.value as Node | null)?.range ?? (last.key as Node).range!)[2])
    return text.slice(0, at) + (at === text.length ? sep : '') + src + text.slice(at)
  }
  const kStart = (pair.key as Node).range![0]
  const vEnd = ((pair.value as Node | null)?.range ?? (pair.key as Node).range!)[2]
  const from = lineStart(text, kStart)
  const bom = text.slice(from, kStart).startsWith('\uFEFF') ? '\uFEFF' : ''
  return text.slice(0, from) + bom + src + text.slice(afterLine(text, vEnd))
}
