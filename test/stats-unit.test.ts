// The pure parts of the many-run views (src/ui/stats.ts) and the files view's table parser.
import { describe, it, expect } from 'vitest'
import { makeAxis, axisPos, meanStd, groupBy, meanCurve, curveKey, coinciding } from '../src/ui/stats.js'
import { contentType } from '../src/ui/files.js'

describe('many-run statistics', () => {
  it('scales numbers and categories on an axis', () => {
    const n = makeAxis('params.lr', [0.1, 0.5, undefined, 0.3])
    expect(n).toMatchObject({ kind: 'number', min: 0.1, max: 0.5 })
    expect(axisPos(n, 0.3)).toBeCloseTo(0.5)
    expect(axisPos(n, undefined)).toBeNaN()
    const c = makeAxis('params.model', ['rf', 'svm', 'rf', 1])
    expect(c).toMatchObject({ kind: 'category', cats: ['1', 'rf', 'svm'] })
    expect(axisPos(c, 'svm')).toBe(1)
    expect(axisPos(makeAxis('k', ['only']), 'only')).toBe(0.5)
  })

  it('gives mean and sample standard deviation, ignoring what is not a finite number', () => {
    expect(meanStd([1, 2, 3, 'x', null, Number.NaN])).toEqual({ mean: 2, std: 1, n: 3 })
    expect(meanStd([5])).toEqual({ mean: 5, std: 0, n: 1 })
    expect(meanStd(['a'])).toBeNull()
  })

  it('groups by a value, numbers in numeric order and a missing value as (none)', () => {
    const g = groupBy([{ v: 10 }, { v: 2 }, { v: 10 }, {}], (r: { v?: number }) => r.v)
    expect(g.map((x) => [x.key, x.rows.length])).toEqual([
      ['2', 1],
      ['10', 2],
      ['(none)', 1],
    ])
  })

  it('averages curves step by step, counting only the runs that have a step', () => {
    const b = meanCurve([
      { x: [0, 1, 2], y: [1, 2, 3] },
      { x: [0, 1], y: [3, 4] },
    ])
    expect(b.x).toEqual([0, 1, 2])
    expect(b.mean).toEqual([2, 3, 3])
    expect(b.n).toEqual([2, 2, 1])
    expect(b.hi[0] - b.mean[0]).toBeCloseTo(Math.SQRT2)
    expect(b.lo[2]).toBe(3)
  })

  it('names curves that coincide together, and only those', () => {
    const a = { label: 'a', x: [0, 1], y: [1, 0.5] }
    const b = { label: 'b', x: [0, 1], y: [1, 0.5] }
    const c = { label: 'c', x: [0, 1], y: [1, 0.5000001] }
    expect(curveKey(a)).toBe(curveKey(b))
    expect(curveKey(a)).not.toBe(curveKey(c))
    expect(coinciding([a, b, c]).map((g) => g.labels)).toEqual([['a', 'b'], ['c']])
  })

  it('serves files with a content type from a fixed table; markup is never rendered', () => {
    expect(contentType('plots/cm.PNG')).toBe('image/png')
    expect(contentType('a.svg')).toBe('image/svg+xml')
    expect(contentType('report.html')).toBe('text/plain; charset=utf-8')
    expect(contentType('model.bin')).toBe('application/octet-stream')
    expect(contentType('Dockerfile')).toBe('text/plain; charset=utf-8')
  })
})
