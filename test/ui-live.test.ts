// Live runs: a foreground `xp run` is listed `running` (with pid and host) from its start,
// `xp ui` shows its curve growing and its log tail without a reload, then the recorded run;
// a run whose xp process is killed (-9) is `lost`, and `xp run --recover` records it failed.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import type { ChildProcess } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './servers/chromium.js'
import { startUi } from './servers/ui.js'
import { TestRepo, cleanupTmp, errorCode, ROOT } from './helpers.js'
import { processTree } from '../src/core/runs/sysmon.js'

const ARTIFACTS = path.join(ROOT, 'test-artifacts')

// One DVCLive row every 150 ms until the file `stop` appears (the test decides when it ends).
const TRAIN = `
const fs = require('fs')
fs.mkdirSync('dvclive/plots/metrics', { recursive: true })
fs.writeFileSync('dvclive/plots/metrics/loss.tsv', 'step\\tloss\\n')
let i = 0
const t = setInterval(() => {
  fs.appendFileSync('dvclive/plots/metrics/loss.tsv', i + '\\t' + 1 / (1 + i * 0.3) + '\\n')
  console.log('step ' + i)
  i++
  if (fs.existsSync('stop')) { clearInterval(t); fs.writeFileSync('dvclive/metrics.json', JSON.stringify({ loss: 1 / (1 + i * 0.3) })) }
}, 150)
`

let repo: TestRepo
let server: ChildProcess
let url: string
let browser: Browser
let page: Page
const children: ChildProcess[] = []

async function until<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (ok(v)) return v
    if (Date.now() > end) throw new Error(`timed out; last value: ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const show = () => repo.json<any[]>(['show'])

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  repo = new TestRepo({ files: { 'train.js': TRAIN, 'xp.yaml': 'system_metrics: {interval: 0.3}\n', '.gitignore': 'stop\n' } })
  const ui = await startUi(repo)
  server = ui.child
  url = `${ui.url}/`
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
})

afterAll(async () => {
  await browser?.close()
  for (const c of [server, ...children])
    if (c?.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL')
      await once(c, 'exit')
    }
  cleanupTmp()
})

describe('live runs', () => {
  it('lists a foreground run as running from its start, and the page follows its curve and log', async () => {
    const run = repo.spawnXp(['run', '-n', 'live-one', '--', 'node', 'train.js'])
    children.push(run)
    const listed = await until(show, (rs) => rs.some((r) => r.name === 'live-one'))
    const r = listed.find((x) => x.name === 'live-one')
    expect(r.status).toBe('running')
    expect(r.env).toEqual({ host: os.hostname(), pid: run.pid })
    expect(repo.xp(['show']).stdout).toMatch(/live-one .*running/)

    await page.goto(url)
    await page.waitForSelector('.tr .badge.running')
    await page.goto(`${url}#/run/live-one`)
    await page.waitForSelector('.chart-box[data-metric="loss"] polyline')
    const points = () => page.$eval('.chart-box[data-metric="loss"] polyline', (p) => Number(p.getAttribute('data-points')))
    const first = await points()
    // the same page, no reload: the curve has more points at a later read
    const later = await until(points, (n) => n >= first + 3)
    expect(later).toBeGreaterThan(first)
    await page.waitForFunction(() => /step \d+/.test(document.querySelector('pre.log')?.textContent ?? ''))
    // system metrics are live too
    await page.waitForSelector('.chart-box[data-metric="system/cpu_percent"]')
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-live.png'), fullPage: true })

    // recovering a run that is still running is refused
    const busy = repo.xp(['run', '--recover', 'live-one'])
    expect(errorCode(busy)).toBe('XP_RUN_RUNNING')

    repo.write('stop', '')
    const [code] = await once(run, 'exit')
    expect(code).toBe(0)
    // recorded: the page draws the record again by itself
    await page.waitForSelector('.run-view h2 .badge.succeeded', { timeout: 15_000 })
    const done = show().find((x) => x.name === 'live-one')
    expect(done.status).toBe('succeeded')
    expect(done.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(fs.readdirSync(repo.path('.xp/live'))).toEqual([])
  })

  it('shows a run whose xp process was killed as lost, and --recover records it as failed', async () => {
    fs.rmSync(repo.path('stop'), { force: true })
    fs.rmSync(repo.path('dvclive'), { recursive: true, force: true })
    const run = repo.spawnXp(['run', '-n', 'doomed', '--', 'node', 'train.js'])
    children.push(run)
    await until(show, (rs) => rs.some((r) => r.name === 'doomed' && r.status === 'running'))
    await until(
      () => (fs.existsSync(repo.path('dvclive/plots/metrics/loss.tsv')) ? repo.read('dvclive/plots/metrics/loss.tsv').split('\n').length : 0),
      (n) => n > 4,
    )
    // kill -9 xp (it records nothing) and the command it started
    const tree = [...processTree(run.pid!).keys()]
    for (const pid of tree.reverse()) process.kill(pid, 'SIGKILL')
    await once(run, 'exit')
    const lost = await until(show, (rs) => rs.some((r) => r.name === 'doomed' && r.status === 'lost'))
    expect(lost.find((r) => r.name === 'doomed').status).toBe('lost')
    expect(repo.xp(['show']).stdout).toMatch(/doomed .*lost/)
    await page.goto(`${url}#/run/doomed`)
    await page.waitForSelector('.run-view .badge.lost')
    expect(await page.textContent('.run-view .warning')).toMatch(/xp run --recover doomed/)

    const rec = repo.xp(['run', '--recover', 'doomed', '--json'])
    expect(rec.code, rec.stderr).toBe(0)
    const r = JSON.parse(rec.stdout)
    expect(r.status).toBe('failed')
    expect(r.series).toContain('dvclive/plots/metrics/loss.tsv')
    expect(repo.git('show', `${r.commit}:.xp-run/output.log`)).toMatch(/step 0\n/)
    expect(repo.git('show', `${r.commit}:dvclive/plots/metrics/loss.tsv`).split('\n').length).toBeGreaterThan(4)
    expect(show().find((x) => x.name === 'doomed').status).toBe('failed')
    expect(errorCode(repo.xp(['run', '--recover', 'doomed']))).toBe('XP_RUN_NOT_FOUND')
  })

  it("shares the live store with the MLflow API, which leaves xp run's runs alone", async () => {
    fs.rmSync(repo.path('stop'), { force: true })
    fs.rmSync(repo.path('dvclive'), { recursive: true, force: true })
    const run = repo.spawnXp(['run', '-n', 'long-one', '--', 'node', 'train.js'])
    children.push(run)
    await until(show, (rs) => rs.some((r) => r.name === 'long-one' && r.status === 'running'))
    // a second xp ui starts and recovers the MLflow runs nobody logged to for 0 s: not this one
    const other = repo.spawnXp(['ui', '--port', '0'], { env: { XP_LIVE_STALE_S: '0' } })
    children.push(other)
    let out = ''
    const otherUrl = await new Promise<string>((resolve, reject) => {
      other.stdout!.on('data', (d) => {
        out += d
        const m = /http:\/\/\S+\//.exec(out)
        if (m) resolve(m[0])
      })
      other.on('exit', (code) => reject(new Error(`xp ui exited ${code}`)))
    })
    const listed = (await (await fetch(`${otherUrl}api/runs`)).json()).runs.filter((r: any) => r.name === 'long-one')
    expect(listed.map((r: any) => r.status)).toEqual(['running'])
    // the MLflow API does not offer it as one of its runs
    const search = await (
      await fetch(`${otherUrl}api/2.0/mlflow/runs/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    ).json()
    expect((search.runs ?? []).map((r: any) => r.info.run_name)).not.toContain('long-one')
    other.kill('SIGTERM')
    await once(other, 'exit')
    repo.write('stop', '')
    const [code] = await once(run, 'exit')
    expect(code).toBe(0)
    expect(show().find((x) => x.name === 'long-one').status).toBe('succeeded')
  })
})
