// Benchmark the page of `xp ui` over many runs (issue 7: with 10,000 runs the first render
// under 1.5 s and a sort under 200 ms, in headless chromium via playwright-core). Runs the
// built CLI and Debian's chromium; never fails on time.
//
//   node bench/ui.mjs [RUNS]      (default 10000)
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { makeRunsRepo, benchEnv } from './lib/fake-runs.mjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const XP = path.join(ROOT, 'bin', 'xp.cjs')
const N = Number(process.argv[2] ?? 10000)
const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-ui-'))
const repoDir = path.join(dir, 'repo')
fs.mkdirSync(repoDir)
const env = benchEnv(dir)
const built = makeRunsRepo(repoDir, env, N, { distinctSeries: true })

const server = spawn(process.execPath, [XP, 'ui', '--port', '0'], { cwd: repoDir, env, stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve, reject) => {
  let out = ''
  server.stdout.on('data', (d) => {
    out += d
    const m = /http:\/\/\S+\//.exec(out)
    if (m) resolve(m[0])
  })
  server.on('exit', (c) => reject(new Error(`xp ui exited ${c}`)))
})

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS })
const results = {}
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  // First render: from navigation start to the table drawn (the page marks `xp-ready`).
  const renders = []
  for (let i = 0; i < 4; i++) {
    await page.goto(url + '?' + i)
    await page.waitForSelector('body[data-ready]')
    renders.push(await page.evaluate(() => performance.getEntriesByName('xp-ready')[0].startTime))
  }
  const rows = await page.$$eval('.tbody .tr', (rs) => rs.length)
  const count = await page.textContent('.count')
  results.coldRender = renders[0]
  results.warmRender = median(renders.slice(1))
  // Floor: fetching and parsing /api/runs alone, with no drawing.
  const fetches = []
  for (let i = 0; i < 3; i++)
    fetches.push(
      await page.evaluate(async () => {
        const t0 = performance.now()
        await (await fetch('/api/runs')).json()
        return performance.now() - t0
      }),
    )
  results.fetchFloor = median(fetches)
  // Sort: a click on a header to the next frame, the table redrawn.
  const sorts = []
  for (const col of ['metrics.acc', 'metrics.acc', 'params.lr', 'name', 'params.model', 'duration_s', 'metrics.loss']) {
    sorts.push(
      await page.evaluate(async (c) => {
        const t0 = performance.now()
        document.querySelector(`.th[data-col="${c}"]`).dispatchEvent(new MouseEvent('click', { bubbles: true }))
        await new Promise((r) => requestAnimationFrame(() => r(undefined)))
        return performance.now() - t0
      }, col),
    )
  }
  results.sort = median(sorts)
  results.sortMax = Math.max(...sorts)
  results.sortFloor = await page.evaluate((n) => {
    const xs = Array.from({ length: n }, () => Math.random())
    const t0 = performance.now()
    xs.slice().sort((a, b) => a - b)
    return performance.now() - t0
  }, N)
  // Filter: typing an expression to the redrawn table.
  results.filter = await page.evaluate(async () => {
    const input = /** @type {HTMLInputElement} */ (document.querySelector('.filter'))
    const t0 = performance.now()
    input.value = 'metrics.acc > 0.9 and params.model == "rf"'
    input.dispatchEvent(new Event('input'))
    await new Promise((r) => requestAnimationFrame(() => r(undefined)))
    return performance.now() - t0
  })
  results.filtered = await page.textContent('.count')
  // Scroll to the end: only the rows in view are in the DOM.
  await page.evaluate(() => {
    const input = /** @type {HTMLInputElement} */ (document.querySelector('.filter'))
    input.value = ''
    input.dispatchEvent(new Event('input'))
  })
  results.scroll = await page.evaluate(async () => {
    const s = document.querySelector('.table-scroll')
    const t0 = performance.now()
    s.scrollTop = s.scrollHeight
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(undefined))))
    return performance.now() - t0
  })
  results.domRows = await page.$$eval('.tbody .tr', (rs) => rs.length)
  await page.evaluate(() => (document.querySelector('.table-scroll').scrollTop = 0))

  // Many runs (issue 17): parallel coordinates, a brush, group by, every curve, hover.
  results.parallelOpen = await page.evaluate(async () => {
    const t0 = performance.now()
    document.querySelector('.toggle-parallel').dispatchEvent(new MouseEvent('click', { bubbles: true }))
    await new Promise((r) => requestAnimationFrame(() => r(undefined)))
    return performance.now() - t0
  })
  results.parallelLines = await page.getAttribute('canvas.parallel', 'data-lines')
  const axes = JSON.parse(await page.getAttribute('canvas.parallel', 'data-axes'))
  const acc = axes.find((a) => a.key === 'metrics.acc')
  // a brush, timed inside the page: press, drag (each move redraws the canvas), release (the table filters)
  const brush = await page.evaluate(
    async ({ ax, top }) => {
      const c = document.querySelector('canvas.parallel')
      const r = c.getBoundingClientRect()
      const frame = () => new Promise((res) => requestAnimationFrame(() => res(undefined)))
      const at = (y) => ({ clientX: r.left + ax, clientY: r.top + y, bubbles: true })
      c.dispatchEvent(new MouseEvent('mousedown', at(top + 2)))
      const moves = []
      for (let k = 1; k <= 7; k++) {
        const t0 = performance.now()
        window.dispatchEvent(new MouseEvent('mousemove', at(top + 2 + k * 18)))
        await frame()
        moves.push(performance.now() - t0)
      }
      const t1 = performance.now()
      window.dispatchEvent(new MouseEvent('mouseup', at(top + 2 + 7 * 18)))
      await frame()
      return { moves, release: performance.now() - t1 }
    },
    { ax: acc.x, top: acc.top },
  )
  results.brushMove = median(brush.moves)
  results.brushMoveCanvas = Number(await page.getAttribute('canvas.parallel', 'data-ms'))
  results.brushApply = brush.release
  results.brushed = await page.textContent('.count')
  results.groupBy = await page.evaluate(async () => {
    const sel = /** @type {HTMLSelectElement} */ (document.querySelector('.group-by'))
    const t0 = performance.now()
    sel.value = 'params.model'
    sel.dispatchEvent(new Event('change'))
    await new Promise((r) => requestAnimationFrame(() => r(undefined)))
    return performance.now() - t0
  })
  results.groups = await page.$$eval('.group-table tr[data-group]', (rs) => rs.length)
  await page.evaluate(() => {
    const sel = /** @type {HTMLSelectElement} */ (document.querySelector('.group-by'))
    sel.value = ''
    sel.dispatchEvent(new Event('change'))
    document.querySelector('.clear-brush').dispatchEvent(new MouseEvent('click', { bubbles: true }))
  })
  // every curve: the first open reads every run's series on the server (once per refs version)
  const curvesOpen = async () =>
    page.evaluate(async () => {
      const c = document.querySelector('canvas.curves')
      c.removeAttribute('data-curves')
      const t0 = performance.now()
      document.querySelector('.toggle-curves').dispatchEvent(new MouseEvent('click', { bubbles: true }))
      while (!c.getAttribute('data-curves')) await new Promise((r) => setTimeout(r, 5))
      await new Promise((r) => requestAnimationFrame(() => r(undefined)))
      return performance.now() - t0
    })
  results.curvesCold = await curvesOpen()
  await page.click('.toggle-curves')
  results.curvesWarm = await curvesOpen()
  results.curves = `${await page.getAttribute('canvas.curves', 'data-runs')} runs, ${await page.getAttribute('canvas.curves', 'data-curves')} curves`
  await page.$eval('.curves-box', (e) => e.scrollIntoView())
  // hover, timed inside the page: a mouse move to the frame with the nearest curve drawn on top
  const hovers = await page.evaluate(async () => {
    const c = document.querySelector('canvas.curves')
    const r = c.getBoundingClientRect()
    const out = []
    for (let k = 0; k < 7; k++) {
      const t0 = performance.now()
      c.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + 100 + k * 60, clientY: r.top + 60 + k * 25, bubbles: true }))
      await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(() => res(undefined))))
      out.push(performance.now() - t0)
    }
    return out
  })
  results.hover = median(hovers)
  const kbox = await (await page.$('canvas.curves')).boundingBox()
  await page.mouse.move(kbox.x + 400, kbox.y + 120)
  await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'bench-ui-curves.png') })
  results.groupedCurves = await page.evaluate(async () => {
    const sel = /** @type {HTMLSelectElement} */ (document.querySelector('.group-by'))
    const c = document.querySelector('canvas.curves')
    const t0 = performance.now()
    sel.value = 'params.model'
    sel.dispatchEvent(new Event('change'))
    while (c.getAttribute('data-curves') !== '4') await new Promise((r) => setTimeout(r, 2))
    return performance.now() - t0
  })

  const payload = await page.evaluate(async () => (await (await fetch('/api/runs')).text()).length)

  const f = (ms) => `${ms.toFixed(0)} ms`
  console.log(`xp ui over ${N} runs (repo built in ${built.toFixed(1)} s; /api/runs is ${(payload / 1e6).toFixed(1)} MB; ${count}; ${rows} rows in the DOM)`)
  const table = [
    ['figure', 'xp', 'target', 'floor', 'peer'],
    [
      'first render, cold server',
      f(results.coldRender),
      '< 1500 ms',
      `${f(results.fetchFloor)} (fetch+parse /api/runs)`,
      'MLflow UI: ~60 s for 500 runs, broke at 1,701',
    ],
    ['first render, warm', f(results.warmRender), '< 1500 ms', f(results.fetchFloor), ''],
    ['sort (median of 7, click to frame)', f(results.sort), '< 200 ms', `${f(results.sortFloor)} (Array.sort of ${N} numbers)`, ''],
    ['sort, slowest', f(results.sortMax), '< 200 ms', '', ''],
    ['filter (expression to frame)', f(results.filter), '', '', `${results.filtered}`],
    ['scroll to the end', f(results.scroll), '', '', `${results.domRows} rows in the DOM`],
    ['parallel coordinates: open', f(results.parallelOpen), '< 1500 ms', '', `${results.parallelLines} lines, canvas`],
    ['brush: one drag step (mouse to frame)', f(results.brushMove), '< 200 ms', `${f(results.brushMoveCanvas)} (canvas redraw)`, ''],
    ['brush: release (table filtered)', f(results.brushApply), '< 200 ms', '', `${results.brushed}`],
    ['group by (select to frame)', f(results.groupBy), '< 200 ms', '', `${results.groups} groups, mean ± std of 5 metrics`],
    ['curves: first open', f(results.curvesCold), '< 1500 ms', '', `${results.curves}; the server read every series after start`],
    ['curves: open again', f(results.curvesWarm), '< 1500 ms', '', ''],
    ['curves: hover (mouse to frame, median of 7)', f(results.hover), '< 200 ms', '', 'nearest of every curve, base layer cached'],
    ['curves: group by (mean ± std bands)', f(results.groupedCurves), '< 200 ms', '', '4 groups'],
  ]
  const w = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)))
  for (const r of table)
    console.log(
      r
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
} finally {
  await browser.close()
  server.kill('SIGTERM')
  fs.rmSync(dir, { recursive: true, force: true })
}
