// Many-run views in Debian's chromium: parallel coordinates over the filtered runs with a
// brush that filters the table, group by a param with mean ± std of the metrics, and the
// curves of every run (seeds of one config coincide: the legend names them together),
// hover fading the rest, grouped into mean ± std bands.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { once } from 'node:events'
import type { ChildProcess } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './servers/chromium.js'
import { startUi } from './servers/ui.js'
import { TestRepo, cleanupTmp, ROOT } from './helpers.js'

const ARTIFACTS = path.join(ROOT, 'test-artifacts')

// acc depends on lr and a little on the seed; the loss curve on lr only (seeds coincide)
const TRAIN = `
const fs = require('fs')
const p = fs.readFileSync('params.yaml', 'utf8')
const lr = Number(/lr: (\\S+)/.exec(p)[1]), seed = Number(/seed: (\\S+)/.exec(p)[1])
fs.mkdirSync('dvclive/plots/metrics', { recursive: true })
let loss = 'step\\tloss\\n'
for (let i = 0; i < 20; i++) loss += i + '\\t' + 1 / (1 + i * lr) + '\\n'
fs.writeFileSync('dvclive/plots/metrics/loss.tsv', loss)
fs.writeFileSync('dvclive/metrics.json', JSON.stringify({ acc: lr + seed / 100 }))
`
const RUNS: Array<[string, number, number]> = [
  ['slow-1', 0.1, 1],
  ['slow-2', 0.1, 2],
  ['slow-3', 0.1, 3],
  ['fast-1', 0.5, 1],
  ['fast-2', 0.5, 2],
  ['fast-3', 0.5, 3],
]

let repo: TestRepo
let server: ChildProcess
let url: string
let browser: Browser
let page: Page

async function rowNames(): Promise<string[]> {
  return (await page.$$eval('.tbody .tr .run-link', (as) => as.map((a) => a.textContent ?? ''))).sort()
}

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  repo = new TestRepo({ files: { 'train.js': TRAIN, 'params.yaml': 'lr: 0.1\nseed: 1\n' } })
  for (const [name, lr, seed] of RUNS) {
    const r = repo.xp(['run', '-n', name, '-S', `lr=${lr}`, '-S', `seed=${seed}`, '--', 'node', 'train.js'])
    expect(r.code, r.stderr).toBe(0)
  }
  const ui = await startUi(repo)
  server = ui.child
  url = `${ui.url}/`
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  await page.goto(url)
  await page.waitForSelector('.tbody .tr')
})

afterAll(async () => {
  await browser?.close()
  if (server?.exitCode === null) {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
  cleanupTmp()
})

describe('many runs', () => {
  it('draws parallel coordinates of the params against a metric, and a brush filters the table', async () => {
    await page.click('.toggle-parallel')
    await page.waitForSelector('canvas.parallel[data-axes]')
    const axes: Array<{ key: string; x: number; top: number; bottom: number }> = JSON.parse((await page.getAttribute('canvas.parallel', 'data-axes'))!)
    expect(axes.map((a) => a.key)).toEqual(['params.lr', 'params.seed', 'metrics.acc'])
    expect(await page.getAttribute('canvas.parallel', 'data-kept')).toBe('6')
    // brush the top half of acc: the fast runs (acc 0.51..0.53) stay
    const box = (await page.$('canvas.parallel'))!
    const b = (await box.boundingBox())!
    const acc = axes[2]
    await page.mouse.move(b.x + acc.x, b.y + acc.top - 2)
    await page.mouse.down()
    await page.mouse.move(b.x + acc.x, b.y + (acc.top + acc.bottom) / 2, { steps: 4 })
    await page.mouse.up()
    await page.waitForFunction(() => document.querySelectorAll('.tbody .tr').length === 3)
    expect(await rowNames()).toEqual(['fast-1', 'fast-2', 'fast-3'])
    expect(await page.getAttribute('canvas.parallel', 'data-kept')).toBe('3')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-parallel.png') })
    // the filter narrows what the axes show; a click on the axis drops the brush
    await page.fill('.filter', 'params.seed != 3')
    await page.waitForFunction(() => document.querySelector('canvas.parallel')?.getAttribute('data-lines') === '4')
    expect(await rowNames()).toEqual(['fast-1', 'fast-2'])
    await page.fill('.filter', '')
    await page.mouse.click(b.x + acc.x, b.y + acc.bottom - 20)
    await page.waitForFunction(() => document.querySelectorAll('.tbody .tr').length === 6)
  })

  it('groups by a param with mean ± std of each metric', async () => {
    await page.selectOption('.group-by', 'params.lr')
    await page.waitForSelector('.group-table tr[data-group]')
    const groups = await page.$$eval('.group-table tr[data-group]', (rs) =>
      rs.map((r) => [
        r.getAttribute('data-group'),
        r.children[1].textContent,
        r.children[2].getAttribute('data-mean'),
        r.children[2].getAttribute('data-std'),
        r.children[2].textContent,
      ]),
    )
    expect(groups.map((g) => g.slice(0, 2))).toEqual([
      ['0.1', '3'],
      ['0.5', '3'],
    ])
    expect(Number(groups[0][2])).toBeCloseTo(0.12, 10)
    expect(Number(groups[0][3])).toBeCloseTo(0.01, 10)
    expect(groups[1][4]).toBe('0.52 ± 0.01')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-groups.png') })
    await page.selectOption('.group-by', '')
    expect(await page.$$('.group-table')).toHaveLength(0)
  })

  it('draws every curve, names the ones that coincide, highlights one on hover, and averages groups', async () => {
    await page.click('.toggle-curves')
    await page.waitForSelector('canvas.curves[data-curves]')
    // six runs, two distinct curves: the seeds of one lr coincide and are named together
    expect(await page.getAttribute('canvas.curves', 'data-runs')).toBe('6')
    expect(await page.getAttribute('canvas.curves', 'data-curves')).toBe('2')
    const legend = await page.$$eval('.curve-legend .legend-item', (ls) => ls.map((l) => l.textContent))
    expect(legend.sort()).toEqual(['fast-3 = fast-2 = fast-1', 'slow-3 = slow-2 = slow-1'])
    await page.$eval('.curves-box', (e) => e.scrollIntoView())
    const [px, py] = (await page.getAttribute('canvas.curves', 'data-probe'))!.split(',').map(Number)
    const cb = (await (await page.$('canvas.curves'))!.boundingBox())!
    await page.mouse.move(cb.x + px, cb.y + py)
    await page.waitForFunction(() => !!document.querySelector('canvas.curves')?.getAttribute('data-hover'))
    expect(await page.textContent('.curve-tip')).toMatch(/^(fast|slow)-3 = \1-2 = \1-1$/)
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-curves-hover.png') })
    await page.mouse.move(cb.x + 2, cb.y + 2)
    await page.waitForFunction(() => !document.querySelector('canvas.curves')?.getAttribute('data-hover'))
    // grouped by seed: three bands, each the mean ± std over two lrs
    await page.selectOption('.group-by', 'params.seed')
    await page.waitForFunction(() => document.querySelector('canvas.curves')?.getAttribute('data-curves') === '3')
    expect(await page.$$eval('.curve-legend .legend-item', (ls) => ls.map((l) => l.textContent))).toEqual([
      'seed=1 (2 runs)',
      'seed=2 (2 runs)',
      'seed=3 (2 runs)',
    ])
    await page.$eval('.curves-box', (e) => e.scrollIntoView())
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-curves-grouped.png') })
  })

  it('names coinciding curves on the compare page too', async () => {
    await page.goto(`${url}#/compare/slow-1,slow-2,fast-1`)
    await page.waitForSelector('.chart-box[data-metric="loss"] polyline')
    expect(await page.textContent('.chart-box[data-metric="loss"] .coincide')).toBe('identical: slow-1 = slow-2')
  })
})
