// The MLflow API of `xp ui` beyond the recorded script: a server killed mid-run, many
// clients at once, two servers on one repository, security (token off loopback,
// artifact paths, bodies), experiments across restarts and clones, a pulled clone
// downloading artifacts on demand, and `xp import mlflow`.
import { describe, it, expect, afterAll, afterEach } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, cleanupTmp, tmpDir } from './helpers.js'
import { startUi, api, call, waitRecorded, FIXTURES, type Ui } from './mlflow-helpers.js'

const started: Ui[] = []
async function ui(r: TestRepo, args: string[] = [], env: Record<string, string> = {}) {
  const u = await startUi(r, args, env)
  started.push(u)
  return u
}
afterEach(async () => {
  for (const u of started.splice(0)) await u.stop()
})
afterAll(() => cleanupTmp())

const repoWithCommit = () => new TestRepo({ files: { 'README.md': '# project\n' } })

async function createRun(base: string, body: Record<string, unknown> = {}) {
  const r = await api(base, 'POST', 'runs/create', { experiment_id: '0', start_time: Date.now(), ...body })
  expect(r.status).toBe(200)
  return r.json.run.info.run_id as string
}

describe('live runs', () => {
  it('a server killed mid-run loses no logged point; after a restart the run goes on and is recorded', async () => {
    const repo = repoWithCommit()
    let u = await ui(repo)
    const id = await createRun(u.url, { run_name: 'killed' })
    for (let s = 0; s < 5; s++)
      expect((await api(u.url, 'POST', 'runs/log-metric', { run_id: id, key: 'loss', value: 1 / (s + 1), step: s, timestamp: 1000 + s })).status).toBe(200)
    await api(u.url, 'POST', 'runs/log-parameter', { run_id: id, key: 'lr', value: '0.1' })
    const running = repo.json(['show'])
    expect(running[0]).toMatchObject({ name: 'killed', status: 'running', params: { lr: 0.1 }, metrics: { loss: 0.2 } })
    u.child.kill('SIGKILL')
    await new Promise((r) => u.child.once('exit', r))
    u = await ui(repo)
    expect((await api(u.url, 'GET', `runs/get?run_id=${id}`)).json.run.info.status).toBe('RUNNING')
    await api(u.url, 'POST', 'runs/log-metric', { run_id: id, key: 'loss', value: 0.1, step: 5, timestamp: 2000 })
    expect((await api(u.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED', end_time: Date.now() })).status).toBe(200)
    await waitRecorded(repo)
    const hist = await api(u.url, 'GET', `metrics/get-history?run_id=${id}&metric_key=loss`)
    expect(hist.json.metrics.map((m: any) => m.step)).toEqual([0, 1, 2, 3, 4, 5])
    const [run] = repo.json(['show'])
    expect(run).toMatchObject({ name: 'killed', status: 'succeeded', metrics: { loss: 0.1 } })
    expect(repo.git('show', `${run.commit}:.xp-run/metrics/loss.tsv`).trim().split('\n')).toHaveLength(7)
  }, 30_000)

  it("xp ui's page shows a live run and its metrics as they arrive", async () => {
    const repo = repoWithCommit()
    const u = await ui(repo)
    const v0 = (await call(u.url, 'GET', '/api/version')).json.version
    const id = await createRun(u.url, { run_name: 'watch-me' })
    await api(u.url, 'POST', 'runs/log-metric', { run_id: id, key: 'loss', value: 0.9, step: 0, timestamp: 1 })
    const v1 = (await call(u.url, 'GET', '/api/version')).json.version
    expect(v1).not.toBe(v0)
    const listed = (await call(u.url, 'GET', '/api/runs')).json
    expect(listed.version).toBe(v1)
    expect(listed.runs[0]).toMatchObject({ id, name: 'watch-me', status: 'running', metrics: { loss: 0.9 } })
    await api(u.url, 'POST', 'runs/log-metric', { run_id: id, key: 'loss', value: 0.4, step: 1, timestamp: 2 })
    expect((await call(u.url, 'GET', '/api/version')).json.version).not.toBe(v1)
    expect((await call(u.url, 'GET', `/api/runs/${id}/series`)).json).toEqual({ loss: { x: [0, 1], y: [0.9, 0.4] } })
    expect((await call(u.url, 'GET', `/api/runs/watch-me`)).json.status).toBe('running')
    await api(u.url, 'POST', 'runs/set-tag', { run_id: id, key: 'team', value: 'growth' })
    expect((await call(u.url, 'GET', `/api/runs/watch-me`)).json).toMatchObject({ experiment: 'Default', tags: { team: 'growth' } })
    // the page's run view renders a Tags section from these (src/ui/app/run-page.ts); the bundle carries it
    expect((await call(u.url, 'GET', '/assets/app.js')).body.toString()).toContain('kv tags')
  })

  it('a torn last line (a write cut short) is skipped and the next write starts a new line', async () => {
    const repo = repoWithCommit()
    const u = await ui(repo)
    const id = await createRun(u.url)
    await api(u.url, 'POST', 'runs/log-metric', { run_id: id, key: 'm', value: 1, step: 0, timestamp: 1 })
    fs.appendFileSync(repo.path('.xp', 'live', `${id}.jsonl`), '{"e":"m","k":"m","v":9')
    await api(u.url, 'POST', 'runs/log-metric', { run_id: id, key: 'm', value: 2, step: 1, timestamp: 2 })
    const hist = await api(u.url, 'GET', `metrics/get-history?run_id=${id}&metric_key=m`)
    expect(hist.json.metrics.map((m: any) => m.value)).toEqual([1, 2])
  })

  it('a run nobody logs to any more is recorded as failed when a server starts (XP_LIVE_STALE_S)', async () => {
    const repo = repoWithCommit()
    let u = await ui(repo)
    const id = await createRun(u.url, { run_name: 'abandoned' })
    await api(u.url, 'POST', 'runs/log-metric', { run_id: id, key: 'acc', value: 0.5, step: 0, timestamp: 1 })
    u.child.kill('SIGKILL')
    await new Promise((r) => u.child.once('exit', r))
    await new Promise((r) => setTimeout(r, 1100))
    u = await ui(repo, [], { XP_LIVE_STALE_S: '1' })
    const [run] = repo.json(['show'])
    expect(run).toMatchObject({ name: 'abandoned', status: 'failed', metrics: { acc: 0.5 } })
    expect(fs.readdirSync(repo.path('.xp', 'live'))).toEqual([])
  }, 30_000)

  it('a recorded run cannot change; params cannot change value (INVALID_PARAMETER_VALUE)', async () => {
    const repo = repoWithCommit()
    const u = await ui(repo)
    const id = await createRun(u.url)
    await api(u.url, 'POST', 'runs/log-parameter', { run_id: id, key: 'lr', value: '0.1' })
    const again = await api(u.url, 'POST', 'runs/log-parameter', { run_id: id, key: 'lr', value: '0.2' })
    expect(again).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } })
    await api(u.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED' })
    await waitRecorded(repo)
    const late = await api(u.url, 'POST', 'runs/set-tag', { run_id: id, key: 'k', value: 'v' })
    expect(late).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } })
    const missing = await api(u.url, 'POST', 'runs/set-tag', { run_id: '01m8q1e4zvqsz3bjr1hc', key: 'k', value: 'v' })
    expect(missing).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } })
  })
})

describe('many clients', () => {
  it('8 clients logging at once all land, in order, nothing lost', async () => {
    const repo = repoWithCommit()
    const u = await ui(repo)
    const STEPS = 40
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => createRun(u.url, { run_name: `worker-${i}` })))
    await Promise.all(
      ids.map(async (id, i) => {
        for (let s = 0; s < STEPS; s++) {
          const r = await api(
            u.url,
            'POST',
            s % 2 ? 'runs/log-metric' : 'runs/log-batch',
            s % 2
              ? { run_id: id, key: 'x', value: i * 1000 + s, step: s, timestamp: s }
              : { run_id: id, metrics: [{ key: 'x', value: i * 1000 + s, step: s, timestamp: s }] },
          )
          expect(r.status).toBe(200)
        }
        await api(u.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED' })
      }),
    )
    await waitRecorded(repo)
    const runs = repo.json(['show'])
    expect(runs).toHaveLength(8)
    for (const [i, id] of ids.entries()) {
      const h = await api(u.url, 'GET', `metrics/get-history?run_id=${id}&metric_key=x`)
      expect(h.json.metrics.map((m: any) => m.value)).toEqual(Array.from({ length: STEPS }, (_, s) => i * 1000 + s))
    }
    expect(repo.git('fsck', '--no-progress').trim()).toBe('')
  }, 60_000)

  it('two xp ui on one repository share live runs and never record one twice', async () => {
    const repo = repoWithCommit()
    const a = await ui(repo)
    const b = await ui(repo)
    const ids = [await createRun(a.url, { run_name: 'from-a' }), await createRun(b.url, { run_name: 'from-b' })]
    for (const id of ids)
      for (const [s, srv] of [a, b, a, b].entries())
        expect((await api(srv.url, 'POST', 'runs/log-metric', { run_id: id, key: 'k', value: s, step: s, timestamp: s })).status).toBe(200)
    // both servers are asked to end both runs at once
    const ends = await Promise.all(ids.flatMap((id) => [a, b].map((srv) => api(srv.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED' }))))
    expect(ends.map((e) => e.status)).toEqual([200, 200, 200, 200])
    await waitRecorded(repo)
    await new Promise((r) => setTimeout(r, 300))
    const runs = repo.json(['show'])
    expect(runs.map((r: any) => r.name).sort()).toEqual(['from-a', 'from-b'])
    for (const r of runs) expect(r.metrics.k).toBe(3)
    expect(repo.git('for-each-ref', 'refs/xp/runs/').trim().split('\n')).toHaveLength(2)
    // the server that lost the race leaves at most an unreferenced commit, which git collects
    expect(
      repo
        .git('fsck', '--no-progress')
        .split('\n')
        .filter((l) => l && !l.startsWith('dangling ')),
    ).toEqual([])
    const seen = await api(b.url, 'GET', `runs/get?run_id=${ids[0]}`)
    expect(seen.json.run.info.status).toBe('FINISHED')
  }, 60_000)
})

describe('security and malformed requests', () => {
  it('off loopback every API call needs the token: Bearer or basic auth', async () => {
    const repo = repoWithCommit()
    repo.write('.xp/config.local.yaml', 'ui:\n  token: s3cret-token\n')
    const u = await ui(repo, ['--host', '0.0.0.0'])
    for (let i = 0; i < 50 && !u.stderr().includes('MLFLOW_TRACKING_TOKEN'); i++) await new Promise((r) => setTimeout(r, 50))
    expect(u.stderr()).toContain('as MLFLOW_TRACKING_TOKEN')
    expect(u.stderr()).not.toContain('s3cret-token') // printed logs never carry it; the address on stdout does
    const path = '/api/2.0/mlflow/experiments/get?experiment_id=0'
    expect(await call(u.url, 'GET', path)).toMatchObject({ status: 401, json: { error_code: 'UNAUTHENTICATED' } })
    expect((await call(u.url, 'GET', path, undefined, { authorization: 'Bearer wrong' })).status).toBe(401)
    expect((await call(u.url, 'GET', path, undefined, { authorization: 'Bearer s3cret-token' })).status).toBe(200)
    const basic = Buffer.from('alice:s3cret-token').toString('base64')
    expect((await call(u.url, 'GET', path, undefined, { authorization: `Basic ${basic}` })).status).toBe(200)
    expect((await call(u.url, 'PUT', '/api/2.0/mlflow-artifacts/artifacts/0/x/artifacts/a.txt', Buffer.from('x'))).status).toBe(401)
  })

  it('on loopback the local client needs no token', async () => {
    const repo = repoWithCommit()
    const u = await ui(repo)
    expect((await api(u.url, 'GET', 'experiments/get?experiment_id=0')).json.experiment.name).toBe('Default')
  })

  it('artifact paths never escape the run, however they are written', async () => {
    const repo = repoWithCommit()
    const u = await ui(repo)
    const id = await createRun(u.url)
    const base = `/api/2.0/mlflow-artifacts/artifacts/0/${id}/artifacts`
    const listBefore = await call(u.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`0/${id}/artifacts`)}`)
    expect(listBefore.json).toEqual({})
    for (const p of [
      '../../../../evil.txt',
      '%2e%2e/%2e%2e/evil.txt',
      'a/%2E%2E/%2e%2e/evil.txt',
      '..%2f..%2fevil.txt',
      '%2fetc%2fevil.txt',
      'a\\..\\..\\evil.txt',
      'a/%00/evil.txt',
      '.git/config',
      'sub/../../evil.txt',
    ]) {
      // refused as a bad path (400), or, where URL parsing already removed the dot segments, no such route (404)
      const r = await call(u.url, 'PUT', `${base}/${p}`, Buffer.from('evil'))
      expect({ p, refused: [400, 404].includes(r.status) }).toEqual({ p, refused: true })
      const g = await call(u.url, 'GET', `${base}/${p}`)
      expect({ p, refused: [400, 404].includes(g.status) }).toEqual({ p, refused: true })
    }
    const list = await call(u.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`0/${id}/artifacts/../../..`)}`)
    expect(list.status).toBe(400)
    expect(fs.existsSync(path.join(repo.dir, 'evil.txt')) || fs.existsSync(path.join(path.dirname(repo.dir), 'evil.txt'))).toBe(false)
    expect((await call(u.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`0/${id}/artifacts`)}`)).json).toEqual({})
    const ok = await call(u.url, 'PUT', `${base}/fine/a%20b.txt`, Buffer.from('fine'))
    expect(ok.status).toBe(200)
    expect((await call(u.url, 'GET', `${base}/fine/a%20b.txt`)).body.toString()).toBe('fine')
  })

  it('a malformed body is INVALID_PARAMETER_VALUE, a too large one 413, an unknown endpoint 404; the server stays up', async () => {
    const repo = repoWithCommit()
    const u = await ui(repo)
    for (const body of ['{bad', '[1,2]', '"text"', '{"experiment_id": {"$gt": 1}}']) {
      const r = await call(u.url, 'POST', '/api/2.0/mlflow/runs/create', body)
      expect({ body, status: r.status, code: r.json?.error_code }).toEqual({ body, status: 400, code: 'INVALID_PARAMETER_VALUE' })
    }
    const id = await createRun(u.url)
    for (const body of [
      { run_id: id, metrics: 'x' },
      { run_id: id, metrics: [{ key: 'a', value: 'not a number', step: 0 }] },
      { run_id: id, params: [{ key: '../x', value: '1' }] },
      { run_id: id, metrics: [{ key: 'a\nb', value: 1 }] },
    ]) {
      const r = await api(u.url, 'POST', 'runs/log-batch', body)
      expect({ body, status: r.status, code: r.json?.error_code }).toEqual({ body, status: 400, code: 'INVALID_PARAMETER_VALUE' })
    }
    const big = await call(u.url, 'POST', '/api/2.0/mlflow/runs/log-batch', Buffer.alloc(17 * 1024 * 1024, 32), { 'content-type': 'application/json' })
    expect(big.status).toBe(413)
    expect((await api(u.url, 'GET', 'nothing/here')).status).toBe(404)
    const search = await api(u.url, 'POST', 'runs/search', { filter: "metrics.acc > 0.5 AND params.lr = 'x' OR tags.a = 'b'" })
    expect(search.status).toBe(400)
    expect(search.json.message).toMatch(/position 38/)
    expect((await api(u.url, 'GET', 'experiments/get?experiment_id=0')).status).toBe(200)
  })
})

describe('experiments', () => {
  it('Default is 0; a new experiment with no run survives a restart; ids agree across clones', async () => {
    const repo = repoWithCommit()
    let u = await ui(repo)
    expect((await api(u.url, 'GET', 'experiments/get-by-name?experiment_name=Default')).json.experiment.experiment_id).toBe('0')
    const made = await api(u.url, 'POST', 'experiments/create', { name: 'churn' })
    const again = await api(u.url, 'POST', 'experiments/create', { name: 'churn' })
    expect(again).toMatchObject({ status: 400, json: { error_code: 'RESOURCE_ALREADY_EXISTS' } })
    await u.stop()
    u = await ui(repo)
    expect((await api(u.url, 'GET', 'experiments/get-by-name?experiment_name=churn')).json.experiment.experiment_id).toBe(made.json.experiment_id)
    const other = new TestRepo({ files: { 'x.txt': 'x' } })
    const v = await ui(other)
    expect((await api(v.url, 'POST', 'experiments/create', { name: 'churn' })).json.experiment_id).toBe(made.json.experiment_id)
    const list = await api(u.url, 'POST', 'experiments/search', { max_results: 10 })
    expect(list.json.experiments.map((e: any) => e.name).sort()).toEqual(['Default', 'churn'])
  })
})

describe('the registry both ways', () => {
  it('versions xp model register made are visible to MLflow clients; aliases set through the API are GTO stages', async () => {
    // `xp model register` needs the model in the run's commit, where xp.yaml says it is
    const repo = new TestRepo({ files: { 'README.md': '# project\n', 'xp.yaml': 'artifacts:\n  churn: {path: model.pkl}\n', 'model.pkl': 'weights\n' } })
    const u = await ui(repo)
    const id = await createRun(u.url, { run_name: 'to-register' })
    await api(u.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED' })
    await waitRecorded(repo)
    const reg = repo.xp(['model', 'register', 'churn', 'to-register'])
    expect(reg.code, reg.stderr).toBe(0)
    const model = await api(u.url, 'GET', 'registered-models/get?name=churn')
    expect(model.json.registered_model.latest_versions[0]).toMatchObject({ version: '0.0.1', run_id: id, status: 'READY' })
    const other = await createRun(u.url, { run_name: 'second' })
    await api(u.url, 'POST', 'runs/update', { run_id: other, status: 'FINISHED' })
    const mv = await api(u.url, 'POST', 'model-versions/create', { name: 'churn', source: 'x', run_id: other })
    expect(mv.json.model_version.version).toBe('1')
    expect((await api(u.url, 'POST', 'registered-models/alias', { name: 'churn', alias: 'prod', version: '0.0.1' })).status).toBe(200)
    expect(repo.json(['model', 'ls']).churn.stage.prod).toBe('v0.0.1')
    expect((await api(u.url, 'GET', 'registered-models/alias?name=churn&alias=prod')).json.model_version.version).toBe('0.0.1')
    expect((await call(u.url, 'DELETE', '/api/2.0/mlflow/registered-models/alias', { name: 'churn', alias: 'prod' })).status).toBe(200)
    expect(repo.json(['model', 'ls']).churn.stage.prod ?? null).toBe(null)
    expect(await api(u.url, 'GET', 'registered-models/alias?name=churn&alias=prod')).toMatchObject({
      status: 404,
      json: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    })
    const search = await api(u.url, 'GET', "model-versions/search?filter=name%3D'churn'")
    expect(search.json.model_versions.map((v: any) => v.version).sort()).toEqual(['0.0.1', '1'])
  }, 30_000)
})

describe('a clone that pulled', () => {
  it('searches runs and downloads an artifact through its own xp ui, fetching the bytes from the data remote', async () => {
    const repo = repoWithCommit()
    const store = tmpDir('xp-data-')
    const bare = tmpDir('xp-bare-')
    repo.git('init', '-q', '--bare', bare)
    expect(repo.xp(['remote', 'add', 'storage', store, '--default']).code).toBe(0)
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'data remote')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')
    const u = await ui(repo)
    const exp = (await api(u.url, 'POST', 'experiments/create', { name: 'shared' })).json.experiment_id
    const id = await createRun(u.url, { experiment_id: exp, run_name: 'trained' })
    await api(u.url, 'POST', 'runs/log-batch', {
      run_id: id,
      metrics: [{ key: 'acc', value: 0.9, step: 0, timestamp: 1 }],
      params: [{ key: 'lr', value: '0.1' }],
    })
    expect((await call(u.url, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/${exp}/${id}/artifacts/model/weights.bin`, Buffer.from('weights!'))).status).toBe(200)
    await api(u.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED' })
    await waitRecorded(repo)
    const pushed = repo.xp(['push', 'origin'])
    expect(pushed.code, pushed.stderr).toBe(0)

    const clone = new TestRepo({ init: false })
    clone.git('clone', '-q', '-b', 'main', bare, '.')
    const pulled = clone.xp(['pull', 'origin'])
    expect(pulled.code, pulled.stderr).toBe(0)
    const c = await ui(clone)
    const found = await api(c.url, 'POST', 'runs/search', { experiment_ids: [exp], filter: 'metrics.acc > 0.5' })
    expect(found.json.runs.map((r: any) => r.info.run_id)).toEqual([id])
    const listed = await call(c.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${exp}/${id}/artifacts/model`)}`)
    expect(listed.json.files).toEqual([{ path: 'weights.bin', is_dir: false, file_size: 8 }])
    const dl = await call(c.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts/${exp}/${id}/artifacts/model/weights.bin`)
    expect(dl.status).toBe(200)
    expect(dl.body.toString()).toBe('weights!')
  }, 60_000)
})

describe('xp import mlflow', () => {
  it("imports an MLflow file store's runs, artifacts into the cache; importing twice adds nothing", async () => {
    const repo = repoWithCommit()
    const first = repo.json(['import', 'mlflow', path.join(FIXTURES, 'mlruns')])
    expect(first.imported).toHaveLength(3)
    expect(first.experiments.sort()).toEqual(['Default', 'churn', 'ranking'])
    const again = repo.json(['import', 'mlflow', path.join(FIXTURES, 'mlruns')])
    expect(again).toMatchObject({ imported: [], skipped: 3 })
    const runs = repo.json(['show'])
    expect(runs).toHaveLength(3)
    const lr01 = runs.find((r: any) => r.name === 'lr-0.1')
    expect(lr01).toMatchObject({
      status: 'succeeded',
      experiment: 'churn',
      params: { lr: 0.1, model: 'sgd', epochs: 3 },
      metrics: { acc: 0.8 },
      tags: { team: 'growth' },
    })
    expect(lr01.metrics.loss).toBeCloseTo(1 / 3)
    expect(runs.find((r: any) => r.name === 'broken').status).toBe('failed')
    expect(lr01.outs['.xp-run/artifacts'].files).toBe(2)
    const u = await ui(repo)
    const churn = (await api(u.url, 'GET', 'experiments/get-by-name?experiment_name=churn')).json.experiment.experiment_id
    const dl = await call(u.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts/${churn}/${lr01.id}/artifacts/config/params.json`)
    expect(JSON.parse(dl.body.toString())).toEqual({ lr: 0.1 })
    const hist = await api(u.url, 'GET', `metrics/get-history?run_id=${lr01.id}&metric_key=loss`)
    expect(hist.json.metrics.map((m: any) => m.step)).toEqual([0, 1, 2])
  }, 30_000)
})
