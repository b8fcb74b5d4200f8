/**
 * Params and metrics files: parse (YAML or JSON, with file and line in errors and YAML
 * alias expansion bounded), flatten to dotted typed keys, and edit in place keeping
 * comments and order (the yaml Document API), as `dvc exp run -S` does.
 */
import fs from 'node:fs'
import path from 'node:path'
import { yaml } from './yaml.js'
import { XpError } from './errors.js'
import { parseJson } from './json.js'

export type Scalar = number | string | boolean | null
export type Flat = Record<string, Scalar>

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
export function parseStructured(text: string, file: string, opts: { bigInts?: boolean } = {}): unknown {
  if (file.endsWith('.json')) {
    try {
      // NaN and ±Infinity as Python's json.dump writes them (DVCLive's metrics.json) are read too
      return parseJson(text)
    } catch (e) {
      const m = /position (\d+)/.exec(String((e as Error).message))
      // Node 20 names no position for most errors: find it ourselves.
      const line = lineOf(text, m ? Number(m[1]) : jsonErrorOffset(text))
      throw new XpError('XP_BAD_FILE', `${file}${line ? `:${line}` : ''}: invalid JSON: ${String((e as Error).message).split('\n')[0].slice(0, 200)}`, { hint: 'fix the file and run again', data: { file, line } })
    }
  }
  try {
    // maxAliasCount bounds "billion laughs" expansion; yaml throws past it.
    return yaml().parse(text, { maxAliasCount: 100, prettyErrors: false, uniqueKeys: true, intAsBigInt: Boolean(opts.bigInts) })
  } catch (e) {
    if (e instanceof yaml().YAMLParseError) {
      const line = e.pos?.[0] !== undefined ? lineOf(text, e.pos[0]) : undefined
      throw new XpError('XP_BAD_FILE', `${file}${line ? `:${line}` : ''}: invalid YAML: ${e.message.split('\n')[0].slice(0, 200)}`, { hint: 'fix the file and run again', data: { file, line } })
    }
    const msg = String((e as Error).message)
    if (/alias/i.test(msg))
      throw new XpError('XP_BAD_FILE', `${file}: too many YAML aliases (a "billion laughs" document?)`, { hint: 'expand the aliases by hand; xp allows 100', data: { file } })
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
    value.forEach((v, i) => flatten(v, prefix ? `${prefix}.${i}` : String(i), out, file))
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
    throw new XpError('XP_VALUE_TOO_LARGE', `${file || 'params'}: the value of "${prefix}" is ${Buffer.byteLength(value)} bytes; xp records values up to ${MAX_VALUE_BYTES} bytes`, {
      hint: 'keep large data in a file (track it with `xp add`) and put its path in params',
      data: { file, key: prefix },
    })
  // an integer a double cannot hold exactly is kept as its digits (a string), not rounded
  if (typeof value === 'bigint') out[prefix] = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  else if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') out[prefix] = value
  else out[prefix] = String(value)
  return out
}

/** Read and flatten one file; missing gives undefined. */
export function readFlatFile(root: string, rel: string): Flat | undefined {
  const abs = path.resolve(root, rel)
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
}

/**
 * Apply `-S` edits to params files in place. YAML keeps comments and key order; JSON is
 * rewritten with two-space indent. A missing file is an error and nothing is written.
 */
export function editParams(root: string, edits: ParamEdit[]): void {
  const byFile = new Map<string, ParamEdit[]>()
  for (const e of edits) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e])
  const writes: Array<[string, string]> = []
  for (const [file, list] of byFile) {
    const abs = path.resolve(root, file)
    if (!fs.existsSync(abs))
      throw new XpError('XP_PARAMS_FILE_MISSING', `-S names ${file}, which does not exist`, { hint: 'create it, or name an existing params file as FILE:KEY=VALUE' })
    const text = fs.readFileSync(abs, 'utf8')
    if (file.endsWith('.json')) {
      const obj = (parseStructured(text, file) ?? {}) as Record<string, unknown>
      for (const e of list) setIn(obj, keyPath(e.key), e.value)
      writes.push([abs, JSON.stringify(obj, null, 2) + '\n'])
    } else {
      parseStructured(text, file) // for the error with a line number
      const { parseDocument, isMap, isSeq, isScalar } = yaml()
      const doc = parseDocument(text)
      if (doc.contents !== null && !isMap(doc.contents) && !isSeq(doc.contents))
        throw new XpError('XP_BAD_FILE', `${file}: expected a mapping of params`, { data: { file } })
      for (const e of list) {
        const node = doc.getIn(keyPath(e.key), true)
        if (isScalar(node) && (e.value === null || typeof e.value !== 'object')) {
          // edit the scalar in place so its comment stays, and write numbers as the user typed them
          node.value = e.value
          node.format = typeof e.value === 'number' && /e/i.test(e.raw ?? '') ? 'EXP' : undefined
          node.type = undefined
        } else doc.setIn(keyPath(e.key), doc.createNode(e.value, { flow: true }))
      }
      writes.push([abs, doc.toString({ lineWidth: 0 })])
    }
  }
  for (const [abs, text] of writes) {
    const tmp = `${abs}.xp-tmp-${process.pid}`
    fs.writeFileSync(tmp, text)
    fs.renameSync(tmp, abs)
  }
}

function setIn(obj: Record<string, unknown> | unknown[], keys: Array<string | number>, value: unknown) {
  let cur: any = obj
  for (let i = 0; i < keys.length - 1; i++) {
    if (cur[keys[i]] === null || typeof cur[keys[i]] !== 'object') cur[keys[i]] = typeof keys[i + 1] === 'number' ? [] : {}
    cur = cur[keys[i]]
  }
  cur[keys[keys.length - 1]] = value
}

/**
 * Split a `-S` argument `[FILE:]KEY=VALUE` (VALUE may be a comma grid or `range(a, b, s)`).
 * Values with commas can be quoted: `-S 'name="a,b"'`.
 */
export function parseSetArg(arg: string, defaultFile: string): { file: string; key: string; values: unknown[]; raws: string[] } {
  const eq = arg.indexOf('=')
  if (eq <= 0) throw new XpError('XP_BAD_SET', `-S ${JSON.stringify(arg)}: expected KEY=VALUE or FILE:KEY=VALUE`, { exitCode: 2 })
  const left = arg.slice(0, eq)
  const right = arg.slice(eq + 1)
  const colon = left.lastIndexOf(':')
  const file = colon > 0 ? left.slice(0, colon) : defaultFile
  const key = colon > 0 ? left.slice(colon + 1) : left
  if (!key || /(^\.|\.\.|\.$)/.test(key)) throw new XpError('XP_BAD_SET', `-S ${JSON.stringify(arg)}: "${key}" is not a valid key`, { exitCode: 2 })
  const values = expandValues(right)
  return { file, key, values, raws: values.length === 1 ? [right.trim()] : values.map((v) => String(v)) }
}

/** `0.1,0.01` -> [0.1, 0.01]; `range(1, 4)` -> [1, 2, 3]; quotes and brackets protect commas. */
export function expandValues(raw: string): unknown[] {
  const r = /^\s*range\(\s*([^,()]+)\s*,\s*([^,()]+)\s*(?:,\s*([^,()]+)\s*)?\)\s*$/.exec(raw)
  if (r) {
    const [start, stop, step] = [Number(r[1]), Number(r[2]), r[3] === undefined ? 1 : Number(r[3])]
    if (![start, stop, step].every(Number.isFinite) || step === 0)
      throw new XpError('XP_BAD_SET', `${raw}: range needs numbers and a step that is not 0`, { exitCode: 2 })
    const out: number[] = []
    const decimals = Math.max(...[r[1], r[2], r[3] ?? '1'].map((s) => (s.split('.')[1] ?? '').trim().length))
    for (let i = 0; ; i++) {
      const v = Number((start + i * step).toFixed(decimals))
      if (step > 0 ? v >= stop : v <= stop) break
      out.push(v)
      if (out.length > 10000) throw new XpError('XP_BAD_SET', `${raw}: more than 10,000 values`, { exitCode: 2 })
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
  return parts.map(typeValue)
}
