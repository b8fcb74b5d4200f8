// The UI's registry page shows what `xp model ls` (and GTO) show: one fold, one answer.
// Driven in Debian's chromium through playwright-core, as test/ui.test.ts does.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './servers/chromium.js'
import { TestRepo, cleanupTmp } from './helpers.js'

const T0 = 1_700_000_000

let repo: TestRepo
let server: ChildProcess
let browser: Browser
let page: Page
let url: string
const c: string[] = []

/** An annotated tag made by hand at T0 + t (as GTO or a teammate would have made it). */
function tagAt(name: string, t: number, commit: string) {
  const r = spawnSync('git', ['tag', '-a', '-m', `tag ${name}`, name, commit], {
    cwd: repo.dir,
    env: { ...repo.env, GIT_COMMITTER_DATE: `${T0 + t} +0000` },
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(r.stderr)
}

beforeAll(async () => {
  repo = new TestRepo({
    files: { 'xp.yaml': 'artifacts:\n  churn: {path: model.bin}\n  tie: {path: model.bin}\n  old: {path: model.bin}\n', 'model.bin': 'w0\n' },
  })
  c.push(repo.git('rev-parse', 'HEAD').trim())
  for (const n of [1, 2]) {
    repo.write('model.bin', `w${n}\n`)
    repo.git('commit', '-qam', `model ${n}`)
    c.push(repo.git('rev-parse', 'HEAD').trim())
  }
  // churn: three versions assigned to production one after the other: all three still hold
  // the stage (none was unassigned), the newest assignment is the one shown
  for (const commit of c) expect(repo.xp(['model', 'assign', 'churn', commit, '--stage', 'production']).code).toBe(0)
  expect(repo.xp(['model', 'assign', 'churn', c[1], '--stage', 'staging']).code).toBe(0)
  // tie: two assignments of one stage in one second; GTO shows the version created first
  tagAt('tie@v1.0.0', 1, c[0])
  tagAt('tie@v2.0.0', 2, c[1])
  tagAt('tie#production#3', 10, c[1])
  tagAt('tie#production#4', 10, c[0])
  // old: deprecated (hidden by `xp model ls`, listed by `--all` and on the page, marked)
  tagAt('old@v0.1.0', 1, c[0])
  tagAt('old#staging#1', 2, c[0])
  tagAt('old@deprecated', 3, c[0])
  const child = repo.spawnXp(['ui', '--port', '0'])
  server = child
  let out = ''
  url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d
      const m = /http:\/\/\S+\//.exec(out)
      if (m) resolve(m[0])
    })
    child.on('exit', (code) => reject(new Error(`xp ui exited ${code}`)))
  })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
})

afterAll(async () => {
  await browser?.close()
  if (server?.exitCode === null) {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
  cleanupTmp()
})

/** The overview table as { artifact: { latest, stage: { s: version } } }. */
async function overview(): Promise<Record<string, { latest: string; stage: Record<string, string> }>> {
  return page.$$eval('.registry-overview tbody tr', (rows) =>
    Object.fromEntries(
      rows.map((r) => {
        const cells = [...r.querySelectorAll('td')]
        const stage = Object.fromEntries(
          cells.filter((td) => td.hasAttribute('data-stage')).map((td) => [td.getAttribute('data-stage')!, td.textContent ?? '']),
        )
        return [r.querySelector('td a')!.textContent!, { latest: cells[1].textContent ?? '', stage }]
      }),
    ),
  )
}

describe('the registry page', () => {
  it('shows, for every artifact and stage, exactly what `xp model ls --all` says', async () => {
    await page.goto(`${url}#/registry`)
    await page.waitForSelector('.registry-overview tbody tr')
    const ls = repo.json(['model', 'ls', '--all'])
    expect(ls.churn.stage).toEqual({ production: 'v0.0.3', staging: 'v0.0.2' })
    expect(ls.tie.stage.production).toBe('v1.0.0')
    const want = Object.fromEntries(
      Object.entries(ls).map(([n, e]: [string, any]) => [
        n,
        { latest: e.version ?? '', stage: Object.fromEntries(Object.entries(e.stage).map(([s, v]) => [s, (v as string | null) ?? ''])) },
      ]),
    )
    expect(await overview()).toEqual(want)
    // one version per stage, never the three that still hold production
    expect(await page.textContent('.registry-overview tr:has(a:text-is("churn")) td[data-stage="production"]')).toBe('v0.0.3')
    // the versions table names a stage beside the version shown there only
    const rows = await page.$$eval('.artifact[data-artifact="churn"] .versions tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    )
    expect(rows.map((r) => [r[0], r[2]])).toEqual([
      ['v0.0.3', 'production'],
      ['v0.0.2', 'staging'],
      ['v0.0.1', ''],
    ])
    expect(await page.textContent('.registry-overview tr:has(a:text-is("old"))')).toContain('deprecated')
  })

  it('follows a new assignment without a restart, still as `xp model ls` says', async () => {
    expect(repo.xp(['model', 'assign', 'churn', '--version', 'v0.0.1', '--stage', 'production']).code).toBe(0)
    await page.waitForFunction(
      () => document.querySelector('.registry-overview tr:has(a[href="#/registry/churn"]) td[data-stage="production"]')?.textContent === 'v0.0.1',
      undefined,
      { timeout: 15_000 },
    )
    expect(repo.json(['model', 'ls']).churn.stage.production).toBe('v0.0.1')
  })
})
