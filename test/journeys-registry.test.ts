// Journey: two teammates promote models in their own clones at the same moment, and share
// through one bare git remote and one folder data remote. After pushing and pulling both
// ways, both clones (`xp model ls`, `which`, `history`) and each clone's `xp ui` registry
// API agree on one registry, the one GTO's rules give.
import { describe, it, expect, afterAll, afterEach } from 'vitest'
import { TestRepo, cleanupTmp, tmpDir } from './helpers.js'
import { makeBare } from './servers/git.js'
import { startUi, call, type Ui } from './mlflow-helpers.js'

const started: Ui[] = []
afterEach(async () => {
  for (const u of started.splice(0)) await u.stop()
})
afterAll(() => cleanupTmp())

const ok = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0)

/** The registry as each reader sees it, keyed by reader. */
async function registryViews(r: TestRepo) {
  const ls = r.json(['model', 'ls'])
  const history = r.json(['model', 'history', 'churn'])
  const which = r.json(['model', 'which', 'churn@prod'])
  const u = await startUi(r)
  started.push(u)
  const api = (await call(u.url, 'GET', '/api/registry')).json
  await u.stop()
  const churn = api.artifacts.find((a: any) => a.name === 'churn')
  return { ls, history, which, ui: { show: churn.show, latest: churn.latest, stages: churn.stages, tags: churn.history.map((h: any) => h.tag) } }
}

describe('journey: registry across clones', () => {
  it('two clones assigning the same stage in the same second converge, and agree with their UIs', async () => {
    const alice = new TestRepo({
      files: {
        'README.md': '# churn\n',
        'params.yaml': 'lr: 0.1\n',
        'xp.yaml': 'params: [params.yaml]\nouts: [model.bin]\nartifacts:\n  churn: {path: model.bin, type: model}\n',
      },
    })
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(alice.xp(['remote', 'add', 'storage', store, '--default']))
    alice.git('add', '-A')
    alice.git('commit', '-qm', 'project')
    alice.git('remote', 'add', 'origin', bare)
    alice.git('push', '-q', 'origin', 'main')
    for (const lr of ['0.1', '0.2', '0.3']) ok(alice.xp(['run', '-n', `lr-${lr}`, '-S', `lr=${lr}`, '--', 'sh', '-c', `echo model-${lr} > model.bin`]))
    ok(alice.xp(['model', 'register', 'churn', 'lr-0.1']))
    ok(alice.xp(['model', 'register', 'churn', 'lr-0.2']))
    ok(alice.xp(['model', 'assign', 'churn', '--version', 'v0.0.1', '--stage', 'prod']))
    ok(alice.xp(['push', 'origin']))

    const bob = new TestRepo({ init: false })
    bob.git('clone', '-q', '-b', 'main', bare, '.')
    ok(bob.xp(['pull', 'origin']))
    expect(bob.json(['model', 'which', 'churn@prod'])).toMatchObject({ version: 'v0.0.1' })

    // the same second in both clones: alice moves prod to v0.0.2, bob registers lr-0.3 and moves prod to it
    const when = { GIT_COMMITTER_DATE: '2030-01-01T12:00:00Z' }
    ok(bob.xp(['model', 'register', 'churn', 'lr-0.3', '--version', 'v0.1.0'], { env: { GIT_COMMITTER_DATE: '2030-01-01T11:59:00Z' } }))
    ok(alice.xp(['model', 'assign', 'churn', '--version', 'v0.0.2', '--stage', 'prod'], { env: when }))
    ok(bob.xp(['model', 'assign', 'churn', '--version', 'v0.1.0', '--stage', 'prod'], { env: when }))

    // both push, then both pull; whoever pushes second must not lose either assignment
    const alicePush = alice.xp(['push', 'origin'])
    ok(alicePush)
    // both took the next counter: bob's churn#prod#2 is refused, and says what to do
    const bobPush = bob.xp(['push', 'origin'])
    expect(bobPush.code).toBe(4)
    expect(bobPush.stderr).toContain('XP_PUSH_REJECTED')
    expect(bobPush.stderr).toContain('xp pull')
    // pulling keeps both events: bob's is renumbered (same object but its name), alice's fetched
    const bobPull = bob.xp(['pull', 'origin'])
    ok(bobPull)
    expect(bobPull.stderr).toContain('churn#prod#2')
    ok(bob.xp(['push', 'origin']))
    ok(alice.xp(['pull', 'origin']))
    ok(bob.xp(['pull', 'origin']))

    const tagsOf = (r: TestRepo) => r.git('for-each-ref', '--format=%(refname) %(objectname)', 'refs/tags/').trim().split('\n').sort()
    expect(tagsOf(alice)).toEqual(tagsOf(bob))
    expect(
      alice
        .git('ls-remote', '--tags', bare)
        .trim()
        .split('\n')
        .filter((l) => !l.endsWith('^{}')).length,
    ).toBe(tagsOf(alice).length)
    // both assignments are events of the registry, wherever they were made
    const prodTags = tagsOf(alice).filter((t) => t.startsWith('refs/tags/churn#prod#'))
    expect(prodTags).toHaveLength(3)

    const a = await registryViews(alice)
    const b = await registryViews(bob)
    expect(b).toEqual(a)
    expect(a.ls.churn.version).toBe('v0.1.0') // latest
    // in one second, the version registered first wins (GTO 1.8's order): v0.0.2
    expect(a.which).toMatchObject({ version: 'v0.0.2' })
    expect(a.ls.churn.stage.prod).toBe('v0.0.2')
    expect(a.ui.show).toEqual(a.ls.churn)
    // bob serves what prod holds: the bytes come from the data remote alice pushed to
    const out = bob.path('served', 'model.bin')
    ok(bob.xp(['model', 'get', 'churn@prod', '-o', out]))
    expect(bob.read('served/model.bin')).toBe('model-0.2\n')
    ok(bob.xp(['fsck', '--remote']))
  }, 60_000)
})

describe('journey: the same version registered in two clones', () => {
  it('pull stops with XP_TAG_CONFLICT naming the tag, and changes nothing', () => {
    const alice = new TestRepo({ files: { 'README.md': '# m\n', 'xp.yaml': 'outs: [model.bin]\nartifacts:\n  churn: {path: model.bin}\n' } })
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(alice.xp(['remote', 'add', 'storage', tmpDir('xp-journey-data-'), '--default']))
    alice.git('commit', '-qam', 'data remote')
    alice.git('remote', 'add', 'origin', bare)
    alice.git('push', '-q', 'origin', 'main')
    ok(alice.xp(['run', '-n', 'a', '--', 'sh', '-c', 'echo a > model.bin']))
    ok(alice.xp(['push', 'origin']))
    const bob = new TestRepo({ init: false })
    bob.git('clone', '-q', '-b', 'main', bare, '.')
    ok(bob.xp(['pull', 'origin']))
    ok(bob.xp(['run', '-n', 'b', '--', 'sh', '-c', 'echo b > model.bin']))
    ok(alice.xp(['model', 'register', 'churn', 'a', '--version', 'v1.0.0']))
    ok(bob.xp(['model', 'register', 'churn', 'b', '--version', 'v1.0.0']))
    ok(alice.xp(['push', 'origin']))
    const before = bob.git('for-each-ref', 'refs/tags/')
    const pulled = bob.xp(['pull', 'origin'])
    expect(pulled.code).toBe(1)
    expect(pulled.stderr).toContain('[XP_TAG_CONFLICT]')
    expect(pulled.stderr).toContain('churn@v1.0.0')
    expect(bob.git('for-each-ref', 'refs/tags/')).toBe(before)
  })
})
