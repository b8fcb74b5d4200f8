/**
 * `xp model ls`: the registry in the shape of `gto show --json`, folded from every tag.
 * The result is also kept in `.xp/registry-show.json` under the digest of the tag listing
 * (every tag's name and object id): tag objects never change, so an equal digest is an
 * equal registry, and an unchanged registry lists at the cost of `git for-each-ref`.
 * Like the tag index, the file is a cache only: delete it and nothing is lost.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ensureXpDir, type Repo } from '../repo.js'
import { writeFileAtomic } from '../fsutil.js'
import { gtoShow, type GtoShowEntry } from './fold.js'
import { listTags, loadRegistry } from './read.js'

export interface RegistryShow {
  /** `gto show --json` (with `deprecated`, the deprecated artifacts too) */
  show: Record<string, GtoShowEntry>
  /** every stage in use, sorted */
  stages: string[]
  warnings: string[]
  problems: string[]
}

interface Memo extends Omit<RegistryShow, 'show'> {
  format: 1
  digest: string
  all: Record<string, GtoShowEntry>
}

const memoFile = (repo: Pick<Repo, 'xpDir'>) => path.join(repo.xpDir, 'registry-show.json')

function readMemo(repo: Pick<Repo, 'xpDir'>, digest: string): Memo | null {
  try {
    const m = JSON.parse(fs.readFileSync(memoFile(repo), 'utf8')) as Memo
    return m.format === 1 && m.digest === digest ? m : null
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
  const listing = await listTags(repo)
  let m = readMemo(repo, listing.digest)
  if (!m) {
    const { state } = await loadRegistry(repo, { listing })
    m = { format: 1, digest: listing.digest, all: gtoShow(state, { deprecated: true }), stages: state.stages, warnings: state.warnings, problems: state.problems }
    try {
      ensureXpDir(repo)
      writeFileAtomic(memoFile(repo), JSON.stringify(m))
    } catch {
      // a read-only checkout still lists, at full cost every time
    }
  }
  const show = opts.deprecated ? m.all : Object.fromEntries(Object.entries(m.all).filter(([, e]) => e.active))
  return { show, stages: m.stages, warnings: m.warnings, problems: m.problems }
}
