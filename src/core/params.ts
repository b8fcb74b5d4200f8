/**
 * Params and metrics files: parse (YAML or JSON, with file and line in errors and YAML
 * alias expansion bounded), flatten to dotted typed keys, and edit in place keeping
 * comments and order (the yaml Document API), as `dvc exp run -S` does.
 */
import fs from 'node:fs'
import { yaml } from './yaml.js'
import { XpError } from './errors.js'
import { parseJson } from './json.js'
import { editText } from './yaml-edit.js'
import { writeFileAtomic } from './fsutil.js'
import { guardRead, guardWrite, repoRelative } from './safety/paths.js'

import type { Flat } from './values.js'
export type { Flat, Scalar } from './values.js'

/** Longest value a param may have: params are hyperparameters, not data. */
export const MAX_VALUE_BYTES = 64 * 1024

function lineOf(text: string, offset: number): number {
  let line = 1
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

/** Offset of the first JSON syntax error (a small scanner; only called after JSON.parse failed). */
export function jsonErrorOffset(t: string): number {
  let i = 0
  const ws = () => {
    while (i < t.length && ' \t\r\n'.includes(t[i])) i++
  }
  const fail = (): never => {
    throw i
  }
  const value = (): void => {
    ws()
    const c = t[i]
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']'
      i++
      ws()
      if (t[i] === close) return void i++
      for (;;) {
        if (c === '{') {
          ws()
          if (t[i] !== '"') fail()
          value()
          ws()
          if (t[i] !== ':') fail()
          i++
        }
        value()
        ws()
        if (t[i] === ',') i++
        else if (t[i] === close) return void i++
        else fail()
      }
    }
    if (c === '"') {
      for (i++; i < t.length && t[i] !== '"'; i++) if (t[i] === '\\') i++
      if (i >= t.length) fail()
      return void i++
    }
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(t.slice(i, i + 400))
    if (!m) fail()
    i += m![0].length
  }
  try {
    value()
    ws()
    return i
  } catch (at) {
    return typeof at === 'number' ? at : 0
  }
}

/**
 * Parse YAML or JSON (by the name's extension; YAML otherwise). Errors name the file and line.
 *
 * @example
 * parseStructured('lr: 0.1\n', 'params.yaml') // { lr: 0.1 }
 */
const FLAT_LINE = /^([A-Za-z_][A-Za-z0-9_.-]*): +([^\s#'"][^#'"]*?) *$/
const FLAT_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/
const FLAT_WORD = /^[A-Za-z_][A-Za-z0-9_./-]*$/
const NOT_WORDS = new Set(['null', 'Null', 'NULL', 'True', 'TRUE', 'False', 'FALSE', '__proto__', 'constructor', 'prototype'])

/**
 * The common params file, `key: value` lines of plain numbers, true/false and simple words
 * (full-line comments allowed), read without the yaml library: loading and running it
 * took 90 ms of a 250 ms `xp run` (issue 16). Anything else, or anything where YAML 1.2
 * might read a value otherwise, returns undefined and goes to the library. Pure.
 *
 * @example
 * flatYaml('# params\nlr: 0.1\nmodel: rf\n') // { lr: 0.1, model: 'rf' }
 * flatYaml('model:\n  depth: 3\n')          // undefined (nested: the library reads it)
 */
export function flatYaml(text: string): Record<string, number | boolean | string> | undefined {
  if (text.length > 4096 || text.includes('\r') || text.includes('\t')) return undefined
  const out: Record<string, number | boolean | string> = {}
  let n = 0
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = FLAT_LINE.exec(line)
    if (!m) return undefined
    const [, key, raw] = m
    if (NOT_WORDS.has(key) || Object.hasOwn(out, key)) return undefined
    // an integer a double cannot hold goes to the library, which keeps its digits (bigInts)
    if (FLAT_NUMBER.test(raw) && /^-?[0-9]+$/.test(raw) && !Number.isSafeInteger(Number(raw))) return undefined
    if (FLAT_NUMBER.test(raw)) out[key] = Number(raw)
    else if (raw === 'true' || raw === 'false') out[key] = raw === 'true'
    else if (FLAT_WORD.test(raw) && !NOT_WORDS.has(raw)) out[key] = raw
    else return undefined
    n++
  }
  return n ? out : undefined
}

export function parseStructured(text: string, file: string, opts: { bigInts?: boolean } = {}): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1) // a BOM (Windows editors write one)
  if (file.endsWith('.json')) {
    try {
      // NaN and ±Infinity as Python's json.dump writes them (DVCLive's metrics.json) are read too
      return parseJson(text)
    } catch (e) {
      const m = /position (\d+)/.exec(String((e as Error).message))
      // Node 20 names no position for most errors: find it ourselves.
      const line = lineOf(text, m ? Number(m[1]) : jsonErrorOffset(text))
      throw new XpError(
        'XP_BAD_FILE',
        `${file}${line ? `:${line}` : ''}: invalid JSON: ${String((e as Error).message)
          .split('\n')[0]
          .slice(0, 200)}`,
        { hint: 'fix the file and run again', data: { file, line } },
      )
    }
  }
  const flat = flatYaml(text)
  if (flat) return flat
  try {
    // maxAliasCount bounds "billion laughs" expansion; yaml throws past it.
    return yaml().parse(text, { maxAliasCount: 100, prettyErrors: false, uniqueKeys: true, intAsBigInt: Boolean(opts.bigInts) })
  } catch (e) {
    if (e instanceof yaml().YAMLParseError) {
      const line = e.pos?.[0] !== undefined ? lineOf(text, e.pos[0]) : undefined
      throw new XpError('XP_BAD_FILE', `${file}${line ? `:${line}` : ''}: invalid YAML: ${e.message.split('\n')[0].slice(0, 200)}`, {
        hint: 'fix the file and run again',
        data: { file, line },
      })
    }
    const msg = String((e as Error).message)
    if (/alias/i.test(msg))
      throw new XpError('XP_BAD_FILE', `${file}: too many YAML aliases (a "billion laughs" document?)`, {
        hint: 'expand the aliases by hand; xp allows 100',
        data: { file },
      })
    throw new XpError('XP_BAD_FILE', `${file}: ${msg.split('\n')[0].slice(0, 200)}`, { data: { file } })
  }
}

/**
 * Flatten nested mappings and lists to dotted keys with scalar values.
 *
 * @example
 * flatten({ model: { depth: 5, layers: [64, 32] } }) // { 'model.depth': 5, 'model.layers.0': 64, 'model.layers.1': 32 }
 */
export function flatten(value: unknown, prefix = '', out: Flat = {}, file = ''): Flat {
  if (value === null || value === undefined) {
    if (prefix) out[prefix] = null
    return out
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) flatten(v, prefix ? `${prefix}.${i}` : String(i), out, file)
    return out
  }
  if (value instanceof Date) {
    out[prefix] = value.toISOString()
    return out
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out, file)
    return out
  }
  if (typeof value === 'string' && Buffer.byteLength(value) > MAX_VALUE_BYTES)
    throw new XpError(
      'XP_VALUE_TOO_LARGE',
      `${file || 'params'}: the value of "${prefix}" is ${Buffer.byteLength(value)} bytes; xp records values up to ${MAX_VALUE_BYTES} bytes`,
      {
        hint: 'keep large data in a file (track it with `xp add`) and put its path in params',
        data: { file, key: prefix },
      },
    )
  // an integer a double cannot hold exactly is kept as its digits (a string), not rounded
  if (typeof value === 'bigint') out[prefix] = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  else if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') out[prefix] = value
  else out[prefix] = String(value)
  return out
}

/** Read and flatten one file; missing gives undefined. */
export function readFlatFile(root: string, rel: string): Flat | undefined {
  const abs = guardRead(root, repoRelative(rel, rel), rel)
  let text: string
  try {
    text = fs.readFileSync(abs, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
  const v = parseStructured(text, rel, { bigInts: true })
  if (v === null || v === undefined) return {}
  if (typeof v !== 'object') throw new XpError('XP_BAD_FILE', `${rel}: expected a mapping of names to values`, { data: { file: rel } })
  return flatten(v, '', {}, rel)
}

/**
 * Type a `-S` value the way a YAML author would: `1e-3` is a number, `true` a bool,
 * `null` null, `[1, 2]` a list, anything else a string.
 */
export function typeValue(raw: string): unknown {
  const t = raw.trim()
  if (t === '') return ''
  if (/^[-+]?(\d[\d_]*)?(\.\d*)?([eE][-+]?\d+)?$/.test(t) && /\d/.test(t)) {
    const n = Number(t.replace(/_/g, ''))
    if (Number.isFinite(n)) return n
  }
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true'
  if (/^(null|~)$/.test(t)) return null
  if (/^[[{]/.test(t)) {
    try {
      return yaml().parse(t, { maxAliasCount: 0 })
    } catch {
      return raw
    }
  }
  if (/^(["']).*\1$/s.test(t)) return t.slice(1, -1)
  return raw
}

/** Split `a.b.0.c` into a yaml path with numbers for list indexes. */
function keyPath(key: string): Array<string | number> {
  return key.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

export interface ParamEdit {
  file: string
  key: string
  value: unknown
  /** the text the user typed, to keep its form (1e-3 stays 1e-3) */
  raw?: string
  /** `+key=v` adds a key the file lacks; `++key=v` sets it whether or not it exists (Hydra's grammar) */
  mode?: 'add' | 'upsert'
}

/** Edit distance, for naming the keys closest to a misspelled one. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]
}

/** The existing keys most like `key` (at most 3), for a hint. */
export function closestKeys(key: string, keys: string[]): string[] {
  const lower = key.toLowerCase()
  return keys
    .map((k) => ({ k, d: distance(lower, k.toLowerCase()) - (k.endsWith(key.split('.').pop()!) ? 1 : 0) }))
    .filter((x) => x.d <= Math.max(2, Math.ceil(key.length / 2)))
    .sort((a, b) => a.d - b.d || (a.k < b.k ? -1 : 1))
    .slice(0, 3)
    .map((x) => x.k)
}

/**
 * Check edits against a params file's current content (parsed): a key the file lacks is
 * refused unless written `+key` (a misspelling must not add a key silently), `+key` for a
 * key it has is refused, and a path through a value (`depth.x` where depth is 3) is refused.
 */
function checkKeys(file: string, data: unknown, list: ParamEdit[]): void {
  const keys = Object.keys(flatten(data ?? {}, '', {}, file))
  for (const e of list) {
    const parts = keyPath(e.key)
    let cur: unknown = data
    let exists = true
    for (let i = 0; i < parts.length; i++) {
      if (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, parts[i])) {
        cur = (cur as Record<string | number, unknown>)[parts[i]]
        continue
      }
      if (cur !== null && cur !== undefined && typeof cur !== 'object' && i > 0) {
        const at = parts.slice(0, i).join('.')
        throw new XpError('XP_PARAM_NOT_A_MAP', `-S ${e.key}: ${at} in ${file} is a value (${JSON.stringify(cur)}), not a mapping of keys`, {
          hint: `set ${at} itself (-S ${at}=...), or make it a mapping in ${file} first`,
          data: { file, key: e.key },
        })
      }
      if (Array.isArray(cur) && e.mode)
        throw new XpError(
          'XP_BAD_SET',
          `-S +${e.key}: cannot add an item to a list in ${file}; set the whole list (-S ${parts.slice(0, i).join('.')}=[...])`,
          {},
        )
      exists = false
      break
    }
    if (!exists && !e.mode) {
      const near = closestKeys(e.key, keys)
      throw new XpError('XP_PARAM_UNKNOWN', `-S ${e.key}: ${file} has no key "${e.key}"${near.length ? `; did you mean ${near.join(', ')}?` : ''}`, {
        hint: `to add a new key, write -S +${e.key}=...`,
        data: { file, key: e.key, closest: near },
      })
    }
    if (exists && e.mode === 'add')
      throw new XpError('XP_PARAM_EXISTS', `-S +${e.key}: ${file} has "${e.key}" already`, {
        hint: `drop the + to change it (-S ${e.key}=...), or write ++${e.key} to set it either way`,
        data: { file, key: e.key },
      })
  }
}

/** Read a params file for editing; XP_PARAMS_FILE_MISSING when absent. */
function readForEdit(root: string, file: string): { abs: string; text: string; data: unknown } {
  // the path guard (core/safety): inside the repository, never read or written through a symlink out
  const abs = guardRead(root, repoRelative(file, `-S ${file}`), `-S ${file}`)
  guardWrite(root, repoRelative(file, `-S ${file}`), `-S ${file}`)
  if (!fs.existsSync(abs))
    throw new XpError('XP_PARAMS_FILE_MISSING', `-S names ${file}, which does not exist`, {
      hint: 'create it, or name an existing params file as FILE:KEY=VALUE',
    })
  const text = fs.readFileSync(abs, 'utf8')
  const data = parseStructured(text.replace(/^\uFEFF/, ''), file)
  if (data !== null && data !== undefined && (typeof data !== 'object' || Array.isArray(data)))
    throw new XpError('XP_BAD_FILE', `${file}: expected a mapping of params`, { data: { file } })
  return { abs, text, data }
}

function groupByFile(edits: ParamEdit[]): Map<string, ParamEdit[]> {
  const byFile = new Map<string, ParamEdit[]>()
  for (const e of edits) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e])
  return byFile
}

/** Validate edits against the params files as they are, writing nothing (the queue checks before queueing). */
export function checkEdits(root: string, edits: ParamEdit[]): void {
  for (const [file, list] of groupByFile(edits)) checkKeys(file, readForEdit(root, file).data, list)
}

/**
 * Apply `-S` edits to params files in place, as text: every byte the edits do not touch
 * stays (comments, order, quoting, flow lists, CRLF, a BOM, JSON's indentation). All or
 * nothing: every file's new text is built and read back (parsed, flattened, sizes checked)
 * before any file is written, so a refused edit leaves every file as it was.
 */
export function editParams(root: string, edits: ParamEdit[]): void {
  const writes: Array<[string, string]> = []
  for (const [file, list] of groupByFile(edits)) {
    const { abs, text, data } = readForEdit(root, file)
    checkKeys(file, data, list)
    const out = editText(
      text,
      file,
      list.map((e) => ({ op: 'set' as const, path: keyPath(e.key), value: e.value, raw: e.raw })),
    )
    flatten(parseStructured(out.replace(/^\uFEFF/, ''), file), '', {}, file) // too large a value fails here, before any write
    writes.push([abs, out])
  }
  for (const [abs, text] of writes) writeFileAtomic(abs, text)
}

/**
 * Split a `-S` argument `[FILE:]KEY=VALUE` (VALUE may be a comma grid or `range(a, b, s)`).
 * Values with commas can be quoted: `-S 'name="a,b"'`.
 */
export function parseSetArg(arg: string, defaultFile: string): { file: string; key: string; values: unknown[]; raws: string[]; mode?: 'add' | 'upsert' } {
  const eq = arg.indexOf('=')
  if (eq <= 0) throw new XpError('XP_BAD_SET', `-S ${JSON.stringify(arg)}: expected KEY=VALUE or FILE:KEY=VALUE`, {})
  const left = arg.slice(0, eq)
  const right = arg.slice(eq + 1)
  const colon = left.lastIndexOf(':')
  const file = colon > 0 ? repoRelative(left.slice(0, colon), `-S ${arg}`) : defaultFile
  let key = colon > 0 ? left.slice(colon + 1) : left
  const mode = key.startsWith('++') ? 'upsert' : key.startsWith('+') ? 'add' : undefined
  key = key.replace(/^\+{1,2}/, '')
  if (!key || /(^\.|\.\.|\.$)/.test(key)) throw new XpError('XP_BAD_SET', `-S ${JSON.stringify(arg)}: "${key}" is not a valid key`, {})
  const values = expandValues(right)
  return { file, key, values, raws: values.length === 1 ? [right.trim()] : values.map((v) => String(v)), ...(mode ? { mode } : {}) }
}

/** `0.1,0.01` -> [0.1, 0.01]; `range(1, 4)` -> [1, 2, 3]; quotes and brackets protect commas. */
export function expandValues(raw: string): unknown[] {
  const r = /^\s*range\(\s*([^,()]+)\s*,\s*([^,()]+)\s*(?:,\s*([^,()]+)\s*)?\)\s*$/.exec(raw)
  if (r) {
    const [start, stop, step] = [Number(r[1]), Number(r[2]), r[3] === undefined ? 1 : Number(r[3])]
    if (![start, stop, step].every(Number.isFinite) || step === 0) throw new XpError('XP_BAD_SET', `${raw}: range needs numbers and a step that is not 0`, {})
    const out: number[] = []
    const decimals = Math.max(...[r[1], r[2], r[3] ?? '1'].map((s) => (s.split('.')[1] ?? '').trim().length))
    for (let i = 0; ; i++) {
      const v = Number((start + i * step).toFixed(decimals))
      if (step > 0 ? v >= stop : v <= stop) break
      out.push(v)
      if (out.length > 10000) throw new XpError('XP_BAD_SET', `${raw}: more than 10,000 values`, {})
    }
    return out
  }
  const parts: string[] = []
  let cur = ''
  let quote = ''
  let depth = 0
  for (const ch of raw) {
    if (quote) {
      if (ch === quote) quote = ''
      cur += ch
    } else if (ch === '"' || ch === "'") {
      quote = ch
      cur += ch
    } else if (ch === '[' || ch === '{') {
      depth++
      cur += ch
    } else if (ch === ']' || ch === '}') {
      depth--
      cur += ch
    } else if (ch === ',' && depth === 0) {
      parts.push(cur)
      cur = ''
    } else cur += ch
  }
  parts.push(cur)
  if (parts.length > 1 && parts.some((p) => p.trim() === ''))
    throw new XpError('XP_BAD_SET', `${JSON.stringify(raw)}: a grid value is empty (two commas, or one at an end)`, {
      hint: "give every value, or quote a value that holds a comma: 'a,b'",
    })
  return parts.map(typeValue)
}
