// Issue 11, path safety: every writer x every trick (symlinked folder, `..`, absolute,
// percent-encoded, case-folded .GIT, Windows drive) is refused with a coded error and
// nothing written, checked against a snapshot of the file system outside the repository
// (and its .git/hooks and .git/config) taken before and after.
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, cleanupTmp, errorCode, type Result } from './helpers.js'

afterAll(cleanupTmp)

function ok(r: Result): Result {
  if (r.code !== 0) throw new Error(`xp exited ${r.code}: ${r.stderr}`)
  return r
}

/** path -> kind:size:content of every entry under `dir`, skipping `skip` (absolute paths). */
function fsSnapshot(dir: string, skip: string[]): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const full = path.join(d, name)
      if (skip.includes(full)) continue
      const st = fs.lstatSync(full)
      if (st.isSymbolicLink()) out.set(full, `link:${fs.readlinkSync(full)}`)
      else if (st.isDirectory()) {
        out.set(full, 'dir')
        walk(full)
      } else out.set(full, `file:${st.size}:${fs.readFileSync(full, 'latin1').slice(0, 200)}`)
    }
  }
  walk(dir)
  return out
}

/** A repo in base/repo, a victim folder base/victim/home with a .bashrc, and one cached object. */
function setup() {
  const repo = new TestRepo({ files: { 'README.md': 'project\n', '.gitignore': '.xp/\n' } })
  const base = path.dirname(repo.dir)
  const victim = path.join(base, 'victim', 'home')
  fs.mkdirSync(victim, { recursive: true })
  fs.writeFileSync(path.join(victim, '.bashrc'), 'original bashrc\n')
  repo.write('payload', 'echo owned\n')
  ok(repo.xp(['add', 'payload']))
  const oid = /oid: (\S+)/.exec(repo.read('payload.xp'))![1]
  fs.rmSync(repo.path('payload.xp'))
  fs.rmSync(repo.path('payload'))
  repo.git('add', '.gitignore')
  repo.git('commit', '-qm', 'ignore payload')
  const outside = (): Map<string, string> => {
    const snap = fsSnapshot(base, [repo.dir, repo.home])
    for (const [k, v] of fsSnapshot(path.join(repo.dir, '.git', 'hooks'), [])) snap.set(k, v)
    snap.set('.git/config', fs.readFileSync(path.join(repo.dir, '.git', 'config'), 'utf8'))
    return snap
  }
  return { repo, base, victim, oid, outside }
}

const pointerText = (p: string, oid: string) => `path: ${JSON.stringify(p)}\noid: ${oid}\nsize: 11\n`

/** The tricks, as the `path:` of a pointer file at the repo root (`link` is a symlink to the victim's folder). */
function tricks(base: string): Record<string, string> {
  return {
    symlink: 'link/.bashrc',
    dotdot: '../victim/home/.bashrc',
    absolute: path.join(base, 'victim', 'home', '.bashrc'),
    encoded: '%2e%2e/victim/home/.bashrc',
    gitdir: '.GIT/hooks/post-checkout',
    drive: 'C:escape',
  }
}

/** Paths inside the repository that a refused write must not have created either. */
const insideNever = ['%2e%2e', 'C:escape', '.GIT', 'h']

/** A copy of a run with extra blobs (and raw tree entries) in its tree, under the same ref. */
function craftRun(repo: TestRepo, runName: string, blobs: Record<string, string>, rawRootEntries: string[] = []): void {
  const ref = repo
    .git('for-each-ref', '--format=%(refname) %(objectname) %(contents:subject)', 'refs/xp/runs/')
    .split('\n')
    .find((l) => l.includes(`xp: ${runName} `))!
  const [refname, commit] = ref.split(' ')
  const index = path.join(repo.home, `craft-index-${Date.now()}`)
  const env = { ...repo.env, GIT_INDEX_FILE: index }
  const git = (args: string[], input?: string) => {
    const r = spawnSync('git', args, { cwd: repo.dir, env, input, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
    return r.stdout.trim()
  }
  git(['read-tree', commit])
  for (const [file, content] of Object.entries(blobs)) {
    const oid = git(['hash-object', '-w', '--stdin'], content)
    git(['update-index', '--add', '--cacheinfo', `100644,${oid},${file}`])
  }
  let tree = git(['write-tree'])
  if (rawRootEntries.length) tree = git(['mktree'], git(['ls-tree', tree]) + '\n' + rawRootEntries.join('\n') + '\n')
  const message = git(['cat-file', 'commit', commit]).split('\n\n').slice(1).join('\n\n')
  const parent = git(['rev-parse', `${commit}^`])
  const crafted = git(['commit-tree', tree, '-p', parent], message)
  git(['update-ref', refname, crafted])
}

describe('xp apply: the symlink in a run tree (h -> /victim/home beside h/.bashrc.xp)', () => {
  it('refuses the run before writing anything, with and without --force', () => {
    const { repo, victim, oid, outside } = setup()
    ok(repo.xp(['run', '-n', 'evil', '--', 'true']))
    const target = spawnSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo.dir, env: repo.env, input: victim, encoding: 'utf8' }).stdout.trim()
    const sub = spawnSync('git', ['mktree'], {
      cwd: repo.dir,
      env: repo.env,
      encoding: 'utf8',
      input:
        ['.bash_profile.xp', '.bashrc.xp']
          .map(
            (f) =>
              `100644 blob ${spawnSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo.dir, env: repo.env, input: pointerText(f.slice(0, -3), oid), encoding: 'utf8' }).stdout.trim()}\t${f}`,
          )
          .join('\n') + '\n',
    }).stdout.trim()
    craftRun(repo, 'evil', {}, [`120000 blob ${target}\th`, `040000 tree ${sub}\th`])
    const before = outside()
    for (const args of [
      ['apply', 'evil'],
      ['apply', 'evil', '--force'],
    ]) {
      const r = repo.xp(args)
      expect(r.code).toBe(1)
      expect(errorCode(r)).toBe('XP_UNSAFE_PATH')
      expect(r.stderr).toMatch(/h is a symlink/)
      expect(outside()).toEqual(before)
      expect(fs.readFileSync(path.join(victim, '.bashrc'), 'utf8')).toBe('original bashrc\n')
      expect(fs.existsSync(path.join(victim, '.bash_profile'))).toBe(false)
      expect(fs.existsSync(repo.path('h'))).toBe(false)
    }
  })
})

describe('path-escape matrix: every writer x every trick, nothing written', () => {
  it('xp checkout (and pull, which checks out the same way) refuses each pointer', () => {
    const { repo, base, oid, outside } = setup()
    fs.symlinkSync(path.join(base, 'victim', 'home'), repo.path('link'))
    const before = outside()
    for (const [name, p] of Object.entries(tricks(base))) {
      repo.write('evil.xp', pointerText(p, oid))
      const r = repo.xp(['checkout', '--force'])
      expect([name, errorCode(r)]).toEqual([name, 'XP_UNSAFE_PATH'])
      expect(outside()).toEqual(before)
      for (const f of insideNever) expect([name, f, fs.existsSync(repo.path(f))]).toEqual([name, f, false])
    }
  })

  it('xp apply refuses each pointer of a run tree and a symlinked folder of the working tree', () => {
    const { repo, base, oid, outside } = setup()
    fs.symlinkSync(path.join(base, 'victim', 'home'), repo.path('link'))
    for (const [name, p] of Object.entries(tricks(base))) {
      ok(repo.xp(['run', '-n', `r-${name}`, '--', 'true']))
      craftRun(repo, `r-${name}`, { 'evil.xp': pointerText(p, oid) })
      const before = outside()
      const r = repo.xp(['apply', `r-${name}`, '--force'])
      expect([name, errorCode(r)]).toEqual([name, 'XP_UNSAFE_PATH'])
      expect(outside()).toEqual(before)
      for (const f of insideNever) expect([name, f, fs.existsSync(repo.path(f))]).toEqual([name, f, false])
      expect(fs.existsSync(repo.path('evil.xp'))).toBe(false)
    }
    // a symlinked folder in the working tree, under which the run has a pointer
    const { repo: r2, base: b2, oid: o2, outside: out2 } = setup()
    ok(r2.xp(['run', '-n', 'r', '--', 'true']))
    craftRun(r2, 'r', { 'link/.bashrc.xp': pointerText('.bashrc', o2), 'link/notes.txt': 'x\n' })
    fs.symlinkSync(path.join(b2, 'victim', 'home'), r2.path('link'))
    const before2 = out2()
    const r3 = r2.xp(['apply', 'r', '--force'])
    expect(errorCode(r3)).toBe('XP_UNSAFE_PATH')
    expect(out2()).toEqual(before2)
  })

  it('xp pull refuses a pulled pointer that escapes', () => {
    const { repo, base, oid, outside } = setup()
    const bare = path.join(base, 'origin.git')
    spawnSync('git', ['init', '-q', '--bare', '-b', 'main', bare])
    repo.git('remote', 'add', 'origin', bare)
    const store = path.join(base, 'store')
    fs.mkdirSync(store)
    ok(repo.xp(['remote', 'add', 'store', store, '--default']))
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'remote')
    repo.git('push', '-q', 'origin', 'main')
    const mine = (m: Map<string, string>) => new Map([...m].filter(([k]) => !k.startsWith(bare) && !k.startsWith(store)))
    fs.symlinkSync(path.join(base, 'victim', 'home'), repo.path('link'))
    for (const [name, p] of Object.entries(tricks(base))) {
      repo.write('evil.xp', pointerText(p, oid))
      repo.git('add', '-f', 'evil.xp')
      repo.git('commit', '-qm', `evil ${name}`)
      const before = mine(outside())
      const r = repo.xp(['pull', 'origin'])
      expect([name, errorCode(r)]).toEqual([name, 'XP_UNSAFE_PATH'])
      expect(mine(outside())).toEqual(before)
      for (const f of insideNever) expect([name, f, fs.existsSync(repo.path(f))]).toEqual([name, f, false])
    }
  })

  it('queue materialization skips each pointer with a warning; the task runs and nothing escapes', () => {
    const { repo, base, oid, outside } = setup()
    fs.symlinkSync(path.join(base, 'victim', 'home'), repo.path('link'))
    // deeper `..` because the task's worktree is under .xp/queue/worktrees/<id>/
    const t = { ...tricks(base), dotdot: '../../../../../victim/home/.bashrc' }
    for (const [name, p] of Object.entries(t)) repo.write(`evil-${name}.xp`, pointerText(p, oid))
    const before = outside()
    ok(repo.xp(['run', '--queue', '-n', 'q', '--', 'sh', '-c', 'ls -a > listing.txt']))
    ok(repo.xp(['queue', 'start']))
    const logs = fs
      .readdirSync(repo.path('.xp/queue/logs'))
      .map((f) => fs.readFileSync(repo.path('.xp/queue/logs', f), 'utf8'))
      .join('\n')
    for (const name of Object.keys(t))
      expect([name, logs]).toEqual([name, expect.stringMatching(new RegExp(`evil-${name}\\.xp: .*(unsafe path|outside the repository|symlink)`))])
    expect(repo.json(['queue', 'status']).tasks[0]).toMatchObject({ state: 'done' })
    expect(outside()).toEqual(before)
  })

  it('xp model get -o refuses manifest entries that escape the output folder or go through a symlink there', () => {
    const { repo, base, oid, outside } = setup()
    const manifest = (entries: string[]) =>
      Buffer.from(
        `[${entries
          .sort()
          .map((p) => `{"path":${JSON.stringify(p)},"oid":"${oid}","size":11,"mode":420}`)
          .join(',')}]`,
      )
    const put = (bytes: Buffer) => {
      const f = path.join(repo.home, 'm')
      fs.writeFileSync(f, bytes)
      const h = spawnSync('xxhsum', ['-H2', f], { encoding: 'utf8' }).stdout.split(/\s+/)[0]
      fs.mkdirSync(repo.path('.xp/cache', h.slice(0, 2)), { recursive: true })
      fs.writeFileSync(repo.path('.xp/cache', h.slice(0, 2), h.slice(2) + '.dir'), bytes)
      return `${h}.dir`
    }
    const cases: Record<string, string> = { ...tricks(base), symlink: 'sub/.bashrc' }
    let version = 0
    for (const [name, p] of Object.entries(cases)) {
      const dirOid = put(manifest(['good.txt', p]))
      repo.write('xp.yaml', 'artifacts:\n  m: {path: models, type: model}\n')
      repo.write('models.xp', `path: models\noid: ${dirOid}\nsize: 22\nfiles: 2\n`)
      repo.git('add', '-f', 'xp.yaml', 'models.xp')
      repo.git('commit', '-qm', `model ${name}`)
      version++
      ok(repo.xp(['model', 'register', 'm', '--version', `v${version}.0.0`]))
      const out = path.join(base, `out-${name}`)
      fs.mkdirSync(out)
      if (name === 'symlink') fs.symlinkSync(path.join(base, 'victim', 'home'), path.join(out, 'sub'))
      const before = outside()
      const r = repo.xp(['model', 'get', `m@v${version}.0.0`, '-o', out])
      expect([name, errorCode(r)]).toEqual([name, 'XP_UNSAFE_PATH'])
      expect(outside()).toEqual(before)
    }
  })

  it('-S FILE: and params/metrics/artifact paths in xp.yaml stay inside the repository', () => {
    const { repo, base, outside } = setup()
    fs.writeFileSync(path.join(base, 'victim', 'x.yaml'), 'k: 0\n')
    fs.symlinkSync(path.join(base, 'victim'), repo.path('conf'))
    repo.write('params.yaml', 'lr: 1\n')
    const before = outside()
    const sets = [
      '../victim/x.yaml:k=1',
      `${path.join(base, 'victim', 'x.yaml')}:k=1`,
      '%2e%2e/victim/x.yaml:k=1',
      '.GIT/config.yaml:k=1',
      'C:x.yaml:k=1',
      'conf/x.yaml:k=1',
    ]
    for (const s of sets) {
      const r = repo.xp(['run', '-S', s, '--', 'true'])
      expect([s, errorCode(r)]).toEqual([s, 'XP_UNSAFE_PATH'])
      const q = repo.xp(['run', '--queue', '-S', s, '--', 'true'])
      expect([s, errorCode(q)]).toEqual([s, 'XP_UNSAFE_PATH'])
    }
    // a params file that is a symlink to outside: neither read into the record nor edited
    fs.symlinkSync(path.join(base, 'victim', 'x.yaml'), repo.path('p.yaml'))
    for (const yaml of [
      'params: [../victim/x.yaml]',
      'params: [p.yaml]',
      'params: [conf/x.yaml]',
      `metrics: [${path.join(base, 'victim', 'x.yaml')}]`,
      'params: ["%2e%2e/victim/x.yaml"]',
      'metrics: [.GIT/x.yaml]',
      'series: ["C:x.tsv"]',
      'artifacts:\n  m: {path: ../../etc/passwd}',
    ]) {
      repo.write('xp.yaml', yaml + '\n')
      const r = repo.xp(['run', '--', 'true'])
      expect([yaml, errorCode(r)]).toEqual([yaml, 'XP_UNSAFE_PATH'])
    }
    expect(repo.git('for-each-ref', 'refs/xp/runs/').trim()).toBe('')
    // issue 10: a version whose commit declares `path: ../../etc/passwd` gets a coded error, not XP_INTERNAL
    repo.git('add', '-f', 'xp.yaml')
    repo.git('commit', '-qm', 'bad artifact path')
    // xp registers no version there (its path escapes); one made by another tool is read safely
    expect(errorCode(repo.xp(['model', 'register', 'm']))).toBe('XP_UNSAFE_PATH')
    repo.git('tag', '-a', '-m', 'registered elsewhere', 'm@v0.0.1')
    for (const args of [
      ['model', 'which', 'm@latest'],
      ['model', 'get', 'm@latest', '-o', path.join(base, 'got')],
    ])
      expect([args[1], errorCode(repo.xp(args))]).toEqual([args[1], 'XP_UNSAFE_PATH'])
    repo.git('rm', '-q', 'xp.yaml')
    repo.git('commit', '-qm', 'no xp.yaml')
    // a metrics file through a symlinked folder: the run is recorded without it, and without its bytes
    repo.write('xp.yaml', 'metrics: [conf/x.yaml]\n')
    const soon = new Date(Date.now() + 5000)
    fs.utimesSync(path.join(base, 'victim', 'x.yaml'), soon, soon) // as if the run wrote it
    const r = repo.xp(['run', '--json', '--', 'true'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/conf\/x\.yaml.*outside the repository/)
    const run = JSON.parse(r.stdout)
    expect(run.metrics).toEqual({})
    expect(repo.git('ls-tree', '-r', '--name-only', run.commit)).not.toMatch(/conf\/x\.yaml/)
    expect(outside()).toEqual(before)
  })
})
