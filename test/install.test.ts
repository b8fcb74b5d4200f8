// Installing xp as a user would: the npm package packed and installed with the real npm
// into a temporary prefix, and the single executable run with no node on PATH. Each then
// goes from nothing to `xp show` in a fresh repository.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, tmpDir, cleanupTmp, ROOT, XP } from './helpers.js'

afterAll(cleanupTmp)

const BUILD = path.dirname(XP) // this test run's bundle (test/global-setup.ts)

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** The journey of a new user: version, init, a run, then show, with `xp` as given. */
function journey(xp: string, env: Record<string, string>) {
  const repo = new TestRepo({ files: { 'params.yaml': 'lr: 0.1\n' } })
  const run = (args: string[]) => {
    const r = spawnSync(xp, args, { cwd: repo.dir, env: { ...repo.env, ...env }, encoding: 'utf8' })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error }
  }
  const version = run(['--version'])
  expect(version.error).toBeUndefined()
  expect(version.code, version.stderr).toBe(0)
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  expect(version.stdout).toContain(`xp ${pkg.version}\n`)
  expect(version.stdout).toMatch(/^git \d+\.\d+/m)

  const init = run(['init'])
  expect(init.code, init.stderr).toBe(0)
  expect(repo.read('xp.yaml')).toContain('artifacts:')
  const rec = run(['run', '-n', 'first', '--', 'sh', '-c', 'echo \'{"acc": 0.75}\' > metrics.json'])
  expect(rec.code, rec.stderr).toBe(0)
  const show = run(['show', '--json'])
  expect(show.code, show.stderr).toBe(0)
  const runs = JSON.parse(show.stdout)
  expect(runs.map((r: { name: string; metrics: object; params: object }) => [r.name, r.metrics, r.params])).toEqual([['first', { acc: 0.75 }, { lr: 0.1 }]])
  // hashing (hash-wasm's WebAssembly, loaded on first use) works from the installed xp
  repo.write('data/a.csv', 'x,y\n1,2\n')
  const add = run(['add', 'data'])
  expect(add.code, add.stderr).toBe(0)
  expect(repo.read('data.xp')).toMatch(/^oid: [0-9a-f]{32}\.dir$/m)
  return run
}

describe('the npm package', () => {
  let tarball: string
  let prefix: string
  let files: string[]

  beforeAll(() => {
    // pack exactly this run's bundle: a staging copy, so dist/ in the checkout is not rebuilt
    const stage = tmpDir('xp-pack-')
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin']) fs.cpSync(path.join(ROOT, f), path.join(stage, f), { recursive: true })
    fs.cpSync(BUILD, path.join(stage, 'dist'), { recursive: true })
    const out = tmpDir('xp-tarball-')
    const packed = JSON.parse(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: stage }))
    tarball = path.join(out, packed[0].filename)
    files = packed[0].files.map((f: { path: string }) => f.path)
    prefix = tmpDir('xp-prefix-')
    // no dependencies to fetch: --offline proves the install needs no registry
    sh('npm', ['install', '-g', tarball, '--prefix', prefix, '--offline', '--no-audit', '--no-fund'])
  })

  it('holds only what runs: the bundle, bin, README, LICENSE and package.json', () => {
    expect(files).toContain('bin/xp.cjs')
    expect(files).toContain('bin/xp.js')
    expect(files).toContain('dist/bin.cjs')
    expect(files).toContain('dist/xp.cjs')
    expect(files).toContain('dist/aws-sdk.cjs') // beside it, required on first use
    expect(files).toContain('dist/ui/app.js')
    expect(files).toContain('dist/help.txt')
    expect(
      files.filter((f) => !/^(bin\/xp\.c?js|dist\/[a-z-]+\.cjs|dist\/help\.txt|dist\/ui\/app\.(js|css)|package\.json|README\.md|LICENSE)$/.test(f)),
    ).toEqual([])
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.name).not.toBe('xp') // the registry's `xp` is someone else's
    expect(pkg.bin).toEqual({ xp: 'bin/xp.cjs' })
    expect(pkg.dependencies ?? {}).toEqual({}) // everything is in the bundle
    expect(pkg.engines.node).toBe('>=20')
    expect(fs.statSync(tarball).size).toBeLessThan(3 * 1024 * 1024)
  })

  it('installs into a prefix as a working `xp`: version, init, run, show, add', () => {
    const xp = path.join(prefix, 'bin', 'xp')
    expect(fs.existsSync(xp)).toBe(true)
    // nothing but the package itself was installed
    expect(fs.readdirSync(path.join(prefix, 'lib', 'node_modules'))).toEqual(['git-xp'])
    expect(fs.existsSync(path.join(prefix, 'lib', 'node_modules', 'git-xp', 'node_modules'))).toBe(false)
    journey(xp, {})
  })
})

describe('the single executable', () => {
  it('builds, and runs version, init, run, show and add with no node on PATH', () => {
    const dir = tmpDir('xp-binary-')
    const exe = path.join(dir, 'xp-linux-x64')
    sh(process.execPath, [path.join(ROOT, 'scripts', 'build-binary.mjs'), '--from', BUILD, '--out', exe])
    // a PATH with git and sh only
    const bin = path.join(dir, 'bin')
    fs.mkdirSync(bin)
    for (const tool of ['git', 'sh']) {
      const found = sh('sh', ['-c', `command -v ${tool}`]).trim()
      fs.symlinkSync(found, path.join(bin, tool))
    }
    fs.symlinkSync(exe, path.join(bin, 'xp'))
    const env = { PATH: bin }
    expect(spawnSync('sh', ['-c', 'command -v node'], { env, encoding: 'utf8' }).stdout).toBe('')
    const run = journey(path.join(bin, 'xp'), env)
    // the saved help is inside the executable, and lists every command
    const help = run(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('xp queue <action>')
    expect(help.stdout).toContain('promote')
  })
})
