/**
 * Find the git repository around ctx.cwd and the places xp keeps its files.
 * Loading `xp.yaml` is separate (loadConfig) because listing commands never need it.
 */
import path from 'node:path'
import fs from 'node:fs'
import type { Context } from './context.js'
import { git } from './git.js'
import { XpError } from './errors.js'
import { parseStructured } from './params.js'
import { isInside } from './fsutil.js'
import { decode, object, optional, string, nonEmptyString, number, boolean, oneOf, refine, record, stringList, withDefault } from './decode.js'
import { repoRelative } from './safety/paths.js'
import { mergeDvcDefaults } from './dvc/project.js'
import { readDvcProject } from './dvc/workspace.js'

/** Seconds between system-metric samples (core/runs/sysmon.ts) when xp.yaml says nothing. */
export const DEFAULT_SYSTEM_INTERVAL = 5

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

/** `xp.yaml`, with defaults applied (docs/architecture.md#project-file). */
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
  /** seconds between system-metric samples while a run's command runs; 0 is off */
  system_metrics: { interval: number }
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
  /**
   * The project folder: the nearest folder from the cwd up to `root` that holds an
   * `xp.yaml` (`root` when none does). A monorepo holds one project per folder, as DVC's
   * subdir repos; paths in `xp.yaml` are relative to it. Absent means `root`.
   */
  project?: string
  /** true when this command created `.xp/` (xp init reports it) */
  madeXpDir?: boolean
}

/** The project's `xp.yaml` (absolute). */
export function configFile(repo: Pick<Repo, 'root' | 'project'>): string {
  return path.join(repo.project ?? repo.root, 'xp.yaml')
}

/** The project folder relative to the repository root, `/`-separated; '' at the root. */
export function projectPrefix(repo: Pick<Repo, 'root' | 'project'>): string {
  return repo.project ? path.relative(repo.root, repo.project).split(path.sep).join('/') : ''
}

/** The nearest folder from `cwd` up to `root` holding an xp.yaml; undefined when only none or root's does. */
export function findProject(root: string, cwd: string): string | undefined {
  if (!isInside(root, cwd)) return undefined
  for (let dir = path.resolve(cwd); dir !== root && isInside(root, dir); dir = path.dirname(dir)) if (fs.existsSync(path.join(dir, 'xp.yaml'))) return dir
  return undefined
}

export const DEFAULT_MAX_FILE_SIZE = 10 * 1000 * 1000

/**
 * Locate the repository. Throws XP_NOT_A_REPO (exit 3) outside one.
 *
 * @example
 * const repo = await findRepo(ctx); // repo.root === '/home/me/project'
 */
export async function findRepo(ctx: Context): Promise<Repo> {
  const found = locateRepo(ctx)
  if (found) return repoAt(ctx, found.root, found.gitDir, found.commonDir)
  const res = await git(['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'], { cwd: ctx.cwd, env: ctx.env, allowFail: true })
  if (res.code !== 0) {
    if (/not a git repository/i.test(res.stderr))
      throw new XpError('XP_NOT_A_REPO', `not inside a git repository: ${ctx.cwd}`, {
        hint: 'run `git init` first, or cd into your project',
      })
    if (/must be run in a work tree/i.test(res.stderr)) throw new XpError('XP_NOT_A_REPO', 'xp needs a working tree, and this is a bare repository', {})
    throw new XpError('XP_GIT_FAILED', `git rev-parse failed: ${res.stderr.trim()}`)
  }
  const [root, gitDir, commonRaw] = res.stdout.split('\n')
  return repoAt(ctx, root, gitDir, path.resolve(ctx.cwd, commonRaw))
}

function repoAt(ctx: Context, root: string, gitDir: string, commonDir: string): Repo {
  const xpDir = path.join(root, '.xp')
  const mainRoot = path.basename(commonDir) === '.git' ? path.dirname(commonDir) : root
  const local = readLocalConfig(xpDir)
  const cacheDir = path.resolve(root, ctx.env.XP_CACHE_DIR || local.cache?.dir || path.join(mainRoot, '.xp', 'cache'))
  // `.xp/` is made here, whole, before any command can make it as a side effect of
  // writing below it (a cache object, the record index): `xp pull` in a fresh clone must
  // leave `git status` clean. A read-only checkout still lists.
  let madeXpDir = false
  try {
    madeXpDir = ensureXpDir({ xpDir })
    const mainXp = path.join(mainRoot, '.xp')
    if (mainXp !== xpDir && isInside(mainXp, cacheDir)) ensureXpDir({ xpDir: mainXp })
  } catch (e) {
    if (!['EACCES', 'EROFS', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e
  }
  const project = findProject(root, ctx.cwd)
  return { ctx, root, gitDir, commonDir, xpDir, cacheDir, ...(project ? { project } : {}), ...(madeXpDir ? { madeXpDir } : {}) }
}

/**
 * The repository around ctx.cwd found the way git finds it (a `.git` folder, or a `.git`
 * file naming the git dir, and its `commondir`), without a `git rev-parse` process: every
 * command starts here. Anything unusual (GIT_DIR and friends, core.worktree, a bare
 * repository, a folder another user owns, which git refuses unless safe.directory allows
 * it, a cwd inside .git) returns null and git decides.
 */
export function locateRepo(ctx: Pick<Context, 'cwd' | 'env'>): { root: string; gitDir: string; commonDir: string } | null {
  const env = ctx.env
  if (env.GIT_DIR || env.GIT_WORK_TREE || env.GIT_COMMON_DIR || env.GIT_CEILING_DIRECTORIES || env.GIT_DISCOVERY_ACROSS_FILESYSTEM || env.GIT_CONFIG_PARAMETERS)
    return null
  try {
    let dir = fs.realpathSync(ctx.cwd)
    if (dir.split(path.sep).includes('.git')) return null
    const uid = process.getuid?.()
    for (;;) {
      const dotgit = path.join(dir, '.git')
      const st = fs.lstatSync(dotgit, { throwIfNoEntry: false })
      if (st) {
        let gitDir = dotgit
        if (st.isFile()) {
          const m = /^gitdir: (.+)$/m.exec(fs.readFileSync(dotgit, 'utf8'))
          if (!m) return null
          gitDir = fs.realpathSync(path.resolve(dir, m[1].trim()))
        } else if (!st.isDirectory()) return null
        let commonDir = gitDir
        const common = path.join(gitDir, 'commondir')
        if (fs.existsSync(common)) commonDir = fs.realpathSync(path.resolve(gitDir, fs.readFileSync(common, 'utf8').trim()))
        if (!fs.existsSync(path.join(gitDir, 'HEAD')) || !fs.existsSync(path.join(commonDir, 'objects'))) return null
        if (uid !== undefined && (fs.statSync(dir).uid !== uid || fs.statSync(gitDir).uid !== uid)) return null
        const config = fs.readFileSync(path.join(commonDir, 'config'), 'utf8')
        if (/^\s*(worktree|bare\s*=\s*true)\b/im.test(config) || /^\s*\[\s*include/im.test(config) || /worktreeconfig/i.test(config)) return null
        return { root: dir, gitDir, commonDir }
      }
      const parent = path.dirname(dir)
      if (parent === dir) return null
      dir = parent
    }
  } catch {
    return null
  }
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

const LocalConfigDecoder = object({
  cache: optional(object({ dir: optional(string), type: optional(string) })),
  ui: optional(object({ token: optional(nonEmptyString) })),
})

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
  snapshot: withDefault(
    object({
      max_file_size: optional(refine(number, (n) => (n >= 0 ? n : undefined), 'a number of bytes, 0 or more')),
      include: withDefault(stringList, []),
      exclude: withDefault(stringList, []),
    }),
    { include: [], exclude: [] },
  ),
  // `system_metrics: false` turns sampling off; `{interval: 2}` samples every 2 s
  system_metrics: optional(
    oneOf(
      refine(boolean, (b) => (b ? {} : { interval: 0 }), 'true or false'),
      object({ interval: optional(refine(number, (n) => (n >= 0 ? n : undefined), 'seconds, 0 (off) or more')) }),
      'false, or {interval: SECONDS}',
    ),
  ),
})

/**
 * Read the project's `xp.yaml`; a missing file gives the defaults. What it leaves unset, a
 * `dvc.yaml` beside it fills (docs/dvc.md). Paths in it are relative to the project folder
 * and come back relative to the repository root (`sub/params.yaml`), which is what every
 * other part of core works with.
 */
export function loadConfig(repo: Pick<Repo, 'root' | 'project'>): ProjectConfig {
  const file = configFile(repo)
  const dir = repo.project ?? repo.root
  let raw: unknown = {}
  if (fs.existsSync(file)) raw = parseStructured(fs.readFileSync(file, 'utf8'), 'xp.yaml') ?? {}
  const c = decode(ConfigDecoder, raw, { file: 'xp.yaml' })
  const merged = mergeDvcDefaults<ProjectConfig>(
    {
      command: c.command,
      params: c.params,
      metrics: c.metrics,
      series: c.series,
      deps: c.deps,
      outs: c.outs,
      artifacts: c.artifacts,
      remote: c.remote,
      remotes: c.remotes,
      snapshot: { max_file_size: c.snapshot.max_file_size ?? DEFAULT_MAX_FILE_SIZE, include: c.snapshot.include ?? [], exclude: c.snapshot.exclude ?? [] },
      system_metrics: { interval: c.system_metrics?.interval ?? DEFAULT_SYSTEM_INTERVAL },
    },
    readDvcProject(dir),
    fs.existsSync(path.join(dir, 'params.yaml')),
  )
  // paths from xp.yaml (or dvc.yaml) name files inside the project's folder (the path guard, core/safety)
  const inRepo = (list: string[] | undefined, key: string) => list?.map((p) => repoRelative(p, `xp.yaml ${key}`))
  for (const [name, a] of Object.entries(merged.artifacts)) a.path = repoRelative(a.path, `xp.yaml artifacts.${name}.path`)
  const checked = { ...merged, params: inRepo(merged.params, 'params'), metrics: inRepo(merged.metrics, 'metrics'), series: inRepo(merged.series, 'series') }
  const prefix = projectPrefix(repo)
  if (!prefix) return checked
  const under = (list: string[] | undefined) => list?.map((p) => path.posix.join(prefix, p))
  return {
    ...checked,
    params: under(checked.params),
    metrics: under(checked.metrics),
    series: under(checked.series),
    deps: under(checked.deps) ?? [],
    outs: under(checked.outs) ?? [],
    artifacts: Object.fromEntries(Object.entries(checked.artifacts).map(([k, a]) => [k, { ...a, path: path.posix.join(prefix, a.path) }])),
  }
}

const XP_GITIGNORE = '# xp keeps machine-local state here: run logs, the cache, temporary files.\n*\n'

/**
 * The one function that creates `.xp/`: the folder and its own .gitignore (which ignores
 * everything in it, itself included), so git never sees the cache. Idempotent and cheap
 * (one stat when all is there); `findRepo` calls it for every command. True when it made
 * the .gitignore.
 *
 * @example
 * ensureXpDir(repo) // .xp/.gitignore exists afterwards
 */
export function ensureXpDir(repo: Pick<Repo, 'xpDir'>): boolean {
  const ignore = path.join(repo.xpDir, '.gitignore')
  if (fs.existsSync(ignore)) return false
  fs.mkdirSync(repo.xpDir, { recursive: true })
  try {
    fs.writeFileSync(ignore, XP_GITIGNORE, { flag: 'wx' })
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    return false
  }
}
