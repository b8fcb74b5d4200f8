/**
 * `xp model ls`: the registry in the shape of `gto show --json`. The state is folded from
 * every tag, as always; the result is also kept in `.xp/registry-show.json` under a digest
 * of every tag's name and object id. Tags are immutable objects, so an equal digest means
 * an equal registry, and the next listing costs one `git for-each-ref` that reads no tag
 * object. The file is a cache only: delete it and nothing is lost.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ensureXpDir, type Repo } from '../repo.js'
import { writeFileAtomic } from '../fsutil.js'
import { gtoShow, type GtoShowEntry } from './fold.js'
import { loadRegistry, tagsDigest } from './read.js'

export interface RegistryShow {
  /** `gto show --json` (with `deprecated`, the deprecated artifacts too) */
  show: Record<string, GtoShowEntry>
  /** every stage in use, sorted */
  stages: string[]
  warnings: string[]
  problems: string[]
}

const FORMAT = 1
interface CacheFile extends Omit<RegistryShow, 'show'> {
  format: number
  digest: string
  all: Record<string, GtoShowEntry>
}

const cacheFile = (repo: Pick<Repo, 'xpDir'>) => path.join(repo.xpDir, 'registry-show.json')

function readCache(repo: Pick<Repo, 'xpDir'>, digest: string): CacheFile | null {
  try {
    const c = JSON.parse(fs.readFileSync(cacheFile(repo), 'utf8')) as CacheFile
    return c.format === FORMAT && c.digest === digest ? c : null
  } catch {
    return null
  }
}

/**
 * Every artifact's latest version and what each stage shows.
 *
 * @example
 * const { show } = await showRegistry(repo) // { churn: { version: 'v1.1.0', stage: { production: 'v1.0.0' }, registered: true, active: true } }
 */
export async function showRegistry(repo: Pick<Repo, 'root' | 'ctx' | 'xpDir'>, opts: { deprecated?: boolean } = {}): Promise<RegistryShow> {
  let c = readCache(repo, await tagsDigest(repo))
  if (!c) {
    const { state, digest } = await loadRegistry(repo)
    c = { format: FORMAT, digest, all: gtoShow(state, { deprecated: true }), stages: state.stages, warnings: state.warnings, problems: state.problems }
    try {
      ensureXpDir(repo)
      writeFileAtomic(cacheFile(repo), JSON.stringify(c))
    } catch {
      // a read-only checkout still lists; it only lists at full cost every time
    }
  }
  const show = opts.deprecated ? c.all : Object.fromEntries(Object.entries(c.all).filter(([, e]) => e.active))
  return { show, stages: c.stages, warnings: c.warnings, problems: c.problems }
}
