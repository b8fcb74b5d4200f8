/**
 * The model-based integrity test (issue 10): random sequences of what users do to data
 * (write/modify/delete files, add, status, run with deps/outs, checkout, apply, rm, gc,
 * push, pull into a second clone, damage to cache objects, kill -9 mid-command), checked
 * after every step against a small in-memory model:
 *
 * - every reachable reference (working-tree pointers, run records) resolves to intact
 *   bytes in the cache or on the data remote, unless the test itself damaged that object;
 * - what `add`, `run`, `checkout` and `apply` record or write is what the disk held;
 * - no corrupted byte ever reaches the working tree, the remote or the second clone;
 * - `fsck` says "all good" exactly when every object is intact and every reference present.
 *
 * Seeded (mulberry32) and shrinking: a failing sequence is cut down by deleting steps
 * while it still fails, and reported with its seed. Core functions run in-process; only
 * kill -9 spawns the built CLI.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createXXHash128 } from 'hash-wasm'
import { makeContext } from '../src/core/context.js'
import { findRepo, type Repo } from '../src/core/repo.js'
import { addPaths } from '../src/core/cache/add.js'
import { dataStatus } from '../src/core/cache/status.js'
import { checkoutData } from '../src/core/cache/checkout.js'
import { gcCache } from '../src/core/cache/gc.js'
import { fsckCache } from '../src/core/cache/fsck.js'
import { objectPath } from '../src/core/cache/oid.js'
import { encodeManifest, decodeManifest, type ManifestEntry } from '../src/core/cache/manifest.js'
import { recordRun } from '../src/core/runs/record-run.js'
import { applyRun, removeRuns } from '../src/core/runs/manage.js'
import { pushRuns } from '../src/core/sync/push.js'
import { pullRuns } from '../src/core/sync/pull.js'
import { XpError } from '../src/core/errors.js'
import { XP, testEnv } from './helpers.js'

export type Op =
  | { k: 'write'; file: number; content: number; reps: number }
  | { k: 'rmfile'; file: number }
  | { k: 'add'; what: number }
  | { k: 'status' }
  | { k: 'checkout'; force: boolean }
  | { k: 'gc' }
  | { k: 'run' }
  | { k: 'apply'; run: number }
  | { k: 'rmrun'; run: number }
  | { k: 'push' }
  | { k: 'pull' }
  | { k: 'damage'; obj: number; how: 'delete' | 'flip' | 'append' }
  | { k: 'damageRemote'; obj: number; how: 'delete' | 'flip' | 'append' }
  | { k: 'kill'; what: number; delayMs: number }

const FILES = ['d/a', 'd/b', 'd/s/c', 'f']
const TRACKED = ['d', 'f']
const TAGS = ['alpha', 'beta', 'gamma', 'delta', 'eps']

/** mulberry32: small, fast, good enough to drive a test. */
export function rng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n: number) => Math.floor(next() * n) }
}

export interface GenOptions {
  length: number
  /** include ops that spawn the CLI (kill -9) */
  kill?: boolean
  /** include the test's own damage to cache and remote objects (default true) */
  damage?: boolean
}

/** A random sequence of abstract steps (indices are taken modulo what exists when the step runs, so any subsequence is valid). */
export function generate(seed: number, o: GenOptions): Op[] {
  const r = rng(seed)
  const how = () => (['delete', 'flip', 'append'] as const)[r.int(3)]
  const ops: Op[] = []
  const table: Array<[number, () => Op]> = [
    [22, () => ({ k: 'write', file: r.int(FILES.length), content: r.int(TAGS.length), reps: 1 + r.int(4) })],
    [4, () => ({ k: 'rmfile', file: r.int(FILES.length) })],
    [18, () => ({ k: 'add', what: r.int(TRACKED.length) })],
    [10, () => ({ k: 'status' })],
    [6, () => ({ k: 'checkout', force: r.next() < 0.5 })],
    [5, () => ({ k: 'gc' })],
    [3, () => ({ k: 'run' })],
    [3, () => ({ k: 'apply', run: r.int(8) })],
    [2, () => ({ k: 'rmrun', run: r.int(8) })],
    [4, () => ({ k: 'push' })],
    [3, () => ({ k: 'pull' })],
    [o.damage === false ? 0 : 5, () => ({ k: 'damage', obj: r.int(64), how: how() })],
    [o.damage === false ? 0 : 2, () => ({ k: 'damageRemote', obj: r.int(64), how: how() })],
    [o.kill ? 2 : 0, () => ({ k: 'kill', what: r.int(TRACKED.length), delayMs: r.int(250) })],
  ]
  const total = table.reduce((s, [w]) => s + w, 0)
  for (let i = 0; i < o.length; i++) {
    let x = r.int(total)
    for (const [w, make] of table) {
      if (x < w) {
        ops.push(make())
        break
      }
      x -= w
    }
  }
  return ops
}

export function describe(op: Op): string {
  switch (op.k) {
    case 'write':
      return `write ${FILES[op.file]} = ${TAGS[op.content]}x${op.reps}`
    case 'rmfile':
      return `rm ${FILES[op.file]}`
    case 'add':
      return `xp add ${TRACKED[op.what]}`
    case 'kill':
      return `xp add ${TRACKED[op.what]} (kill -9 after ${op.delayMs} ms)`
    case 'checkout':
      return `xp checkout${op.force ? ' --force' : ''}`
    case 'gc':
      return 'xp gc --grace 0'
    case 'apply':
    case 'rmrun':
      return `xp ${op.k === 'rmrun' ? 'rm' : 'apply'} run#${op.run}`
    case 'damage':
    case 'damageRemote':
      return `${op.how} ${op.k === 'damage' ? 'cache' : 'remote'} object #${op.obj}`
    default:
      return `xp ${op.k}`
  }
}

/** An invariant that did not hold: the step, and what was wrong. */
export class Violation extends Error {}

let h128: Awaited<ReturnType<typeof createXXHash128>> | undefined
async function xxh(bytes: Uint8Array): Promise<string> {
  h128 ??= await createXXHash128()
  h128.init()
  h128.update(bytes)
  return h128.digest('hex')
}

interface RunModel {
  id: string
  oids: string[]
  deps: Record<string, string>
  outs: Record<string, string>
}

const gitq = (cwd: string, env: Record<string, string>, ...args: string[]) => {
  const r = spawnSync('git', args, { cwd, env, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** Worlds live in memory when they can (/dev/shm): thousands of small repositories are created and removed. */
const SCRATCH = process.env.XP_MODEL_TMP ?? (fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').isDirectory() ? '/dev/shm' : os.tmpdir())
const removing: Array<Promise<void>> = []

/** Wait for the worlds still being removed in the background. */
export async function drainCleanup(): Promise<void> {
  await Promise.allSettled(removing.splice(0))
}

/** One world: repository A (with a bare git remote and a folder data remote) and clone B. */
export class World {
  base: string
  a: string
  b: string
  remoteDir: string
  env: Record<string, string>
  repoA!: Repo
  repoB!: Repo
  runs: RunModel[] = []
  /** objects the test damaged in A's cache / on the remote (their loss is explained) */
  damaged = new Set<string>()
  damagedRemote = new Set<string>()
  /** oids whose corruption kept their size (a no-op add cannot notice those) */
  flipped = new Set<string>()
  flippedRemote = new Set<string>()
  warnings: string[] = []
  log: string[] = []

  constructor() {
    this.base = fs.mkdtempSync(path.join(SCRATCH, 'xp-model-'))
    this.a = path.join(this.base, 'a')
    this.b = path.join(this.base, 'b')
    this.remoteDir = path.join(this.base, 'store')
    fs.mkdirSync(path.join(this.base, 'home'))
    this.env = testEnv(path.join(this.base, 'home'))
  }

  /** Build the starting world once (eight git processes), then copy it for every sequence: its paths are all relative. */
  private static template: string | undefined

  private static makeTemplate(env: Record<string, string>): string {
    const base = fs.mkdtempSync(path.join(SCRATCH, 'xp-model-template-'))
    const a = path.join(base, 'a')
    fs.mkdirSync(a)
    fs.mkdirSync(path.join(base, 'store'))
    gitq(base, env, 'init', '-q', '--bare', '-b', 'main', 'origin.git')
    gitq(a, env, 'init', '-q', '-b', 'main')
    fs.writeFileSync(path.join(a, 'xp.yaml'), 'deps: [d]\nouts: [o]\nremote: store\nremotes:\n  store: {url: ../store}\n')
    gitq(a, env, 'add', 'xp.yaml')
    gitq(a, env, 'commit', '-q', '-m', 'init')
    gitq(a, env, 'remote', 'add', 'origin', '../origin.git')
    gitq(a, env, 'push', '-q', 'origin', 'main')
    gitq(base, env, 'clone', '-q', 'origin.git', 'b')
    gitq(path.join(base, 'b'), env, 'remote', 'set-url', 'origin', '../origin.git')
    process.on('exit', () => fs.rmSync(base, { recursive: true, force: true }))
    return base
  }

  async init() {
    const env = this.env
    World.template ??= World.makeTemplate(env)
    for (const d of ['a', 'b', 'store', 'origin.git']) fs.cpSync(path.join(World.template, d), path.join(this.base, d), { recursive: true })
    this.repoA = await findRepo(makeContext({ cwd: this.a, env, warn: (m) => this.warnings.push(m) }))
    this.repoB = await findRepo(makeContext({ cwd: this.b, env, warn: (m) => this.warnings.push(m) }))
  }

  /** Removed in the background, overlapping the next sequence (drainCleanup waits). */
  cleanup() {
    removing.push(fs.promises.rm(this.base, { recursive: true, force: true }))
  }

  // ---- reading the truth from disk ----

  /** The manifest oid (or file oid) the disk holds at a data path now, or null when absent. */
  async diskOid(root: string, rel: string): Promise<string | null> {
    const abs = path.join(root, rel)
    let st: fs.Stats
    try {
      st = fs.statSync(abs)
    } catch {
      return null
    }
    if (st.isFile()) return xxh(fs.readFileSync(abs))
    const entries: ManifestEntry[] = []
    const walk = async (dir: string, prefix: string) => {
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const r = prefix ? `${prefix}/${d.name}` : d.name
        const full = path.join(dir, d.name)
        if (d.isDirectory()) await walk(full, r)
        else {
          const s = fs.statSync(full)
          entries.push({ path: r, oid: await xxh(fs.readFileSync(full)), size: s.size, mode: s.mode & 0o100 ? 493 : 420 })
        }
      }
    }
    await walk(abs, '')
    entries.sort((x, y) => Buffer.compare(Buffer.from(x.path), Buffer.from(y.path)))
    return (await xxh(encodeManifest(entries))) + '.dir'
  }

  /** Is the object at `file` intact (present, hashing to its name)? */
  async intactAt(file: string, oid: string): Promise<boolean> {
    let bytes: Buffer
    try {
      bytes = fs.readFileSync(file)
    } catch {
      return false
    }
    return (await xxh(bytes)) === oid.replace(/\.dir$/, '')
  }

  remoteFile(oid: string) {
    return path.join(this.remoteDir, oid.slice(0, 2), oid.slice(2))
  }

  /** The pointer files of A's working tree: data path -> oid. */
  pointers(root: string): Map<string, string> {
    const out = new Map<string, string>()
    for (const p of [...TRACKED, 'o']) {
      try {
        const text = fs.readFileSync(path.join(root, p + '.xp'), 'utf8')
        const m = /^oid: (\S+)$/m.exec(text)
        if (m) out.set(p, m[1])
      } catch {
        // none
      }
    }
    return out
  }

  /** Every oid a reference reaches, manifests expanded from the cache or the remote. */
  async expand(root: string, cacheDir: string, tops: string[]): Promise<string[]> {
    const out = new Set<string>()
    for (const o of tops) {
      out.add(o)
      if (!o.endsWith('.dir')) continue
      for (const file of [objectPath(cacheDir, o), this.remoteFile(o)]) {
        if (!(await this.intactAt(file, o))) continue
        for (const e of decodeManifest(fs.readFileSync(file))) out.add(e.oid)
        break
      }
    }
    void root
    return [...out]
  }

  references(): string[] {
    return [...this.pointers(this.a).values(), ...this.runs.flatMap((r) => r.oids)]
  }

  cacheObjects(cacheDir: string): Array<{ oid: string; file: string }> {
    const out: Array<{ oid: string; file: string }> = []
    let tops: string[] = []
    try {
      tops = fs
        .readdirSync(cacheDir)
        .filter((t) => /^[0-9a-f]{2}$/.test(t))
        .sort()
    } catch {
      return out
    }
    for (const t of tops)
      for (const n of fs.readdirSync(path.join(cacheDir, t)).sort())
        if (/^[0-9a-f]{30}(\.dir)?$/.test(n)) out.push({ oid: t + n, file: path.join(cacheDir, t, n) })
    return out
  }

  fail(msg: string): never {
    throw new Violation(msg)
  }

  /** No damaged byte in a working tree: damage writes '#' first or appends CORRUPT, which no content has. */
  checkTreeClean(root: string, where: string) {
    const walk = (dir: string) => {
      let ents: fs.Dirent[]
      try {
        ents = fs.readdirSync(dir, { withFileTypes: true })
      } catch {
        return
      }
      for (const d of ents) {
        const full = path.join(dir, d.name)
        if (d.isDirectory()) walk(full)
        else if (d.isFile()) {
          const s = fs.readFileSync(full, 'latin1')
          if (s.startsWith('#') || s.includes('CORRUPT')) this.fail(`a corrupt object reached ${where}'s working tree: ${path.relative(root, full)}`)
        }
      }
    }
    for (const p of [...TRACKED, 'o']) walk(path.join(root, p))
    for (const p of ['f', 'o']) {
      try {
        const s = fs.readFileSync(path.join(root, p), 'latin1')
        if (s.startsWith('#') || s.includes('CORRUPT')) this.fail(`a corrupt object reached ${where}'s working tree: ${p}`)
      } catch {
        // absent
      }
    }
  }

  /** The invariants that hold after every step; `fsck` also runs fsck and compares (the costly part: a few git processes). */
  async checkInvariants(fsck = true) {
    const cache = this.repoA.cacheDir
    const refs = await this.expand(this.a, cache, this.references())
    const localBad: string[] = []
    for (const oid of refs) {
      const local = await this.intactAt(objectPath(cache, oid), oid)
      if (local) continue
      localBad.push(oid)
      const remote = await this.intactAt(this.remoteFile(oid), oid)
      if (remote) continue
      if (!this.damaged.has(oid)) this.fail(`object ${oid} is referenced but lost (not in the cache, not on the remote) and nothing damaged it`)
    }
    const corruptInCache: string[] = []
    for (const o of this.cacheObjects(cache)) if (!(await this.intactAt(o.file, o.oid))) corruptInCache.push(o.oid)
    for (const o of corruptInCache)
      if (!this.damaged.has(o)) this.fail(`object ${o} in the cache does not match its name, and nothing damaged it (a partial or wrong object)`)
    for (const o of this.cacheObjects(this.remoteDir))
      if (!(await this.intactAt(o.file, o.oid)) && !this.damagedRemote.has(o.oid))
        this.fail(`object ${o.oid} on the remote is corrupt, and the test did not damage it (a corrupt upload)`)
    for (const o of this.cacheObjects(this.repoB.cacheDir))
      if (!(await this.intactAt(o.file, o.oid))) this.fail(`object ${o.oid} in clone B's cache is corrupt`)
    this.checkTreeClean(this.a, 'A')
    this.checkTreeClean(this.b, 'B')
    if (!fsck) return
    // fsck agrees: all good exactly when every object is intact and every reference present
    const f = (await fsckCache(this.repoA, { names: false })) as { corrupt: unknown[]; missing?: unknown[] }
    const fsckOk = f.corrupt.length === 0 && (f.missing?.length ?? 0) === 0
    const truthOk = localBad.length === 0 && corruptInCache.length === 0
    if (fsckOk && !truthOk)
      this.fail(`fsck says all good, but ${localBad.length ? `referenced ${localBad[0]} is missing or corrupt` : `${corruptInCache[0]} is corrupt`}`)
    if (!fsckOk && truthOk) this.fail(`fsck reports a problem (${JSON.stringify(f).slice(0, 300)}) where there is none`)
  }

  // ---- steps ----

  private async expectOk<T>(what: string, p: Promise<T>, allowed: string[] = []): Promise<T | null> {
    try {
      return await p
    } catch (e) {
      if (e instanceof XpError && allowed.includes(e.code)) return null
      if (e instanceof XpError) this.fail(`${what} failed with ${e.code}: ${e.message}`)
      throw e
    }
  }

  /** Explained loss: some object the reference needs was damaged by the test (or is only on a damaged remote). */
  private explained(oids: string[]): boolean {
    return oids.some((o) => this.damaged.has(o))
  }

  async step(op: Op) {
    const A = this.repoA
    const cache = A.cacheDir
    switch (op.k) {
      case 'write': {
        const file = path.join(this.a, FILES[op.file])
        const content = `${TAGS[op.content]}\n`.repeat(op.reps)
        // a file and a folder cannot share a name: writing d/s/c needs d/s to be a folder
        fs.mkdirSync(path.dirname(file), { recursive: true })
        try {
          if (fs.lstatSync(file).isDirectory()) fs.rmSync(file, { recursive: true })
        } catch {
          // absent
        }
        try {
          fs.writeFileSync(file, content)
        } catch (e) {
          // a read-only hardlink or a vanished folder: replace, as editors do
          fs.rmSync(file, { force: true })
          fs.writeFileSync(file, content)
          void e
        }
        break
      }
      case 'rmfile':
        fs.rmSync(path.join(this.a, FILES[op.file]), { force: true })
        break
      case 'add': {
        const rel = TRACKED[op.what]
        const before = await this.diskOid(this.a, rel)
        const res = await this.expectOk(`xp add ${rel}`, addPaths(A, { paths: [rel] }), before === null ? ['XP_PATH_NOT_FOUND'] : [])
        if (!res) break
        if (res[0].oid !== before) this.fail(`xp add ${rel} recorded ${res[0].oid}, but the disk holds ${before}`)
        // add heals: everything the new pointer needs is in the cache (size-keeping damage aside)
        for (const oid of await this.expand(this.a, cache, [res[0].oid])) {
          if (await this.intactAt(objectPath(cache, oid), oid)) {
            this.damaged.delete(oid)
            this.flipped.delete(oid)
          } else if (!this.flipped.has(oid)) this.fail(`after xp add ${rel}, object ${oid} it points at is not in the cache`)
        }
        break
      }
      case 'kill': {
        const rel = TRACKED[op.what]
        if (!fs.existsSync(path.join(this.a, rel))) break
        await new Promise<void>((resolve) => {
          const child = spawn(process.execPath, [XP, 'add', rel], { cwd: this.a, env: this.env, stdio: 'ignore' })
          const t = setTimeout(() => child.kill('SIGKILL'), op.delayMs)
          child.on('close', () => {
            clearTimeout(t)
            resolve()
          })
        })
        break
      }
      case 'status':
        await this.expectOk('xp status', dataStatus(A))
        break
      case 'checkout': {
        const ptrs = this.pointers(this.a)
        const needed = await this.expand(this.a, cache, [...ptrs.values()])
        const res = await this.expectOk('xp checkout', checkoutData(A, { force: op.force }), ['XP_CHECKOUT_CONFLICT', 'XP_CACHE_MISSING', 'XP_CACHE_CORRUPT'])
        if (res) {
          for (const [p, oid] of ptrs) {
            const now = await this.diskOid(this.a, p)
            if (now !== oid && !(oid.endsWith('.dir') && now === null)) this.fail(`after xp checkout, ${p} holds ${now}, its pointer says ${oid}`)
          }
        } else if (op.force && !this.explained(needed)) this.fail('xp checkout --force failed though no object it needs was damaged')
        break
      }
      case 'gc':
        await this.expectOk('xp gc', gcCache(A, { graceS: 0 }))
        break
      case 'run': {
        const dep = await this.diskOid(this.a, 'd')
        const res = await this.expectOk('xp run', recordRun(A, { command: ['sh', '-c', 'cat d/a d/b > o 2>/dev/null; true'] }))
        if (!res) break
        const deps: Record<string, string> = {}
        const outs: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.record.deps)) deps[k] = v.oid
        for (const [k, v] of Object.entries(res.record.outs)) outs[k] = v.oid
        if (dep !== null && deps.d !== dep) this.fail(`xp run recorded dep d as ${deps.d}, the disk held ${dep}`)
        const out = await this.diskOid(this.a, 'o')
        if (outs.o !== out) this.fail(`xp run recorded out o as ${outs.o}, the disk held ${out}`)
        this.runs.push({ id: res.record.id, oids: [...Object.values(deps), ...Object.values(outs)], deps, outs })
        break
      }
      case 'apply': {
        if (!this.runs.length) break
        const run = this.runs[op.run % this.runs.length]
        const needed = await this.expand(this.a, cache, run.oids)
        const res = await this.expectOk(`xp apply ${run.id}`, applyRun(A, { run: run.id, force: true }), ['XP_CACHE_MISSING', 'XP_CACHE_CORRUPT'])
        if (!res) {
          if (!this.explained(needed)) this.fail(`xp apply failed though no object of run ${run.id} was damaged`)
          break
        }
        for (const [p, oid] of Object.entries({ ...run.deps, ...run.outs })) {
          const now = await this.diskOid(this.a, p)
          if (now !== oid) this.fail(`after xp apply, ${p} holds ${now}, the run recorded ${oid}`)
        }
        break
      }
      case 'rmrun': {
        if (!this.runs.length) break
        const i = op.run % this.runs.length
        await this.expectOk('xp rm', removeRuns(A, { runs: [this.runs[i].id] }))
        this.runs.splice(i, 1)
        break
      }
      case 'push': {
        const refs = await this.expand(this.a, cache, this.references())
        const res = await this.expectOk('xp push', pushRuns(A, { remote: 'origin' }), ['XP_DATA_MISSING', 'XP_CACHE_CORRUPT'])
        if (!res) {
          if (!this.explained(refs)) this.fail('xp push failed though no referenced object was damaged')
          break
        }
        // every referenced object intact here is now intact there (a damaged remote copy re-sent),
        // except size-keeping damage on the remote that push cannot see without reading it
        for (const oid of await this.expand(this.a, cache, this.references())) {
          if (!(await this.intactAt(objectPath(cache, oid), oid))) continue
          if (await this.intactAt(this.remoteFile(oid), oid)) {
            this.damagedRemote.delete(oid)
            this.flippedRemote.delete(oid)
          } else if (!this.flippedRemote.has(oid)) this.fail(`after xp push, ${oid} is intact here but not on the remote`)
        }
        break
      }
      case 'pull': {
        const res = await this.expectOk('xp pull (clone B)', pullRuns(this.repoB, { remote: 'origin', allData: true }), [
          'XP_REMOTE_CORRUPT',
          'XP_REMOTE_OBJECT_MISSING',
        ])
        if (!res) break
        break
      }
      case 'damage':
      case 'damageRemote': {
        const root = op.k === 'damage' ? cache : this.remoteDir
        const objs = this.cacheObjects(root)
        if (!objs.length) break
        const o = objs[op.obj % objs.length]
        fs.chmodSync(o.file, 0o644)
        if (op.how === 'delete') fs.rmSync(o.file)
        else if (op.how === 'append') fs.appendFileSync(o.file, 'CORRUPT')
        else {
          const fd = fs.openSync(o.file, 'r+')
          fs.writeSync(fd, '#', 0)
          fs.closeSync(fd)
        }
        // a hardlinked working file shares the inode; the test damages the cache, not the user's file
        ;(op.k === 'damage' ? this.damaged : this.damagedRemote).add(o.oid)
        if (op.how === 'flip') (op.k === 'damage' ? this.flipped : this.flippedRemote).add(o.oid)
        break
      }
    }
  }
}

export interface Outcome {
  ok: boolean
  failedAt?: number
  message?: string
}

/** Run one sequence in a fresh world; the first violated invariant (or unexpected error) ends it. */
/** Milliseconds spent per step kind and in the checks (XP_SOAK_PROFILE=1 prints them). */
export const timings = new Map<string, number>()
const timed = async (k: string, p: Promise<unknown>) => {
  const t = performance.now()
  await p
  timings.set(k, (timings.get(k) ?? 0) + performance.now() - t)
}

const EACH_FSCK = process.env.XP_SOAK_FSCK === 'each'

export async function runSequence(ops: Op[]): Promise<Outcome> {
  const w = new World()
  try {
    await timed('init', w.init())
    for (let i = 0; i < ops.length; i++) {
      try {
        const t0 = performance.now()
        await w.step(ops[i])
        timings.set(ops[i].k, (timings.get(ops[i].k) ?? 0) + performance.now() - t0)
        // fsck after the steps that change what it should say, and at the end (XP_SOAK_FSCK=each: after every step)
        const fsck = EACH_FSCK || i === ops.length - 1 || ['damage', 'gc', 'kill'].includes(ops[i].k)
        const t1 = performance.now()
        await w.checkInvariants(fsck)
        timings.set('check', (timings.get('check') ?? 0) + performance.now() - t1)
      } catch (e) {
        return { ok: false, failedAt: i, message: e instanceof Violation ? e.message : `unexpected ${(e as Error).stack ?? e}` }
      }
    }
    return { ok: true }
  } finally {
    const t = performance.now()
    w.cleanup()
    timings.set('cleanup', (timings.get('cleanup') ?? 0) + performance.now() - t)
  }
}

/** Shrink a failing sequence: drop chunks, then single steps, while it still fails. */
export async function shrink(ops: Op[], first: Outcome): Promise<{ ops: Op[]; outcome: Outcome }> {
  let cur = ops.slice(0, (first.failedAt ?? ops.length - 1) + 1)
  let out = first
  for (let size = Math.max(1, cur.length >> 1); size >= 1; size >>= 1) {
    for (let i = 0; i + size <= cur.length; ) {
      const cand = [...cur.slice(0, i), ...cur.slice(i + size)]
      const r = cand.length ? await runSequence(cand) : { ok: true }
      if (!r.ok) {
        cur = cand.slice(0, (r.failedAt ?? cand.length - 1) + 1)
        out = r
      } else i += size
    }
  }
  return { ops: cur, outcome: out }
}

export function report(seed: number, ops: Op[], outcome: Outcome): string {
  return [`seed ${seed}: ${outcome.message}`, ...ops.map((o, i) => `  ${i + 1}. ${describe(o)}`)].join('\n')
}
