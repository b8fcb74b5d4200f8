// The run page's files in Debian's chromium: an image inline, a CSV as a table, an SVG with
// a script in it shown as an image that runs nothing, a big out from the cache as size +
// hash + download, the same image of two runs side by side; and the file route serving
// only a run's own files, with their content types, nosniff and a sandbox policy.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { once } from 'node:events'
import type { ChildProcess } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './servers/chromium.js'
import { startUi } from './servers/ui.js'
import { TestRepo, cleanupTmp, ROOT } from './helpers.js'
import { api as mlflowApi, call } from './mlflow-helpers.js'

const ARTIFACTS = path.join(ROOT, 'test-artifacts')

// Writes a confusion-matrix-like PNG (drawn by hand: 8x8, a colour from argv), a CSV, an SVG
// with a script and an event handler, and a 2 MB model (an out: cached, a pointer in git).
const TRAIN = `
const fs = require('fs'), zlib = require('zlib')
const [r, g, b] = process.argv[2].split(',').map(Number)
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length)
  const td = Buffer.concat([Buffer.from(type), data])
  const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32 ? zlib.crc32(td) : crc32(td))
  return Buffer.concat([len, td, crc])
}
function crc32(buf) { let c, crc = 0xffffffff; for (let n = 0; n < buf.length; n++) { c = (crc ^ buf[n]) & 0xff; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; crc = (crc >>> 8) ^ c } return (crc ^ 0xffffffff) >>> 0 }
const W = 8, rows = []
for (let y = 0; y < W; y++) { rows.push(0); for (let x = 0; x < W; x++) rows.push(x === y ? 255 : r, x === y ? 255 : g, x === y ? 255 : b) }
const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(W, 0); ihdr.writeUInt32BE(W, 4); ihdr[8] = 8; ihdr[9] = 2
fs.mkdirSync('plots', { recursive: true })
fs.writeFileSync('plots/confusion.png', Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.from(rows))), chunk('IEND', Buffer.alloc(0))]))
fs.writeFileSync('results.csv', 'class,precision,recall\\n"cat, big",0.91,0.88\\ndog,0.85,0.9\\n')
fs.writeFileSync('evil.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="top.__svg=1"><script>top.__svg=2;parent.__svg=2</script><rect width="40" height="40" fill="green"/></svg>')
fs.writeFileSync('model.bin', Buffer.alloc(2 * 1024 * 1024, 7))
`

let repo: TestRepo
let server: ChildProcess
let url: string
let browser: Browser
let page: Page
const ids: Record<string, string> = {}

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  repo = new TestRepo({ files: { 'train.js': TRAIN, 'xp.yaml': 'outs: [model.bin]\n' } })
  for (const [name, colour] of [
    ['red', '200,30,30'],
    ['blue', '30,30,200'],
  ]) {
    const r = repo.xp(['run', '--json', '-n', name, '--', 'node', 'train.js', colour])
    expect(r.code, r.stderr).toBe(0)
    ids[name] = JSON.parse(r.stdout).id
  }
  const ui = await startUi(repo)
  server = ui.child
  url = `${ui.url}/`
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
})

afterAll(async () => {
  await browser?.close()
  if (server?.exitCode === null) {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
  cleanupTmp()
})

const fileUrl = (run: string, p: string) => `${url}api/runs/${run}/file?path=${encodeURIComponent(p)}`

describe('a run page shows the run files', () => {
  it('draws images inline, a CSV as a table, and an SVG as an image whose script never runs', async () => {
    await page.goto(`${url}#/run/red`)
    await page.waitForSelector('.gallery img[data-path="plots/confusion.png"]')
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.gallery img')].every((i) => i.complete && i.naturalWidth > 0))
    expect(await page.$eval('.gallery img[data-path="plots/confusion.png"]', (i: HTMLImageElement) => i.naturalWidth)).toBe(8)
    expect(await page.$eval('.gallery img[data-path="evil.svg"]', (i: HTMLImageElement) => i.naturalWidth)).toBe(40)

    await page.click('.file-link[data-path="results.csv"]')
    await page.waitForSelector('.file-preview[data-path="results.csv"] table.file-table')
    expect(await page.$$eval('.file-table thead th', (t) => t.map((x) => x.textContent))).toEqual(['class', 'precision', 'recall'])
    expect(await page.$$eval('.file-table tbody tr', (t) => t.map((r) => [...r.children].map((c) => c.textContent)))).toEqual([
      ['cat, big', '0.91', '0.88'],
      ['dog', '0.85', '0.9'],
    ])
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-files.png'), fullPage: true })

    await page.click('.file-link[data-path="evil.svg"]')
    await page.waitForSelector('.file-preview[data-path="evil.svg"] img')
    await page.waitForTimeout(200)
    expect(await page.evaluate(() => (window as any).__svg)).toBeUndefined()
    // no SVG markup from the run ever enters the page: only the charts' own
    expect(await page.$$eval('.run-files svg', (s) => s.length)).toBe(0)

    // opened on its own, the sandbox policy stops its script too
    const direct = await browser.newPage()
    const res = await direct.goto(fileUrl(ids.red, 'evil.svg'))
    expect(res!.headers()['content-type']).toBe('image/svg+xml')
    expect(res!.headers()['x-content-type-options']).toBe('nosniff')
    expect(res!.headers()['content-security-policy']).toMatch(/sandbox/)
    await direct.waitForTimeout(200)
    expect(await direct.evaluate(() => (window as any).__svg)).toBeUndefined()
    await direct.close()
  })

  it('resolves an out to its cached data, shown as size, hash and a download', async () => {
    await page.goto(`${url}#/run/red`)
    await page.waitForSelector('.file-link[data-path="model.bin"]')
    const row = await page.$eval('.file-link[data-path="model.bin"]', (a) => [...a.closest('tr')!.children].map((c) => c.textContent))
    expect(row).toEqual(['model.bin', '2.0 MiB', 'cache', 'via model.bin.xp'])
    await page.click('.file-link[data-path="model.bin"]')
    await page.waitForSelector('.file-preview[data-path="model.bin"] a[download]')
    const href = await page.$eval('.file-preview a[download]', (a) => a.getAttribute('href')!)
    const got = await fetch(new URL(href, url))
    expect(got.status).toBe(200)
    expect(got.headers.get('content-disposition')).toMatch(/^attachment/)
    expect((await got.arrayBuffer()).byteLength).toBe(2 * 1024 * 1024)
  })

  it('serves only the run own files, with their content types', async () => {
    const csv = await fetch(fileUrl(ids.red, 'results.csv'))
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    const pngRes = await fetch(fileUrl(ids.red, 'plots/confusion.png'))
    expect(pngRes.headers.get('content-type')).toBe('image/png')
    expect(pngRes.headers.get('x-content-type-options')).toBe('nosniff')
    for (const p of ['../../etc/passwd', '/etc/passwd', '.git/config', 'plots/../results.csv', 'model.bin.xp/../x', 'nope.txt']) {
      const r = await fetch(fileUrl(ids.red, p))
      expect(r.status, p).toBe(404)
      expect((await r.json()).error.code).toBe('XP_FILE_NOT_FOUND')
    }
  })

  it('compares the same image of two runs side by side', async () => {
    await page.goto(`${url}#/compare/red,blue`)
    await page.waitForSelector('.image-row[data-path="plots/confusion.png"] img')
    const names = await page.$$eval('.image-row[data-path="plots/confusion.png"] figcaption', (f) => f.map((x) => x.textContent))
    expect(names).toEqual(['red', 'blue'])
    // the SVG is the same in both: said so
    expect(await page.textContent('.image-row[data-path="evil.svg"] h4')).toMatch(/identical/)
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.image-row img')].every((i) => i.complete && i.naturalWidth > 0))
    await page.$eval('.image-compare', (e) => e.scrollIntoView())
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-compare-images.png'), fullPage: true })
  })

  it('lists the artifacts of a run logged through the MLflow API, from the cache, and shows its image', async () => {
    const base = url.replace(/\/$/, '')
    const png = Buffer.from(await (await fetch(fileUrl(ids.red, 'plots/confusion.png'))).arrayBuffer())
    const created = await mlflowApi(base, 'POST', 'runs/create', { experiment_id: '0', start_time: Date.now(), run_name: 'from-mlflow' })
    const id = created.json.run.info.run_id
    expect((await call(base, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/0/${id}/artifacts/plots/cm.png`, png)).status).toBe(200)
    expect((await mlflowApi(base, 'POST', 'runs/update', { run_id: id, status: 'FINISHED', end_time: Date.now() })).status).toBe(200)
    // the page may open while the run is still being recorded: it follows it until it is
    await page.goto(`${url}#/run/from-mlflow`)
    await page.waitForSelector('.file-link[data-path=".xp-run/artifacts/plots/cm.png"]')
    const row = await page.$eval('.file-link[data-path=".xp-run/artifacts/plots/cm.png"]', (a) => [...a.closest('tr')!.children].map((c) => c.textContent))
    expect(row.slice(2)).toEqual(['cache', 'via .xp-run/artifacts.xp'])
    await page.waitForFunction(
      () => (document.querySelector<HTMLImageElement>('.gallery img[data-path=".xp-run/artifacts/plots/cm.png"]')?.naturalWidth ?? 0) > 0,
    )
  })
})
