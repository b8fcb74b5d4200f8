/**
 * dist/bin.cjs: starts the bundle dist/xp.cjs from V8's code cache (the compiled code of
 * every function a first process used), so a start neither parses nor compiles it again.
 * Node 20 has no compile cache of its own (`module.enableCompileCache` came in Node 22),
 * and ES modules cannot use one; this is what made the bundle one CommonJS file. Measured
 * with the rest of that pass (docs/speed-history.md): `xp run -- true` 111 -> 86 ms, no-op
 * `xp status` 100 -> 79 ms, `xp show` 137 -> 97 ms.
 *
 * Where the cache is: `xp.<build>-<v8>-<arch>[-o<options>].<command>.cache` beside the bundle (the build
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
  return `${CACHE_PREFIX}.${command}.cache`
}

/**
 * What a cache was made for: the build, the V8, and Node's options when there are any (V8
 * refuses a cache made under other flags: `NODE_OPTIONS=--max-old-space-size=...` on some
 * calls and not others would have each start rewrite the other's). FNV-1a of the options:
 * `crypto` costs a start 3 ms.
 */
function cachePrefix(): string {
  const options = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ').trim()
  let h = 0x811c9dc5
  for (let i = 0; i < options.length; i++) h = Math.imul(h ^ options.charCodeAt(i), 0x01000193) >>> 0
  return `xp.${__XP_BUILD_ID__}-${process.versions.v8}-${process.arch}${options ? `-o${h.toString(16).padStart(8, '0')}` : ''}`
}

const CACHE_PREFIX = cachePrefix()

/** The cache of a file the bundle requires beside it (`yargs.cjs`...): one for every command. */
const sideCacheName = (file: string) => `${CACHE_PREFIX}.${file}.cache`

function userCacheDir(): string | undefined {
  const base = process.env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '')
  return base && path.isAbsolute(base) ? path.join(base, 'xp') : undefined
}

function readCache(name: string): Buffer | undefined {
  for (const dir of [__dirname, userCacheDir()]) {
    if (!dir) continue
    try {
      return fs.readFileSync(path.join(dir, name))
    } catch {
      // not here
    }
  }
  return undefined
}

/** Write `data()` as the cache: beside the bundle, else in the user's folder; silent when neither can be written. */
function writeCache(name: string, data: () => Buffer): void {
  for (const dir of [__dirname, userCacheDir()]) {
    if (!dir) continue
    const tmp = path.join(dir, `${name}.${process.pid}.tmp`)
    try {
      if (dir !== __dirname) fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
      fs.writeFileSync(tmp, data(), { mode: 0o644 })
      fs.renameSync(tmp, path.join(dir, name))
      sweep(dir)
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

const DAY_MS = 24 * 3600 * 1000

/**
 * When a cache is written (a first start, rarely): what a killed start left half-written
 * a day ago, and the caches of other builds untouched for 30 days (an upgrade leaves the
 * old build's in the user's folder; another install still in use keeps its own fresh).
 */
function sweep(dir: string): void {
  try {
    const now = Date.now()
    for (const f of fs.readdirSync(dir)) {
      const tmp = /^xp\..*\.cache\.\d+\.tmp$/.test(f)
      const foreign = /^xp\.[0-9a-f]+-.*\.cache$/.test(f) && !f.startsWith(`xp.${__XP_BUILD_ID__}-`)
      if (!tmp && !foreign) continue
      const file = path.join(dir, f)
      if (now - fs.statSync(file).mtimeMs > (tmp ? DAY_MS : 30 * DAY_MS)) fs.rmSync(file, { force: true })
    }
  } catch {
    // tidying only
  }
}

/**
 * Run a CommonJS file compiled from its cache `name` when V8 takes it; else compiled from
 * its source, and the cache written when the process exits (with every function compiled
 * by then). `req` is the file's `require`.
 */
function runCached(file: string, name: string, req: (id: string) => unknown): unknown {
  const cachedData = readCache(name)
  const source = fs.readFileSync(file, 'utf8')
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData })
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => writeCache(name, () => script.createCachedData()))
  const module = { exports: {} as unknown }
  script.runInThisContext()(module.exports, req, module, file, path.dirname(file))
  return module.exports
}

/**
 * The bundle's `require`: the files beside it (`./yargs.cjs`, `./aws-sdk.cjs`... the
 * build's SIDE_BUNDLES) through their own caches, once each; anything else (Node's own
 * modules) as usual. yargs' file holds regular expressions V8 builds while it parses
 * them: 27 ms to compile, none from its cache.
 */
function bundleRequire(): (id: string) => unknown {
  const plain = createRequire(bundle)
  const side = new Map<string, unknown>()
  return (id: string) => {
    if (!/^\.\/[a-z-]+\.cjs$/.test(id)) return plain(id)
    if (!side.has(id)) {
      const file = path.join(__dirname, id)
      side.set(id, runCached(file, sideCacheName(id.slice(2)), createRequire(file)))
    }
    return side.get(id)
  }
}

/** The bundle's exports, compiled from the cache of this command when V8 takes it (else one is written at exit). */
export function load(): Bundle & Record<string, unknown> {
  return runCached(bundle, cacheName(process.argv), bundleRequire()) as Bundle & Record<string, unknown>
}

if (require.main === module) load().launch()
