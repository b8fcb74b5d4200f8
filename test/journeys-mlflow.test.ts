// Journey: an MLflow client logs through `xp ui`, the team shares through git and a folder
// data remote, and a fresh clone sees the same runs, artifacts and registry.
// Crosses: the MLflow API (live runs, artifacts, registry), show/diff, push/pull of runs,
// tags and cache objects, a pulled clone's own `xp ui` fetching on demand, `xp model ls`.
import { describe, it, expect, afterAll, afterEach } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, cleanupTmp, tmpDir, ROOT } from './helpers.js'
import { makeBare } from './servers/git.js'
import { allFiles } from './journeys-helpers.js'
import { startUi, api, call, waitRecorded, type Ui } from './mlflow-helpers.js'

const started: Ui[] = []
async function ui(r: TestRepo) {
  const u = await startUi(r)
  started.push(u)
  return u
}
afterEach(async () => {
  for (const u of started.splice(0)) await u.stop()
})
afterAll(() => cleanupTmp())

/** A run logged as MLflow's Python client logs one (fixtures/mlflow/train-traffic.jsonl's shapes). */
async function logRun(base: string, exp: string, name: string, lr: string, losses: number[], model: Buffer) {
  const created = await api(base, 'POST', 'runs/create', {
    experiment_id: exp,
    user_id: 'alice',
    run_name: name,
    start_time: Date.now(),
    tags: [
      { key: 'mlflow.user', value: 'alice' },
      { key: 'mlflow.source.type', value: 'LOCAL' },
      { key: 'mlflow.runName', value: name },
    ],
  })
  expect(created.status).toBe(200)
  const id = created.json.run.info.run_id as string
  const ok = (r: { status: number; body: Buffer }) => expect(r.status, r.body.toString()).toBe(200)
  ok(await api(base, 'POST', 'runs/log-parameter', { run_uuid: id, run_id: id, key: 'model_type', value: 'sgd' }))
  ok(
    await api(base, 'POST', 'runs/log-batch', {
      run_id: id,
      params: [
        { key: 'lr', value: lr },
        { key: 'epochs', value: String(losses.length) },
      ],
    }),
  )
  ok(await api(base, 'POST', 'runs/set-tag', { run_uuid: id, run_id: id, key: 'team', value: 'growth' }))
  for (const [step, value] of losses.entries())
    ok(await api(base, 'POST', 'runs/log-metric', { run_uuid: id, run_id: id, key: 'train_loss', value, timestamp: 1000 + step, step }))
  ok(await api(base, 'POST', 'runs/log-batch', { run_id: id, metrics: [{ key: 'acc', value: 1 - losses.at(-1)!, timestamp: 2000, step: 0 }] }))
  ok(await call(base, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/${exp}/${id}/artifacts/model/model.pkl`, model))
  ok(await call(base, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/${exp}/${id}/artifacts/notes.txt`, Buffer.from(`notes of ${name}\n`)))
  ok(await api(base, 'POST', 'runs/update', { run_uuid: id, run_id: id, status: 'FINISHED', end_time: Date.now() }))
  return id
}

const ok0 = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0)

describe('journey: MLflow client -> push -> fresh clone', () => {
  it('a clone that pulled shows, diffs, searches, downloads and reads the registry the MLflow client made', async () => {
    const origin = new TestRepo({ files: { 'README.md': '# churn\n', 'train.py': 'print(1)\n' } })
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    expect(origin.xp(['remote', 'add', 'storage', store, '--default']).code).toBe(0)
    origin.git('add', '-A')
    origin.git('commit', '-qm', 'data remote')
    origin.git('remote', 'add', 'origin', bare)
    origin.git('push', '-q', 'origin', 'main')

    const u = await ui(origin)
    const exp = (await api(u.url, 'POST', 'experiments/create', { name: 'churn' })).json.experiment_id as string
    const weightsA = Buffer.from(`weights-a ${'x'.repeat(3000)}\n`)
    const weightsB = Buffer.from(`weights-b ${'y'.repeat(3000)}\n`)
    const a = await logRun(u.url, exp, 'sgd-a', '0.1', [0.9, 0.5, 0.3], weightsA)
    const b = await logRun(u.url, exp, 'sgd-b', '0.01', [0.8, 0.6, 0.4, 0.35], weightsB)
    await waitRecorded(origin)
    // the registry, as mlflow.register_model + set_registered_model_alias send it
    expect((await api(u.url, 'POST', 'registered-models/create', { name: 'churn-classifier', tags: [{ key: 'owner', value: 'growth' }] })).status).toBe(200)
    const mv = await api(u.url, 'POST', 'model-versions/create', {
      name: 'churn-classifier',
      source: `mlflow-artifacts:/${exp}/${a}/artifacts/model`,
      run_id: a,
    })
    expect(mv.status, mv.body.toString()).toBe(200)
    expect(mv.json.model_version.version).toBe('1')
    const alias = await api(u.url, 'POST', 'registered-models/alias', { name: 'churn-classifier', alias: 'champion', version: '1' })
    expect(alias.status, alias.body.toString()).toBe(200)

    // xp show and xp diff agree with what the client logged
    const shown = origin.json(['show'])
    const runA = shown.find((r: any) => r.id === a)
    const runB = shown.find((r: any) => r.id === b)
    expect(runA).toMatchObject({
      name: 'sgd-a',
      status: 'succeeded',
      experiment: 'churn',
      params: { lr: 0.1, epochs: 3, model_type: 'sgd' },
      tags: { team: 'growth' },
    })
    expect(runA.metrics.train_loss).toBe(0.3)
    expect(runA.metrics.acc).toBeCloseTo(0.7)
    expect(runB).toMatchObject({ name: 'sgd-b', params: { lr: 0.01, epochs: 4 }, metrics: { train_loss: 0.35 } })
    const d = origin.json(['diff', 'sgd-a', 'sgd-b'])
    expect(d.params.lr).toMatchObject({ old: 0.1, new: 0.01 })
    expect(d.params.epochs).toMatchObject({ old: 3, new: 4, diff: 1 })
    expect(d.metrics.train_loss.old).toBe(0.3)
    expect(d.metrics.train_loss.new).toBe(0.35)
    expect(d.metrics.train_loss.diff).toBeCloseTo(0.05)
    expect(d.params.model_type).toBeUndefined() // unchanged params are left out without --all
    expect(origin.json(['model', 'ls'])['churn-classifier'].stage.champion).toBe('v1.0.0')
    await u.stop()
    // gc keeps what runs reference: the artifacts the API streamed into the cache
    ok0(origin.xp(['gc']))

    const pushed = origin.xp(['push', 'origin'])
    expect(pushed.code, pushed.stderr).toBe(0)
    // the folder data remote holds the artifacts' bytes; the git remote the runs and the registry tags
    const stored = allFiles(store).map((f) => fs.readFileSync(f))
    expect(stored.some((buf) => buf.equals(weightsA))).toBe(true)
    expect(stored.some((buf) => buf.equals(weightsB))).toBe(true)
    const remoteRefs = origin.git('ls-remote', bare)
    expect(remoteRefs).toContain(`refs/xp/runs/${a}`)
    expect(remoteRefs).toContain(`refs/xp/runs/${b}`)
    expect(remoteRefs).toContain('refs/tags/churn-classifier@v1.0.0')
    expect(remoteRefs).toMatch(/refs\/tags\/churn-classifier#champion#\d+/)

    const clone = new TestRepo({ init: false })
    clone.git('clone', '-q', '-b', 'main', bare, '.')
    const pulled = clone.xp(['pull', 'origin'])
    expect(pulled.code, pulled.stderr).toBe(0)
    const strip = (rs: any[]) => rs.map(({ commit, ref, ...r }: any) => r).sort((x: any, y: any) => (x.id < y.id ? -1 : 1))
    expect(strip(clone.json(['show']))).toEqual(strip(shown))
    expect(clone.json(['diff', 'sgd-a', 'sgd-b'])).toEqual(d)
    expect(clone.json(['model', 'ls'])['churn-classifier'].stage.champion).toBe('v1.0.0')
    // the clone pulled records, not data: artifacts come from the data remote when asked for
    expect(
      fs.existsSync(clone.path('.xp', 'cache'))
        ? allFiles(clone.path('.xp', 'cache'))
            .map((f) => fs.readFileSync(f))
            .some((x) => x.equals(weightsA))
        : false,
    ).toBe(false)

    const c = await ui(clone)
    const found = await api(c.url, 'POST', 'runs/search', {
      experiment_ids: [exp],
      filter: 'metrics.acc > 0.5',
      order_by: ['metrics.acc DESC'],
      max_results: 50,
    })
    expect(found.status, found.body.toString()).toBe(200)
    expect(found.json.runs.map((r: any) => r.info.run_id)).toEqual([a, b])
    const first = found.json.runs[0]
    expect(first.info.run_name).toBe('sgd-a')
    expect(first.data.params).toEqual(
      expect.arrayContaining([
        { key: 'lr', value: '0.1' },
        { key: 'model_type', value: 'sgd' },
      ]),
    )
    expect(first.data.tags).toEqual(expect.arrayContaining([{ key: 'team', value: 'growth' }]))
    const hist = await api(c.url, 'GET', `metrics/get-history?run_id=${a}&metric_key=train_loss`)
    expect(hist.json.metrics.map((m: any) => [m.step, m.value])).toEqual([
      [0, 0.9],
      [1, 0.5],
      [2, 0.3],
    ])
    const listed = await call(c.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${exp}/${a}/artifacts/model`)}`)
    expect(listed.json.files).toEqual([{ path: 'model.pkl', is_dir: false, file_size: weightsA.length }])
    const dl = await call(c.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts/${exp}/${a}/artifacts/model/model.pkl`)
    expect(dl.status).toBe(200)
    expect(dl.body.equals(weightsA)).toBe(true)
    const champion = await api(c.url, 'GET', 'registered-models/alias?name=churn-classifier&alias=champion')
    expect(champion.json.model_version).toMatchObject({ version: '1', run_id: a })
    // mlflow.pyfunc.load_model('models:/churn-classifier@champion') in the clone: the download URI, then its files
    const uri = await api(c.url, 'GET', 'model-versions/get-download-uri?name=churn-classifier&version=1')
    expect(uri.status, uri.body.toString()).toBe(200)
    const under = String(uri.json.artifact_uri).replace(/^mlflow-artifacts:\//, '')
    const files = await call(c.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(under)}`)
    expect(files.json.files).toEqual([{ path: 'model.pkl', is_dir: false, file_size: weightsA.length }])
    await c.stop()

    // applying an MLflow run in the clone: the run's files are the baseline's, its own are xp's (.xp-run/)
    const applied = clone.xp(['apply', 'sgd-a'])
    ok0(applied)
    expect(clone.git('status', '--porcelain', '--untracked-files=all')).toBe('')
    // what the UI fetched on demand is whole: fsck checks every cached object against its hash
    ok0(clone.xp(['fsck', '--remote']))
    // and in the clone, gc keeps what the UI fetched for a pulled run
    ok0(clone.xp(['gc']))
    const c2 = await ui(clone)
    const again = await call(c2.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts/${exp}/${a}/artifacts/model/model.pkl`)
    expect(again.body.equals(weightsA)).toBe(true)
    expect(clone.json(['status'])).toEqual([])
    // xp model get of the version MLflow registered: the run's model folder, from its source
    const served = clone.path('served')
    ok0(clone.xp(['model', 'get', 'churn-classifier@champion', '-o', served]))
    expect(fs.readFileSync(path.join(served, 'model.pkl')).equals(weightsA)).toBe(true)
    expect(fs.readdirSync(served)).toEqual(['model.pkl'])
  }, 60_000)
})

describe('journey: xp runs, MLflow runs and an imported MLflow store side by side', () => {
  it('one listing for all three, in xp show, xp diff and runs/search; a clone downloads the imported artifacts', async () => {
    const repo = new TestRepo({ files: { 'README.md': '# m\n', 'params.yaml': 'lr: 0.5\nmodel: sgd\n' } })
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok0(repo.xp(['remote', 'add', 'storage', store, '--default']))
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'project')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')
    // a foreground xp run, then the imported MLflow file store, then a run through the API
    ok0(repo.xp(['run', '-n', 'cli-run', '--', 'sh', '-c', 'echo \'{"acc": 0.6}\' > metrics.json']))
    const imported = repo.json(['import', 'mlflow', path.join(ROOT, 'fixtures', 'mlflow', 'mlruns')])
    expect(imported.imported).toHaveLength(3)
    const u = await ui(repo)
    const id = await logRun(u.url, '0', 'api-run', '0.5', [0.7, 0.4], Buffer.from('api model\n'))
    await waitRecorded(repo)

    const shown = repo.json(['show'])
    expect(shown.map((r: any) => r.name).sort()).toEqual(['api-run', 'broken', 'cli-run', 'lr-0.01', 'lr-0.1'].sort())
    // an xp run and an MLflow run compare like any two runs: the same lr, typed the same
    const d = repo.json(['diff', 'cli-run', 'api-run', '--all'])
    expect(d.params.lr).toMatchObject({ old: 0.5, new: 0.5 })
    // MLflow clients see the xp run in Default, its params as strings
    const found = await api(u.url, 'POST', 'runs/search', { experiment_ids: ['0'], filter: "params.lr = '0.5'", max_results: 10 })
    expect(found.json.runs.map((r: any) => r.info.run_name).sort()).toEqual(['api-run', 'cli-run'])
    await u.stop()

    ok0(repo.xp(['push', 'origin']))
    const clone = new TestRepo({ init: false })
    clone.git('clone', '-q', '-b', 'main', bare, '.')
    ok0(clone.xp(['pull', 'origin']))
    expect(
      clone
        .json(['show'])
        .map((r: any) => r.id)
        .sort(),
    ).toEqual(shown.map((r: any) => r.id).sort())
    const c = await ui(clone)
    const churn = (await api(c.url, 'GET', 'experiments/get-by-name?experiment_name=churn')).json.experiment.experiment_id
    const lr01 = shown.find((r: any) => r.name === 'lr-0.1')
    const dl = await call(c.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts/${churn}/${lr01.id}/artifacts/config/params.json`)
    expect(dl.status).toBe(200)
    expect(JSON.parse(dl.body.toString())).toEqual({ lr: 0.1 })
    const mine = await call(c.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts/0/${id}/artifacts/model/model.pkl`)
    expect(mine.body.toString()).toBe('api model\n')
  }, 60_000)
})
