// `xp ui` in Debian's chromium: a compare URL that names runs as `xp` does, table headers
// shown whole when the page has the room, and a toggle that hides the columns whose value
// is the same in every run.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { once } from 'node:events'
import type { ChildProcess } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './servers/chromium.js'
import { startUi } from './servers/ui.js'
import { TestRepo, cleanupTmp } from './helpers.js'

// long keys, as real projects have them; `seed` and `optimizer.name` are the same in every run
const PARAMS = 'train:\n  max_depth: 3\n  learning_rate_warmup_steps: 100\noptimizer:\n  name: adam\nseed: 1\n'
const TRAIN = `require('fs').writeFileSync('metrics.json', JSON.stringify({ validation_accuracy: Number(process.argv[2]), loss: 0.5 }))`

let repo: TestRepo
let server: ChildProcess
let url: string
let browser: Browser
let page: Page
const ids: Record<string, string> = {}

beforeAll(async () => {
  repo = new TestRepo({ files: { 'params.yaml': PARAMS, 'train.js': TRAIN } })
  for (const [name, depth, acc] of [
    ['curve-1', 3, 0.81],
    ['curve-2', 5, 0.84],
    ['curve-3', 8, 0.9],
  ] as const) {
    const r = repo.xp(['run', '--json', '-n', name, '-S', `train.max_depth=${depth}`, '--', 'node', 'train.js', String(acc)])
    expect(r.code, r.stderr).toBe(0)
    ids[name] = JSON.parse(r.stdout).id
  }
  const ui = await startUi(repo)
  server = ui.child
  url = `${ui.url}/`
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1600, height: 700 } })
})

afterAll(async () => {
  await browser?.close()
  if (server?.exitCode === null) {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
  cleanupTmp()
})

const headers = () => page.$$eval('.thead .th[data-col]', (ths) => ths.map((t) => t.getAttribute('data-col')))

describe('xp ui compare and columns', () => {
  it('compares runs named in the URL by name, by id prefix or by id', async () => {
    await page.goto(`${url}#/compare/curve-1,curve-3`)
    await page.waitForSelector('.compare-view')
    expect(await page.textContent('.compare-view h2')).toBe('Comparing 2 runs')
    expect(await page.$$eval('.legend-item', (as) => as.map((a) => a.textContent))).toEqual(['curve-1', 'curve-3'])
    expect(await page.$$eval('.legend-item', (as) => as.map((a) => a.getAttribute('href')))).toEqual([`#/run/${ids['curve-1']}`, `#/run/${ids['curve-3']}`])
    await page.goto(`${url}#/compare/${ids['curve-2']},${ids['curve-3'].slice(0, 16)}`)
    // the view before showed two runs too: wait for the new legend
    await page.waitForFunction(() => [...document.querySelectorAll('.legend-item')].map((a) => a.textContent).join() === 'curve-2,curve-3')
    expect(await page.$$eval('.legend-item', (as) => as.map((a) => a.textContent))).toEqual(['curve-2', 'curve-3'])
  })

  it('says which name matches no run', async () => {
    await page.goto(`${url}#/compare/curve-1,no-such-run`)
    await page.waitForSelector('.error')
    expect(await page.textContent('.error')).toContain('no run matches "no-such-run" [XP_RUN_NOT_FOUND]')
  })

  it('shows every header whole when the page has room for them', async () => {
    await page.goto(`${url}#/`)
    await page.waitForSelector('.tbody .tr')
    const cols = await headers()
    expect(cols).toEqual(expect.arrayContaining(['params.train.learning_rate_warmup_steps', 'metrics.validation_accuracy', 'params.train.max_depth']))
    const cut = await page.$$eval('.thead .th[data-col]', (ths) => ths.filter((t) => t.scrollWidth > t.clientWidth).map((t) => t.getAttribute('data-col')))
    expect(cut).toEqual([])
    // the values are whole too
    const cutCells = await page.$$eval('.tbody .td[data-col]', (tds) => tds.filter((t) => t.scrollWidth > t.clientWidth).map((t) => t.getAttribute('data-col')))
    expect(cutCells).toEqual([])
  })

  it('hides the columns whose value is the same in every run, and shows them again', async () => {
    await page.check('.only-differing')
    const differing = await headers()
    expect(differing).toEqual(expect.arrayContaining(['name', 'status', 'params.train.max_depth', 'metrics.validation_accuracy']))
    for (const same of ['params.seed', 'params.optimizer.name', 'params.train.learning_rate_warmup_steps', 'metrics.loss'])
      expect(differing).not.toContain(same)
    // rows follow the header
    expect(await page.$$eval('.tbody .tr:first-child .td[data-col]', (tds) => tds.map((t) => t.getAttribute('data-col')))).toEqual(differing)
    // what differs is among the runs shown: filtered to one run, no params column differs
    await page.fill('.filter', 'name == "curve-2"')
    await page.waitForFunction(() => document.querySelectorAll('.tbody .tr').length === 1)
    expect((await headers()).filter((c) => c!.startsWith('params.'))).toEqual([])
    await page.fill('.filter', '')
    await page.uncheck('.only-differing')
    expect(await headers()).toEqual(expect.arrayContaining(['params.seed', 'params.optimizer.name', 'metrics.loss']))
  })
})
