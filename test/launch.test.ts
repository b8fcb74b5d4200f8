// The launcher's code cache (src/cli/launch.ts), on a copy of this test run's bundle: the
// build makes the everyday commands' caches, a start uses one without rewriting it, a
// command with none makes its own, and a cache V8 refuses (damaged, or made by another
// Node) changes nothing a user sees: it is compiled without, and written anew.
import { describe, it, expect, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, tmpDir, cleanupTmp, XP } from './helpers.js'

afterAll(cleanupTmp)

function copyOfBuild(): string {
  const dist = path.join(tmpDir('xp-launch-'), 'dist')
  fs.cpSync(path.dirname(XP), dist, { recursive: true })
  return dist
}

const caches = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cache')) : [])
const commandOf = (f: string) => f.split('.').at(-2)

describe('the code cache', () => {
  const dist = copyOfBuild()
  const repo = new TestRepo({ files: { 'params.yaml': 'lr: 0.1\n' } })
  const userCache = tmpDir('xp-user-cache-')
  const xp = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(dist, 'bin.cjs'), ...args], {
      cwd: repo.dir,
      // no Node options from outside: they would name caches of their own
      env: { ...repo.env, XDG_CACHE_HOME: userCache, NODE_OPTIONS: '' },
      encoding: 'utf8',
    })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  const buildId = fs.readFileSync(path.join(dist, 'build-id'), 'utf8').trim()
  const cacheOf = (command: string) => path.join(dist, `xp.${buildId}-${process.versions.v8}-${process.arch}.${command}.cache`)

  it('the build made the everyday commands a cache each, named by the build and the V8', () => {
    // (other test files running beside this one may have added caches of other commands)
    expect(caches(dist).map(commandOf)).toEqual(
      expect.arrayContaining(['add', 'checkout', 'diff', 'init', 'model', 'pull', 'push', 'remote', 'run', 'show', 'status']),
    )
    // (or `-o<hash>.` after it: a start under Node options, as other test files' may be)
    for (const f of caches(dist))
      expect(f).toMatch(new RegExp(`^xp\\.${buildId}-${process.versions.v8.replace(/\./g, '\\.')}-${process.arch}(-o[0-9a-f]{8})?\\.`))
  })

  it('a start takes its cache and leaves it as it is; a command with none writes its own', () => {
    expect(xp(['init']).code).toBe(0)
    const before = fs.readFileSync(cacheOf('run'))
    const stat = fs.statSync(cacheOf('run'))
    const r = xp(['run', '-n', 'one', '--', 'true'])
    expect(r.code, r.stderr).toBe(0)
    // V8 took it: a refused cache would have been written anew when the process ended
    expect(fs.statSync(cacheOf('run')).mtimeMs).toBe(stat.mtimeMs)
    expect(fs.readFileSync(cacheOf('run')).equals(before)).toBe(true)

    fs.rmSync(cacheOf('note'), { force: true })
    expect(xp(['note', 'one', 'a first note']).code).toBe(0)
    expect(fs.statSync(cacheOf('note')).size).toBeGreaterThan(10_000)
    expect(caches(userCache)).toEqual([]) // the bundle's folder was writable
  })

  it('the files beside the bundle (yargs.cjs, aws-sdk.cjs...) have caches of their own, taken the same way', () => {
    const yargsCache = path.join(dist, `xp.${buildId}-${process.versions.v8}-${process.arch}.yargs.cjs.cache`)
    fs.rmSync(yargsCache, { force: true })
    expect(xp(['show', '-n', '1']).code).toBe(0) // not a fast path: yargs parses it
    const mtime = fs.statSync(yargsCache).mtimeMs
    const again = xp(['show', '-n', '1', '--json'])
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout).map((x: { name: string }) => x.name)).toEqual(['one'])
    expect(fs.statSync(yargsCache).mtimeMs).toBe(mtime)
  })

  it('a damaged cache is refused by V8: the command works as without one, and the cache is written anew', () => {
    fs.writeFileSync(cacheOf('show'), Buffer.alloc(4096, 7))
    const r = xp(['show', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).map((x: { name: string }) => x.name)).toEqual(['one'])
    const rewritten = fs.readFileSync(cacheOf('show'))
    expect(rewritten.equals(Buffer.alloc(4096, 7))).toBe(false)
    expect(rewritten.length).toBeGreaterThan(10_000)
    // and the new one is taken
    const mtime = fs.statSync(cacheOf('show')).mtimeMs
    expect(xp(['show', '--json']).code).toBe(0)
    expect(fs.statSync(cacheOf('show')).mtimeMs).toBe(mtime)
  })

  it('a start with Node options of its own has caches of its own (V8 refuses a cache made under other flags)', () => {
    const plain = fs.statSync(cacheOf('show')).mtimeMs
    const withOptions = () =>
      spawnSync(process.execPath, [path.join(dist, 'bin.cjs'), 'show', '--json'], {
        cwd: repo.dir,
        env: { ...repo.env, XDG_CACHE_HOME: userCache, NODE_OPTIONS: '--max-old-space-size=3000' },
        encoding: 'utf8',
      })
    const before = new Set(caches(dist))
    expect(withOptions().status).toBe(0)
    // the command's own and yargs' (show parses with it), both named by the options
    const own = caches(dist)
      .filter((f) => !before.has(f))
      .sort()
    expect(own).toEqual([expect.stringMatching(/-o[0-9a-f]{8}\.show\.cache$/), expect.stringMatching(/-o[0-9a-f]{8}\.yargs\.cjs\.cache$/)])
    const mtime = fs.statSync(path.join(dist, own[0])).mtimeMs
    expect(withOptions().status).toBe(0)
    expect(xp(['show', '--json']).code).toBe(0)
    // each was taken as it was: neither start rewrote the other's
    expect(fs.statSync(path.join(dist, own[0])).mtimeMs).toBe(mtime)
    expect(fs.statSync(cacheOf('show')).mtimeMs).toBe(plain)
  })

  it("when the bundle's folder cannot take the cache, it goes to the user's own cache folder", () => {
    // a folder where the cache file would be: the rename onto it fails, as in a read-only install
    fs.rmSync(cacheOf('branch'), { force: true })
    fs.mkdirSync(cacheOf('branch'))
    // what an older build and a killed start left there: swept when a cache is written
    const mine = path.join(userCache, 'xp')
    fs.mkdirSync(mine, { recursive: true, mode: 0o700 })
    const old = (name: string, days: number) => {
      fs.writeFileSync(path.join(mine, name), 'x')
      const t = new Date(Date.now() - days * 24 * 3600 * 1000)
      fs.utimesSync(path.join(mine, name), t, t)
    }
    old('xp.0123456789abcdef-11.3-x64.show.cache', 40) // an old build's, untouched for 40 days
    old('xp.fedcba9876543210-11.3-x64.show.cache', 1) // another install's, in use
    old(`${path.basename(cacheOf('show'))}.4242.tmp`, 2) // a start killed while it wrote
    const r = xp(['branch', 'one', 'from-one'])
    expect(r.code, r.stderr).toBe(0)
    expect(fs.readdirSync(mine).sort()).toEqual([path.basename(cacheOf('branch')), 'xp.fedcba9876543210-11.3-x64.show.cache'].sort())
    expect(fs.statSync(path.join(userCache, 'xp')).mode & 0o777).toBe(0o700)
    // and the next start finds it there
    const mtime = fs.statSync(path.join(userCache, 'xp', path.basename(cacheOf('branch')))).mtimeMs
    expect(xp(['branch', 'one', 'from-one-again']).code).toBe(0)
    expect(fs.statSync(path.join(userCache, 'xp', path.basename(cacheOf('branch')))).mtimeMs).toBe(mtime)
    expect(fs.readdirSync(dist).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})
