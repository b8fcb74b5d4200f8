// End to end: `xp ui` on a real repository, driven in Debian's chromium through
// playwright-core; `xp plots` writing its report. Screenshots go to test-artifacts/.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { once } from 'node:events'
import type { ChildProcess } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './servers/chromium.js'
import { TestRepo, cleanupTmp, errorCode, ROOT } from './helpers.js'
import { encodeRecord, type RunRecord } from '../src/core/runs/record.js'
import { newRunId } from '../src/core/runs/ref.js'

const ARTIFACTS = path.join(ROOT, 'test-artifacts')

// Writes DVCLive's layout: metrics.json and one TSV per metric with `steps` rows.
const TRAIN = `
const fs = require('fs')
const p = fs.readFileSync('params.yaml', 'utf8')
const lr = Number(/lr: (\\S+)/.exec(p)[1]), steps = Number(/steps: (\\S+)/.exec(p)[1])
fs.mkdirSync('dvclive/plots/metrics', { recursive: true })
let loss = 'step\\tloss\\n', acc = 'step\\tacc\\n'
for (let i = 0; i < steps; i++) { loss += i + '\\t' + 1 / (1 + i * lr) + '\\n'; acc += i + '\\t' + (1 - 1 / (2 + i * lr)) + '\\n' }
fs.writeFileSync('dvclive/plots/metrics/loss.tsv', loss)
fs.writeFileSync('dvclive/plots/metrics/acc.tsv', acc)
fs.writeFileSync('dvclive/metrics.json', JSON.stringify({ acc: 1 - 1 / (2 + steps * lr), loss: 1 / (1 + steps * lr) }))
console.log('trained <b>lr</b>=' + lr)
if (process.argv[2] === 'fail') process.exit(1)
`
const NOTE_HTML = '<img src=x onerror="window.__xss=1">'
const PARAM_HTML = '<script>window.__xss=2</script>'
const NAME_HTML = '<b onmouseover="window.__xss=3">bold</b>'

let repo: TestRepo
let server: ChildProcess
let url: string
let browser: Browser
let page: Page
const commits: Record<string, string> = {}
const requested: string[] = []

function xpRun(name: string, sets: string[], fail = false) {
  const res = repo.xp(['run', '--json', '-n', name, ...sets.flatMap((s) => ['-S', s]), '--', 'node', 'train.js', ...(fail ? ['fail'] : [])])
  expect(res.code, res.stderr).toBe(fail ? 1 : 0)
  const r = JSON.parse(res.stdout)
  commits[name] = r.commit
  return r
}

async function startUi(r: TestRepo, args: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = r.spawnXp(['ui', '--port', '0', ...args])
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d
      const m = /http:\/\/\S+\//.exec(out)
      if (m) resolve(m[0])
    })
    child.on('exit', (code) => reject(new Error(`xp ui exited ${code}`)))
  })
  return { child, url }
}

/** A raw GET, the path sent exactly as given (no URL normalisation on the way). */
function rawGet(base: string, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET', headers }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function rowNames(): Promise<string[]> {
  return page.$$eval('.tbody .tr', (rows) =>
    rows.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top).map((r) => r.querySelector('.run-link')?.textContent ?? ''),
  )
}

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  // xp.yaml says where the registry's model is (the registry refuses versions that point at nothing)
  repo = new TestRepo({
    files: {
      'train.js': TRAIN,
      'params.yaml': `lr: 0.1\nsteps: 5\ntag: "${PARAM_HTML}"\n`,
      '.gitignore': 'node_modules\n',
      'xp.yaml': 'artifacts:\n  churn: {path: train.js}\n',
    },
  })
  xpRun('a-small', ['lr=0.1', 'steps=7'])
  xpRun('b-large', ['lr=0.5', 'steps=12'])
  xpRun('c-fail', ['lr=1', 'steps=3'], true)
  repo.git('notes', '--ref=refs/notes/xp', 'add', '-m', NOTE_HTML, commits['a-small'])
  ;({ child: server, url } = await startUi(repo))
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.on('request', (r) => requested.push(r.url()))
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

describe('xp ui', () => {
  it('lists every run with its status, metrics and params, and hides failed runs on request', async () => {
    expect((await rowNames()).sort()).toEqual(['a-small', 'b-large', 'c-fail'])
    const headers = await page.$$eval('.thead .th[data-col]', (ths) => ths.map((t) => t.getAttribute('data-col')))
    expect(headers).toEqual(expect.arrayContaining(['name', 'status', 'created', 'duration_s', 'metrics.acc', 'metrics.loss', 'params.lr', 'params.steps']))
    expect(await page.textContent('.tr[data-id] .badge.failed')).toBe('failed')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-table.png') })
    await page.uncheck('.show-failed')
    expect((await rowNames()).sort()).toEqual(['a-small', 'b-large'])
    await page.check('.show-failed')
  })

  it('sorts by any column, both ways', async () => {
    await page.click('.th[data-col="metrics.acc"]')
    expect(await rowNames()).toEqual(['b-large', 'c-fail', 'a-small'])
    await page.click('.th[data-col="metrics.acc"]')
    expect(await rowNames()).toEqual(['a-small', 'c-fail', 'b-large'])
    await page.click('.th[data-col="name"]')
    expect(await rowNames()).toEqual(['a-small', 'b-large', 'c-fail'])
  })

  it('filters with the filter language and says what is wrong with a bad expression', async () => {
    await page.fill('.filter', 'metrics.acc > 0.7')
    expect((await rowNames()).sort()).toEqual(['b-large', 'c-fail'])
    await page.fill('.filter', 'metrics.acc > 0.7 and status == "succeeded"')
    expect(await rowNames()).toEqual(['b-large'])
    await page.fill('.filter', 'metrics.acc >')
    expect(await page.textContent('.filter-error')).not.toBe('')
    await page.fill('.filter', '')
    expect(await rowNames()).toHaveLength(3)
  })

  it('the column chooser hides and shows a column', async () => {
    await page.click('.columns-btn')
    await page.uncheck('.chooser input[data-col="params.tag"]')
    expect(await page.$('.th[data-col="params.tag"]')).toBeNull()
    await page.check('.chooser input[data-col="params.tag"]')
    expect(await page.$('.th[data-col="params.tag"]')).not.toBeNull()
    await page.click('.columns-btn')
  })

  it('compares two runs: changes highlighted, their curves overlaid with every point', async () => {
    for (const name of ['a-small', 'b-large'])
      await page
        .locator('.tbody .tr', { has: page.locator('.run-link', { hasText: name }) })
        .locator('input[type=checkbox]')
        .check()
    await page.click('.compare-btn')
    await page.waitForSelector('.chart-box[data-metric="loss"] polyline')
    const points = await page.$$eval('.chart-box[data-metric="loss"] polyline', (ls) =>
      Object.fromEntries(ls.map((l) => [l.getAttribute('data-run'), (l.getAttribute('points') ?? '').trim().split(/\s+/).length])),
    )
    expect(points).toEqual({ 'a-small': 7, 'b-large': 12 })
    const changed = await page.$$eval('.side-by-side tr.changed td.key', (tds) => tds.map((t) => t.textContent))
    expect(changed).toEqual(expect.arrayContaining(['lr', 'steps', 'acc', 'loss']))
    expect(changed).not.toContain('tag')
    expect(await page.$$('.scatter-box circle')).toHaveLength(2)
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-compare.png'), fullPage: true })
  })

  it('keeps notes, params and log text that look like HTML as text', async () => {
    await page.goto(`${url}#/`)
    await page.waitForSelector('.tbody .tr')
    expect(await page.getAttribute('.has-note', 'title')).toBe(NOTE_HTML)
    await page.goto(`${url}#/run/a-small`)
    await page.waitForSelector('.run-view pre.notes')
    expect((await page.textContent('pre.notes'))?.trim()).toBe(NOTE_HTML)
    expect(await page.textContent('table.params')).toContain(PARAM_HTML)
    await page.waitForFunction(() => document.querySelector('pre.log')?.textContent?.includes('trained'))
    expect(await page.textContent('pre.log')).toContain('trained <b>lr</b>=0.1')
    expect(await page.$$('main img, main script, main b')).toHaveLength(0)
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined()
  })

  it('the run page shows the record and the changed files, and adds a note', async () => {
    await page.waitForSelector('.files-table')
    const files = await page.$$eval('.files-table tr', (trs) => trs.map((t) => t.textContent))
    expect(files).toEqual(expect.arrayContaining(['Mparams.yaml', 'Advclive/metrics.json']))
    expect(await page.textContent('.run-view')).toContain(commits['a-small'].slice(0, 12))
    await page.fill('.note-form textarea', 'looks <good>')
    await page.click('.add-note')
    await page.waitForFunction(() => document.querySelector('pre.notes')?.textContent?.includes('looks <good>'))
    expect(repo.git('notes', '--ref=refs/notes/xp', 'show', commits['a-small'])).toContain('looks <good>')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-run.png'), fullPage: true })
  })

  it('serves its own routes only: traversal and other paths get 404', async () => {
    for (const p of [
      '/../../../../etc/passwd',
      '/assets/../../package.json',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/..%2f..%2fpackage.json',
      '/assets/app.js/..',
      '/dist/ui/app.js',
      '/src/ui/server.ts',
      '/.git/config',
      '/api/runs/..%2f..%2fetc%2fpasswd/log',
      '/api/runs/a-small/../../../etc/passwd',
      '/api/nothing',
    ]) {
      const r = await rawGet(url, p)
      expect([p, r.status]).toEqual([p, 404])
      expect(r.body).not.toMatch(/root:|"name": "xp"/)
    }
    expect((await rawGet(url, '/assets/app.js')).status).toBe(200)
    const missing = await rawGet(url, '/api/runs/no-such-run')
    expect([missing.status, JSON.parse(missing.body).error.code]).toEqual([404, 'XP_RUN_NOT_FOUND'])
    expect((await rawGet(url, '/api/runs', { host: 'evil.example:80' })).status).toBe(421)
    // the page itself asked for nothing outside the server (no CDN, fonts, images)
    expect(requested.length).toBeGreaterThan(5)
    expect(requested.filter((u) => !u.startsWith(url) && !u.startsWith('data:'))).toEqual([])
  })

  it('accepts a note only with the page token and from its own origin', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${url}api/runs/b-large/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ text: 'forged' }),
      })
    expect((await post({})).status).toBe(403)
    const token = (await (await fetch(url)).text()).match(/name="xp-token" content="([0-9a-f]+)"/)![1]
    expect((await post({ 'x-xp-token': token, origin: 'http://evil.example' })).status).toBe(403)
    expect((await post({ 'x-xp-token': 'f'.repeat(48) })).status).toBe(403)
    expect(repo.git('notes', '--ref=refs/notes/xp', 'list')).not.toContain(commits['b-large'])
    const ok = await post({ 'x-xp-token': token, origin: url.replace(/\/$/, '') })
    expect(ok.status).toBe(200)
  })

  it('shows a new run without a restart', async () => {
    await page.goto(`${url}#/`)
    await page.waitForSelector('.tbody .tr')
    xpRun('d-new', ['lr=0.2', 'steps=4'])
    await page.waitForSelector('.run-link:text-is("d-new")', { timeout: 15_000 })
    expect(await rowNames()).toHaveLength(4)
  })

  it('shows the model registry, and a new stage without a restart', async () => {
    expect(repo.xp(['model', 'register', 'churn', 'b-large', '--version', 'v1.0.0', '-m', 'first <i>model</i>']).code).toBe(0)
    await page.goto(`${url}#/registry`)
    await page.waitForSelector('.registry-overview')
    expect(await page.textContent('.registry-overview tbody tr')).toContain('churnv1.0.0')
    expect(await page.textContent('.artifact[data-artifact="churn"] .versions')).toContain('b-large')
    expect(await page.textContent('.artifact .history')).toContain('first <i>model</i>')
    expect(repo.xp(['model', 'assign', 'churn', 'b-large', '--stage', 'prod']).code).toBe(0)
    await page.waitForSelector('.registry-overview th:text-is("prod")', { timeout: 15_000 })
    expect(await page.$$('main i')).toHaveLength(0)
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-registry.png'), fullPage: true })
  })

  it('the run page lists deps and outs with their oids; a name that is HTML stays text', async () => {
    // A run recorded with data, written directly as `xp run` writes it. `-n` refuses "<",
    // but records also come from other machines and tools: its name is HTML here.
    const id = newRunId(new Date())
    const rec: RunRecord = {
      xp: 1,
      id,
      name: NAME_HTML,
      status: 'succeeded',
      exit_code: 0,
      command: 'node train.js',
      started: new Date().toISOString(),
      ended: new Date().toISOString(),
      duration_s: 1,
      baseline: repo.git('rev-parse', 'HEAD').trim(),
      branch: 'main',
      params: {},
      metrics: {},
      series: [],
      deps: { 'data/train': { oid: `${'a'.repeat(32)}.dir`, size: 1234, files: 3 } },
      outs: { 'models/model.bin': { oid: 'b'.repeat(32), size: 99 } },
      env: {},
    }
    const commit = repo.git('commit-tree', 'HEAD^{tree}', '-p', 'HEAD', '-m', encodeRecord(rec)).trim()
    repo.git('update-ref', `refs/xp/runs/${id}`, commit)
    await page.goto(`${url}#/run/${id}`)
    await page.waitForSelector('.run-view table.data')
    expect(await page.textContent('.run-name')).toBe(NAME_HTML)
    const data = await page.$$eval('table.data tbody tr', (trs) => trs.map((t) => [...t.querySelectorAll('td')].map((td) => td.textContent)))
    expect(data).toEqual([
      ['data/train', `${'a'.repeat(32)}.dir`, '1234', '3'],
      ['models/model.bin', 'b'.repeat(32), '99', ''],
    ])
    await page.waitForSelector('.files p:text-is("no files changed")')
    await page.goto(`${url}#/`)
    await page.waitForFunction((n) => [...document.querySelectorAll('.run-link')].some((a) => a.textContent === n), NAME_HTML)
    expect(await page.$$('main b, main img')).toHaveLength(0)
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined()
  })

  it('refuses a port in use with a clear error', async () => {
    const port = new URL(url).port
    const r = repo.xp(['ui', '--port', port])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_PORT_IN_USE')
  })
})

describe('xp plots', () => {
  it('writes one self-contained HTML report of the latest runs', () => {
    const r = repo.json(['plots', '-o', 'report.html'])
    expect(r.runs).toHaveLength(5)
    const html = repo.read('report.html')
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i)
    expect(html).not.toMatch(/<script|<link|@import|url\(/i)
    expect([...html.matchAll(/<polyline[^>]*data-run="b-large"[^>]*data-points="(\d+)"/g)].map((m) => m[1])).toEqual(['12', '12'])
    expect(html).toContain('&lt;script&gt;window.__xss=2&lt;/script&gt;')
    expect(html).not.toContain('<script>window')
    expect(html).toContain('&lt;b onmouseover=&quot;window.__xss=3&quot;&gt;bold&lt;/b&gt;')
    expect(html).not.toContain('<b ')
  })

  it('takes named runs, and fails clearly on an unknown one or none at all', () => {
    const r = repo.json(['plots', 'a-small', 'b-large', '-o', 'two.html'])
    expect(r.runs).toHaveLength(2)
    expect(repo.read('two.html')).not.toContain('c-fail')
    expect(repo.json(['plots', '-n', '2', '-o', 'latest.html']).runs).toHaveLength(2)
    expect(errorCode(repo.xp(['plots', '-n', '0']))).toBe('XP_BAD_LIMIT')
    const bad = repo.xp(['plots', 'no-such-run'])
    expect(errorCode(bad)).toBe('XP_RUN_NOT_FOUND')
    expect(bad.code).toBe(1)
    const empty = new TestRepo({ files: { 'a.txt': 'x' } })
    const none = empty.xp(['plots'])
    expect(errorCode(none)).toBe('XP_NO_RUNS')
    expect(empty.exists('xp-report.html')).toBe(false)
  })
})
