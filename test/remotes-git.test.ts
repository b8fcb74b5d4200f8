// xp push / pull / rm --remote / remote against real git remotes: a bare repo by path,
// smart HTTP (git http-backend), git daemon and sshd; a folder as the data remote.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { TestRepo, tmpDir, cleanupTmp, errorCode, XP } from './helpers.js'
import { ok, runJson, cloneOf, withTrackedData, pointerOid } from './remotes-helpers.js'
import { makeBare, startGitHttp, startGitDaemon, type GitServer } from './servers/git.js'
import { startSshd, type SshServer } from './servers/ssh.js'

const XP_YAML = '# project settings\nouts: [model.bin]   # the trained model\n'
const TRAIN = ['sh', '-c', 'head -c 20000 /dev/urandom > model.bin']

function project(): TestRepo {
  const r = new TestRepo({ files: { 'xp.yaml': XP_YAML, 'train.sh': 'echo train\n', '.gitignore': 'model.bin\n.xp/\n' } })
  return r
}

function remoteRefs(bare: string): string[] {
  const r = new TestRepo({ init: false })
  return r.git('--git-dir', bare, 'for-each-ref', '--format=%(refname)').split('\n').filter(Boolean)
}

let root: string
let http: GitServer
let daemon: GitServer
let sshd: SshServer | null = null

beforeAll(async () => {
  root = tmpDir('xp-remotes-git-')
  http = await startGitHttp(root)
  daemon = await startGitDaemon(root)
  // npm test's pretest installs openssh-server; a machine without it fails here, loudly
  sshd = await startSshd(path.join(root, 'ssh'))
})

afterAll(async () => {
  await http?.stop()
  await daemon?.stop()
  await sshd?.stop()
  cleanupTmp()
})

describe('push and pull through a bare repo by path, with a folder data remote', () => {
  it('sends runs, notes, registry tags and their data; a clone pulls them all back', () => {
    const bare = makeBare(root, 'path.git')
    const store = path.join(root, 'store-path')
    const a = project()
    withTrackedData(a, { origin: bare, remoteArgs: ['store', store], files: { 'data/train.csv': 'x,y\n1,2\n' }, add: ['data'] })
    const r1 = runJson(a, ['-n', 'first', '--', ...TRAIN])
    const r2 = runJson(a, ['-n', 'second', '--', ...TRAIN])
    ok(a.xp(['note', 'first', 'baseline']))
    a.git('tag', '-a', 'churn@v1.0.0', '-m', 'register', r2.commit)
    a.git('tag', 'not-registry', r2.commit)

    const pushed = a.json(['push'])
    expect(pushed.runs.pushed).toBe(2)
    expect(pushed.tags.pushed).toBe(1)
    expect(pushed.notes).toBe('pushed')
    // both models and the working tree's data file (and its manifest)
    expect(pushed.data.transferred).toBe(4)
    const refs = remoteRefs(bare)
    expect(refs).toEqual(expect.arrayContaining([`refs/xp/runs/${r1.id}`, `refs/xp/runs/${r2.id}`, 'refs/notes/xp', 'refs/tags/churn@v1.0.0']))
    expect(refs).not.toContain('refs/tags/not-registry')
    expect(fs.existsSync(path.join(store, r1.outs['model.bin'].oid.slice(0, 2), r1.outs['model.bin'].oid.slice(2)))).toBe(true)

    // nothing new: nothing moves
    const again = a.json(['push'])
    expect(again.runs).toEqual({ pushed: 0, upToDate: 2 })
    expect(again.data.transferred).toBe(0)

    const b = cloneOf(bare)
    const pulled = b.json(['pull'])
    expect(pulled.runs.fetched).toBe(2)
    expect(b.git('tag', '-l')).toContain('churn@v1.0.0')
    expect(pulled.checkedOut).toBe(1)
    expect(b.read('data/train.csv')).toBe('x,y\n1,2\n')
    expect(b.git('for-each-ref', '--format=%(refname)', 'refs/xp/runs/').trim().split('\n')).toHaveLength(2)
    expect(b.git('notes', '--ref=refs/notes/xp', 'show', r1.commit).trim()).toBe('baseline')
    // a run's own data comes with --all-data
    const all = b.json(['pull', '--all-data'])
    expect(all.data.transferred).toBe(2)
    const oid = r2.outs['model.bin'].oid
    expect(fs.existsSync(path.join(b.dir, '.xp', 'cache', oid.slice(0, 2), oid.slice(2)))).toBe(true)
    expect(b.json(['pull']).runs).toEqual({ fetched: 0, upToDate: 2 })
  })

  it('pushes only the named runs; rm --remote deletes them there', () => {
    const bare = makeBare(root, 'named.git')
    const a = project()
    const r1 = runJson(a, ['-n', 'keep', '--', 'true'])
    const r2 = runJson(a, ['-n', 'other', '--', 'true'])
    const res = a.json(['push', bare, 'keep', '--no-data'])
    expect(res.runs.pushed).toBe(1)
    expect(remoteRefs(bare)).toEqual([`refs/xp/runs/${r1.id}`])
    ok(a.xp(['push', bare, '--no-data']))
    expect(remoteRefs(bare)).toHaveLength(2)
    const rm = a.json(['rm', '--remote', bare, 'keep'])
    expect(rm.deleted).toEqual([r1.id])
    expect(remoteRefs(bare)).toEqual([`refs/xp/runs/${r2.id}`])
    // still here locally
    expect(a.git('for-each-ref', 'refs/xp/runs/')).toContain(r1.id)
    const missing = a.xp(['rm', '--remote', bare, 'keep'])
    expect(missing.code).toBe(1)
    expect(errorCode(missing)).toBe('XP_RUN_NOT_FOUND')
  })

  it('merges notes two people wrote at once, keeping both', () => {
    const bare = makeBare(root, 'notes.git')
    const a = project()
    a.git('remote', 'add', 'origin', bare)
    const run = runJson(a, ['-n', 'shared', '--', 'true'])
    ok(a.xp(['push', '--no-data']))
    const b = cloneOf(bare)
    // Bob's identity is in his git config only: the notes merge must be his, not a fallback
    for (const k of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']) delete b.env[k]
    b.git('config', 'user.name', 'Bob Builder')
    b.git('config', 'user.email', 'bob@example.com')
    ok(b.xp(['pull', '--no-data']))
    ok(a.xp(['note', 'shared', 'from alice']))
    ok(b.xp(['note', 'shared', 'from bob']))
    expect(a.json(['push']).notes).toBe('pushed')
    expect(b.json(['push']).notes).toBe('merged')
    expect(b.git('log', '-1', '--format=%an <%ae>', 'refs/notes/xp').trim()).toBe('Bob Builder <bob@example.com>')
    expect(a.json(['pull']).notes).toBe('merged')
    const note = a.git('notes', '--ref=refs/notes/xp', 'show', run.commit)
    expect(note).toContain('from alice')
    expect(note).toContain('from bob')
  })

  it('three clones recording and pushing at the same moment: every run and note arrives', async () => {
    const bare = makeBare(root, 'race.git')
    const seed = project()
    seed.git('remote', 'add', 'origin', bare)
    seed.git('push', '-q', 'origin', 'main')
    const clones = [0, 1, 2].map(() => cloneOf(bare))
    const go = (c: TestRepo, i: number) =>
      new Promise<number>((resolve) => {
        const script = `set -e; for k in 1 2; do node ${XP} run -n c${i}-$k -- true >/dev/null 2>&1; node ${XP} note c${i}-$k "note ${i}-$k" >/dev/null; done; node ${XP} push --no-data`
        const p = spawn('sh', ['-c', script], { cwd: c.dir, env: c.env, stdio: ['ignore', 'ignore', 'pipe'] })
        let err = ''
        p.stderr.on('data', (d) => (err += d))
        p.on('close', (code) => {
          if (code !== 0) console.error(err)
          resolve(code ?? 1)
        })
      })
    expect(await Promise.all(clones.map(go))).toEqual([0, 0, 0])
    const refs = remoteRefs(bare).filter((r) => r.startsWith('refs/xp/runs/'))
    expect(refs).toHaveLength(6)
    const check = cloneOf(bare)
    ok(check.xp(['pull', '--no-data']))
    const notes = check.git('notes', '--ref=refs/notes/xp', 'list').trim().split('\n')
    expect(notes).toHaveLength(6)
  })
})

describe('other transports', () => {
  const roundTrip = (url: string, env: Record<string, string> = {}) => {
    const a = project()
    a.env = { ...a.env, ...env }
    const run = runJson(a, ['-n', 'over-the-wire', '--', 'true'])
    ok(a.xp(['note', 'over-the-wire', 'hi']))
    const pushed = a.json(['push', url, '--no-data'])
    expect(pushed.runs.pushed).toBe(1)
    expect(pushed.notes).toBe('pushed')
    const b = new TestRepo({ files: { 'x.txt': 'x' } })
    b.env = { ...b.env, ...env }
    const pulled = b.json(['pull', url])
    expect(pulled.runs.fetched).toBe(1)
    expect(b.git('notes', '--ref=refs/notes/xp', 'show', run.commit).trim()).toBe('hi')
    ok(a.xp(['rm', '--remote', url, run.id]))
    expect(b.json(['pull', url]).runs).toEqual({ fetched: 0, upToDate: 0 })
  }

  it('smart HTTP through git http-backend', () => {
    makeBare(root, 'http.git')
    roundTrip(http.url('http.git'))
  })

  it('git daemon (git://)', () => {
    makeBare(root, 'daemon.git')
    roundTrip(daemon.url('daemon.git'))
  })

  it('ssh with GIT_SSH_COMMAND inherited', () => {
    const bare = makeBare(root, 'ssh.git')
    roundTrip(sshd!.url(bare), { GIT_SSH_COMMAND: sshd!.sshCommand, PATH: process.env.PATH! })
  })
})

describe('faults', () => {
  it('an unreachable git URL or a missing origin is a one-line error with a code', () => {
    const a = project()
    runJson(a, ['--', 'true'])
    const dead = a.xp(['push', 'http://127.0.0.1:1/nothing.git'])
    expect(dead.code).toBe(4)
    expect(errorCode(dead)).toBe('XP_GIT_REMOTE_UNREACHABLE')
    expect(dead.stderr.trim().split('\n')[0]).toMatch(/^xp: error: cannot (read|push to) git remote/)
    const gone = a.xp(['pull', path.join(root, 'no-such.git')])
    expect(gone.code).toBe(4)
    expect(errorCode(gone)).toBe('XP_GIT_REMOTE_UNREACHABLE')
    const noOrigin = a.xp(['push'])
    expect(noOrigin.code).toBe(2)
    expect(errorCode(noOrigin)).toBe('XP_GIT_REMOTE_NOT_FOUND')
  })

  it('with no git remote, push and pull move the data alone (as dvc push and pull do), and say so', () => {
    const a = project()
    // no data remote either: nothing can go anywhere, and the hint names both ways
    runJson(a, ['-n', 'first', '--', ...TRAIN])
    const nowhere = a.xp(['push'])
    expect(nowhere.code).toBe(2)
    expect(errorCode(nowhere)).toBe('XP_GIT_REMOTE_NOT_FOUND')
    expect(nowhere.stderr).toContain('xp remote add NAME URL --default')
    // a data remote: the working tree's data and every run's go, no ref moves
    const store = path.join(tmpDir('xp-store-'), 'store')
    ok(a.xp(['remote', 'add', 'store', store, '--default', '--create']))
    a.write('data/a.csv', 'x,y\n1,2\n')
    a.write('data/b.csv', 'x,y\n3,4\n')
    ok(a.xp(['add', 'data']))
    a.git('add', '-A')
    a.git('commit', '-qm', 'data')
    const model = runJson(a, ['-n', 'second', '--', ...TRAIN])
    const pushed = a.xp(['push'])
    expect(pushed.code, pushed.stderr).toBe(0)
    expect(pushed.stderr).toMatch(/^xp: no git remote, so the data alone: 5 objects uploaded .*\(store\)\. The runs stay here/)
    expect(JSON.parse(ok(a.xp(['push', '--json'])).stdout)).toMatchObject({ remote: null, runs: { pushed: 0 }, data: { transferred: 0, present: 5 } })
    // another machine with the same commits and no git remote: the working tree's data, then every run's
    const b = cloneOf(a.dir)
    b.git('remote', 'remove', 'origin')
    b.git('fetch', '-q', a.dir, 'refs/xp/runs/*:refs/xp/runs/*')
    const pulled = b.xp(['pull'])
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(pulled.stderr).toMatch(/^xp: no git remote, so the data alone: 3 objects downloaded .*; 2 data files written to the working tree/)
    expect(b.read('data/b.csv')).toBe('x,y\n3,4\n')
    const modelOid: string = model.outs['model.bin'].oid
    expect(fs.existsSync(b.path('.xp', 'cache', modelOid.slice(0, 2), modelOid.slice(2)))).toBe(false)
    expect(JSON.parse(ok(b.xp(['pull', '--all-data', '--json'])).stdout)).toMatchObject({ remote: null, data: { transferred: 2 } })
    ok(b.xp(['apply', 'second']))
    expect(fs.readFileSync(b.path('model.bin')).equals(fs.readFileSync(a.path('model.bin')))).toBe(true)
    // a run named with no git remote to find it on is still an error
    expect(errorCode(b.xp(['pull', 'second']))).toBe('XP_GIT_REMOTE_NOT_FOUND')
  })

  it('the temporary files a killed push left on a folder remote go once a day old, at the next push that lists the remote', () => {
    const a = project()
    const store = path.join(tmpDir('xp-store-'), 'store')
    ok(a.xp(['remote', 'add', 'store', store, '--default', '--create']))
    for (let i = 0; i < 300; i++) a.write(`data/f${i}.txt`, `first ${i}\n`)
    ok(a.xp(['add', 'data']))
    ok(a.xp(['push']))
    // what a push killed while writing two objects leaves: their temporary names, beside them
    const prefixes = fs.readdirSync(store).filter((d) => /^[0-9a-f]{2}$/.test(d))
    const stale = path.join(store, prefixes[0]!, '.0123456789abcdef0123456789.tmp-4242-deadbeef-7')
    const fresh = path.join(store, prefixes[1]!, '.fedcba9876543210fedcba9876.tmp-4243-deadbeef-8')
    fs.writeFileSync(stale, 'half of an object')
    fs.writeFileSync(fresh, 'half of another')
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000)
    fs.utimesSync(stale, twoDaysAgo, twoDaysAgo)
    for (let i = 0; i < 300; i++) a.write(`data/f${i}.txt`, `second ${i}\n`)
    ok(a.xp(['add', 'data']))
    expect(JSON.parse(ok(a.xp(['push', '--json'])).stdout).data.transferred).toBe(301)
    expect(fs.existsSync(stale)).toBe(false)
    // one written within the day may be another machine's push, still running
    expect(fs.existsSync(fresh)).toBe(true)
  })

  it('a data remote that fails mid-push: exit 4, no ref pushed, and the next push sends only the rest', () => {
    const bare = makeBare(root, 'dies.git')
    const store = path.join(root, 'store-dies')
    const a = project()
    a.git('remote', 'add', 'origin', bare)
    ok(a.xp(['remote', 'add', 'store', store, '--default', '--create']))
    const runs = [1, 2, 3].map((i) => runJson(a, ['-n', `r${i}`, '--', ...TRAIN]))
    // the remote takes the first run's model, then fails on the third's (a folder where
    // its prefix directory should be: ENOTDIR, whoever runs the test)
    ok(a.xp(['push', bare, 'r1']))
    const bare2 = makeBare(root, 'dies2.git')
    const blocked = path.join(store, runs[2].outs['model.bin'].oid.slice(0, 2))
    fs.rmSync(blocked, { recursive: true, force: true })
    fs.writeFileSync(blocked, 'not a folder')
    const res = a.xp(['push', bare2])
    expect(res.code).toBe(4)
    expect(errorCode(res)).toBe('XP_REMOTE_IO')
    expect(res.stderr.trim().split('\n')[0]).toContain('data remote "store"')
    expect(remoteRefs(bare2)).toEqual([])
    fs.rmSync(blocked)
    const next = a.json(['push', bare2])
    expect(next.runs.pushed).toBe(3)
    // r1's model was there before: at most r2's and r3's travel now
    expect(next.data.present).toBeGreaterThanOrEqual(1)
    expect(next.data.transferred).toBeLessThanOrEqual(2)
    expect(runs).toHaveLength(3)
  })

  it('a corrupt object on the data remote is caught at pull, named, and kept out of the cache', () => {
    const bare = makeBare(root, 'corrupt.git')
    const store = path.join(root, 'store-corrupt')
    const a = project()
    withTrackedData(a, { origin: bare, remoteArgs: ['store', store], files: { 'weights.bin': 'the real weights\n' }, add: ['weights.bin'] })
    ok(a.xp(['push']))
    const oid = pointerOid(a, 'weights.bin.xp')
    const obj = path.join(store, oid.slice(0, 2), oid.slice(2))
    fs.chmodSync(obj, 0o644)
    fs.writeFileSync(obj, 'tampered\n')
    const b = cloneOf(bare)
    const res = b.xp(['pull'])
    expect(res.code).toBe(4)
    expect(errorCode(res)).toBe('XP_REMOTE_CORRUPT')
    expect(res.stderr).toContain(oid)
    expect(fs.existsSync(path.join(b.dir, '.xp', 'cache', oid.slice(0, 2), oid.slice(2)))).toBe(false)
    expect(b.exists('weights.bin')).toBe(false)
  })

  it('xp checkout fetches missing objects from the default data remote on demand', () => {
    const bare = makeBare(root, 'lazy.git')
    const a = project()
    withTrackedData(a, {
      origin: bare,
      remoteArgs: ['store', path.join(root, 'store-lazy')],
      files: { 'data/a.txt': 'aaa\n', 'data/b.txt': 'bbb\n' },
      add: ['data'],
    })
    ok(a.xp(['push']))
    const b = cloneOf(bare)
    ok(b.xp(['pull', '--no-data']))
    expect(b.exists('data/a.txt')).toBe(false)
    ok(b.xp(['checkout']))
    expect(b.read('data/b.txt')).toBe('bbb\n')
  })

  it('refuses to push refs whose data has no remote to go to', () => {
    const a = project()
    const bare = makeBare(root, 'nodata.git')
    runJson(a, ['--', ...TRAIN])
    const res = a.xp(['push', bare])
    expect(res.code).toBe(4)
    expect(errorCode(res)).toBe('XP_NO_DATA_REMOTE')
    expect(remoteRefs(bare)).toEqual([])
  })
})

describe('xp remote', () => {
  it('adds, lists and removes data remotes in xp.yaml, keeping comments, never a secret', () => {
    const a = project()
    ok(a.xp(['remote', 'add', 'store', 's3://bucket/xp', '--endpoint', 'http://127.0.0.1:9000', '--region', 'eu-west-1', '--default']))
    ok(a.xp(['remote', 'add', 'share', '/mnt/share/xp']))
    const text = a.read('xp.yaml')
    expect(text).toContain('# project settings')
    expect(text).toContain('# the trained model')
    expect(text).toContain('remote: store')
    expect(a.json(['remote', 'list'])).toEqual([
      { name: 'store', url: 's3://bucket/xp', kind: 's3', default: true, endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1' },
      { name: 'share', url: '/mnt/share/xp', kind: 'fs', default: false },
    ])
    const dup = a.xp(['remote', 'add', 'store', '/x'])
    expect(errorCode(dup)).toBe('XP_REMOTE_EXISTS')
    const secret = a.xp(['remote', 'add', 'leak', 'https://me:hunter2@example.com/x'])
    expect(secret.code).toBe(2)
    expect(errorCode(secret)).toBe('XP_SECRET_IN_URL')
    expect(a.read('xp.yaml')).not.toContain('hunter2')
    ok(a.xp(['remote', 'remove', 'store']))
    expect(a.read('xp.yaml')).not.toContain('remote: store')
    expect(a.json(['remote', 'list']).map((r: { name: string }) => r.name)).toEqual(['share'])
    expect(errorCode(a.xp(['remote', 'remove', 'store']))).toBe('XP_REMOTE_NOT_FOUND')
  })
})
