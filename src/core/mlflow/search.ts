/**
 * MLflow's search grammar for `runs/search`, pure: `filter` (conditions joined by AND,
 * `metrics.`/`params.`/`tags.`/`attributes.` keys, `= != < <= > >=`, `LIKE`, `ILIKE`,
 * `IN`, `NOT IN`), `order_by` (`KEY [ASC|DESC]`), `max_results` and page tokens. It runs
 * over plain run views, so 10,000 runs from the record index filter and sort in
 * milliseconds. A syntax error is INVALID_PARAMETER_VALUE naming the position (0-based
 * character offset, as MLflow's messages count).
 */
import { badParam } from './errors.js'

/** What the grammar reads of a run. */
export interface SearchRun {
  run_id: string
  run_name: string
  status: string
  user_id: string
  start_time: number
  end_time: number | null
  artifact_uri: string
  lifecycle_stage: string
  experiment_id: string
  /** values as recorded (typed); compared as MLflow's strings */
  params: Record<string, unknown>
  /** numbers; anything else is not a metric MLflow can compare */
  metrics: Record<string, unknown>
  tags: Record<string, string>
}

/** A param as MLflow clients see it: a string (Python's spelling for a missing value). */
export function paramText(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? 'None' : typeof v === 'object' ? JSON.stringify(v) : String(v)
}

/** A metric value as a number: NaN and infinities may be recorded as strings. */
export function metricNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && /^(nan|-?inf(inity)?)$/i.test(v)) return Number(v.replace(/inf$/i, 'Infinity'))
  return undefined
}

type Entity = 'metric' | 'param' | 'tag' | 'attribute'
type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN'

export interface Condition {
  entity: Entity
  key: string
  op: Op
  value: number | string | string[]
}

const ENTITIES: Record<string, Entity> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
}
const NUMERIC_ATTRS = new Set(['start_time', 'end_time', 'created'])
const STRING_ATTRS = new Set(['run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'lifecycle_stage', 'experiment_id'])
const ATTR_ALIAS: Record<string, string> = {
  created: 'start_time',
  Created: 'start_time',
  run_uuid: 'run_id',
  'run name': 'run_name',
  'Run name': 'run_name',
  runName: 'run_name',
}

interface Tok {
  t: 'id' | 'str' | 'num' | 'op' | 'lp' | 'rp' | 'comma' | 'end'
  v: string
  pos: number
}

const fail = (pos: number, what: string, expr: string) =>
  badParam(`Invalid filter string at position ${pos}: ${what} (in ${JSON.stringify(expr.length > 200 ? expr.slice(0, 200) + '…' : expr)})`)

function tokenize(expr: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < expr.length) {
    const c = expr[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    const start = i
    if (c === "'" || c === '"' || c === '`') {
      let s = ''
      i++
      while (i < expr.length && expr[i] !== c) {
        if (expr[i] === '\\' && i + 1 < expr.length) i++
        s += expr[i++]
      }
      if (i >= expr.length) throw fail(start, 'unterminated quoted string', expr)
      i++
      // a quoted name right after `params.` is part of the identifier
      const prev = out.at(-1)
      if (prev?.t === 'id' && prev.v.endsWith('.') && prev.pos + prev.v.length === start) (prev.v += s), ((prev as Tok & { quoted?: boolean }).quoted = true)
      else out.push({ t: c === '`' ? 'id' : 'str', v: s, pos: start })
      continue
    }
    if (c === '(') out.push({ t: 'lp', v: c, pos: i }), i++
    else if (c === ')') out.push({ t: 'rp', v: c, pos: i }), i++
    else if (c === ',') out.push({ t: 'comma', v: c, pos: i }), i++
    else if (/[<>=!]/.test(c)) {
      const two = expr.slice(i, i + 2)
      const op = ['<=', '>=', '!=', '=='].includes(two) ? two : c
      if (op === '!') throw fail(i, 'expected "!="', expr)
      out.push({ t: 'op', v: op === '==' ? '=' : op, pos: i })
      i += op.length
    } else {
      const m = /^(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])|[A-Za-z_][\w.\-:/]*)/.exec(expr.slice(i))
      if (!m) throw fail(i, `unexpected ${JSON.stringify(c)}`, expr)
      out.push({ t: /^[-+.\d]/.test(m[0]) ? 'num' : 'id', v: m[0], pos: i })
      i += m[0].length
    }
  }
  out.push({ t: 'end', v: '', pos: expr.length })
  return out
}

/**
 * Parse a filter into conditions (all must hold); '' is no condition.
 *
 * @example
 * parseFilter("metrics.acc > 0.5 and params.opt = 'adam'")
 * // [{ entity: 'metric', key: 'acc', op: '>', value: 0.5 }, { entity: 'param', key: 'opt', op: '=', value: 'adam' }]
 */
export function parseFilter(expr: string | undefined): Condition[] {
  if (!expr?.trim()) return []
  const toks = tokenize(expr)
  let k = 0
  const peek = () => toks[k]
  const next = () => toks[k++]
  const conds: Condition[] = []
  for (;;) {
    const idTok = next()
    if (idTok.t !== 'id')
      throw fail(idTok.pos, idTok.t === 'end' ? 'expected a key such as metrics.acc' : `expected a key, got ${JSON.stringify(idTok.v)}`, expr)
    const dot = idTok.v.indexOf('.')
    let entity: Entity
    let key: string
    if (dot < 0) {
      entity = 'attribute'
      key = idTok.v
    } else {
      const e = ENTITIES[idTok.v.slice(0, dot)]
      if (!e) throw fail(idTok.pos, `unknown key type ${JSON.stringify(idTok.v.slice(0, dot))}: use metrics., params., tags. or attributes.`, expr)
      entity = e
      key = idTok.v.slice(dot + 1)
    }
    if (!key) throw fail(idTok.pos, 'empty key name', expr)
    if (entity === 'attribute') {
      key = ATTR_ALIAS[key] ?? key
      if (!NUMERIC_ATTRS.has(key) && !STRING_ATTRS.has(key)) throw fail(idTok.pos, `unknown attribute ${JSON.stringify(key)}`, expr)
    }
    const opTok = next()
    let op: Op
    if (opTok.t === 'op') op = opTok.v as Op
    else if (opTok.t === 'id' && /^(like|ilike|in)$/i.test(opTok.v)) op = opTok.v.toUpperCase() as Op
    else if (opTok.t === 'id' && /^not$/i.test(opTok.v) && peek().t === 'id' && /^in$/i.test(peek().v)) next(), (op = 'NOT IN')
    else throw fail(opTok.pos, opTok.t === 'end' ? 'expected a comparison after the key' : `expected a comparison, got ${JSON.stringify(opTok.v)}`, expr)
    const numeric = entity === 'metric' || (entity === 'attribute' && NUMERIC_ATTRS.has(key))
    let value: Condition['value']
    if (op === 'IN' || op === 'NOT IN') {
      if (numeric) throw fail(opTok.pos, `${op} works on params, tags and string attributes`, expr)
      const lp = next()
      if (lp.t !== 'lp') throw fail(lp.pos, `expected "(" after ${op}`, expr)
      const vals: string[] = []
      for (;;) {
        const v = next()
        if (v.t !== 'str') throw fail(v.pos, 'expected a quoted string in the list', expr)
        vals.push(v.v)
        const sep = next()
        if (sep.t === 'rp') break
        if (sep.t !== 'comma') throw fail(sep.pos, 'expected "," or ")"', expr)
      }
      value = vals
    } else {
      const v = next()
      if (numeric) {
        if (op === 'LIKE' || op === 'ILIKE') throw fail(opTok.pos, `${op} works on strings; compare numbers with = != < <= > >=`, expr)
        if (v.t !== 'num') throw fail(v.pos, `expected a number for ${entity === 'metric' ? 'metrics.' : ''}${key}`, expr)
        value = Number(v.v)
      } else {
        if (v.t !== 'str') throw fail(v.pos, `expected a quoted string for ${key}`, expr)
        if (!['=', '!=', 'LIKE', 'ILIKE'].includes(op)) throw fail(opTok.pos, `${op} does not compare strings; use = != LIKE ILIKE IN`, expr)
        value = v.v
      }
    }
    conds.push({ entity, key, op, value })
    const after = next()
    if (after.t === 'end') return conds
    if (after.t === 'id' && /^and$/i.test(after.v)) continue
    if (after.t === 'id' && /^or$/i.test(after.v)) throw fail(after.pos, 'OR is not supported (MLflow joins conditions with AND only)', expr)
    throw fail(after.pos, `expected AND or the end, got ${JSON.stringify(after.v)}`, expr)
  }
}

/**
 * MLflow's name filter for experiments and registered models (`name = '...'`, `!=`, `LIKE`,
 * `ILIKE`), with `%` and `_` as in SQL; `attributes.` may prefix the name where MLflow allows it.
 *
 * @example
 * nameFilter("name LIKE 'churn%'", 'registered models')('churn-v2') // true
 */
export function nameFilter(filter: string, what: string, opts: { attributes?: boolean } = {}): (name: string) => boolean {
  const f = filter.trim()
  if (!f) return () => true
  const m = (opts.attributes ? /^(?:attributes?\.)?name\s*(=|!=|LIKE|ILIKE)\s*(['"])(.*)\2$/i : /^name\s*(=|!=|LIKE|ILIKE)\s*(['"])(.*)\2$/i).exec(f)
  if (!m) throw badParam(`Invalid filter ${JSON.stringify(f)}: ${what} are searched by name (name = '...', name LIKE '...')`)
  const op = m[1]!.toUpperCase()
  const value = m[3]!
  if (op === '=') return (n) => n === value
  if (op === '!=') return (n) => n !== value
  const re = likeRegex(value, op === 'ILIKE' ? 'i' : '')
  return (n) => re.test(n)
}

function likeRegex(pattern: string, flags: string): RegExp {
  let re = '^'
  for (const ch of pattern) re += ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(re + '$', flags + 's')
}

function fieldValue(run: SearchRun, entity: Entity, key: string): string | number | null | undefined {
  if (entity === 'metric') return Object.hasOwn(run.metrics, key) ? metricNumber(run.metrics[key]) : undefined
  if (entity === 'param') return Object.hasOwn(run.params, key) ? paramText(run.params[key]) : undefined
  if (entity === 'tag') return Object.hasOwn(run.tags, key) ? run.tags[key] : undefined
  return (run as unknown as Record<string, string | number | null>)[key]
}

/** A predicate for the conditions (compiled once: LIKE patterns become regexes). */
export function compileConditions(conds: Condition[]): (run: SearchRun) => boolean {
  const tests = conds.map((c) => {
    const cmp = (a: number | string, b: number | string): boolean => {
      switch (c.op) {
        case '=':
          return a === b
        case '!=':
          return a !== b
        case '<':
          return a < b
        case '<=':
          return a <= b
        case '>':
          return a > b
        case '>=':
          return a >= b
        default:
          return false
      }
    }
    if (c.op === 'LIKE' || c.op === 'ILIKE') {
      const re = likeRegex(String(c.value), c.op === 'ILIKE' ? 'i' : '')
      return (r: SearchRun) => {
        const v = fieldValue(r, c.entity, c.key)
        return typeof v === 'string' && re.test(v)
      }
    }
    if (c.op === 'IN' || c.op === 'NOT IN') {
      const set = new Set(c.value as string[])
      return (r: SearchRun) => {
        const v = fieldValue(r, c.entity, c.key)
        return v !== undefined && v !== null && set.has(String(v)) === (c.op === 'IN')
      }
    }
    return (r: SearchRun) => {
      const v = fieldValue(r, c.entity, c.key)
      if (v === undefined || v === null) return false
      if (typeof c.value === 'number') return typeof v === 'number' && !Number.isNaN(v) && cmp(v, c.value)
      return cmp(String(v), c.value as string)
    }
  })
  return (r) => tests.every((t) => t(r))
}

export interface OrderKey {
  entity: Entity
  key: string
  desc: boolean
}

/** Parse `order_by` clauses: `metrics.acc DESC`, `attributes.start_time`, `params.lr ASC`. */
export function parseOrderBy(clauses: string[] | undefined): OrderKey[] {
  return (clauses ?? []).map((clause) => {
    const m = /^\s*(?:([A-Za-z]+)\.)?(`[^`]+`|"[^"]+"|[\w.\-:/]+)(?:\s+(ASC|DESC))?\s*$/i.exec(clause)
    if (!m) throw badParam(`Invalid order_by clause ${JSON.stringify(clause)}: use KEY [ASC|DESC], e.g. metrics.acc DESC`)
    const entity: Entity | undefined = m[1] ? ENTITIES[m[1].toLowerCase()] : 'attribute'
    if (!entity) throw badParam(`Invalid order_by clause ${JSON.stringify(clause)}: unknown key type ${JSON.stringify(m[1])}`)
    let key = m[2].replace(/^[`"]|[`"]$/g, '')
    if (entity === 'attribute') {
      key = ATTR_ALIAS[key] ?? key
      if (!NUMERIC_ATTRS.has(key) && !STRING_ATTRS.has(key))
        throw badParam(`Invalid order_by clause ${JSON.stringify(clause)}: unknown attribute ${JSON.stringify(key)}`)
    }
    return { entity, key, desc: (m[3] ?? '').toUpperCase() === 'DESC' }
  })
}

/** Sort as MLflow does: the given keys (missing values last), then start_time DESC, then run_id. */
export function sortRuns<T extends SearchRun>(runs: T[], keys: OrderKey[]): T[] {
  const all = [...keys, { entity: 'attribute' as Entity, key: 'start_time', desc: true }, { entity: 'attribute' as Entity, key: 'run_id', desc: false }]
  return [...runs].sort((a, b) => {
    for (const k of all) {
      const x = fieldValue(a, k.entity, k.key)
      const y = fieldValue(b, k.entity, k.key)
      const xm = x === undefined || x === null || (typeof x === 'number' && Number.isNaN(x))
      const ym = y === undefined || y === null || (typeof y === 'number' && Number.isNaN(y))
      if (xm && ym) continue
      if (xm) return 1
      if (ym) return -1
      if (x! < y!) return k.desc ? 1 : -1
      if (x! > y!) return k.desc ? -1 : 1
    }
    return 0
  })
}

export const MAX_RESULTS_DEFAULT = 1000
export const MAX_RESULTS_LIMIT = 50000

export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64')
}

export function decodePageToken(token: string | undefined): number {
  if (!token) return 0
  try {
    const v = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown }
    if (Number.isSafeInteger(v.offset) && (v.offset as number) >= 0) return v.offset as number
  } catch {
    // fall through
  }
  throw badParam(`Invalid page token ${JSON.stringify(token.slice(0, 40))}`)
}

/**
 * Filter, order and page runs.
 *
 * @example
 * searchRuns(runs, { filter: 'metrics.acc > 0.5', orderBy: ['metrics.acc DESC'], maxResults: 10 })
 */
export function searchRuns<T extends SearchRun>(
  runs: T[],
  q: { filter?: string; orderBy?: string[]; maxResults?: number; pageToken?: string },
): { runs: T[]; nextPageToken?: string } {
  const keep = compileConditions(parseFilter(q.filter))
  const order = parseOrderBy(q.orderBy)
  const max = q.maxResults ?? MAX_RESULTS_DEFAULT
  if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS_LIMIT)
    throw badParam(`Invalid value ${max} for parameter 'max_results': it must be at most ${MAX_RESULTS_LIMIT}`)
  const offset = decodePageToken(q.pageToken)
  const sorted = sortRuns(runs.filter(keep), order)
  const page = sorted.slice(offset, offset + max)
  return offset + max < sorted.length ? { runs: page, nextPageToken: encodePageToken(offset + max) } : { runs: page }
}
