// Coming from DVC (issue 20, issue 12 point 3): a DVCLive run recorded with the params,
// metrics and series names DVC shows; its image and confusion matrix drawn in Chromium;
// a DVC repository with .dvc files and no xp.yaml; `xp import dvc` of real DVC 3.28
// experiments (fixtures/dvc, see its README) and of DVC 2's layout.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { once } from 'node:events'
import type { Browser } from 'playwright-core'
import { launchChromium } from './servers/chromium.js'
import { TestRepo, cleanupTmp, ROOT } from './helpers.js'

const FIX = path.join(ROOT, 'fixtures', 'dvc')
const LIVE = path.join(FIX, 'dvclive-3.3.1')
const ARTIFACTS = path.join(ROOT, 'test-artifacts')
// as test/ui.test.ts: Debian's chromium through playwright-core

/**
 * What DVC shows for the DVCLive sample (DVC 3.28, DVCLive 3.3.1):
 * - `dvc exp show`: params columns `lr`, `model.depth`, `model.kind`, `epochs` (from
 *   dvclive/params.yaml) and metrics columns `train.loss`, `val.loss`, `acc`, `step`,
 *   `best_acc`, `note` (from dvclive/metrics.json; the string "x" shown as is): DVC flattens
 *   nested keys with dots (dvc/utils/flatten.py: flatten_dict's "dot" reducer, used by
 *   `_collect_names` in dvc/repo/experiments/show.py) and names a column bare unless two
 *   files share the key, then `FILE:key` (`_normalize_headers`, same file).
 * - `dvc plots show`: one plot per file of the `dvclive/plots/metrics` definition (x: step,
 *   y: the file's one column), which DVCLive logged as `acc`, `train/loss` and `val/loss`
 *   and titles so (dvclive/report.py, get_scalar_renderers: the path under plots/metrics
 *   without its suffix); the image `confusion.png`; and `confusion_matrix.json` with the
 *   `confusion` template, x `actual`, y `predicted`, title "Confusion Matrix"
 *   (dvclive/plots/sklearn.py ConfusionMatrix.get_properties, and the sample's dvc.yaml).
 */
const LIVE_PARAMS = { lr: 0.1, 'model.depth': 3, 'model.kind': 'tree', epochs: 5 }
const LIVE_METRICS = { 'train.loss': 0.35, 'val.loss': 0.45, acc: 0.9, step: 4, best_acc: 0.93, note: 'x' }
const LIVE_SERIES = ['acc', 'train/loss', 'val/loss']
// y_true [0,1,1,0,1,0,1,1] against y_pred [0,1,0,0,1,1,1,1]
const CONFUSION = { '0/0': 2, '0/1': 1, '1/0': 1, '1/1': 4 }

/** A clone of a fixture bundle with its DVC experiments (as the samples' README says). */
function cloneBundle(bundle: string): TestRepo {
  const repo = new TestRepo({ init: false })
  const file = path.join(FIX, bundle)
  repo.git('clone', '-q', file, '.')
  repo.git('fetch', '-q', file, 'refs/exps/*:refs/exps/*')
  return repo
}

const chartTitles = (html: string) => [...html.matchAll(/class="chart-title">([^<]*)</g)].map((m) => m[1])

afterAll(() => cleanupTmp())

describe('a DVCLive run', () => {
  let repo: TestRepo
  let run: any

  beforeAll(() => {
    // the command writes what the DVCLive loop wrote, as the loop would (new files, this run's mtime)
    repo = new TestRepo({ files: { 'params.yaml': 'seed: 7 # the data split\n', 'train.sh': `cp -R '${LIVE}/dvclive' '${LIVE}/dvc.yaml' .\n` } })
    const r = repo.xp(['run', '-n', 'live', '--json', '--', 'sh', 'train.sh'])
    expect(r.code, r.stderr).toBe(0)
    run = JSON.parse(r.stdout)
  })

  it('records the params DVCLive logged beside params.yaml, and its metrics named as dvc exp show names them', () => {
    const [rec] = repo.json(['show'])
    expect(rec.params).toEqual({ seed: 7, ...LIVE_PARAMS })
    expect(rec.metrics).toEqual(LIVE_METRICS)
    expect(typeof rec.metrics.note).toBe('string')
    expect(rec.series).toEqual(['dvclive/plots/metrics/acc.tsv', 'dvclive/plots/metrics/train/loss.tsv', 'dvclive/plots/metrics/val/loss.tsv'])
    // the run's tree holds what DVC reads: dvc.yaml and DVCLive's files
    const tree = repo.git('ls-tree', '-r', '--name-only', run.commit).split('\n')
    expect(tree).toEqual(
      expect.arrayContaining(['dvc.yaml', 'dvclive/params.yaml', 'dvclive/plots/images/confusion.png', 'dvclive/plots/sklearn/confusion_matrix.json']),
    )
  })

  it('a second run reads dvc.yaml (now in the working tree) and DVCLive params the run rewrote; -S still edits params.yaml', () => {
    fs.writeFileSync(repo.path('train.sh'), `cp -R '${LIVE}/dvclive' '${LIVE}/dvc.yaml' .\nsed -i 's/^lr: 0.1/lr: 0.2/' dvclive/params.yaml\n`)
    const r = repo.xp(['run', '-n', 'live-2', '-S', 'seed=8', '--', 'sh', 'train.sh'])
    expect(r.code, r.stderr).toBe(0)
    expect(repo.read('params.yaml')).toBe('seed: 8 # the data split\n')
    const [rec] = repo.json(['show', 'live-2'])
    expect(rec.params).toEqual({ seed: 8, ...LIVE_PARAMS, lr: 0.2 })
    expect(rec.metrics).toEqual(LIVE_METRICS)
  })

  it("-S never edits DVCLive's params.yaml, even when dvc.yaml lists it first", () => {
    const r2 = new TestRepo({ files: { 'dvc.yaml': fs.readFileSync(path.join(LIVE, 'dvc.yaml'), 'utf8'), 'dvclive/params.yaml': 'lr: 0.1\n' } })
    for (const args of [
      ['run', '-S', 'lr=0.5', '--', 'true'],
      ['run', '--queue', '-S', 'lr=0.5,0.6', '--', 'true'],
    ]) {
      const r = r2.xp(args)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('XP_PARAMS_FILE_MISSING') // params.yaml, as dvc exp run -S
      expect(r2.read('dvclive/params.yaml')).toBe('lr: 0.1\n')
    }
  })

  it('xp plots names nested series as DVC does and draws the image and the confusion matrix', () => {
    const out = repo.path('report.html')
    expect(repo.xp(['plots', 'live', '-o', out]).code).toBe(0)
    const html = fs.readFileSync(out, 'utf8')
    const titles = chartTitles(html)
    expect(titles.filter((t) => LIVE_SERIES.includes(t)).sort()).toEqual(LIVE_SERIES)
    expect(titles.some((t) => t.includes('plots/metrics') || /^loss$/.test(t))).toBe(false)
    expect(titles).toContain('Confusion Matrix')
    const cells = Object.fromEntries(
      [...html.matchAll(/data-actual="(\w+)" data-predicted="(\w+)" data-count="(\d+)"/g)].map((m) => [`${m[1]}/${m[2]}`, Number(m[3])]),
    )
    expect(cells).toEqual(CONFUSION)
    const png = fs.readFileSync(path.join(LIVE, 'dvclive/plots/images/confusion.png')).toString('base64')
    expect(html).toContain(`src="data:image/png;base64,${png}"`)
  })

  it('the run page renders the series, the image and the confusion matrix in Chromium', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true })
    const child = repo.spawnXp(['ui', '--port', '0'])
    let browser: Browser | undefined
    try {
      let out = ''
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (d) => {
          out += d
          const m = /http:\/\/\S+\//.exec(out)
          if (m) resolve(m[0])
        })
        child.on('exit', (code) => reject(new Error(`xp ui exited ${code}`)))
      })
      const series = await (await fetch(`${url}api/runs/live/series`)).json()
      expect(Object.keys(series).sort()).toEqual(LIVE_SERIES)
      expect(series['train/loss'].y).toEqual([0.9, 0.7, 0.5, 0.4, 0.35])

      browser = await launchChromium()
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      await page.goto(`${url}#/run/live`)
      await page.waitForSelector('.plot-box svg.confusion')
      await page.waitForSelector('figure.plot-image img')
      expect((await page.$$eval('.charts .chart-box', (b) => b.map((x) => x.getAttribute('data-metric')))).sort()).toEqual(LIVE_SERIES)
      const cells = await page.$$eval('svg.confusion rect.cm-cell', (rs) =>
        Object.fromEntries(rs.map((r) => [`${r.getAttribute('data-actual')}/${r.getAttribute('data-predicted')}`, Number(r.getAttribute('data-count'))])),
      )
      expect(cells).toEqual(CONFUSION)
      expect(await page.$$eval('svg.confusion text.cm-count', (t) => t.map((x) => x.textContent).sort())).toEqual(['1', '1', '2', '4'])
      // the image decoded: an 8x8 PNG drawn, not a broken icon
      const img = await page.$eval('figure.plot-image img', (i) => ({
        w: (i as HTMLImageElement).naturalWidth,
        h: (i as HTMLImageElement).naturalHeight,
        alt: i.getAttribute('alt'),
      }))
      expect(img).toEqual({ w: 8, h: 8, alt: 'confusion.png' })
      await page.locator('h3', { hasText: 'Plots and images' }).scrollIntoViewIfNeeded()
      await page.screenshot({ path: path.join(ARTIFACTS, 'dvc-run.png'), fullPage: true })
    } finally {
      await browser?.close()
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  })
})

describe('a DVC repository with .dvc files and no xp.yaml', () => {
  const DATA_MD5 = 'md5:22a1a2931c8370d3aeedd7183606fd7f.dir'
  const MODEL_MD5 = 'md5:6d7fce9fee471194aa8b5b6e47267f03'
  let repo: TestRepo

  beforeAll(() => {
    repo = new TestRepo({
      files: {
        '.dvc/config': '[core]\n    autostage = false\n',
        '.dvc/.gitignore': '/config.local\n/tmp\n/cache\n',
        '.dvcignore': '',
        '.gitignore': '/data\n/model.bin\n',
        'data.dvc': 'outs:\n- md5: 22a1a2931c8370d3aeedd7183606fd7f.dir\n  size: 11\n  nfiles: 2\n  hash: md5\n  path: data\n',
        'data/a.csv': 'x,y\n1,2\n',
        'data/b.csv': 'z\n',
        'params.yaml': 'lr: 0.1\n',
        'train.js': "require('fs').writeFileSync('model.bin', 'model'); require('fs').writeFileSync('metrics.json', JSON.stringify({ acc: 0.75 }))\n",
        'dvc.yaml':
          'stages:\n  train:\n    cmd: node train.js\n    deps:\n    - data\n    - train.js\n    params:\n    - lr\n    outs:\n    - model.bin\n    metrics:\n    - metrics.json:\n        cache: false\nartifacts:\n  churn:\n    path: model.bin\n    type: model\n',
        'dvc.lock':
          "schema: '2.0'\nstages:\n  train:\n    cmd: node train.js\n    deps:\n    - path: data\n      hash: md5\n      md5: 22a1a2931c8370d3aeedd7183606fd7f.dir\n      size: 11\n      nfiles: 2\n    - path: train.js\n      hash: md5\n      md5: 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\n      size: 130\n    params:\n      params.yaml:\n        lr: 0.1\n    outs:\n    - path: metrics.json\n      hash: md5\n      md5: 1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e\n      size: 12\n    - path: model.bin\n      hash: md5\n      md5: 6d7fce9fee471194aa8b5b6e47267f03\n      size: 5\n",
        'metrics.json': '{"acc": 0.5}\n',
      },
    })
  })

  it("records DVC's data versions as the run's deps, copies none of DVC's data, and xp status says nothing about it", () => {
    const lock = repo.read('dvc.lock')
    const r = repo.xp(['run', '-n', 'dvc-run', '--json', '--', 'node', 'train.js'])
    expect(r.code, r.stderr).toBe(0)
    const run = JSON.parse(r.stdout)
    const [rec] = repo.json(['show'])
    // paths git holds (train.js, metrics.json) are code, not DVC's data
    expect(rec.deps).toEqual({ data: { oid: DATA_MD5, size: 11, files: 2 }, 'model.bin': { oid: MODEL_MD5, size: 5 } })
    expect(rec.params).toEqual({ lr: 0.1 })
    expect(rec.metrics).toEqual({ acc: 0.75 })
    const tree = repo.git('ls-tree', '-r', '--name-only', run.commit).split('\n').filter(Boolean)
    expect(tree).toContain('data.dvc')
    expect(tree.filter((f) => f.startsWith('data/') || f === 'model.bin' || f.endsWith('.xp'))).toEqual([])
    const cache = repo.path('.xp', 'cache')
    expect(fs.existsSync(cache) ? fs.readdirSync(cache).filter((d) => d !== 'tmp') : []).toEqual([])
    expect(repo.read('dvc.lock')).toBe(lock)
    const st = repo.xp(['status'])
    expect(st.code).toBe(0)
    expect(st.stdout).toBe('')
    expect(repo.json(['status'])).toEqual([])
    expect(repo.git('status', '--porcelain')).toBe(' M metrics.json\n')
    // DVC's md5 oids are not xp's objects: gc and fsck leave them alone
    expect(repo.xp(['gc', '--dry-run']).code).toBe(0)
    expect(repo.xp(['fsck']).code).toBe(0)
  })

  it("feeds dvc.yaml's artifacts to xp model, versioned by dvc.lock; the bytes stay DVC's to fetch", () => {
    expect(repo.xp(['model', 'register', 'churn', 'dvc-run']).code).toBe(0)
    expect(repo.json(['model', 'which', 'churn@latest'])).toMatchObject({ artifact: 'churn', path: 'model.bin', oid: MODEL_MD5, size: 5 })
    const r = repo.xp(['model', 'get', 'churn@latest', '-o', 'out.bin'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('XP_ARTIFACT_IN_DVC')
    expect(r.stderr).toContain('dvc get')
    expect(repo.exists('out.bin')).toBe(false)
  })
})

describe('xp import dvc', () => {
  it('imports the DVCLive experiment with its params, metrics, series, data versions and commit', () => {
    const repo = cloneBundle('dvclive-exp.bundle')
    const exps = repo.git('for-each-ref', 'refs/exps/')
    const res = repo.json(['import', 'dvc', 'proud-jird']) // by its DVC name (the clone has no HEAD to take experiments of)
    expect(res).toMatchObject({ total: 1, present: 0 })
    expect(res.imported.map((r: any) => r.name)).toEqual(['proud-jird'])
    const [rec] = repo.json(['show'])
    const exp = 'bb7547a282e74e49ff8f9c9a5131bb0d70944c91'
    expect(rec).toMatchObject({
      name: 'proud-jird',
      status: 'succeeded',
      baseline: 'dd2d43e746e228688856074b9e76c2324a923793',
      params: LIVE_PARAMS,
      metrics: LIVE_METRICS,
    })
    expect(rec.started).toBe(new Date(Number(repo.git('log', '-1', '--format=%ct', exp).trim()) * 1000).toISOString())
    expect(rec.deps).toEqual({ 'model.pkl': { oid: 'md5:4e426edace896abdb8c5fae9a265c7f4', size: 40 } })
    expect(repo.git('rev-parse', `${rec.commit}^{tree}`)).toBe(repo.git('rev-parse', `${exp}^{tree}`))
    expect(repo.git('rev-parse', `${rec.commit}^`).trim()).toBe(rec.baseline)
    const report = repo.path('r.html')
    expect(repo.xp(['plots', 'proud-jird', '-o', report]).code).toBe(0)
    expect(chartTitles(fs.readFileSync(report, 'utf8'))).toEqual(expect.arrayContaining([...LIVE_SERIES, 'Confusion Matrix']))
    expect(repo.json(['import', 'dvc', '--all'])).toMatchObject({ imported: [], present: 1, total: 1 })
    expect(repo.git('for-each-ref', 'refs/exps/')).toBe(exps)
  })

  it('imports all 200 experiments of the dvc exp run sample, once', () => {
    // What `dvc exp show` shows for this sample: per experiment, `acc` and `loss` (metrics.json),
    // `lr` and `epochs` (params.yaml; the stage's params), and the Created time of its commit.
    const repo = cloneBundle('dvc-exps-201.bundle')
    const exps = repo.git('for-each-ref', 'refs/exps/')
    expect(exps.trim().split('\n')).toHaveLength(201) // 200 experiments and DVC's refs/exps/exec/EXEC_HEAD
    const t0 = performance.now()
    const first = repo.json(['import', 'dvc']) // HEAD is their baseline
    const ms = performance.now() - t0
    console.log(`xp import dvc: 200 experiments in ${(ms / 1000).toFixed(2)} s (the built CLI, node start included)`)
    expect(first.total).toBe(200)
    expect(first.imported).toHaveLength(200)
    const runs = repo.git('for-each-ref', 'refs/xp/')
    expect(repo.json(['import', 'dvc', '--all'])).toMatchObject({ imported: [], present: 200, total: 200 })
    expect(repo.git('for-each-ref', 'refs/xp/')).toBe(runs)
    expect(repo.git('for-each-ref', 'refs/exps/')).toBe(exps)
    expect(repo.git('status', '--porcelain')).toBe('') // nothing in the working tree, .xp/ ignores itself
    const shown = repo.json(['show'])
    expect(shown).toHaveLength(200)
    const ref = exps
      .split('\n')
      .find((l) => l.endsWith('/mucky-yell'))!
      .split(/\s+/)[0]
    const one = shown.find((r: any) => r.name === 'mucky-yell')
    const files = (f: string) => repo.git('show', `${ref}:${f}`)
    expect(one.params).toEqual({ lr: 0.2, epochs: 200 })
    expect(files('params.yaml')).toMatch(/lr: 0\.2/)
    expect(one.metrics).toEqual(JSON.parse(files('metrics.json')))
    expect(one.command).toBe('python3 train.py')
    expect(new Set(shown.map((r: any) => r.name)).size).toBe(200)
  })

  it("reads DVC 2's layout: a checkpoint chain under one ref, DVCLive 1's files, and skips DVC's non-experiment refs", () => {
    const repo = new TestRepo({
      files: {
        'params.yaml': 'lr: 0.1\n',
        'dvc.yaml': 'stages:\n  train:\n    cmd: python train.py\n    params:\n    - lr\n    live:\n      logs:\n        summary: true\n',
      },
    })
    const baseline = repo.git('rev-parse', 'HEAD').trim()
    repo.git('checkout', '-q', '-b', 'work')
    repo.write('logs.json', '{"loss": 0.5, "step": 0}')
    repo.write('logs/loss.tsv', 'timestamp\tstep\tloss\n1\t0\t0.5\n')
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'checkpoint 0')
    repo.write('logs.json', '{"loss": 0.25, "step": 1}')
    repo.write('logs/loss.tsv', 'timestamp\tstep\tloss\n1\t0\t0.5\n2\t1\t0.25\n')
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'checkpoint 1')
    const tip = repo.git('rev-parse', 'HEAD').trim()
    repo.git('checkout', '-q', 'main')
    repo.git('branch', '-q', '-D', 'work')
    repo.git('update-ref', `refs/exps/${baseline.slice(0, 2)}/${baseline.slice(2)}/exp-4f2a1`, tip)
    repo.git('update-ref', 'refs/exps/exec/EXEC_BASELINE', baseline)
    repo.git('update-ref', 'refs/exps/celery/stash', tip)
    const res = repo.json(['import', 'dvc'])
    expect(res.imported.map((r: any) => r.name)).toEqual(['exp-4f2a1'])
    const [rec] = repo.json(['show'])
    expect(rec).toMatchObject({ baseline, params: { lr: 0.1 }, metrics: { loss: 0.25, step: 1 }, series: ['logs/loss.tsv'] })
    expect(repo.git('rev-parse', `${rec.commit}^{tree}`)).toBe(repo.git('rev-parse', `${tip}^{tree}`))
    expect(repo.git('rev-parse', `${rec.commit}^`).trim()).toBe(baseline)
    expect(repo.xp(['import', 'dvc', 'no-such-exp']).stderr).toContain('XP_DVC_EXP_NOT_FOUND')
  })
})
