import { describe, it, expect } from 'vitest'
import { sortRuns, buildTable, resolveSortKey, knownKeys, closeKeys } from '../src/core/compare/table.js'
import { formatNumber, formatDuration, formatCreated } from '../src/core/compare/format.js'
import type { XpError } from '../src/core/errors.js'
import { fitColumns, csvField, mdCell } from '../src/cli/render-compare.js'
import { run, thrownCode } from './compare-fixtures.js'

// newest first, as listRuns gives them
const c = run({ name: 'c', started: '2026-11-23T12:00:00.000Z', duration_s: 5, params: { lr: 0.01, model: 'rf', seed: 1 }, metrics: { acc: 0.91, loss: 0.3 } })
const b = run({ name: 'b', started: '2026-11-22T12:00:00.000Z', duration_s: 50, params: { lr: 0.1, model: 'rf', seed: 1 }, metrics: { acc: 0.95, loss: 0.3 } })
const a = run({ name: 'a', started: '2026-11-21T12:00:00.000Z', duration_s: 7, params: { lr: 0.001, model: 'svm', seed: 1 } })
const runs = [c, b, a]
const names = (rs: { name: string }[]) => rs.map((r) => r.name)

describe('formatNumber: 5 significant digits like DVC', () => {
  it('formats like Python .5g and keeps integers whole', () => {
    expect(formatNumber(0.912345678)).toBe('0.91235')
    expect(formatNumber(0.5)).toBe('0.5')
    expect(formatNumber(12.3456789)).toBe('12.346')
    expect(formatNumber(123456.7)).toBe('1.2346e+05')
    expect(formatNumber(0.0001234567)).toBe('0.00012346')
    expect(formatNumber(0.00001234567)).toBe('1.2346e-05')
    expect(formatNumber(1e-7)).toBe('1e-07')
    expect(formatNumber(-2.5e-3)).toBe('-0.0025')
    expect(formatNumber(42)).toBe('42')
    expect(formatNumber(1234567)).toBe('1234567')
    expect(formatNumber(Number.NaN)).toBe('nan')
  })
  it('formats durations and times', () => {
    expect(formatDuration(0.432)).toBe('0.43s')
    expect(formatDuration(12.34)).toBe('12.3s')
    expect(formatDuration(245)).toBe('4m05s')
    expect(formatDuration(7380)).toBe('2h03m')
    expect(formatCreated('2026-11-23T15:30:00.123Z')).toBe('2026-11-23 15:30:00')
  })
})

describe('sortRuns', () => {
  it('keeps newest first by default and reverses with asc', () => {
    expect(names(sortRuns(runs, {}))).toEqual(['c', 'b', 'a'])
    expect(names(sortRuns(runs, { order: 'asc' }))).toEqual(['a', 'b', 'c'])
  })
  it('sorts metrics descending by default, missing values last either way', () => {
    expect(names(sortRuns(runs, { sortBy: 'metrics.acc' }))).toEqual(['b', 'c', 'a'])
    expect(names(sortRuns(runs, { sortBy: 'acc' }))).toEqual(['b', 'c', 'a'])
    expect(names(sortRuns(runs, { sortBy: 'acc', order: 'asc' }))).toEqual(['c', 'b', 'a'])
  })
  it('sorts params, names and durations ascending by default, created descending', () => {
    expect(names(sortRuns(runs, { sortBy: 'params.lr' }))).toEqual(['a', 'c', 'b'])
    expect(names(sortRuns(runs, { sortBy: 'lr', order: 'desc' }))).toEqual(['b', 'c', 'a'])
    expect(names(sortRuns(runs, { sortBy: 'name' }))).toEqual(['a', 'b', 'c'])
    expect(names(sortRuns(runs, { sortBy: 'duration_s' }))).toEqual(['c', 'a', 'b'])
    expect(names(sortRuns(runs, { sortBy: 'created' }))).toEqual(['c', 'b', 'a'])
    expect(names(sortRuns(runs, { sortBy: 'created', order: 'asc' }))).toEqual(['a', 'b', 'c'])
  })
  it('keeps the listing order for ties', () => {
    expect(names(sortRuns(runs, { sortBy: 'loss' }))).toEqual(['c', 'b', 'a'])
  })
  it('limits after sorting', () => {
    expect(names(sortRuns(runs, { sortBy: 'acc', limit: 1 }))).toEqual(['b'])
    expect(names(sortRuns(runs, { limit: 0 }))).toEqual([])
  })
  it('refuses an unknown key, listing close keys', () => {
    expect(thrownCode(() => sortRuns(runs, { sortBy: 'acuracy' }))).toBe('XP_BAD_SORT_KEY')
    try {
      resolveSortKey('metrics.acx', knownKeys(runs))
    } catch (e) {
      expect((e as XpError).exitCode).toBe(2)
      expect((e as XpError).data?.close).toContain('metrics.acc')
      expect((e as XpError).message).toContain('metrics.acc')
    }
    expect(closeKeys('lr', knownKeys(runs))).toContain('params.lr')
  })
})

describe('buildTable', () => {
  it('lays out name, created, status, duration, then metrics, then params', () => {
    const t = buildTable(runs)
    expect(t.columns.map((col) => col.label)).toEqual(['name', 'created', 'status', 'duration', 'acc', 'loss', 'lr', 'model', 'seed'])
    expect(t.text[2]).toEqual(['a', '2026-11-21 12:00:00', 'succeeded', '7s', '-', '-', '0.001', 'svm', '1'])
    expect(t.values[2][4]).toBeUndefined()
    expect(t.columns.find((col) => col.key === 'params.model')?.numeric).toBe(false)
    expect(t.columns.find((col) => col.key === 'params.lr')?.numeric).toBe(true)
  })
  it('drops columns that are the same in every run with onlyChanged', () => {
    const t = buildTable(runs, { onlyChanged: true })
    expect(t.columns.map((col) => col.key)).toEqual(['name', 'created', 'status', 'duration_s', 'metrics.acc', 'metrics.loss', 'params.lr', 'params.model'])
    // loss is missing in one run: that counts as a change
    expect(buildTable([c, b], { onlyChanged: true }).columns.map((col) => col.key)).toEqual([
      'name',
      'created',
      'status',
      'duration_s',
      'metrics.acc',
      'params.lr',
    ])
  })
  it('names a key that is both a metric and a param by its group', () => {
    const t = buildTable([run({ params: { acc: 1 }, metrics: { acc: 0.5 } })])
    expect(t.columns.map((col) => col.label).slice(4)).toEqual(['metrics.acc', 'params.acc'])
  })
  it('adds a notes column only when a run has notes', () => {
    expect(buildTable(runs).columns.some((col) => col.key === 'notes')).toBe(false)
    const t = buildTable([run({ notes: 'good one' }), a])
    expect(t.columns.at(-1)?.key).toBe('notes')
    expect(t.text.map((r) => r.at(-1))).toEqual(['good one', ''])
  })
  it('handles no runs', () => {
    expect(buildTable([], { onlyChanged: true }).text).toEqual([])
  })
})

describe('rendering helpers', () => {
  it('leaves out columns from the right to fit a terminal, never the run fields', () => {
    const t = buildTable(runs)
    expect(fitColumns(t, 500).hidden).toEqual([])
    const narrow = fitColumns(t, 55)
    expect(narrow.hidden).toEqual(['loss', 'lr', 'model', 'seed'])
    expect(narrow.table.columns.map((col) => col.label)).toEqual(['name', 'created', 'status', 'duration', 'acc'])
    expect(narrow.table.text[0]).toHaveLength(5)
    expect(fitColumns(t, 10).table.columns.map((col) => col.label)).toEqual(['name', 'created', 'status', 'duration'])
  })
  it('quotes CSV fields per RFC 4180 and escapes markdown cells', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('two\nlines')).toBe('"two\nlines"')
    expect(mdCell('a|b\nc')).toBe('a\\|b<br>c')
  })
})
