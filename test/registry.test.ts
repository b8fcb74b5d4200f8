import { describe, it, expect, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { TestRepo, errorCode, cleanupTmp } from './helpers.js'

afterAll(cleanupTmp)

const T0 = 1_700_000_000

/** A repo with three empty commits c1, c2, c3. */
function threeCommits(): { repo: TestRepo; c: string[] } {
  const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
  const c = [repo.git('rev-parse', 'HEAD').trim()]
  for (const n of [2, 3]) {
    repo.git('commit', '-q', '--allow-empty', '-m', `c${n}`)
    c.push(repo.git('rev-parse', 'HEAD').trim())
  }
  return { repo, c }
}

/** An annotated tag made by hand, tagged at T0 + t. */
function tagAt(repo: TestRepo, name: string, t: number, commit: string, message = `tag ${name}`) {
  const r = spawnSync('git', ['tag', '-a', '-m', message, name, commit], { cwd: repo.dir, env: { ...repo.env, GIT_COMMITTER_DATE: `${T0 + t} +0000` }, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
}

const tagsAt = (repo: TestRepo, list: Array<[string, number, string, string?]>) => list.forEach(([name, t, commit, message]) => tagAt(repo, name, t, commit, message))

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
    const index = repo.read('.xp/registry-tags.txt').trim().split('\n').slice(1).map((l) => l.split(' ').slice(1).join(' '))
    expect(index.sort()).toEqual([`${T0 + 10} ${c[0]}`, `${T0 + 20} ${c[0]}`, `${T0 + 40} ${c[1]}`].sort())
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
    expect(repo.read('.xp/registry-tags.txt')).toContain(`${T0 + 40} ${c[1]}`)
    const h = repo.json(['model', 'history', 'churn'])
    expect(h.map((e: any) => [e.tag, e.event, e.timestamp])).toEqual([
      ['churn@v1.1.0', 'registration', new Date((T0 + 40) * 1000).toISOString()],
      ['churn#production#1', 'assignment', new Date((T0 + 20) * 1000).toISOString()],
      ['churn@v1.0.0', 'registration', new Date((T0 + 10) * 1000).toISOString()],
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
    expect(repo.read('.xp/registry-tags.txt')).toBe(`xp registry tag index 1\n${c[0]} 0\n`) // both name one object: not an annotated tag
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
      for (const [n, commit, t] of [[`a${i}@v1.0.0`, c[0], 1], [`a${i}@v1.1.0`, c[1], 2], [`a${i}#prod#1`, c[0], 3]] as const)
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
    for (const [i, n] of ['path/to=churn@v1.0.0', 'models/churn-2@v1.0.0', 'Churn_X#prod/eu', 'v1.0.0', 'release-1', 'm@1.0.0', 'm@V1.0.0'].entries()) tagAt(repo, n, i, c[0])
    const out = repo.json(['model', 'ls'])
    expect(Object.keys(out).sort()).toEqual(['Churn_X', 'models/churn-2', 'path/to:churn'])
    expect(out['path/to:churn']).toEqual({ version: 'v1.0.0', stage: { 'prod/eu': null }, registered: true, active: true })
  })

  it('warns about NAME@created, ignores tags of trees, and keeps reading past two versions on one commit', () => {
    const { repo, c } = threeCommits()
    tagsAt(repo, [
      ['m@created', 1, c[0]],
      ['m@v1.0.0', 2, c[0]],
      ['m@v1.1.0', 3, c[0]],
      ['ok@v1.0.0', 4, c[1]],
      ['tree@v1.0.0', 5, repo.git('rev-parse', 'HEAD^{tree}').trim()],
    ])
    const r = repo.xp(['model', 'ls', '--json'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('m@created')
    expect(r.stderr).toMatch(/"m@v1\.0\.0".*"m@v1\.1\.0"/)
    expect(Object.keys(JSON.parse(r.stdout)).sort()).toEqual(['m', 'ok'])
  })
})

describe('writing the registry', () => {
  it('registers with bumps, as annotated tags by the user, and refuses repeats', () => {
    const { repo, c } = threeCommits()
    expect(repo.json(['model', 'register', 'churn', c[0]])).toMatchObject({ version: 'v0.0.1', tags: ['churn@v0.0.1'], commit: c[0] })
    expect(repo.git('cat-file', '-t', 'churn@v0.0.1').trim()).toBe('tag')
    expect(repo.git('for-each-ref', '--format=%(taggername) %(taggeremail)|%(contents:subject)', 'refs/tags/churn@v0.0.1').trim()).toBe('Test User <test@example.com>|Registering artifact churn version v0.0.1')
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
    const repo = new TestRepo({ files: { 'train.sh': 'echo trained > model.txt\n' } })
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
    expect(repo.json(['model', 'assign', 'churn', c[1], '--stage', 'production'])).toMatchObject({ version: 'v0.0.2', tags: ['churn@v0.0.2', 'churn#production#3'] })
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
    expect(h.map((e: any) => e.tag).sort()).toEqual(['churn#production!#5', 'churn#production#2', 'churn#production#3', 'churn#production#4', 'churn#staging#1', 'churn@v0.0.1', 'churn@v0.0.2'])
    expect(h[h.length - 1].tag).toBe('churn@v0.0.1')
    expect(h[0]).toMatchObject({ event: 'unassignment', stage: 'production', version: 'v0.0.1', author: 'Test User', author_email: 'test@example.com', commit: c[0] })
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
    for (const [name, w] of [['first', '1'], ['second', '2']]) expect(repo.xp(['run', '-n', name, '--', 'sh', 'train.sh', w]).code).toBe(0)
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
    repo.json(['model', 'register', 'churn'])
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
