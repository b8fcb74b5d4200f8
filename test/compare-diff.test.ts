import { describe, it, expect } from 'vitest'
import { diffRuns, diffFlat } from '../src/core/compare/diff.js'
import { run } from './compare-fixtures.js'

describe('diffRuns', () => {
  const a = run({ name: 'old', params: { lr: 0.1, model: 'rf', seed: 1, gone: 3 }, metrics: { acc: 0.8, loss: 0.3, zero: 0 } })
  const b = run({ name: 'new', params: { lr: 0.01, model: 'svm', seed: 1, added: true }, metrics: { acc: 0.9, loss: 0.3, zero: 1 } })

  it('gives old, new, diff (new minus old) and percent for numbers', () => {
    const d = diffRuns(a, b)
    expect(d.a).toBe(a)
    expect(d.b).toBe(b)
    expect(d.metrics.acc).toEqual({ old: 0.8, new: 0.9, diff: 0.1, pct: 12.5 })
    expect(d.params.lr).toEqual({ old: 0.1, new: 0.01, diff: -0.09, pct: -90 })
  })
  it('leaves diff null for strings and booleans and omits pct when old is 0', () => {
    const d = diffRuns(a, b)
    expect(d.params.model).toEqual({ old: 'rf', new: 'svm', diff: null })
    expect(d.metrics.zero).toEqual({ old: 0, new: 1, diff: 1 })
  })
  it('shows keys on one side only with null on the other', () => {
    const d = diffRuns(a, b)
    expect(d.params.gone).toEqual({ old: 3, new: null, diff: null })
    expect(d.params.added).toEqual({ old: null, new: true, diff: null })
  })
  it('leaves out unchanged keys unless all', () => {
    expect(Object.keys(diffRuns(a, b).params).sort()).toEqual(['added', 'gone', 'lr', 'model'])
    expect(diffRuns(a, b).metrics.loss).toBeUndefined()
    expect(diffRuns(a, b, { all: true }).metrics.loss).toEqual({ old: 0.3, new: 0.3, diff: 0, pct: 0 })
    expect(Object.keys(diffRuns(a, b, { all: true }).params).sort()).toEqual(['added', 'gone', 'lr', 'model', 'seed'])
  })
  it('compares a run with itself as no change', () => {
    expect(diffRuns(a, a)).toMatchObject({ params: {}, metrics: {} })
  })
  it('tells a recorded null from a missing key', () => {
    expect(diffFlat({ x: null }, {})).toEqual({ x: { old: null, new: null, diff: null } })
    expect(diffFlat({ x: null }, { x: null })).toEqual({})
  })
})
