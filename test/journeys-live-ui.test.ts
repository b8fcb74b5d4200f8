// Journey: a teammate keeps `xp ui` open while pulling: runs, registry changes and notes
// that another clone pushed appear in the open server (its listing, MLflow search and
// registry API), with no restart, as `xp show` and `xp model ls` show them.
import { describe, it, expect, afterAll, afterEach } from 'vitest'
import fs from 'node:fs'
import { TestRepo, cleanupTmp, tmpDir } from './helpers.js'
import { makeBare } from './servers/git.js'
import { startUi, api, call, waitRecorded, type Ui } from './mlflow-helpers.js'

const started: Ui[] = []
afterEach(async () => {
  for (const u of started.splice(0)) await u.stop()
})
afterAll(() => cleanupTmp())

const ok = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0)

describe('journey: an open xp ui while pulling', () => {
  it('shows what the pull brought: runs, a stage moved, a note, without a restart', async () => {
    const alice = new TestRepo({
      files: {
        'README.md': '# m\n',
        'params.yaml': 'lr: 0.1\n',
        'xp.yaml': 'params: [params.yaml]\nouts: [model.bin]\nartifacts:\n  churn: {path: model.bin}\n',
      },
    })
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(alice.xp(['remote', 'add', 'storage', tmpDir('xp-journey-data-'), '--default']))
    alice.git('add', '-A')
    alice.git('commit', '-qm', 'project')
    alice.git('remote', 'add', 'origin', bare)
    alice.git('push', '-q', 'origin', 'main')
    ok(alice.xp(['run', '-n', 'first', '-S', 'lr=0.2', '--', 'sh', '-c', 'echo 1 > model.bin']))
    ok(alice.xp(['model', 'assign', 'churn', 'first', '--stage', 'prod']))
    ok(alice.xp(['push', 'origin']))

    const bob = new TestRepo({ init: false })
    bob.git('clone', '-q', '-b', 'main', bare, '.')
    ok(bob.xp(['pull', 'origin']))
    const u = await startUi(bob)
    started.push(u)
    const names = async () => (await call(u.url, 'GET', '/api/runs')).json.runs.map((r: any) => r.name).sort()
    expect(await names()).toEqual(['first'])
    const v0 = (await call(u.url, 'GET', '/api/version')).json.version
    const prodOf = async () => (await call(u.url, 'GET', '/api/registry')).json.artifacts.find((a: any) => a.name === 'churn').show.stage.prod
    expect(await prodOf()).toBe('v0.0.1')

    ok(alice.xp(['run', '-n', 'second', '-S', 'lr=0.3', '--', 'sh', '-c', 'echo 2 > model.bin']))
    ok(alice.xp(['model', 'assign', 'churn', 'second', '--stage', 'prod']))
    ok(alice.xp(['note', 'first', 'superseded by second']))
    ok(alice.xp(['push', 'origin']))
    ok(bob.xp(['pull', 'origin']))

    // the page polls /api/version; the server looks at the refs again at most every 500 ms
    for (let i = 0; i < 50 && (await call(u.url, 'GET', '/api/version')).json.version === v0; i++) await new Promise((r) => setTimeout(r, 100))
    expect((await call(u.url, 'GET', '/api/version')).json.version).not.toBe(v0)
    expect(await names()).toEqual(['first', 'second'])
    expect(await prodOf()).toBe('v0.0.2')
    const found = await api(u.url, 'POST', 'runs/search', { experiment_ids: ['0'], filter: "params.lr = '0.3'" })
    expect(found.json.runs.map((r: any) => r.info.run_name)).toEqual(['second'])
    const first = (await call(u.url, 'GET', '/api/runs')).json.runs.find((r: any) => r.name === 'first')
    expect(JSON.stringify(first)).toContain('superseded by second')
    expect(bob.json(['model', 'ls']).churn.stage.prod).toBe('v0.0.2')
    const alias = await api(u.url, 'GET', 'registered-models/alias?name=churn&alias=prod')
    expect(alias.json.model_version?.version).toBe('0.0.2')
  }, 60_000)
})

describe('journey: a live MLflow run while the team pushes and pulls', () => {
  it('a running run is shown and compared here, not pushed; once ended the next push shares it', async () => {
    const repo = new TestRepo({ files: { 'README.md': '# m\n', 'params.yaml': 'lr: 0.1\n' } })
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(repo.xp(['remote', 'add', 'storage', tmpDir('xp-journey-data-'), '--default']))
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'project')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')
    ok(repo.xp(['run', '-n', 'done-run', '--', 'sh', '-c', 'echo \'{"acc": 0.5}\' > metrics.json']))
    const u = await startUi(repo)
    started.push(u)
    const id = (await api(u.url, 'POST', 'runs/create', { experiment_id: '0', run_name: 'live-run', start_time: Date.now() })).json.run.info.run_id
    await api(u.url, 'POST', 'runs/log-batch', {
      run_id: id,
      params: [{ key: 'lr', value: '0.2' }],
      metrics: [{ key: 'acc', value: 0.7, step: 3, timestamp: 1 }],
    })

    const shown = repo.json(['show'])
    expect(shown.map((r: any) => [r.name, r.status])).toEqual([
      ['live-run', 'running'],
      ['done-run', 'succeeded'],
    ])
    const d = repo.xp(['diff', 'done-run', 'live-run', '--json'])
    ok(d)
    expect(JSON.parse(d.stdout).metrics.acc).toMatchObject({ old: 0.5, new: 0.7 })

    const pushed = repo.xp(['push', 'origin'])
    ok(pushed)
    expect(repo.git('ls-remote', bare, 'refs/xp/runs/*').trim().split('\n')).toHaveLength(1)

    await api(u.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED', end_time: Date.now() })
    await waitRecorded(repo)
    ok(repo.xp(['push', 'origin']))
    const clone = new TestRepo({ init: false })
    clone.git('clone', '-q', '-b', 'main', bare, '.')
    ok(clone.xp(['pull', 'origin']))
    expect(clone.json(['show']).map((r: any) => [r.name, r.status])).toEqual([
      ['live-run', 'succeeded'],
      ['done-run', 'succeeded'],
    ])
    expect(clone.json(['diff', 'done-run', 'live-run']).metrics.acc).toMatchObject({ old: 0.5, new: 0.7 })
  }, 60_000)
})

describe('journey: a queued run followed while it runs', () => {
  it('xp show, xp diff and the open UI (its curve too) see the queued run live, then recorded', async () => {
    const repo = new TestRepo({
      files: {
        'README.md': '# m\n',
        'params.yaml': 'lr: 0.1\n',
        'xp.yaml': 'params: [params.yaml]\n',
        // writes a first point, then waits for the test to let it finish
        'train.sh':
          'mkdir -p dvclive/plots/metrics\nprintf "step\\tloss\\n0\\t0.9\\n" > dvclive/plots/metrics/loss.tsv\necho \'{"loss": 0.9}\' > dvclive/metrics.json\nwhile [ ! -f "$GO" ]; do sleep 0.1; done\nprintf "step\\tloss\\n0\\t0.9\\n1\\t0.4\\n" > dvclive/plots/metrics/loss.tsv\necho \'{"loss": 0.4}\' > dvclive/metrics.json\n',
      },
    })
    const go = `${tmpDir('xp-journey-go-')}/go`
    repo.env = { ...repo.env, GO: go }
    ok(repo.xp(['run', '-n', 'before', '--', 'sh', '-c', 'mkdir -p dvclive && echo \'{"loss": 1}\' > dvclive/metrics.json']))
    ok(repo.xp(['run', '--queue', '-n', 'q', '-S', 'lr=0.3', '--', 'sh', 'train.sh']))
    const u = await startUi(repo)
    started.push(u)
    const worker = repo.spawnXp(['queue', 'start'])
    const exited = new Promise((r) => worker.once('exit', r))
    try {
      const until = Date.now() + 20_000
      let live: any
      while (Date.now() < until) {
        live = repo.json(['show']).find((r: any) => r.name === 'q')
        if (live) break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(live).toMatchObject({ status: 'running', params: { lr: 0.3 } })
      expect(repo.json(['diff', 'before', 'q']).params.lr).toMatchObject({ old: 0.1, new: 0.3 })
      const listed = (await call(u.url, 'GET', '/api/runs')).json.runs.find((r: any) => r.name === 'q')
      expect(listed?.status).toBe('running')
      // the page follows its curve from the worktree the queue runs it in
      let series: any = null
      for (let i = 0; i < 100 && !series?.loss; i++) {
        series = (await call(u.url, 'GET', `/api/runs/${live.id}/series`)).json
        if (!series?.loss) await new Promise((r) => setTimeout(r, 100))
      }
      expect(series.loss).toEqual({ x: [0], y: [0.9] })
    } finally {
      fs.writeFileSync(go, '')
      await exited
    }
    const done = repo.json(['show']).find((r: any) => r.name === 'q')
    expect(done).toMatchObject({ status: 'succeeded', params: { lr: 0.3 }, metrics: { loss: 0.4 } })
  }, 60_000)
})
