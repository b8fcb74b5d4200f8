// MLflow's real client against `xp ui`, replayed: fixtures/mlflow/train-traffic.jsonl is
// what MLflow 2.11.3's Python client sent running fixtures/mlflow/train.py (autolog and
// the registry) and what xp answered (scripts/record-mlflow-traffic.mjs);
// real-server-2.11.3.jsonl is the same script against the real MLflow server. The
// replay must get the same answers from a fresh repository, in the real server's shapes,
// and xp show, diff and model ls must agree with what the client logged.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import { TestRepo, cleanupTmp } from './helpers.js'
import { startUi, replay, call, waitRecorded, readTraffic, keyPaths, FIXTURES, type Ui, type Reply, type Recorded } from './mlflow-helpers.js'

let repo: TestRepo
let ui: Ui
let first: Array<{ rec: Recorded; reply: Reply }>
const ours = readTraffic('train-traffic.jsonl')

beforeAll(async () => {
  repo = new TestRepo({ files: { 'README.md': '# churn\n' } })
  ui = await startUi(repo)
  first = await replay(ui.url, ours)
  await waitRecorded(repo)
}, 60_000)

afterAll(async () => {
  await ui?.stop()
  cleanupTmp()
})

const endpoint = (url: string) => url.split('?')[0].replace(/(mlflow-artifacts\/artifacts)\/.*/, '$1/…')

describe('MLflow client traffic replayed against xp ui', () => {
  it('answers every call as it did for the real client: same statuses, same shapes', () => {
    expect(first.length).toBe(68)
    for (const { rec, reply } of first) {
      expect({ call: `${rec.method} ${endpoint(rec.url)}`, status: reply.status }).toEqual({ call: `${rec.method} ${endpoint(rec.url)}`, status: rec.status })
      if (rec.resp && !('base64' in rec.resp)) expect([...keyPaths(reply.json)].sort()).toEqual([...keyPaths(rec.resp)].sort())
      else expect(reply.body.toString('base64')).toBe(rec.resp.base64) // an artifact download: the bytes uploaded
    }
  })

  it('gives every field the real MLflow server gives, with the same statuses and error codes', () => {
    const real = fs
      .readFileSync(`${FIXTURES}/real-server-2.11.3.jsonl`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((r) => r.seq)
    expect(real.length).toBe(first.length)
    real.forEach((r, i) => {
      const { rec, reply } = first[i]
      expect(rec.method).toBe(r.method)
      if (!r.path.includes('mlflow-artifacts')) expect(rec.url.split('?')[0]).toBe(r.path)
      expect(reply.status).toBe(r.status)
      if (r.resp && typeof r.resp === 'object' && !Object.keys(r.resp).some((k) => k.startsWith('_'))) {
        const mine = keyPaths(reply.json)
        for (const k of keyPaths(r.resp)) expect({ call: r.path, key: k, present: mine.has(k) }).toEqual({ call: r.path, key: k, present: true })
        if (r.resp.error_code) expect(reply.json.error_code).toBe(r.resp.error_code)
      }
    })
  })

  it('gives back what was logged: params as strings, history, artifacts, the registry', () => {
    const byPath = (p: string) => first.filter(({ rec }) => rec.url.includes(p)).map(({ reply }) => reply.json)
    const run = byPath('/runs/get?')[2].run
    expect(Object.fromEntries(run.data.params.map((p: any) => [p.key, p.value]))).toEqual({
      alpha: '0.0005',
      epochs: '10',
      model_type: 'sgd_logreg',
      penalty: 'l2',
      seed: '7',
    })
    expect(run.info.status).toBe('FINISHED')
    expect(run.data.tags.find((t: any) => t.key === 'team').value).toBe('growth')
    const hist = byPath('/metrics/get-history')[0].metrics
    expect(hist.map((m: any) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(byPath('mlflow-artifacts/artifacts?path=')[0].files.map((f: any) => f.path)).toEqual([
      'config',
      'confusion_matrix.csv',
      'model',
      'notes.txt',
      'reports',
    ])
    expect(byPath('/model-versions/create')[0].model_version).toMatchObject({ version: '1', status: 'READY', run_id: run.info.run_id })
    expect(byPath('/registered-models/alias?')[0].model_version).toMatchObject({ version: '1', aliases: ['champion'] })
  })

  it('xp show, xp diff and xp model ls agree with what the client logged, and GTO reads the tags', () => {
    const runs = repo.json(['show'])
    expect(runs.map((r: any) => [r.name, r.status, r.experiment])).toEqual([
      ['logreg-autolog', 'succeeded', 'churn'],
      ['sgd-baseline', 'succeeded', 'churn'],
    ])
    const sgd = runs[1]
    expect(sgd.params).toEqual({ alpha: 0.0005, epochs: 10, model_type: 'sgd_logreg', penalty: 'l2', seed: 7 })
    const logged = first.find(({ rec }) => rec.url.endsWith('/runs/log-batch') && rec.req.metrics?.some((m: any) => m.key === 'acc'))!.rec.req.metrics
    for (const m of logged) expect(sgd.metrics[m.key]).toBe(m.value)
    expect(sgd.metrics.val_acc).toBe(first.filter(({ rec }) => rec.url.endsWith('/log-metric') && rec.req.key === 'val_acc').at(-1)!.rec.req.value)
    expect(sgd.tags).toMatchObject({ team: 'growth', dataset: 'synthetic-churn-v1', stage: 'dev', 'mlflow.runName': 'sgd-baseline' })
    expect(sgd.outs['.xp-run/artifacts'].files).toBe(13)
    expect(sgd.series).toContain('.xp-run/metrics/val_acc.tsv')
    expect(repo.git('show', `${sgd.commit}:.xp-run/metrics/val_acc.tsv`).split('\n')[0]).toBe('step\tval_acc\ttimestamp')
    // the commit is written in-process, as git would: the user's identity, a parent, a clean fsck
    expect(repo.git('log', '-1', '--format=%an <%ae>|%P', sgd.commit).trim()).toBe(`Test User <test@example.com>|${repo.git('rev-parse', 'HEAD').trim()}`)
    expect(
      repo
        .git('fsck', '--strict', '--no-progress')
        .split('\n')
        .filter((l) => l && !l.startsWith('dangling ')),
    ).toEqual([])

    // the records the server added to the record index are what git's commits say
    fs.rmSync(repo.path('.git', 'xp', 'runs-v2.idx'))
    expect(repo.json(['show'])).toEqual(runs)

    const text = repo.xp(['show']).stdout
    expect(text).toMatch(/tags\.team/)
    expect(repo.json(['show', '--filter', "tags.team == 'growth'"]).map((r: any) => r.name)).toEqual(['sgd-baseline'])

    const diff = repo.json(['diff', 'sgd-baseline', 'logreg-autolog'])
    expect(diff.tags.team).toMatchObject({ old: 'growth', new: null })
    expect(diff.params.C).toMatchObject({ old: null, new: 0.5 })

    const models = repo.json(['model', 'ls'])
    const churn = models['churn-classifier']
    expect(churn.version).toBe('v1.0.0')
    expect(churn.stage.champion).toBe('v1.0.0')
    const tags = repo.git('tag', '-l').split('\n').filter(Boolean).sort()
    expect(tags).toEqual(['churn-classifier#champion#1', 'churn-classifier@v1.0.0'])
    expect(repo.git('rev-list', '-n', '1', 'churn-classifier@v1.0.0').trim()).toBe(sgd.commit)
  })

  it('xp gc keeps the artifacts and xp fsck checks them: they are referenced like outs', async () => {
    expect(repo.xp(['gc', '--grace', '0']).code).toBe(0)
    expect(repo.xp(['fsck']).code).toBe(0)
    const sgd = repo.json(['show']).find((r: any) => r.name === 'sgd-baseline')
    const exp = first.find(({ rec }) => rec.url.endsWith('/experiments/create'))!.reply.json.experiment_id
    const dl = await call(ui.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts/${exp}/${sgd.id}/artifacts/config/features.json`)
    expect(dl.status).toBe(200)
    expect(JSON.parse(dl.body.toString()).threshold).toBe(0.5)
  })

  it('a second run of the script: the experiment is found, the model exists (RESOURCE_ALREADY_EXISTS), the version is 2', async () => {
    // the script sets the alias to the version it was given back: 2 this time
    const second = await replay(
      ui.url,
      ours.map((c) => (c.method === 'POST' && c.url.endsWith('/registered-models/alias') ? { ...c, req: { ...c.req, version: '2' } } : c)),
    )
    await waitRecorded(repo)
    const at = (p: string) => second.find(({ rec }) => rec.url.includes(p))!.reply
    expect(at('/experiments/get-by-name').status).toBe(200)
    expect(at('/registered-models/create')).toMatchObject({ status: 400, json: { error_code: 'RESOURCE_ALREADY_EXISTS' } })
    expect(at('/model-versions/create').json.model_version.version).toBe('2')
    expect(second.find(({ rec }) => rec.url.includes('/registered-models/alias?'))!.reply.json.model_version.version).toBe('2')
    expect(repo.json(['model', 'ls'])['churn-classifier'].stage.champion).toBe('v2.0.0')
    // setting an alias to the version that holds it already is a no-op, as in MLflow
    const again = await replay(
      ui.url,
      second
        .filter(({ rec }) => rec.method === 'POST' && rec.url.endsWith('/registered-models/alias'))
        .map(({ rec }) => ({ ...rec, req: { ...rec.req, version: '2' } })),
    )
    expect(again[0].reply.status).toBe(200)
    // two runs named sgd-baseline in MLflow: xp names the second sgd-baseline-2 and keeps the MLflow name as a tag
    const names = repo.json(['show']).map((r: any) => r.name)
    expect(names).toContain('sgd-baseline-2')
  }, 60_000)
})
