// Journey: secrets reach xp through every door a user opens on a normal day (the
// environment of a queued run and its output, an MLflow client's params and tags, a
// registry tag message, a note), then everything is pushed. No secret value may be in
// any object of the git remote or any file of the data remote.
import { describe, it, expect, afterAll, afterEach } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { TestRepo, cleanupTmp, tmpDir } from './helpers.js'
import { makeBare } from './servers/git.js'
import { startUi, api, waitRecorded, type Ui } from './mlflow-helpers.js'
import { allFiles } from './journeys-helpers.js'

const started: Ui[] = []
afterEach(async () => {
  for (const u of started.splice(0)) await u.stop()
})
afterAll(() => cleanupTmp())

const ok = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0)

// values with no recognisable shape in a secret-named variable, and values shaped like tokens
const ENV_SECRET = 'q7Zx9Lm2Pw4Rt8Yv3Kd'
const HF_TOKEN = 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345'
const OPENAI_KEY = 'sk-proj-9f8e7d6c5b4a39281716151413121110'
const GH_TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345'
const SECRETS = [ENV_SECRET, HF_TOKEN, OPENAI_KEY, GH_TOKEN]

// prints the secret it was given, as training scripts do when they log their config
const TRAIN = `
const fs = require('fs')
const lr = Number(/lr: *([0-9.]+)/.exec(fs.readFileSync('params.yaml', 'utf8'))[1])
console.log('connecting with token ' + process.env.MY_API_TOKEN)
console.log('Authorization: Bearer ' + process.env.MY_API_TOKEN)
console.error('hub login ' + process.env.HUB_KEY)
fs.mkdirSync('models', { recursive: true })
fs.writeFileSync('models/model.bin', 'weights lr=' + lr)
fs.writeFileSync('metrics.json', JSON.stringify({ acc: 1 - lr }))
if (lr > 0.4) process.exit(3)
`

/** Every object of a repository, as git prints them (contents uncompressed). */
function allObjects(gitDir: string): string {
  const r = spawnSync('git', ['--git-dir', gitDir, 'cat-file', '--batch-all-objects', '--batch'], {
    env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' },
    maxBuffer: 256 * 1024 * 1024,
  })
  expect(r.status, String(r.stderr)).toBe(0)
  return r.stdout.toString('latin1')
}

describe('journey: secrets through queue, MLflow, registry and notes -> push', () => {
  it('no secret value reaches any object of the git remote or any file of the data remote', async () => {
    const repo = new TestRepo({
      files: {
        'README.md': '# churn\n',
        'params.yaml': 'lr: 0.1\n',
        'train.js': TRAIN,
        'xp.yaml': 'params: [params.yaml]\nmetrics: [metrics.json]\nouts: [models/model.bin]\nartifacts:\n  churn: {path: models/model.bin, type: model}\n',
      },
    })
    const secretEnv = { MY_API_TOKEN: ENV_SECRET, HUB_KEY: HF_TOKEN, XP_ENV_VARS: '*' }
    repo.env = { ...repo.env, ...secretEnv }
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(repo.xp(['remote', 'add', 'storage', store, '--default']))
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'project')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')

    // queued runs (one fails, so its error tail is recorded too), the secret in their environment
    ok(repo.xp(['run', '--queue', '-n', 'q', '-S', 'lr=0.2,0.5', '-m', `retrain, token ${ENV_SECRET}`, '--', 'node', 'train.js']))
    const started_ = repo.xp(['queue', 'start'])
    expect(started_.stderr).not.toContain(ENV_SECRET)
    const runs = repo.json(['show'])
    expect(runs.map((r: any) => [r.name, r.status]).sort()).toEqual([
      ['q-1', 'succeeded'],
      ['q-2', 'failed'],
    ])
    const q1 = runs.find((r: any) => r.name === 'q-1')
    expect(q1.env.vars.MY_API_TOKEN).toBe('***')
    // the log is kept, with the secret masked
    const log = repo.git('show', `${q1.commit}:.xp-run/output.log`)
    expect(log).toContain('connecting with token ***')

    // an MLflow client logs a param and tags whose values are tokens
    const u = await startUi(repo)
    started.push(u)
    const created = await api(u.url, 'POST', 'runs/create', { experiment_id: '0', run_name: 'mlflow-run', start_time: Date.now() })
    const id = created.json.run.info.run_id
    ok2(
      await api(u.url, 'POST', 'runs/log-batch', {
        run_id: id,
        params: [
          { key: 'hub_token', value: HF_TOKEN },
          { key: 'lr', value: '0.1' },
        ],
      }),
    )
    ok2(await api(u.url, 'POST', 'runs/set-tag', { run_id: id, key: 'openai', value: OPENAI_KEY }))
    ok2(await api(u.url, 'POST', 'runs/set-tag', { run_id: id, key: 'note', value: `pushed by ${GH_TOKEN}` }))
    ok2(await api(u.url, 'POST', 'runs/log-metric', { run_id: id, key: 'acc', value: 0.5, step: 0, timestamp: 1 }))
    ok2(await api(u.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED', end_time: Date.now() }))
    await waitRecorded(repo)
    await u.stop()

    // the registry and notes, with secrets in their free text
    ok(repo.xp(['model', 'register', 'churn', 'q-1', '-m', `trained with ${ENV_SECRET} and ${GH_TOKEN}`]))
    ok(repo.xp(['model', 'assign', 'churn', 'q-1', '--stage', 'prod', '-m', `approved, key ${OPENAI_KEY}`]))
    ok(repo.xp(['note', 'q-1', `deploy token ${HF_TOKEN}`]))

    const pushed = repo.xp(['push', 'origin'])
    ok(pushed)
    for (const s of SECRETS) expect(pushed.stdout + pushed.stderr).not.toContain(s)
    const remote = allObjects(bare)
    // the runs, their logs, the tags and notes are there, masked
    expect(remote).toContain('connecting with token ***')
    expect(remote).toContain('"hub_token":"***"')
    expect(remote).toContain('deploy token ***')
    expect(remote).not.toContain('weights lr=0.2') // the model is data: in the data remote, not in git
    const leaks = (text: string) => SECRETS.filter((s) => text.includes(s))
    expect(leaks(remote)).toEqual([])
    const data = allFiles(store).map((f) => fs.readFileSync(f).toString('latin1'))
    expect(data.length).toBeGreaterThan(0)
    expect(leaks(data.join('\n'))).toEqual([])
  }, 60_000)
})

function ok2(r: { status: number; body: Buffer }) {
  expect(r.status, r.body.toString()).toBe(200)
}
