/**
 * Find the git repository around ctx.cwd and the places xp keeps its files.
 * Loading `xp.yaml` is separate (loadConfig) because listing commands never need it.
 */
import path from 'node:path'
import fs from 'node:fs'
import type { Context } from './context.js'
import { git } from './git.js'
import { XpError, EXIT } from './errors.js'
import { parseStructured } from './params.js'
import { repoRelative } from './safety/paths.js'

export interface ArtifactConfig {
  path: string
  type?: string
  description?: string
}

export interface RemoteConfig {
  url: string
  endpoint?: string
  region?: string
  profile?: string
  [key: string]: unknown
}

/** `xp.yaml`, with defaults applied (DESIGN 2.1). */
export interface ProjectConfig {
  command?: string
  params?: string[]
  metrics?: string[]
  series?: string[]
  deps: string[]
  outs: string[]
  artifacts: Record<string, ArtifactConfig>
  remote?: string
  remotes: Record<string, RemoteConfig>
  /** include: untracked files that look like secrets but belong in runs; exclude: untracked files runs leave out (globs) */
  snapshot: { max_file_size: number; include: string[]; exclude: string[] }
}

/** `.xp/config.local.yaml`: this machine only, never tracked. */
export interface LocalConfig {
  cache?: { dir?: string; type?: string }
  /** `xp ui` off loopback: a fixed access token instead of a new one at every start */
  ui?: { token?: string }
  [key: string]: unknown
}

export interface Repo {
  ctx: Context
  /** the working tree's top folder */
  root: string
  gitDir: string
  /** shared by all worktrees of one repository */
  commonDir: string
  /** `.xp` of this working tree: run logs, temporary files, state */
  xpDir: string
  /** the content-addressed cache, shared by every worktree of the repository */
  cacheDir: string
}

export const DEFAULT_MAX_FILE_SIZE = 10 * 1000 * 1000

/**
 * Locate the repository. Throws XP_NOT_A_REPO (exit 3) outside one.
 *
 * @example
 * const repo = await findRepo(ctx); // repo.root === '/home/me/project'
 */
export async function findRepo(ctx: Context): Promise<Repo> {
  const res = await git(['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'], { cwd: ctx.cwd, env: ctx.env, allowFail: true })
  if (res.code !== 0) {
    if (/not a git repository/i.test(res.stderr))
      throw new XpError('XP_NOT_A_REPO', `not inside a git repository: ${ctx.cwd}`, { hint: 'run `git init` first, or cd into your project', exitCode: EXIT.notRepo })
    if (/must be run in a work tree/i.test(res.stderr))
      throw new XpError('XP_NOT_A_REPO', 'xp needs a working tree, and this is a bare repository', { exitCode: EXIT.notRepo })
    throw new XpError('XP_GIT_FAILED', `git rev-parse failed: ${res.stderr.trim()}`)
  }
  const [root, gitDir, commonRaw] = res.stdout.split('\n')
  const commonDir = path.resolve(ctx.cwd, commonRaw)
  const xpDir = path.join(root, '.xp')
  const mainRoot = path.basename(commonDir) === '.git' ? path.dirname(commonDir) : root
  const local = readLocalConfig(xpDir)
  const cacheDir = ctx.env.XP_CACHE_DIR || local.cache?.dir || path.join(mainRoot, '.xp', 'cache')
  return { ctx, root, gitDir, commonDir, xpDir, cacheDir: path.resolve(root, cacheDir) }
}

export function readLocalConfig(xpDir: string): LocalConfig {
  const file = path.join(xpDir, 'config.local.yaml')
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return {}
  }
  const v = parseStructured(text, file)
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as LocalConfig) : {}
}

const asList = (v: unknown, key: string, file: string): string[] | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return [v]
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v
  throw new XpError('XP_BAD_CONFIG', `${file}: "${key}" must be a path or a list of paths`)
}

/** Read `xp.yaml` at the repo root; a missing file gives the defaults. */
export function loadConfig(repo: Pick<Repo, 'root'>): ProjectConfig {
  const file = path.join(repo.root, 'xp.yaml')
  let raw: Record<string, unknown> = {}
  if (fs.existsSync(file)) {
    const v = parseStructured(fs.readFileSync(file, 'utf8'), 'xp.yaml')
    if (v !== null && v !== undefined) {
      if (typeof v !== 'object' || Array.isArray(v)) throw new XpError('XP_BAD_CONFIG', 'xp.yaml must be a mapping of settings')
      raw = v as Record<string, unknown>
    }
  }
  if (raw.command !== undefined && raw.command !== null && typeof raw.command !== 'string')
    throw new XpError('XP_BAD_CONFIG', 'xp.yaml: "command" must be a string')
  const snap = (raw.snapshot ?? {}) as Record<string, unknown>
  const maxSize = snap.max_file_size === undefined ? DEFAULT_MAX_FILE_SIZE : Number(snap.max_file_size)
  if (!Number.isFinite(maxSize) || maxSize < 0) throw new XpError('XP_BAD_CONFIG', 'xp.yaml: snapshot.max_file_size must be a number of bytes')
  // paths from xp.yaml name files inside the repository only (the path guard, core/safety)
  const inRepo = (list: string[] | undefined, key: string) => list?.map((p) => repoRelative(p, `xp.yaml ${key}`))
  const artifacts = (raw.artifacts as ProjectConfig['artifacts']) ?? {}
  for (const [name, a] of Object.entries(artifacts)) if (a && typeof a === 'object' && typeof a.path === 'string') a.path = repoRelative(a.path, `xp.yaml artifacts.${name}.path`)
  return {
    command: (raw.command as string | undefined) ?? undefined,
    params: inRepo(asList(raw.params, 'params', 'xp.yaml'), 'params'),
    metrics: inRepo(asList(raw.metrics, 'metrics', 'xp.yaml'), 'metrics'),
    series: inRepo(asList(raw.series, 'series', 'xp.yaml'), 'series'),
    deps: asList(raw.deps, 'deps', 'xp.yaml') ?? [],
    outs: asList(raw.outs, 'outs', 'xp.yaml') ?? [],
    artifacts,
    remote: typeof raw.remote === 'string' ? raw.remote : undefined,
    remotes: (raw.remotes as ProjectConfig['remotes']) ?? {},
    snapshot: { max_file_size: maxSize, include: asList(snap.include, 'snapshot.include', 'xp.yaml') ?? [], exclude: asList(snap.exclude, 'snapshot.exclude', 'xp.yaml') ?? [] },
  }
}

const XP_GITIGNORE = '# xp keeps machine-local state here: run logs, the cache, temporary files.\n*\n'

/** Create `.xp/` with its own .gitignore; idempotent. */
export function ensureXpDir(repo: Pick<Repo, 'xpDir'>): void {
  fs.mkdirSync(repo.xpDir, { recursive: true })
  const ignore = path.join(repo.xpDir, '.gitignore')
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, XP_GITIGNORE)
}
