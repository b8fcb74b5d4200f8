import { describe, it, expect } from 'vitest'
import { compileFilter } from '../src/core/compare/filter.js'
import type { XpError } from '../src/core/errors.js'
import { run, thrownCode } from './compare-fixtures.js'

const rf = run({
  name: 'brisk-otter',
  params: { model: 'rf', lr: 0.1, 'other.yaml:lr': 0.5, 'lr-decay': 0.9, flag: true, none: null },
  metrics: { acc: 0.93, 'loss val': 0.2 },
  notes: 'best so far',
  message: 'try rf',
})
const svm = run({
  name: 'calm-heron',
  status: 'failed',
  started: '2026-11-20T09:00:00.000Z',
  duration_s: 120,
  params: { model: 'svm', lr: 0.001 },
  metrics: { acc: 0.85 },
})
const bare = run({ name: 'no-metrics', started: '2026-11-24T00:00:01.000Z' })
const all = [rf, svm, bare]
const pick = (expr: string) => all.filter(compileFilter(expr)).map((r) => r.name)

function syntax(expr: string): XpError {
  try {
    compileFilter(expr)
  } catch (e) {
    return e as XpError
  }
  throw new Error(`no error for ${expr}`)
}

describe('filter: comparisons', () => {
  it('compares numbers, strings, booleans and null', () => {
    expect(pick('metrics.acc > 0.9')).toEqual(['brisk-otter'])
    expect(pick('metrics.acc >= 0.85')).toEqual(['brisk-otter', 'calm-heron'])
    expect(pick('metrics.acc < 0.9')).toEqual(['calm-heron'])
    expect(pick('params.lr <= 1e-3')).toEqual(['calm-heron'])
    expect(pick("params.model == 'rf'")).toEqual(['brisk-otter'])
    expect(pick('params.model != "rf"')).toEqual(['calm-heron'])
    expect(pick('params.flag == true')).toEqual(['brisk-otter'])
    expect(pick('params.none == null')).toEqual(['brisk-otter'])
    expect(pick('0.9 < metrics.acc')).toEqual(['brisk-otter'])
  })
  it('makes a comparison on a missing key false, in every direction', () => {
    expect(pick('metrics.acc != 1')).toEqual(['brisk-otter', 'calm-heron'])
    expect(pick('metrics.f1 < 100 or metrics.f1 >= 100')).toEqual([])
    expect(pick('not metrics.acc > 0.9')).toEqual(['calm-heron', 'no-metrics'])
  })
  it('reads keys with dots, hyphens, colons and backquotes', () => {
    expect(pick('params.other.yaml:lr == 0.5')).toEqual(['brisk-otter'])
    expect(pick('params.lr-decay > 0.5')).toEqual(['brisk-otter'])
    expect(pick('metrics.`loss val` < 0.3')).toEqual(['brisk-otter'])
    expect(pick('`metrics`.acc > 0.9')).toEqual(['brisk-otter'])
  })
  it('knows name, status, created, duration_s, id, message and notes', () => {
    expect(pick('status == "failed"')).toEqual(['calm-heron'])
    expect(pick('duration_s > 60')).toEqual(['calm-heron'])
    expect(pick('name ~= "^brisk"')).toEqual(['brisk-otter'])
    expect(pick('notes ~= "best"')).toEqual(['brisk-otter'])
    expect(pick('message == "try rf"')).toEqual(['brisk-otter'])
    expect(pick(`id == "${svm.id}"`)).toEqual(['calm-heron'])
  })
  it('compares created by day against a date', () => {
    expect(pick('created == "2026-11-23"')).toEqual(['brisk-otter'])
    expect(pick('created >= "2026-11-23"')).toEqual(['brisk-otter', 'no-metrics'])
    expect(pick('created > "2026-11-23"')).toEqual(['no-metrics'])
    expect(pick('created < "2026-11-23"')).toEqual(['calm-heron'])
    expect(pick('created >= "2026-11-23T15:30"')).toEqual(['brisk-otter', 'no-metrics'])
    expect(pick('created >= "2026-11-23 15:31"')).toEqual(['no-metrics'])
    // an offset is turned into UTC: 17:30+02:00 is the 15:30Z of brisk-otter
    expect(pick('created == "2026-11-23T17:30:00+02:00"')).toEqual(['brisk-otter'])
    expect(pick('"2026-11-23T16:30:00+01:00" >= created')).toEqual(['brisk-otter', 'calm-heron'])
  })
  it('matches regular expressions against numbers as text', () => {
    expect(pick('metrics.acc ~= "^0\\\\.9"')).toEqual(['brisk-otter'])
    expect(pick("params.model ~= 'rf|svm'")).toEqual(['brisk-otter', 'calm-heron'])
  })
  it('takes a bare name as a metric, then a param', () => {
    expect(pick('acc > 0.9')).toEqual(['brisk-otter'])
    expect(pick('model == "svm"')).toEqual(['calm-heron'])
  })
  it('treats a bare boolean key as true only when it is true', () => {
    expect(pick('params.flag')).toEqual(['brisk-otter'])
    expect(pick('not params.flag')).toEqual(['calm-heron', 'no-metrics'])
  })
})

describe('filter: logic', () => {
  it('gives and precedence over or, with parentheses and not', () => {
    expect(pick('metrics.acc > 0.9 and (params.model == "rf" or params.lr <= 0.01)')).toEqual(['brisk-otter'])
    expect(pick('params.model == "svm" or params.model == "rf" and metrics.acc < 0.5')).toEqual(['calm-heron'])
    expect(pick('(params.model == "svm" or params.model == "rf") and metrics.acc < 0.9')).toEqual(['calm-heron'])
    expect(pick('not (status == "failed")')).toEqual(['brisk-otter', 'no-metrics'])
    expect(pick('not not status == "failed"')).toEqual(['calm-heron'])
    expect(pick('status == "failed" || params.flag && metrics.acc > 0.9')).toEqual(['brisk-otter', 'calm-heron'])
    expect(pick('AND_is_a_key == 1 OR status == "failed"')).toEqual(['calm-heron'])
  })
  it('reads negative numbers and exponents', () => {
    expect(pick('metrics.acc > -1e3')).toEqual(['brisk-otter', 'calm-heron'])
    expect(pick('params.lr>=-.5')).toEqual(['brisk-otter', 'calm-heron'])
  })
})

describe('filter: errors', () => {
  it('reports a syntax error with its 1-based column and a caret', () => {
    const e = syntax('metrics.acc >> 0.9')
    expect(e.code).toBe('XP_BAD_FILTER')
    expect(e.exitCode).toBe(2)
    expect(e.message).toContain('column 14')
    expect(e.data?.column).toBe(14)
    expect(e.hint?.split('\n')[1].indexOf('^')).toBe(8 + 13)
  })
  it('names the column of each kind of mistake', () => {
    const col = (expr: string) => syntax(expr).data?.column
    expect(col('')).toBe(1)
    expect(col('metrics.acc >')).toBe(14)
    expect(col('(metrics.acc > 1')).toBe(17)
    expect(col('metrics.acc = 1')).toBe(13)
    expect(col('name == "x')).toBe(9)
    expect(col('a == 1 b == 2')).toBe(8)
    expect(col('a == 1 )')).toBe(8)
    expect(col('a $ 1')).toBe(3)
    expect(col('params.x == 1 and')).toBe(18)
  })
  it('refuses an invalid regular expression and a regex that is not a string', () => {
    expect(thrownCode(() => compileFilter('name ~= "(unclosed"'))).toBe('XP_BAD_FILTER')
    expect(syntax('name ~= "[z-a]"').data?.column).toBe(9)
    expect(thrownCode(() => compileFilter('name ~= 3'))).toBe('XP_BAD_FILTER')
  })
  it('never evaluates code', () => {
    ;(globalThis as any).pwned = false
    expect(thrownCode(() => compileFilter('name == "x" ; globalThis.pwned = true'))).toBe('XP_BAD_FILTER')
    expect(pick('constructor == 1 or __proto__ == 1 or params.constructor == 1')).toEqual([])
    expect((globalThis as any).pwned).toBe(false)
  })
})
