// What a new user meets first: `xp --version`, `xp --help`, the `xp init` template, `xp
// plots` saying which runs it took; and that the CLI under test is built from the sources.
import { describe, it, expect, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, cleanupTmp, errorCode, ROOT, XP } from './helpers.js'

afterAll(cleanupTmp)

describe('the tests run what the sources say', () => {
  it('the CLI under test was built from the current sources, outside dist/', () => {
    const id = spawnSync(process.execPath, ['--input-type=module', '-e', "import('./scripts/build.mjs').then((m) => console.log(m.inputsId()))"], {
      cwd: ROOT,
      encoding: 'utf8',
    })
    expect(id.status, id.stderr).toBe(0)
    expect(fs.readFileSync(path.join(path.dirname(XP), 'build-id'), 'utf8').trim()).toBe(id.stdout.trim())
    expect(path.dirname(XP)).not.toBe(path.join(ROOT, 'dist'))
  })
})

describe('xp --version and --help', () => {
  it('prints the versions of xp, git and node', () => {
    const repo = new TestRepo({ init: false })
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    const git = spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim().replace('git version ', '')
    for (const flag of ['--version', '-V']) {
      const r = repo.xp([flag])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe(`xp ${pkg.version}\ngit ${git}\nnode ${process.version}\n`)
    }
  })

  it('says so when git is not on PATH', () => {
    const repo = new TestRepo({ init: false })
    const r = repo.xp(['--version'], { env: { PATH: '/nonexistent' } })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^git not found on PATH/m)
  })

  it('lists every command, promote and --version among them', () => {
    const repo = new TestRepo({ init: false })
    // a process of its own (input given): bin.js prints the help saved at build time
    const r = repo.xp(['--help'], { input: '' })
    expect(r.code, r.stderr).toBe(0)
    for (const c of ['init', 'run', 'show', 'model', 'queue', 'plots', 'ui']) expect(r.stdout).toContain(`xp ${c}`)
    expect(r.stdout).toContain('promote')
    expect(r.stdout).toContain('--version')
  })

  it("a command's --help from main() (in-process, as the binary and the tests call it) prints usage and exits 0 without running the command", () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    const r = repo.xp(['run', '--help'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Usage: xp run')
    expect(repo.git('for-each-ref', 'refs/xp/runs')).toBe('')
    const top = repo.xp(['--help'])
    expect(top.code, top.stderr).toBe(0)
    expect(top.stdout).toContain('xp show')
  })
})

describe('xp init', () => {
  it('writes a template whose artifacts: example, uncommented, registers a model', () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    expect(repo.xp(['init']).code).toBe(0)
    const template = repo.read('xp.yaml')
    expect(template).toMatch(/^# artifacts:/m)
    // the user's edit: uncomment outs and artifacts, and a command that writes the model
    const edited = template
      .split('\n')
      .map((l) => (/^# (outs|artifacts):|^# {3}churn:/.test(l) ? l.slice(2) : l))
      .join('\n')
    repo.write('xp.yaml', edited + 'command: mkdir -p models && echo weights > models/model.bin\n')
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'xp')
    const run = repo.xp(['run', '-n', 'trained'])
    expect(run.code, run.stderr).toBe(0)
    const reg = repo.xp(['model', 'register', 'churn', 'trained'])
    expect(reg.code, reg.stderr).toBe(0)
    const which = repo.json<{ path: string; version: string }>(['model', 'which', 'churn@latest'])
    expect(which.path).toBe('models/model.bin')
  })
})

describe('xp plots', () => {
  it('says it took the latest 5, and takes -n N and --all', () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    for (let i = 1; i <= 7; i++) expect(repo.xp(['run', '-n', `r${i}`, '--', 'true']).code).toBe(0)
    const latest = repo.xp(['plots', '-o', 'a.html'])
    expect(latest.code, latest.stderr).toBe(0)
    expect(latest.stderr).toContain('the latest 5 of 7 runs (r7, r6, r5, r4, r3); -n N or --all for more')
    const two = repo.xp(['plots', '-n', '2', '-o', 'b.html'])
    expect(two.stderr).toContain('the latest 2 of 7 runs (r7, r6)')
    const all = repo.xp(['plots', '--all', '-o', 'c.html'])
    expect(all.stderr).toContain('all 7 runs (r7, r6, r5, r4, r3, r2, r1)')
    expect(repo.json<{ runs: string[]; total: number }>(['plots', '--all', '-o', 'd.html'])).toMatchObject({ total: 7 })
    expect(repo.json<{ runs: string[] }>(['plots', '--all', '-o', 'd.html']).runs).toHaveLength(7)
    expect(repo.read('c.html')).toContain('r1')
    expect(errorCode(repo.xp(['plots', '--all', '-n', '3']))).toBe('XP_USAGE')
    expect(errorCode(repo.xp(['plots', '-n', '0']))).toBe('XP_BAD_LIMIT')
    const help = repo.xp(['plots', '--help'], { input: '' })
    expect(help.stdout).toContain('the latest 5')
    expect(help.stdout).toContain('--all')
  })
})
