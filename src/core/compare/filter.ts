/**
 * The filter language of `xp show --filter` (docs/architecture.md#command-line): a small, safe expression language
 * read by a tokenizer and a recursive-descent parser into an AST, then evaluated against
 * each run. Nothing is ever `eval`ed. Pure and free of node imports: the web page bundles
 * it too.
 *
 *   expr    := or
 *   or      := and (("or" | "||") and)*
 *   and     := not (("and" | "&&") not)*
 *   not     := ("not" | "!") not | cmp
 *   cmp     := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "~=") operand)?
 *   operand := KEY | NUMBER | STRING | true | false | null | "(" expr ")"
 *
 * A comparison whose key the run lacks is false (so `not` of it is true); a bare key is
 * true when its value is `true`.
 */
import { XpError } from '../errors.js'
import type { ListedRun } from '../runs/record.js'

type Scalar = string | number | boolean | null

type Token =
  | { t: 'key'; v: string; pos: number }
  | { t: 'lit'; v: Scalar; pos: number }
  | { t: 'op'; v: CmpOp; pos: number }
  | { t: 'and' | 'or' | 'not' | '(' | ')' | 'end'; pos: number }

type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '~='

type Node =
  | { k: 'and' | 'or'; l: Node; r: Node }
  | { k: 'not'; e: Node }
  | { k: 'cmp'; op: CmpOp; l: Operand; r: Operand; re?: RegExp }
  | { k: 'truthy'; e: Operand }

type Operand = { k: 'key'; name: string } | { k: 'lit'; v: Scalar }

const MISSING = Symbol('missing')
type Value = Scalar | typeof MISSING

export type RunPredicate = (run: ListedRun) => boolean

function syntaxError(expr: string, pos: number, what: string): XpError {
  const col = Math.min(pos, expr.length) + 1
  // The hint is printed after "  hint: " (8 characters): the caret lines up under the column.
  return new XpError('XP_BAD_FILTER', `bad filter at column ${col}: ${what}`, {
    hint: `${expr}\n${' '.repeat(8 + col - 1)}^`,
    data: { column: col, expression: expr },
  })
}

const KEY_START = /[A-Za-z_`]/
const KEY_CHAR = /[A-Za-z0-9_.\-:/`]/
const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/
const WORDS = new Map<string, 'and' | 'or' | 'not'>([
  ['and', 'and'],
  ['or', 'or'],
  ['not', 'not'],
])

function tokenize(expr: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < expr.length) {
    const c = expr[i]
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
      continue
    }
    const two = expr.slice(i, i + 2)
    if (two === '==' || two === '!=' || two === '<=' || two === '>=' || two === '~=') {
      out.push({ t: 'op', v: two, pos: i })
      i += 2
    } else if (two === '&&' || two === '||') {
      out.push({ t: two === '&&' ? 'and' : 'or', pos: i })
      i += 2
    } else if (c === '<' || c === '>') {
      out.push({ t: 'op', v: c, pos: i })
      i++
    } else if (c === '=') {
      throw syntaxError(expr, i, 'use "==" to compare')
    } else if (c === '!') {
      out.push({ t: 'not', pos: i })
      i++
    } else if (c === '(' || c === ')') {
      out.push({ t: c, pos: i })
      i++
    } else if (c === '"' || c === "'") {
      const start = i
      let s = ''
      i++
      while (i < expr.length && expr[i] !== c) {
        if (expr[i] === '\\' && i + 1 < expr.length) {
          const n = expr[i + 1]
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n
          i += 2
        } else s += expr[i++]
      }
      if (i >= expr.length) throw syntaxError(expr, start, 'unterminated string')
      i++
      out.push({ t: 'lit', v: s, pos: start })
    } else if (/[0-9.]/.test(c) || ((c === '-' || c === '+') && /[0-9.]/.test(expr[i + 1] ?? ''))) {
      const m = NUMBER.exec(expr.slice(i))
      if (!m) throw syntaxError(expr, i, `unexpected ${JSON.stringify(c)}`)
      if (KEY_START.test(expr[i + m[0].length] ?? '')) throw syntaxError(expr, i + m[0].length, 'a number runs into a name')
      out.push({ t: 'lit', v: Number(m[0]), pos: i })
      i += m[0].length
    } else if (KEY_START.test(c)) {
      const start = i
      let name = ''
      while (i < expr.length && KEY_CHAR.test(expr[i])) {
        if (expr[i] === '`') {
          const close = expr.indexOf('`', i + 1)
          if (close < 0) throw syntaxError(expr, i, 'unterminated `quoted` key')
          name += expr.slice(i + 1, close)
          i = close + 1
        } else name += expr[i++]
      }
      const lower = name.toLowerCase()
      const raw = expr.slice(start, i)
      if (raw === name && WORDS.has(lower)) out.push({ t: WORDS.get(lower)!, pos: start })
      else if (raw === name && (lower === 'true' || lower === 'false')) out.push({ t: 'lit', v: lower === 'true', pos: start })
      else if (raw === name && lower === 'null') out.push({ t: 'lit', v: null, pos: start })
      else out.push({ t: 'key', v: name, pos: start })
    } else {
      throw syntaxError(expr, i, `unexpected ${JSON.stringify(c)}`)
    }
  }
  out.push({ t: 'end', pos: expr.length })
  return out
}

function describe(tok: Token, expr: string): string {
  if (tok.t === 'end') return 'end of filter'
  if (tok.t === 'key' || tok.t === 'lit' || tok.t === 'op') return JSON.stringify(tokenText(tok, expr))
  return JSON.stringify(tok.t)
}

function tokenText(tok: Token, expr: string): string {
  if (tok.t === 'op') return tok.v
  const rest = expr.slice(tok.pos)
  const m = /^("[^"]*"?|'[^']*'?|[^\s()]+)/.exec(rest)
  return m ? m[1] : rest.slice(0, 1)
}

const DATE_KEYS = new Set(['created', 'started', 'ended'])

/** `2026-11-23 15:30` as `2026-11-23T15:30`; a time with an offset as the UTC ISO time. */
function utcText(s: string): string {
  const t = /^\d{4}-\d\d-\d\d \d/.test(s) ? s.replace(' ', 'T') : s
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:?\d\d|Z)$/.test(t)) {
    const d = new Date(t)
    if (!Number.isNaN(d.getTime())) return d.toISOString()
  }
  return t
}

/** Deepest nesting of parentheses and `not` a filter may have: the parser and evaluator recurse, and a stack overflow is no answer. */
export const MAX_FILTER_DEPTH = 64

function parse(expr: string): Node {
  const toks = tokenize(expr)
  let p = 0
  let depth = 0
  const deeper = (pos: number) => {
    if (++depth > MAX_FILTER_DEPTH) throw syntaxError(expr, pos, `nested more than ${MAX_FILTER_DEPTH} deep (parentheses and "not"); simplify the expression`)
  }
  const peek = () => toks[p]
  const next = () => toks[p++]

  const parseOr = (): Node => {
    let l = parseAnd()
    while (peek().t === 'or') {
      next()
      l = { k: 'or', l, r: parseAnd() }
    }
    return l
  }
  const parseAnd = (): Node => {
    let l = parseNot()
    while (peek().t === 'and') {
      next()
      l = { k: 'and', l, r: parseNot() }
    }
    return l
  }
  const parseNot = (): Node => {
    if (peek().t === 'not') {
      deeper(next().pos)
      const e = parseNot()
      depth--
      return { k: 'not', e }
    }
    return parseCmp()
  }
  const parseCmp = (): Node => {
    if (peek().t === '(') {
      const open = next()
      deeper(open.pos)
      const inner = parseOr()
      depth--
      if (peek().t !== ')') throw syntaxError(expr, peek().pos, `expected ")" to close the "(" at column ${open.pos + 1}, found ${describe(peek(), expr)}`)
      next()
      if (peek().t === 'op') throw syntaxError(expr, peek().pos, 'a comparison needs a key or value on its left, not a parenthesised expression')
      return inner
    }
    const l = parseOperand()
    const tok = peek()
    if (tok.t !== 'op') {
      if (tok.t === 'key' || tok.t === 'lit' || tok.t === '(')
        throw syntaxError(expr, tok.pos, `expected an operator (== != < <= > >= ~= and or), found ${describe(tok, expr)}`)
      return { k: 'truthy', e: l }
    }
    next()
    const r = parseOperand()
    // times are recorded in UTC: a literal with an offset, or a space for the T, is made comparable
    if (l.k === 'key' && DATE_KEYS.has(l.name) && r.k === 'lit' && typeof r.v === 'string') r.v = utcText(r.v)
    if (r.k === 'key' && DATE_KEYS.has(r.name) && l.k === 'lit' && typeof l.v === 'string') l.v = utcText(l.v)
    const node: Node = { k: 'cmp', op: tok.v, l, r }
    if (tok.v === '~=') {
      if (r.k !== 'lit' || typeof r.v !== 'string') throw syntaxError(expr, toks[p - 1].pos, '"~=" takes a quoted regular expression on its right')
      try {
        node.re = new RegExp(r.v)
      } catch (e) {
        throw syntaxError(expr, toks[p - 1].pos, `invalid regular expression: ${String((e as Error).message).replace(/^Invalid regular expression: /, '')}`)
      }
    }
    return node
  }
  const parseOperand = (): Operand => {
    const tok = next()
    if (tok.t === 'key') return { k: 'key', name: tok.v }
    if (tok.t === 'lit') return { k: 'lit', v: tok.v }
    throw syntaxError(expr, tok.pos, `expected a key or a value, found ${describe(tok, expr)}`)
  }

  if (peek().t === 'end') throw syntaxError(expr, 0, 'the filter is empty')
  const ast = parseOr()
  if (peek().t !== 'end') throw syntaxError(expr, peek().pos, `unexpected ${describe(peek(), expr)}`)
  return ast
}

/** Top-level names a filter (and `--sort-by`) may use besides `params.*` and `metrics.*`. */
export const FIELD_KEYS: Record<string, (run: ListedRun) => unknown> = {
  id: (r) => r.id,
  name: (r) => r.name,
  status: (r) => r.status,
  created: (r) => r.started,
  started: (r) => r.started,
  ended: (r) => r.ended,
  duration_s: (r) => r.duration_s,
  exit_code: (r) => r.exit_code,
  command: (r) => r.command,
  message: (r) => r.message,
  notes: (r) => r.notes,
  branch: (r) => r.branch,
  baseline: (r) => r.baseline,
  experiment: (r) => r.experiment ?? 'Default',
  commit: (r) => r.commit,
}

const own = (o: object, k: string) => Object.hasOwn(o, k)

/**
 * The value of a key on a run, or undefined when the run lacks it. `params.X` and
 * `metrics.X` read the flattened maps; a bare name that is not a field reads a metric,
 * then a param, so `acc` means `metrics.acc`.
 */
export function keyValue(run: ListedRun, key: string): unknown {
  if (key.startsWith('params.')) {
    const k = key.slice(7)
    return own(run.params, k) ? run.params[k] : undefined
  }
  if (key.startsWith('metrics.')) {
    const k = key.slice(8)
    return own(run.metrics, k) ? run.metrics[k] : undefined
  }
  if (key.startsWith('tags.')) {
    const k = key.slice(5)
    return run.tags && own(run.tags, k) ? run.tags[k] : undefined
  }
  const field = own(FIELD_KEYS, key) ? FIELD_KEYS[key] : undefined
  if (field) return field(run)
  if (own(run.metrics, key)) return run.metrics[key]
  if (own(run.params, key)) return run.params[key]
  return undefined
}

function operandValue(o: Operand, run: ListedRun): Value {
  if (o.k === 'lit') return o.v
  const v = keyValue(run, o.name)
  if (v === undefined) return MISSING
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as Scalar)
}

function compare(op: CmpOp, a: Scalar, b: Scalar, dateKey: boolean): boolean {
  if (typeof a === 'number' && typeof b === 'string' && b.trim() !== '' && Number.isFinite(Number(b))) b = Number(b)
  else if (typeof b === 'number' && typeof a === 'string' && a.trim() !== '' && Number.isFinite(Number(a))) a = Number(a)
  // `created <= "2026-11-23"` compares by the day: the run's time is cut to the literal's length.
  if (dateKey && typeof a === 'string' && typeof b === 'string') {
    if (a.length > b.length) a = a.slice(0, b.length)
    else if (b.length > a.length) b = b.slice(0, a.length)
  }
  if (op === '==') return a === b
  if (op === '!=') return a !== b
  if (typeof a !== typeof b || a === null || b === null || typeof a === 'boolean') return false
  if (op === '<') return a < b
  if (op === '<=') return a <= b
  if (op === '>') return a > b
  return a >= b
}

function evaluate(n: Node, run: ListedRun): boolean {
  switch (n.k) {
    case 'and':
      return evaluate(n.l, run) && evaluate(n.r, run)
    case 'or':
      return evaluate(n.l, run) || evaluate(n.r, run)
    case 'not':
      return !evaluate(n.e, run)
    case 'truthy':
      return operandValue(n.e, run) === true
    case 'cmp': {
      const a = operandValue(n.l, run)
      if (a === MISSING) return false
      if (n.re) return a !== null && n.re.test(String(a))
      const b = operandValue(n.r, run)
      if (b === MISSING) return false
      const dateKey = (n.l.k === 'key' && DATE_KEYS.has(n.l.name)) || (n.r.k === 'key' && DATE_KEYS.has(n.r.name))
      return compare(n.op, a, b, dateKey)
    }
  }
}

/**
 * Compile a filter expression into a predicate over runs. Syntax errors (and an invalid
 * regular expression after `~=`) throw XP_BAD_FILTER (exit 2) naming the 1-based column.
 *
 * @example
 * const keep = compileFilter('metrics.acc > 0.9 and (params.model == "rf" or params.lr <= 1e-2)')
 * runs.filter(keep)
 */
export function compileFilter(expr: string): RunPredicate {
  const ast = parse(expr)
  return (run) => evaluate(ast, run)
}
