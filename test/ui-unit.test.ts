// Pure parts of the page and the report: series parsing, the escaping element tree,
// sorting and the differences between runs, chart ticks.
import { describe, it, expect } from 'vitest'
import { parseSeries, mergeSeries, thin } from '../src/ui/series.js'
import { h, toHtml, escapeHtml } from '../src/ui/html.js'
import { sortRows, keyRow, changedKeys, columnKeys, type RunRow } from '../src/ui/table.js'
import { lineChart, ticks } from '../src/ui/chart.js'
import { reportTree } from '../src/ui/report.js'

const run = (name: string, params: RunRow['params'], metrics: RunRow['metrics'], started = '2026-01-01T00:00:00Z'): RunRow => ({
  notes: undefined,
  id: name.padEnd(20, '0'),
  name,
  status: 'succeeded',
  started,
  duration_s: 1,
  commit: 'c',
  baseline: null,
  params,
  metrics,
})

describe('parseSeries', () => {
  it('reads DVCLive TSV with a step column, skipping timestamps', () => {
    const s = parseSeries('timestamp\tstep\tloss\n1700000000\t0\t1.5\n1700000001\t1\t0.9\n', 'dvclive/plots/metrics/loss.tsv')
    expect(s).toEqual({ loss: { x: [0, 1], y: [1.5, 0.9] } })
  })
  it('reads CSV with quoted headers and several metrics, using row numbers without a step', () => {
    const s = parseSeries('"val,acc",loss\n0.5,2\n0.7,1\n', 'logs/train.csv')
    expect(s['val,acc']).toEqual({ x: [0, 1], y: [0.5, 0.7] })
    expect(s.loss.y).toEqual([2, 1])
  })
  it('reads JSONL and skips a torn last line and non-numbers', () => {
    const s = parseSeries('{"step":1,"acc":0.5,"tag":"x"}\n{"step":2,"acc":0.6}\n{"step":3,"ac', 'logs/m.jsonl')
    expect(s).toEqual({ acc: { x: [1, 2], y: [0.5, 0.6] } })
  })
  it('returns nothing for an empty or header-only file', () => {
    expect(parseSeries('', 'a.tsv')).toEqual({})
    expect(parseSeries('step\tloss\n', 'a.tsv')).toEqual({})
  })
  it('keeps a second file with the same metric name apart', () => {
    const m = mergeSeries([
      { path: 'a.tsv', series: { loss: { x: [0], y: [1] } } },
      { path: 'b.tsv', series: { loss: { x: [0], y: [2] } } },
    ])
    expect(Object.keys(m)).toEqual(['loss', 'b.tsv:loss'])
  })
  it('thins long curves evenly, keeping both ends', () => {
    const n = 12_000
    const c = thin({ x: [...Array(n).keys()], y: [...Array(n).keys()] }, 100)
    expect(c.x.length).toBe(100)
    expect(c.x[0]).toBe(0)
    expect(c.x[99]).toBe(n - 1)
  })
})

describe('html', () => {
  it('escapes text and attribute values, drops event handler attributes', () => {
    const html = toHtml(h('td', { title: '"><script>', onclick: 'alert(1)' }, '<img src=x onerror=alert(1)>'))
    expect(html).toBe('<td title="&quot;&gt;&lt;script&gt;">&lt;img src=x onerror=alert(1)&gt;</td>')
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;')
  })
  it('the report keeps HTML in params as text', () => {
    const html = toHtml(reportTree([run('a', { tag: '<b>x</b>' }, {}), run('b', { tag: '</table><script>alert(1)</script>' }, {})], [{}, {}], 'now'))
    expect(html).not.toContain('<script>')
    expect(html).not.toContain('<b>')
    expect(html).toContain('&lt;/table&gt;&lt;script&gt;')
  })
})

describe('table', () => {
  const runs = [run('a', { lr: 0.1 }, { acc: 0.5 }), run('b', { lr: 0.01 }, {}), run('c', { lr: 0.1, model: 'rf' }, { acc: 0.9 })]
  it('sorts by a metric, missing values last in both directions', () => {
    expect(sortRows(runs, 'metrics.acc', 'desc').map((r) => r.name)).toEqual(['c', 'a', 'b'])
    expect(sortRows(runs, 'metrics.acc', 'asc').map((r) => r.name)).toEqual(['a', 'c', 'b'])
    expect(sortRows(runs, 'name', 'desc').map((r) => r.name)).toEqual(['c', 'b', 'a'])
    // the same order when the known keys come from one key row
    expect(sortRows(runs, 'params.model', 'asc', [keyRow(runs)]).map((r) => r.name)).toEqual(['c', 'a', 'b'])
  })
  it('finds the keys that differ', () => {
    expect([...changedKeys(runs, 'params')].sort()).toEqual(['lr', 'model'])
    expect([...changedKeys([runs[0], runs[0]], 'params')]).toEqual([])
    expect(columnKeys(runs, 'params')).toEqual(['lr', 'model'])
  })
})

describe('charts', () => {
  it('draws one polyline per run with all its points', () => {
    const html = toHtml(
      lineChart('loss', [
        { label: 'a', color: '#000', x: [0, 1, 2], y: [3, 2, 1] },
        { label: 'b', color: '#111', x: [0, 1], y: [1, 1] },
      ]),
    )
    const counts = [...html.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1].split(' ').length)
    expect(counts).toEqual([3, 2])
  })
  it('picks round ticks', () => {
    expect(ticks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(ticks(0, 100)).toEqual([0, 20, 40, 60, 80, 100])
  })
})
