import { describe, it, expect, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { TestRepo, errorCode, cleanupTmp } from './helpers.js'

afterAll(cleanupTmp)

const T0 = 1_700_000_000

/**
 * A repo with three commits c1, c2, c3 (c2 and c3 empty), all holding a model file that
 * xp.yaml declares for the artifacts `churn` and `m` (and `path/to:churn`, in path/to/).
 */
const ARTIFACTS = {
  'xp.yaml': 'artifacts:\n  churn: {path: models/model.bin}\n  m: {path: models/model.bin}\n',
  'models/model.bin': 'weights\n',
  'path/to/xp.yaml': 'artifacts:\n  churn: {path: model.bin}\n',
  'path/to/model.bin': 'weights\n',
}
function threeCommits(): { repo: TestRepo; c: string[] } {
  const repo = new TestRepo({ files: { 'README.md': 'x\n', ...ARTIFACTS } })
  const c = [repo.git('rev-parse', 'HEAD').trim()]
  for (const n of [2, 3]) {
    repo.git('commit', '-q', '--allow-empty', '-m', `c${n}`)
    c.push(repo.git('rev-parse', 'HEAD').trim())
  }
  return { repo, c }
}

/** An annotated tag made by hand, tagged at T0 + t. */
function tagAt(repo: TestRepo, name: string, t: number, commit: string, message = `tag ${name}`) {
  const r = spawnSync('git', ['tag', '-a', '-m', message, name, commit], {
    cwd: repo.dir,
    env: { ...repo.env, GIT_COMMITTER_DATE: `${T0 + t} +0000` },
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(r.stderr)
}

const tagsAt = (repo: TestRepo, list: Array<[string, number, string, string?]>) => {
  for (const [name, t, commit, message] of list) tagAt(repo, name, t, commit, message)
}

const tags = (repo: TestRepo) => repo.git('tag', '-l').split('\n').filter(Boolean).sort()

describe('reading tags made by hand (the vectors of issue 5)', () => {
  it('1: latest v1.1.0, production still v1.0.0 (an empty message is fine)', () => {
    const { repo, c } = threeCommits()
    tagsAt(repo, [
      ['churn@v1.0.0', 10, c[0]],
      ['churn#production#1', 20, c[0], ''],
      ['churn@v1.1.0', 40, c[1]],
    ])
    expect(repo.json(['model', 'ls'])).toEqual({ churn: { version: 'v1.1.0', stage: { production: 'v1.0.0' }, registered: true, active: true } })
    // each tag object's date and commit are kept by object id: a second listing reads no tag object
    const index = repo
      .read('.xp/registry-tags.txt')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(' ').slice(1).join(' '))
    expect(index.sort()).toEqual(
      [`${T0 + 10} +0000 ${c[0]} churn@v1.0.0`, `${T0 + 20} +0000 ${c[0]} churn#production#1`, `${T0 + 40} +0000 ${c[1]} churn@v1.1.0`].sort(),
    )
    const inodes = () => ['.xp/registry-tags.txt', '.xp/registry-show.json'].map((f) => fs.statSync(repo.path(f)).ino)
    const before = inodes()
    expect(repo.json(['model', 'ls']).churn.version).toBe('v1.1.0')
    expect(inodes()).toEqual(before) // an unchanged registry: the listing kept under the tags' digest
    fs.rmSync(repo.path('.xp/registry-show.json'))
    expect(repo.json(['model', 'ls']).churn.version).toBe('v1.1.0') // folded again from the index
    expect(inodes()[0]).toBe(before[0])
    fs.rmSync(repo.path('.xp/registry-tags.txt')) // the index alone lost: listed again from every tag object
    expect(repo.json(['model', 'ls']).churn.version).toBe('v1.1.0')
    expect(repo.exists('.xp/registry-tags.txt')).toBe(true)
    // a damaged line is not trusted: that tag object is read again
    fs.rmSync(repo.path('.xp/registry-show.json'))
    repo.write('.xp/registry-tags.txt', repo.read('.xp/registry-tags.txt').replace(String(T0 + 40), 'x'))
    expect(repo.json(['model', 'ls']).churn.version).toBe('v1.1.0')
    expect(repo.read('.xp/registry-tags.txt')).toContain(`${T0 + 40} +0000 ${c[1]}`)
    const h = repo.json(['model', 'history', 'churn'])
    expect(h.map((e: any) => [e.tag, e.event, e.timestamp])).toEqual([
      ['churn@v1.1.0', 'registration', '2023-11-14T22:14:00+00:00'],
      ['churn#production#1', 'assignment', '2023-11-14T22:13:40+00:00'],
      ['churn@v1.0.0', 'registration', '2023-11-14T22:13:30+00:00'],
    ])
    expect(h[1]).toMatchObject({ version: 'v1.0.0', stage: 'production', message: '', author: 'Test User', commit: c[0] })
    expect(repo.json(['model', 'history', 'churn', '--asc'])[0].tag).toBe('churn@v1.0.0')
  })

  it('2: lightweight tags only: an empty registry', () => {
    const { repo, c } = threeCommits()
    repo.git('tag', 'churn@v1.0.0', c[0])
    repo.git('tag', 'churn#prod#1', c[0])
    expect(repo.json(['model', 'ls'])).toEqual({})
    // the first listing read every tag object; it leaves an index so that the next ones need not
    expect(repo.read('.xp/registry-tags.txt')).toBe(`xp registry tag index 2\n${c[0]} 0\n`) // both name one object: not an annotated tag
  })

  it('3: a stage on an unregistered commit names the commit', () => {
    const { repo, c } = threeCommits()
    tagAt(repo, 'churn#prod#1', 10, c[0])
    expect(repo.json(['model', 'ls'])).toEqual({ churn: { version: null, stage: { prod: c[0] }, registered: true, active: true } })
  })

  it('4: deregistration and deprecation', () => {
    const { repo, c } = threeCommits()
    tagsAt(repo, [
      ['m@v1.0.0', 10, c[0]],
      ['m#prod#1', 11, c[0]],
      ['m@v1.1.0', 30, c[1]],
      ['m@v1.1.0!', 40, c[1]],
    ])
    expect(repo.json(['model', 'ls'])).toEqual({ m: { version: 'v1.0.0', stage: { prod: 'v1.0.0' }, registered: true, active: true } })
    repo.write('.xp/registry-tags.txt', 'garbage\n') // both files are caches only
    repo.write('.xp/registry-show.json', '[]')
    expect(repo.json(['model', 'ls']).m.version).toBe('v1.0.0')
    tagAt(repo, 'm@deprecated', 50, c[0])
    expect(repo.json(['model', 'ls'])).toEqual({})
    expect(repo.json(['model', 'ls', '--all']).m.active).toBe(false)
  })

  it('orders by tagger date, not by counter or name (tags read from their objects)', () => {
    const { repo, c } = threeCommits()
    tagsAt(repo, [
      ['m@v1.0.0', 1, c[0]],
      ['m@v2.0.0', 2, c[1]],
      ['m#prod#1', 30, c[0]],
      ['m#prod#2', 20, c[1]],
    ])
    expect(repo.json(['model', 'ls']).m.stage.prod).toBe('v1.0.0')
    const ino = fs.statSync(repo.path('.xp/registry-tags.txt')).ino
    tagAt(repo, 'm#prod#3', 40, c[1])
    expect(repo.json(['model', 'ls']).m.stage.prod).toBe('v2.0.0')
    // the new tag object's line was appended to the index
    expect(fs.statSync(repo.path('.xp/registry-tags.txt')).ino).toBe(ino)
    expect(repo.read('.xp/registry-tags.txt').trim().split('\n')).toHaveLength(6)
  })

  it('reads hundreds of new tags at once (a fresh clone), then only the new ones', () => {
    const { repo, c } = threeCommits()
    const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`
    let stream = ''
    for (let i = 0; i < 300; i++) {
      for (const [n, commit, t] of [
        [`a${i}@v1.0.0`, c[0], 1],
        [`a${i}@v1.1.0`, c[1], 2],
        [`a${i}#prod#1`, c[0], 3],
      ] as const)
        stream += `tag ${n}\nfrom ${commit}\ntagger T <t@x> ${T0 + t} +0000\n${data('m')}`
    }
    const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: repo.dir, env: repo.env, input: stream, encoding: 'utf8' })
    expect(r.status).toBe(0)
    const out = repo.json(['model', 'ls'])
    expect(Object.keys(out)).toHaveLength(300)
    expect(out.a299).toEqual({ version: 'v1.1.0', stage: { prod: 'v1.0.0' }, registered: true, active: true })
    tagAt(repo, 'a7#prod#2', 10, c[1])
    expect(repo.json(['model', 'ls']).a7.stage.prod).toBe('v1.1.0')
  })

  it('folds again exactly the artifacts whose tags changed, and keeps every stage a key of every artifact', () => {
    const { repo, c } = threeCommits()
    tagsAt(repo, [
      ['a@v1.0.0', 1, c[0]],
      ['a#prod#1', 2, c[0]],
      ['b@v1.0.0', 3, c[1]],
    ])
    expect(repo.json(['model', 'ls'])).toEqual({
      a: { version: 'v1.0.0', stage: { prod: 'v1.0.0' }, registered: true, active: true },
      b: { version: 'v1.0.0', stage: { prod: null }, registered: true, active: true },
    })
    tagAt(repo, 'b#staging#1', 4, c[1])
    expect(repo.json(['model', 'ls'])).toEqual({
      a: { version: 'v1.0.0', stage: { prod: 'v1.0.0', staging: null }, registered: true, active: true },
      b: { version: 'v1.0.0', stage: { prod: null, staging: 'v1.0.0' }, registered: true, active: true },
    })
    repo.git('tag', '-d', 'a@v1.0.0', 'a#prod#1')
    expect(repo.json(['model', 'ls'])).toEqual({ b: { version: 'v1.0.0', stage: { staging: 'v1.0.0' }, registered: true, active: true } })
    // a tag moved to another object under the same name is a change too
    repo.git('tag', '-d', 'b#staging#1')
    tagAt(repo, 'b#staging#1', 5, c[2])
    expect(repo.json(['model', 'ls']).b.stage.staging).toBe(c[2])
  })

  it('5: dir= prefixes and odd names; unrelated tags ignored', () => {
    const { repo, c } = threeCommits()
    for (const [i, n] of ['path/to=churn@v1.0.0', 'models/churn-2@v1.0.0', 'Churn_X#prod/eu', 'v1.0.0', 'release-1', 'm@1.0.0', 'm@V1.0.0'].entries())
      tagAt(repo, n, i, c[0])
    const out = repo.json(['model', 'ls'])
    expect(Object.keys(out).sort()).toEqual(['Churn_X', 'models/churn-2', 'path/to:churn'])
    expect(out['path/to:churn']).toEqual({ version: 'v1.0.0', stage: { 'prod/eu': null }, registered: true, active: true })
  })

  it('warns about NAME@created, ignores tags of trees, and keeps reading past two versions and a stage tag on one commit (GTO fails)', () => {
    const { repo, c } = threeCommits()
    tagsAt(repo, [
      ['m@created', 1, c[0]],
      ['m@v1.0.0', 2, c[0]],
      ['m@v1.1.0', 3, c[0]],
      ['m#prod#1', 3, c[0]],
      ['ok@v1.0.0', 4, c[1]],
      ['tree@v1.0.0', 5, repo.git('rev-parse', 'HEAD^{tree}').trim()],
    ])
    const r = repo.xp(['model', 'ls', '--json'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('m@created')
    expect(r.stderr).toContain('"m" has 2 versions on commit')
    expect(r.stderr).toContain('Multiple versions are not allowed on the same Git commit')
    expect(Object.keys(JSON.parse(r.stdout)).sort()).toEqual(['m', 'ok'])
  })
})

describe('writing the registry', () => {
  it('registers with bumps, as annotated tags by the user, and refuses repeats', () => {
    const { repo, c } = threeCommits()
    expect(repo.json(['model', 'register', 'churn', c[0]])).toMatchObject({ version: 'v0.0.1', tags: ['churn@v0.0.1'], commit: c[0] })
    expect(repo.git('cat-file', '-t', 'churn@v0.0.1').trim()).toBe('tag')
    expect(repo.git('for-each-ref', '--format=%(taggername) %(taggeremail)|%(contents:subject)', 'refs/tags/churn@v0.0.1').trim()).toBe(
      'Test User <test@example.com>|Registering artifact churn version v0.0.1',
    )
    expect(repo.json(['model', 'register', 'churn', c[1], '--bump-minor', '-m', 'better'])).toMatchObject({ version: 'v0.1.0' })
    expect(repo.git('for-each-ref', '--format=%(contents:subject)', 'refs/tags/churn@v0.1.0').trim()).toBe('better')
    expect(repo.json(['model', 'register', 'churn', c[2]])).toMatchObject({ version: 'v0.1.1' }) // default REF is HEAD = c3
    const before = tags(repo)
    const again = repo.xp(['model', 'register', 'churn', c[0]])
    expect([again.code, errorCode(again)]).toEqual([1, 'XP_ALREADY_REGISTERED'])
    repo.git('commit', '-q', '--allow-empty', '-m', 'c4')
    expect(errorCode(repo.xp(['model', 'register', 'churn', '--version', 'v0.1.0']))).toBe('XP_VERSION_EXISTS')
    const bad = repo.xp(['model', 'register', 'churn', '--version', '1.0.0'])
    expect([bad.code, errorCode(bad)]).toEqual([2, 'XP_BAD_VERSION'])
    expect(bad.stderr).toContain('SemVer')
    expect(errorCode(repo.xp(['model', 'register', 'bad name']))).toBe('XP_BAD_ARTIFACT_NAME')
    expect(errorCode(repo.xp(['model', 'register', 'churn', 'no-such-ref']))).toBe('XP_REF_NOT_FOUND')
    expect(errorCode(repo.xp(['model', 'register', 'churn', '--version', 'v3.0.0', '--bump-major']))).toBe('XP_USAGE')
    expect(tags(repo)).toEqual(before)
    expect(repo.json(['model', 'register', 'churn', '--bump-major'])).toMatchObject({ version: 'v1.0.0' })
    expect(repo.json(['model', 'register', 'path/to:churn', c[0], '--version', 'v2.0.0-rc.1'])).toMatchObject({ tags: ['path/to=churn@v2.0.0-rc.1'] })
  })

  it('takes a run by name or id prefix as REF', () => {
    const repo = new TestRepo({ files: { 'train.sh': 'echo trained > model.txt\n', 'xp.yaml': 'outs: [model.txt]\nartifacts:\n  churn: {path: model.txt}\n' } })
    const run = JSON.parse(repo.xp(['run', '--json', '-n', 'brisk-otter', '--', 'sh', 'train.sh']).stdout)
    expect(repo.json(['model', 'register', 'churn', 'brisk-otter'])).toMatchObject({ commit: run.commit, run: { id: run.id, name: 'brisk-otter' } })
    repo.git('commit', '-q', '--allow-empty', '-m', 'later')
    const r = repo.json(['model', 'assign', 'churn', run.id.slice(0, 8), '--stage', 'production'])
    expect(r).toMatchObject({ version: 'v0.0.1', commit: run.commit, tags: ['churn#production#1'] })
    expect(repo.json(['model', 'which', 'churn@production'])).toMatchObject({ version: 'v0.0.1', commit: run.commit, run: { id: run.id, name: 'brisk-otter' } })
  })

  it('assign registers REF first; counters run across stages; rollback is one more assignment', () => {
    const { repo, c } = threeCommits()
    expect(repo.json(['model', 'assign', 'churn', c[0], '--stage', 'staging'])).toMatchObject({ version: 'v0.0.1', tags: ['churn@v0.0.1', 'churn#staging#1'] })
    expect(repo.json(['model', 'promote', 'churn', '--version', 'v0.0.1', '--stage', 'production'])).toMatchObject({ tags: ['churn#production#2'] })
    expect(repo.json(['model', 'assign', 'churn', c[1], '--stage', 'production'])).toMatchObject({
      version: 'v0.0.2',
      tags: ['churn@v0.0.2', 'churn#production#3'],
    })
    expect(repo.json(['model', 'ls']).churn.stage).toEqual({ production: 'v0.0.2', staging: 'v0.0.1' })
    expect(errorCode(repo.xp(['model', 'assign', 'churn', c[1], '--stage', 'production']))).toBe('XP_ALREADY_ASSIGNED')
    expect(errorCode(repo.xp(['model', 'assign', 'churn', '--version', 'v9.0.0', '--stage', 'production']))).toBe('XP_VERSION_NOT_FOUND')
    expect(errorCode(repo.xp(['model', 'assign', 'churn', c[0], '--version', 'v0.0.2', '--stage', 'x']))).toBe('XP_REF_MISMATCH')
    expect(errorCode(repo.xp(['model', 'assign', 'churn', '--stage', 'bad stage!']))).toBe('XP_BAD_STAGE')
    // roll production back to v0.0.1
    repo.json(['model', 'assign', 'churn', '--version', 'v0.0.1', '--stage', 'production'])
    expect(repo.json(['model', 'which', 'churn@production']).version).toBe('v0.0.1')
    // unassign the shown version: the stage falls back to the one before
    expect(repo.json(['model', 'unassign', 'churn', '--stage', 'production'])).toMatchObject({ version: 'v0.0.1', tags: ['churn#production!#5'] })
    expect(repo.json(['model', 'which', 'churn#production']).version).toBe('v0.0.2')
    expect(errorCode(repo.xp(['model', 'unassign', 'churn', '--version', 'v0.0.1', '--stage', 'production']))).toBe('XP_NOT_IN_STAGE')
    const h = repo.json(['model', 'history', 'churn'])
    // newest first; commands in one second order by GTO's priority, so compare as a set and check the ends
    expect(h.map((e: any) => e.tag).sort()).toEqual([
      'churn#production!#5',
      'churn#production#2',
      'churn#production#3',
      'churn#production#4',
      'churn#staging#1',
      'churn@v0.0.1',
      'churn@v0.0.2',
    ])
    expect(h[h.length - 1].tag).toBe('churn@v0.0.1')
    expect(h[0]).toMatchObject({
      event: 'unassignment',
      stage: 'production',
      version: 'v0.0.1',
      author: 'Test User',
      author_email: 'test@example.com',
      commit: c[0],
    })
    // assigning right after an unassignment waits out the second it would lose a tie in
    repo.json(['model', 'assign', 'churn', '--version', 'v0.0.1', '--stage', 'production'])
    expect(repo.json(['model', 'which', 'churn@production']).version).toBe('v0.0.1')
  })

  it('a failed assign leaves no tag, not even the registration it made first', () => {
    const { repo, c } = threeCommits()
    // a ref below churn#prod#1 makes that tag impossible to create (a D/F conflict in refs/)
    repo.git('update-ref', 'refs/tags/churn#prod#1/x', c[0])
    const before = tags(repo)
    const r = repo.xp(['model', 'assign', 'churn', c[1], '--stage', 'prod'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_GIT_FAILED')
    expect(tags(repo)).toEqual(before)
    expect(repo.json(['model', 'ls'])).toEqual({})
  })

  it('deprecates versions and artifacts; a registration revives; a second deprecation gets a counter', () => {
    const { repo, c } = threeCommits()
    repo.json(['model', 'register', 'm', c[0]])
    repo.json(['model', 'register', 'm', c[1]])
    expect(repo.json(['model', 'deprecate', 'm', '--version', 'v0.0.2'])).toMatchObject({ tags: ['m@v0.0.2!'] })
    expect(repo.json(['model', 'ls']).m.version).toBe('v0.0.1')
    expect(errorCode(repo.xp(['model', 'deprecate', 'm', '--version', 'v0.0.2']))).toBe('XP_VERSION_NOT_FOUND')
    expect(repo.json(['model', 'deprecate', 'm'])).toMatchObject({ tags: ['m@deprecated'], deprecated: true })
    expect(repo.json(['model', 'ls'])).toEqual({})
    expect(errorCode(repo.xp(['model', 'deprecate', 'm']))).toBe('XP_ALREADY_DEPRECATED')
    // same second as the deprecation would tie; registration beats deprecation anyway
    expect(repo.json(['model', 'register', 'm', c[2]])).toMatchObject({ version: 'v0.0.3' })
    expect(repo.json(['model', 'ls']).m).toMatchObject({ version: 'v0.0.3', active: true })
    expect(repo.json(['model', 'deprecate', 'm']).tags).toEqual(['m@deprecated#1'])
  })

  it('falls back to a default identity when the user has none', () => {
    const { repo, c } = threeCommits()
    const env: Record<string, string> = { ...repo.env }
    for (const k of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']) delete env[k]
    repo.env = env
    repo.git('config', 'user.useConfigOnly', 'true')
    expect(repo.json(['model', 'register', 'churn', c[0]]).tags).toEqual(['churn@v0.0.1'])
    expect(repo.git('for-each-ref', '--format=%(taggeremail)', 'refs/tags/churn@v0.0.1').trim()).toMatch(/@localhost>$/)
  })
})

describe('which and errors for what is not there', () => {
  it("names the artifact's content address from the pointer in that commit's tree", () => {
    const oid = 'ab'.repeat(16)
    const repo = new TestRepo({
      files: {
        'xp.yaml': 'artifacts:\n  churn: {path: models/model.bin, type: model}\n',
        'models/model.bin.xp': `path: model.bin\noid: ${oid}\nsize: 1234\n`,
        '.gitignore': 'models/model.bin\n',
      },
    })
    repo.json(['model', 'register', 'churn'])
    repo.write('models/model.bin.xp', `path: model.bin\noid: ${'cd'.repeat(16)}\nsize: 99\n`)
    repo.git('commit', '-qam', 'new model')
    repo.json(['model', 'register', 'churn'])
    expect(repo.json(['model', 'which', 'churn@v0.0.1'])).toMatchObject({ version: 'v0.0.1', path: 'models/model.bin', oid, size: 1234, run: null })
    expect(repo.json(['model', 'which', 'churn@latest'])).toMatchObject({ version: 'v0.0.2', oid: 'cd'.repeat(16), size: 99 })
    const text = repo.xp(['model', 'which', 'churn@v0.0.1'])
    expect(text.stdout).toContain(oid)
  })

  it('unknown artifact, version and stage have their own codes', () => {
    const { repo, c } = threeCommits()
    repo.json(['model', 'register', 'churn', c[0]])
    for (const [spec, want] of [
      ['nope@latest', 'XP_ARTIFACT_NOT_FOUND'],
      ['churn@v9.9.9', 'XP_VERSION_NOT_FOUND'],
      ['churn@production', 'XP_STAGE_EMPTY'],
      ['churn@v1', 'XP_BAD_VERSION'],
    ]) {
      const r = repo.xp(['model', 'which', spec])
      expect(errorCode(r), spec).toBe(want)
    }
    expect(errorCode(repo.xp(['model', 'history', 'nope']))).toBe('XP_ARTIFACT_NOT_FOUND')
    expect(errorCode(repo.xp(['model', 'get', 'nope@latest', '-o', 'out.bin']))).toBe('XP_ARTIFACT_NOT_FOUND')
  })
})

describe('get: a version of the model from the cache', () => {
  it("writes the artifact of a run's commit, by version or stage; fails clearly when it cannot", () => {
    const repo = new TestRepo({
      files: {
        'train.sh': 'mkdir -p models && echo "weights $1" > models/model.bin\n',
        'xp.yaml': 'outs: [models/model.bin]\nartifacts:\n  churn: {path: models/model.bin, type: model}\n',
      },
    })
    for (const [name, w] of [
      ['first', '1'],
      ['second', '2'],
    ])
      expect(repo.xp(['run', '-n', name, '--', 'sh', 'train.sh', w]).code).toBe(0)
    repo.json(['model', 'register', 'churn', 'first'])
    repo.json(['model', 'assign', 'churn', 'second', '--stage', 'production'])
    const w = repo.json(['model', 'which', 'churn@production'])
    expect(w).toMatchObject({ version: 'v0.0.2', path: 'models/model.bin', run: { name: 'second' }, size: 10 })
    expect(w.oid).toMatch(/^[0-9a-f]{32}$/)
    expect(repo.json(['model', 'get', 'churn@production', '-o', 'prod.bin'])).toMatchObject({ version: 'v0.0.2', oid: w.oid, written: 1 })
    expect(repo.read('prod.bin')).toBe('weights 2\n')
    repo.json(['model', 'get', 'churn@v0.0.1', '-o', 'prod.bin']) // the old content is in the cache: replaced
    expect(repo.read('prod.bin')).toBe('weights 1\n')
    repo.write('prod.bin', 'my own edits\n')
    expect(errorCode(repo.xp(['model', 'get', 'churn@latest', '-o', 'prod.bin']))).toBe('XP_CHECKOUT_CONFLICT')
    expect(repo.read('prod.bin')).toBe('my own edits\n')
    repo.json(['model', 'get', 'churn@latest', '-o', 'prod.bin', '--force'])
    expect(repo.read('prod.bin')).toBe('weights 2\n')
    // a commit with no pointer file, and a cache without the object
    repo.git('commit', '-q', '--allow-empty', '-m', 'no model here')
    const refused = repo.xp(['model', 'register', 'churn'])
    expect(errorCode(refused)).toBe('XP_ARTIFACT_NOT_IN_COMMIT') // xp registers no version that points at nothing
    expect(refused.stderr).toContain('models/model.bin')
    tagAt(repo, 'churn@v0.0.3', 0, 'HEAD') // as GTO would register it
    expect(errorCode(repo.xp(['model', 'get', 'churn@v0.0.3', '-o', 'x.bin']))).toBe('XP_ARTIFACT_NO_POINTER')
    expect(errorCode(repo.xp(['model', 'get', 'churn@v0.0.2', '-o', 'x.bin'], { env: { XP_CACHE_DIR: repo.path('empty-cache') } }))).toBe('XP_CACHE_MISSING')
    expect(repo.exists('x.bin')).toBe(false)
    // with a data remote holding the objects, a cache that lacks them fetches them on demand
    fs.cpSync(repo.path('.xp/cache'), repo.path('remote-store'), { recursive: true })
    expect(repo.xp(['remote', 'add', 'storage', repo.path('remote-store'), '--default', '--create']).code).toBe(0)
    const fetched = repo.json(['model', 'get', 'churn@production', '-o', 'y.bin'], { env: { XP_CACHE_DIR: repo.path('empty-cache') } })
    expect(fetched).toMatchObject({ version: 'v0.0.2', oid: w.oid })
    expect(repo.read('y.bin')).toBe('weights 2\n')
  })
})

/** An annotated tag made as another tool would: tagger, date with its offset, message. */
function foreignTag(repo: TestRepo, name: string, commit: string, date: string, tagger: [string, string], message: string) {
  const env = { ...repo.env, GIT_COMMITTER_DATE: date, GIT_COMMITTER_NAME: tagger[0], GIT_COMMITTER_EMAIL: tagger[1] }
  const r = spawnSync('git', ['tag', '-a', '-m', message, name, commit], { cwd: repo.dir, env, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
}

describe('issue 13: one truth with GTO 1.8', () => {
  it("reads GTO-made tags (iterative/example-gto-frozen) exactly as GTO's own tests expect", () => {
    // The tags of the repository GTO's tests/test_api.py reads, rebuilt on three commits with
    // their taggers, dates, offsets and messages. GTO's expected answers are
    // tests/resources/sample_remote_repo_expected_registry.json and ..._history_churn.json.
    const { repo, c } = threeCommits()
    const [A, B, C] = c // e19353d, 299e82a, b9d7809 there
    const ag: [string, string] = ['Alexander Guschin', '1aguschin@gmail.com']
    const am: [string, string] = ['Amrit Ghimire', 'mail@amritghimire.com']
    const list: Array<[string, string, string, [string, string], string]> = [
      ['churn#prod#2', A, '1653608992 +0300', ag, 'Promoting churn version v3.0.0 to stage prod'],
      ['churn#staging#1', B, '1653508992 +0300', ag, 'Promoting churn version None to stage staging'],
      ['churn@v3.0.0', A, '1653008992 +0300', ag, 'Registering artifact churn version v3.0.0'],
      ['churn@v3.1.0', B, '1653408992 +0300', ag, 'Registering artifact churn version v3.1.0'],
      ['cv-class@v0.1.13', A, '1653208992 +0300', ag, 'Registering artifact cv-class version v0.1.13'],
      ['deprecated-model@deprecated', A, '1661489863 +0545', am, "Deprecating artifact 'deprecated-model'"],
      ['deprecated-model@v0.0.1', A, '1661489804 +0545', am, 'Registering artifact deprecated-model version v0.0.1'],
      ['model-a#dev#2', A, '1661490167 +0545', am, 'Assigning stage dev to artifact model-a version v0.0.2'],
      ['model-a#prod!#3', C, '1661490449 +0545', am, "Unassigning stage 'prod' to artifact 'model-a' version 'v0.0.1'"],
      ['model-a#prod#1', C, '1661489951 +0545', am, 'Assigning stage prod to artifact model-a version v0.0.1'],
      ['model-a@v0.0.1', C, '1661489914 +0545', am, 'Registering artifact model-a version v0.0.1'],
      ['model-a@v0.0.2', A, '1661490028 +0545', am, 'Registering artifact model-a version v0.0.2'],
      ['model-a@v0.0.3', B, '1661490248 +0545', am, 'Registering artifact model-a version v0.0.3'],
      ['model-a@v0.0.3!', B, '1661490281 +0545', am, 'Deregistering artifact model-a version v0.0.3'],
      ['segment#dev#1', A, '1653708992 +0300', ag, 'Promoting segment version v0.4.1 to stage dev'],
      ['segment@v0.4.1', A, '1653108992 +0300', ag, 'Registering artifact segment version v0.4.1'],
    ]
    for (const [name, commit, date, tagger, message] of list) foreignTag(repo, name, commit, date, tagger, message)
    const none = { dev: null, prod: null, staging: null }
    expect(repo.json(['model', 'ls'])).toEqual({
      churn: { version: 'v3.1.0', stage: { dev: null, prod: 'v3.0.0', staging: 'v3.1.0' }, registered: true, active: true },
      segment: { version: 'v0.4.1', stage: { ...none, dev: 'v0.4.1' }, registered: true, active: true },
      'cv-class': { version: 'v0.1.13', stage: none, registered: true, active: true },
      'model-a': { version: 'v0.0.2', stage: { ...none, dev: 'v0.0.2' }, registered: true, active: true },
    })
    expect(repo.json(['model', 'ls', '--all'])['deprecated-model']).toEqual({ version: 'v0.0.1', stage: none, registered: true, active: false })
    const h = repo.json(['model', 'history', 'churn'])
    const gto = (ts: string, event: string, version: string, stage: string | null, commit: string, message: string, tag: string) => ({
      timestamp: ts,
      artifact: 'churn',
      event,
      version,
      stage,
      commit,
      author: ag[0],
      author_email: ag[1],
      message,
      tag,
    })
    expect(h).toEqual([
      gto('2022-05-27T02:49:52+03:00', 'assignment', 'v3.0.0', 'prod', A, 'Promoting churn version v3.0.0 to stage prod', 'churn#prod#2'),
      gto('2022-05-25T23:03:12+03:00', 'assignment', 'v3.1.0', 'staging', B, 'Promoting churn version None to stage staging', 'churn#staging#1'),
      gto('2022-05-24T19:16:32+03:00', 'registration', 'v3.1.0', null, B, 'Registering artifact churn version v3.1.0', 'churn@v3.1.0'),
      gto('2022-05-20T04:09:52+03:00', 'registration', 'v3.0.0', null, A, 'Registering artifact churn version v3.0.0', 'churn@v3.0.0'),
    ])
    expect(repo.json(['model', 'which', 'model-a@v0.0.2']).created).toBe('2022-08-26T10:45:28+05:45')
  })

  it("a tag ref holding another tag's object (`git tag NEW OLD`) is the event OLD, once, as GTO reads it", () => {
    const { repo, c } = threeCommits()
    tagsAt(repo, [
      ['m@v1.0.0', 1, c[0], '  registered by hand  \n\n'],
      ['m#prod#1', 2, c[0]],
    ])
    repo.git('tag', 'm@v1.0.1', 'm@v1.0.0') // the usual way to "rename" a tag (the old one kept here)
    const r = repo.xp(['model', 'ls', '--json'])
    expect(JSON.parse(r.stdout)).toEqual({ m: { version: 'v1.0.0', stage: { prod: 'v1.0.0' }, registered: true, active: true } })
    expect(r.stderr).toContain('tag "m@v1.0.1" holds the tag object "m@v1.0.0"')
    const h = repo.json(['model', 'history', 'm'])
    expect(h.map((e: any) => e.tag)).toEqual(['m#prod#1', 'm@v1.0.0'])
    expect(h[1].message).toBe('registered by hand') // stripped, as GTO strips it
    // the old name deleted: the renamed ref still reads as the object's own name
    repo.git('tag', '-d', 'm@v1.0.0')
    expect(repo.json(['model', 'ls']).m.version).toBe('v1.0.0')
    expect(repo.json(['model', 'which', 'm@v1.0.0']).tag).toBe('m@v1.0.0')
  })

  it("writes GTO's messages, and puts @deprecated on the commit of the newest event", () => {
    const { repo, c } = threeCommits()
    repo.json(['model', 'register', 'churn', c[0]])
    repo.json(['model', 'register', 'churn', c[1]])
    repo.json(['model', 'assign', 'churn', '--version', 'v0.0.1', '--stage', 'prod'])
    const un = repo.json(['model', 'unassign', 'churn', '--stage', 'prod'])
    const msg = (t: string) => repo.git('for-each-ref', '--format=%(contents)', `refs/tags/${t}`).trim()
    expect(msg(un.tags[0])).toBe("Unassigning stage 'prod' to artifact 'churn' version 'v0.0.1'")
    expect(msg('churn#prod#1')).toBe('Assigning stage prod to artifact churn version v0.0.1')
    const dep = repo.json(['model', 'deprecate', 'churn'])
    expect(dep).toMatchObject({ tags: ['churn@deprecated'], commit: c[0] }) // the unassignment's commit, not latest v0.0.2's
    expect(msg('churn@deprecated')).toBe("Deprecating artifact 'churn'")
    expect(repo.git('rev-parse', 'churn@deprecated^{commit}').trim()).toBe(c[0])
  })

  it('commands run within one second wait for the next one, so that GTO reads what was meant', () => {
    const { repo, c } = threeCommits()
    repo.json(['model', 'register', 'm', c[0]])
    repo.json(['model', 'register', 'm', c[1]])
    const first = repo.xp(['model', 'assign', 'm', '--version', 'v0.0.1', '--stage', 'prod'])
    const second = repo.xp(['model', 'assign', 'm', '--version', 'v0.0.2', '--stage', 'prod'])
    expect([first.code, second.code]).toEqual([0, 0])
    // the two tags have different seconds: no tie for GTO to break its own way
    const date = (t: string) => Number(repo.git('for-each-ref', '--format=%(taggerdate:unix)', `refs/tags/${t}`).trim())
    expect(date('m#prod#2')).toBeGreaterThan(date('m#prod#1'))
    expect(repo.json(['model', 'ls']).m.stage.prod).toBe('v0.0.2')
    // what GTO would read: the fold of these very tags with GTO's rules (unit-tested against
    // GTO's tie order in registry-unit) gives v0.0.2; with one second for both it would say v0.0.1
    repo.git('tag', '-d', 'm#prod#2')
    tagAt(repo, 'm#prod#2', date('m#prod#1') - T0, c[1])
    expect(repo.json(['model', 'ls']).m.stage.prod).toBe('v0.0.1')
  })

  it('says so on stderr when it waits (a tag of this artifact dated in the current second)', () => {
    const { repo, c } = threeCommits()
    repo.json(['model', 'register', 'm', c[0]])
    // an event of m dated two seconds ahead stands for one made in the same second as the command
    const ahead = Math.floor(Date.now() / 1000) + 2
    tagAt(repo, 'm#prod#1', ahead - T0, c[0])
    const r = repo.xp(['model', 'assign', 'm', c[1], '--stage', 'prod'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/waiting \d+ ms for the next second: tag "m#prod#1" of "m" was made in this one/)
    const date = (t: string) => Number(repo.git('for-each-ref', '--format=%(taggerdate:unix)', `refs/tags/${t}`).trim())
    expect(date('m#prod#2')).toBeGreaterThan(ahead)
    expect(repo.json(['model', 'ls']).m.stage.prod).toBe('v0.0.2')
  })

  it("refuses GTO's invalid states with a coded error that names GTO's rule", () => {
    const { repo, c } = threeCommits()
    repo.json(['model', 'register', 'm', c[0], '--version', 'v1.0.0'])
    repo.json(['model', 'deprecate', 'm', '--version', 'v1.0.0'])
    // another version on a commit whose version was deregistered: GTO's ManyVersions
    const other = repo.xp(['model', 'register', 'm', c[0], '--version', 'v2.0.0'])
    expect([other.code, errorCode(other)]).toEqual([1, 'XP_ONE_VERSION_PER_COMMIT'])
    expect(other.stderr).toContain('Multiple versions are not allowed on the same Git commit')
    const assignDeregistered = repo.xp(['model', 'assign', 'm', c[0], '--stage', 'prod'])
    expect(errorCode(assignDeregistered)).toBe('XP_VERSION_NOT_FOUND')
    expect(assignDeregistered.stderr).toContain('xp model register m')
    // what GTO allows there: the same version again (named with a counter: m@v1.0.0 exists)
    expect(repo.json(['model', 'register', 'm', c[0]])).toMatchObject({ version: 'v1.0.0', tags: ['m@v1.0.0#1'] })
    expect(repo.json(['model', 'ls']).m.version).toBe('v1.0.0')
    // a second active version on one commit
    const again = repo.xp(['model', 'register', 'm', c[0], '--version', 'v3.0.0'])
    expect(errorCode(again)).toBe('XP_ALREADY_REGISTERED')
    expect(again.stderr).toContain('Multiple versions are not allowed on the same Git commit')
    // one name on two commits
    expect(errorCode(repo.xp(['model', 'register', 'm', c[1], '--version', 'v1.0.0']))).toBe('XP_VERSION_EXISTS')
    expect(tags(repo).filter((t) => t.startsWith('m@'))).toEqual(['m@v1.0.0', 'm@v1.0.0!', 'm@v1.0.0#1'])
  })

  it('refuses an unassignment GTO would ignore (a stage on a commit with no registered version)', () => {
    const { repo, c } = threeCommits()
    tagAt(repo, 'm#prod#1', 1, c[0]) // as `gto assign --skip-registration` makes it
    const r = repo.xp(['model', 'unassign', 'm', '--stage', 'prod'])
    expect([r.code, errorCode(r)]).toEqual([1, 'XP_UNREGISTERED_COMMIT'])
    expect(r.stderr).toContain(`xp model register m ${c[0].slice(0, 7)}`)
    repo.json(['model', 'register', 'm', c[0]])
    expect(repo.json(['model', 'unassign', 'm', '--stage', 'prod'])).toMatchObject({ version: 'v0.0.1' })
    expect(repo.json(['model', 'ls']).m.stage).toEqual({})
  })

  it('issue 12.4: no version that points at nothing; the file a version points at is said', () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    const noEntry = repo.xp(['model', 'assign', 'churn', '--stage', 'production'])
    expect([noEntry.code, errorCode(noEntry)]).toEqual([1, 'XP_ARTIFACT_NO_PATH'])
    expect(noEntry.stderr).toContain('artifacts:')
    expect(errorCode(repo.xp(['model', 'register', 'churn']))).toBe('XP_ARTIFACT_NO_PATH')
    repo.write('xp.yaml', 'artifacts:\n  churn: {path: models/model.pkl}\n')
    repo.git('add', 'xp.yaml')
    repo.git('commit', '-qm', 'declare the model')
    const noFile = repo.xp(['model', 'assign', 'churn', '--stage', 'production'])
    expect(errorCode(noFile)).toBe('XP_ARTIFACT_NOT_IN_COMMIT')
    expect(noFile.stderr).toContain('models/model.pkl')
    expect(tags(repo)).toEqual([])
    repo.write('models/model.pkl', 'weights\n')
    repo.git('add', 'models/model.pkl')
    repo.git('commit', '-qm', 'the model')
    const ok = repo.xp(['model', 'assign', 'churn', '--stage', 'production'])
    expect(ok.code).toBe(0)
    expect(ok.stderr).toContain('file models/model.pkl')
    expect(repo.json(['model', 'ls']).churn.stage.production).toBe('v0.0.1')
  })
})
