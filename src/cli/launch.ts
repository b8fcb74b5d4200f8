/**
 * dist/bin.cjs: starts the bundle dist/xp.cjs from V8's code cache (the compiled code of
 * every function a first process used), so a start neither parses nor compiles it again.
 * Node 20 has no compile cache of its own (`module.enableCompileCache` came in Node 22),
 * and ES modules cannot use one; this is what made the bundle one CommonJS file. Measured
 * (docs/speed-history.md): `xp run -- true` 110 -> 97 ms, no-op `xp status` 70 -> 62 ms.
 *
 * Where the cache is: `xp.<build>-<v8>-<arch>.<command>.cache` beside the bundle (the build
 * makes those of the everyday commands by running them: scripts/train-code-cache.cjs),
 * else the same name in the user's own cache folder (`$XDG_CACHE_HOME/xp`, `~/.cache/xp`). A cache is only used
 * for the build and the V8 it was made by, both in its name: V8 checks no more of the
 * source than its length. When there is none, or V8 refuses it (other flags), the bundle is
 * compiled as `require` would, and the process writes a cache when it exits: beside the
 * bundle when that folder is writable, else in the user's folder (never a shared one such
 * as /tmp: code there would be run). A temporary name, then a rename: a reader never sees
 * half of one. A cache changes how fast xp starts, never what it does.
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import vm from 'node:vm'

declare const __XP_BUILD_ID__: string

interface Bundle {
  launch(): void
}

const bundle = path.join(__dirname, 'xp.cjs')
/**
 * One cache per command (`xp run` needs none of push's code; V8 reads a whole cache in,
 * 8.5 ms for one of every everyday command's code, against 44 ms to compile without one).
 * The command is the first argument when it is a plain word; anything else shares one.
 */
export function cacheName(argv: readonly string[]): string {
  const command = /^[a-z]{2,12}$/.test(argv[2] ?? '') ? argv[2] : 'other'
  return `xp.${__XP_BUILD_ID__}-${process.versions.v8}-${process.arch}.${command}.cache`
}

const CACHE_NAME = cacheName(process.argv)

function userCacheDir(): string | undefined {
  const base = process.env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '')
  return base && path.isAbsolute(base) ? path.join(base, 'xp') : undefined
}

function readCache(): Buffer | undefined {
  for (const dir of [__dirname, userCacheDir()]) {
    if (!dir) continue
    try {
      return fs.readFileSync(path.join(dir, CACHE_NAME))
    } catch {
      // not here
    }
  }
  return undefined
}

/** Write `data()` as the cache: beside the bundle, else in the user's folder; silent when neither can be written. */
function writeCache(data: () => Buffer): void {
  for (const dir of [__dirname, userCacheDir()]) {
    if (!dir) continue
    const tmp = path.join(dir, `${CACHE_NAME}.${process.pid}.tmp`)
    try {
      if (dir !== __dirname) fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
      fs.writeFileSync(tmp, data(), { mode: 0o644 })
      fs.renameSync(tmp, path.join(dir, CACHE_NAME))
      return
    } catch {
      try {
        fs.rmSync(tmp, { force: true })
      } catch {
        // nothing was made
      }
    }
  }
}

function compile(cachedData?: Buffer): { script: vm.Script; exports: Bundle & Record<string, unknown> } {
  const source = fs.readFileSync(bundle, 'utf8')
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData })
  const module = { exports: {} as Bundle & Record<string, unknown> }
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, __dirname)
  return { script, exports: module.exports }
}

/** The bundle's exports, compiled from the cache when there is one that V8 takes (else one is written at exit). */
export function load(): Bundle & Record<string, unknown> {
  const cachedData = readCache()
  const { script, exports } = compile(cachedData)
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => writeCache(() => script.createCachedData()))
  return exports
}

if (require.main === module) load().launch()
