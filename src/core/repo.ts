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
import { decode, object, optional, string, nonEmptyString, number, refine, record, stringList, withDefault } from './decode.js'

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
  snapshot: { max_file_size: number }
}

/** `.xp/config.local.yaml`: this machine only, never tracked. */
export interface LocalConfig {
  cache?: { dir?: string; type?: string }
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
  return decode(LocalConfigDecoder, parseStructured(text, file) ?? {}, { file: '.xp/config.local.yaml' })
}

const LocalConfigDecoder = object({ cache: optional(object({ dir: optional(string), type: optional(string) })) })

const ConfigDecoder = object({
  command: optional(string),
  params: optional(stringList),
  metrics: optional(stringList),
  series: optional(stringList),
  deps: withDefault(stringList, []),
  outs: withDefault(stringList, []),
  artifacts: withDefault(record(object({ path: nonEmptyString, type: optional(string), description: optional(string) })), {}),
  remote: optional(string),
  remotes: withDefault(record(object({ url: nonEmptyString, endpoint: optional(string), region: optional(string), profile: optional(string) })), {}),
  snapshot: withDefault(object({ max_file_size: optional(refine(number, (n) => (n >= 0 ? n : undefined), 'a number of bytes, 0 or more')) }), {}),
})

/** Read `xp.yaml` at the repo root; a missing file gives the defaults. */
export function loadConfig(repo: Pick<Repo, 'root'>): ProjectConfig {
  const file = path.join(repo.root, 'xp.yaml')
  let raw: unknown = {}
  if (fs.existsSync(file)) raw = parseStructured(fs.readFileSync(file, 'utf8'), 'xp.yaml') ?? {}
  const c = decode(ConfigDecoder, raw, { file: 'xp.yaml' })
  return {
    command: c.command,
    params: c.params,
    metrics: c.metrics,
    series: c.series,
    deps: c.deps,
    outs: c.outs,
    artifacts: c.artifacts,
    remote: c.remote,
    remotes: c.remotes,
    snapshot: { max_file_size: c.snapshot.max_file_size ?? DEFAULT_MAX_FILE_SIZE },
  }
}

const XP_GITIGNORE = '# xp keeps machine-local state here: run logs, the cache, temporary files.\n*\n'

/** Create `.xp/` with its own .gitignore; idempotent. */
export function ensureXpDir(repo: Pick<Repo, 'xpDir'>): void {
  fs.mkdirSync(repo.xpDir, { recursive: true })
  const ignore = path.join(repo.xpDir, '.gitignore')
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, XP_GITIGNORE)
}
