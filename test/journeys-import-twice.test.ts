// Journey: two teammates import the same foreign history (DVC experiments, an MLflow file
// store) in their own clones. The run ids are derived from what was imported, so both
// make the same runs: pushing and pulling both ways must neither fail nor duplicate them.
import { describe, it, expect, afterAll } from 'vitest'
import path from 'node:path'
import { TestRepo, cleanupTmp, tmpDir, ROOT } from './helpers.js'
import { makeBare } from './servers/git.js'

afterAll(() => cleanupTmp())

const ok = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0)

function twoClones(setup: (r: TestRepo) => void) {
  const alice = new TestRepo({ files: { 'README.md': '# m\n' } })
  setup(alice)
  const bare = makeBare(tmpDir('xp-journey-git-'))
  ok(alice.xp(['remote', 'add', 'storage', tmpDir('xp-journey-data-'), '--default']))
  alice.git('add', '-A')
  alice.git('commit', '-qm', 'project')
  alice.git('remote', 'add', 'origin', bare)
  alice.git('push', '-q', 'origin', 'main')
  const bob = new TestRepo({ init: false })
  bob.git('clone', '-q', '-b', 'main', bare, '.')
  // the second teammate's clock and identity differ
  bob.env = { ...bob.env, GIT_COMMITTER_NAME: 'Bob', GIT_COMMITTER_EMAIL: 'bob@example.com', GIT_AUTHOR_NAME: 'Bob', GIT_AUTHOR_EMAIL: 'bob@example.com' }
  return { alice, bob, bare }
}

function exchange(alice: TestRepo, bob: TestRepo) {
  ok(alice.xp(['push', 'origin']))
  const pushed = bob.xp(['push', 'origin'])
  const pulled = bob.xp(['pull', 'origin'])
  ok(pulled)
  if (pushed.code !== 0) ok(bob.xp(['push', 'origin']))
  ok(alice.xp(['pull', 'origin']))
  const ids = (r: TestRepo) =>
    r
      .json(['show'])
      .map((x: any) => x.id)
      .sort()
  expect(ids(bob)).toEqual(ids(alice))
  return ids(alice)
}

describe('journey: the same MLflow store imported in two clones', () => {
  it("pull keeps bob's own import and says so; taking alice's as the warning says converges", async () => {
    const { alice, bob } = twoClones(() => {})
    const store = path.join(ROOT, 'fixtures', 'mlflow', 'mlruns')
    expect(alice.json(['import', 'mlflow', store]).imported).toHaveLength(3)
    await new Promise((r) => setTimeout(r, 1100)) // another second: the commits' dates differ
    expect(bob.json(['import', 'mlflow', store]).imported).toHaveLength(3)
    ok(alice.xp(['push', 'origin']))
    // the same ids, other commits: bob's push is refused with what to do, his pull keeps his and warns
    const pushed = bob.xp(['push', 'origin'])
    expect(pushed.code).toBe(4)
    expect(pushed.stderr).toContain('xp rm')
    const pulled = bob.xp(['pull', 'origin'])
    ok(pulled)
    expect(pulled.stderr).toMatch(/3 runs differ here and on "origin" .*kept yours/)
    const ids = (r: TestRepo) =>
      r
        .json(['show'])
        .map((x: any) => x.id)
        .sort()
    expect(ids(bob)).toEqual(ids(alice))
    // taking alice's, as the warning says
    ok(bob.xp(['rm', ...ids(bob)]))
    ok(bob.xp(['pull', 'origin']))
    expect(ids(bob)).toEqual(ids(alice))
    const commits = (r: TestRepo) =>
      r
        .json(['show'])
        .map((x: any) => x.commit)
        .sort()
    expect(commits(bob)).toEqual(commits(alice))
    ok(bob.xp(['push', 'origin']))
  }, 60_000)
})

describe('journey: the same DVC experiments imported in two clones', () => {
  it('push and pull both ways work, and the runs are there once', async () => {
    const bundle = path.join(ROOT, 'fixtures', 'dvc', 'dvclive-exp.bundle')
    const { alice, bob } = twoClones(() => {})
    for (const r of [alice, bob]) r.git('fetch', '-q', bundle, 'refs/exps/*:refs/exps/*', 'refs/heads/main:refs/heads/dvc-main')
    expect(alice.json(['import', 'dvc', 'proud-jird']).imported).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 1100))
    expect(bob.json(['import', 'dvc', 'proud-jird']).imported).toHaveLength(1)
    expect(exchange(alice, bob)).toHaveLength(1)
  }, 60_000)
})
