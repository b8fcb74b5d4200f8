/**
 * Where runs meet data versioning (docs/architecture.md#cache): deps are hashed (and cached) before the
 * command, outs and large untracked files cached after it and put in the run's tree as
 * pointer files, their bytes kept out of git. Paths that git tracks stay in git: a dep or
 * out committed by the user is recorded by oid but not replaced by a pointer.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo, ProjectConfig } from '../repo.js'
import type { DataEntry } from './record.js'
import type { ExtraFile } from './snapshot.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { safeRelPath } from '../cache/manifest.js'
import { cleanTemp, putFile } from '../cache/objects.js'
import { StatCache } from '../cache/state.js'
import { hashPath } from '../cache/workspace.js'
import { ignoreInGit } from '../cache/add.js'
import { encodePointer, pointerFileFor, resolveDataPath } from '../cache/pointer.js'

export interface DataBefore {
  deps: Record<string, DataEntry>
}

export interface DataAfter {
  outs: Record<string, DataEntry>
  /** pointer files to put in the tree */
  extra: ExtraFile[]
  /** paths whose bytes stay out of git */
  exclude: string[]
  /** large untracked files that were cached instead of committed */
  cached: string[]
}

/** A config path as a safe repo-relative data path (`./data/` -> `data`). */
function configPath(root: string, p: string, key: string): string {
  const rel = path.posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '').replace(/^\.\//, '')
  safeRelPath(rel, `xp.yaml ${key}`)
  resolveDataPath(root, pointerFileFor(rel), path.posix.basename(rel))
  return rel
}

async function trackedByGit(repo: Repo, rels: string[]): Promise<Set<string>> {
  if (!rels.length) return new Set()
  const tracked = new Set<string>()
  for (const rel of rels) {
    const { stdout } = await git(['ls-files', '-z', '--', `:(literal)${rel}`], { cwd: repo.root, env: repo.ctx.env })
    if (stdout.length) tracked.add(rel)
  }
  return tracked
}

async function cacheEntry(repo: Repo, state: StatCache, rel: string): Promise<DataEntry> {
  const h = await hashPath({ root: repo.root, cacheDir: repo.cacheDir, state, store: true, signal: repo.ctx.signal }, rel)
  return h.files === undefined ? { oid: h.oid, size: h.size } : { oid: h.oid, size: h.size, files: h.files }
}

function pointerExtra(rel: string, e: DataEntry): ExtraFile {
  return { path: pointerFileFor(rel), content: encodePointer({ path: path.posix.basename(rel), oid: e.oid, size: e.size, files: e.files }) }
}

export async function dataBeforeRun(repo: Repo, config: ProjectConfig): Promise<DataBefore> {
  const deps: Record<string, DataEntry> = {}
  if (!config.deps.length) return { deps }
  cleanTemp(repo.cacheDir)
  const state = StatCache.load(repo.xpDir)
  try {
    for (const p of config.deps) {
      const rel = configPath(repo.root, p, 'deps')
      if (!fs.existsSync(path.join(repo.root, rel))) {
        repo.ctx.warn(`dep ${rel} does not exist; the run records no data for it`)
        continue
      }
      deps[rel] = await cacheEntry(repo, state, rel)
    }
  } finally {
    state.save()
  }
  return { deps }
}

export async function dataAfterRun(
  repo: Repo,
  config: ProjectConfig,
  large: Array<{ path: string; size: number }>,
  before: DataBefore = { deps: {} },
): Promise<DataAfter> {
  const after: DataAfter = { outs: {}, extra: [], exclude: [], cached: [] }
  const outs = config.outs.map((p) => configPath(repo.root, p, 'outs'))
  if (!outs.length && !large.length && !Object.keys(before.deps).length) return after
  const state = StatCache.load(repo.xpDir)
  try {
    const inGit = await trackedByGit(repo, [...outs, ...Object.keys(before.deps)])
    for (const [rel, e] of Object.entries(before.deps)) {
      if (inGit.has(rel)) continue
      after.extra.push(pointerExtra(rel, e))
      after.exclude.push(rel)
    }
    for (const rel of outs) {
      if (!fs.existsSync(path.join(repo.root, rel))) {
        repo.ctx.warn(`out ${rel} was not written by the command; the run records no data for it`)
        continue
      }
      try {
        after.outs[rel] = await cacheEntry(repo, state, rel)
      } catch (e) {
        // a run is recorded whatever happens to one output
        if (!(e instanceof XpError)) throw e
        repo.ctx.warn(`out ${rel} could not be cached: ${e.message}`)
        continue
      }
      if (inGit.has(rel)) continue
      if (!after.exclude.includes(rel)) {
        after.extra.push(pointerExtra(rel, after.outs[rel]))
        after.exclude.push(rel)
      }
    }
    const covered = (p: string) => after.exclude.some((x) => p === x || p.startsWith(x + '/'))
    for (const l of large) {
      if (covered(l.path)) {
        after.cached.push(l.path)
        continue
      }
      try {
        const { oid, size } = await putFile(repo.cacheDir, path.join(repo.root, l.path))
        after.extra.push(pointerExtra(l.path, { oid, size }))
        after.exclude.push(l.path)
        after.cached.push(l.path)
      } catch (e) {
        if (!(e instanceof XpError)) throw e
        repo.ctx.warn(`${l.path} could not be cached: ${e.message}`)
      }
    }
  } finally {
    state.save()
  }
  // outs are git-ignored as `xp add` ignores what it tracks: the next `git add .` must not
  // commit a model, and the next `xp apply` must not find it in the way
  const outsIgnored = await ignoredByGit(repo, Object.keys(after.outs))
  for (const rel of Object.keys(after.outs)) if (after.exclude.includes(rel) && !outsIgnored.has(rel)) ignoreInGit(repo.root, rel)
  // ignored paths never reach the snapshot, and naming them to `git add` is an error
  const ignored = await ignoredByGit(repo, after.exclude)
  after.exclude = after.exclude.filter((p) => !ignored.has(p))
  return after
}

async function ignoredByGit(repo: Repo, rels: string[]): Promise<Set<string>> {
  if (!rels.length) return new Set()
  const res = await git(['check-ignore', '-z', '--stdin'], { cwd: repo.root, env: repo.ctx.env, input: rels.join('\0') + '\0', allowFail: true })
  return new Set(res.stdout.split('\0').filter(Boolean))
}
