/**
 * The filter of the runs table: the language of `xp show --filter`.
 * INTERIM: until src/core/compare/filter.ts lands (branch compare), a small subset
 * (`KEY OP VALUE` joined by `and`); replaced by a re-export of compileFilter on merge.
 */
import type { RunRow } from './table.js'
import { cellValue } from './table.js'
import { XpError } from '../core/errors.js'

export function compileRunFilter(expr: string): (run: RunRow) => boolean {
  const src = expr.trim()
  if (!src) return () => true
  const terms = src.split(/\s+and\s+/).map((t) => {
    const m = /^([A-Za-z_][\w.:-]*)\s*(==|!=|<=|>=|<|>|~=)\s*(.+)$/.exec(t.trim())
    if (!m) throw new XpError('XP_BAD_FILTER', `cannot read the filter near ${JSON.stringify(t)}`)
    const [, key, op, raw] = m
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      throw new XpError('XP_BAD_FILTER', `not a value: ${raw}`)
    }
    const re = op === '~=' ? new RegExp(String(value)) : null
    return (r: RunRow) => {
      const v = cellValue(r, key)
      if (re) return re.test(String(v ?? ''))
      if (v === undefined || v === null) return op === '!='
      switch (op) {
        case '==': return v === value
        case '!=': return v !== value
        case '<': return (v as number) < (value as number)
        case '<=': return (v as number) <= (value as number)
        case '>': return (v as number) > (value as number)
        default: return (v as number) >= (value as number)
      }
    }
  })
  return (r) => terms.every((t) => t(r))
}
