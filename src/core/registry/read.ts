/**
 * Read the registry's tags with one `git for-each-ref refs/tags`: annotated tags become
 * events (tagger date, tagger, message, the commit they point at); lightweight tags are
 * not events, but their names still count for counters and taken names.
 */
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { parseRegistryTag, isCreationTag } from './tag.js'
import { foldRegistry, type RegistryState, type TagEvent } from './fold.js'

export interface RegistryTags {
  /** annotated registry tags on commits */
  events: TagEvent[]
  /** the names of every registry-like tag, annotated or not */
  names: Set<string>
}

const FIELDS = 8
const FORMAT = [
  '%(objecttype)',
  '%(refname:strip=2)',
  '%(*objecttype)',
  '%(*objectname)',
  '%(taggerdate:unix)',
  '%(taggername)',
  '%(taggeremail)',
  '%(if:equals=tag)%(objecttype)%(then)%(contents)%(end)',
].join('%00') + '%00'

const SIGNATURE = /\n?-----BEGIN (PGP|SSH) SIGNATURE-----[\s\S]*$/

/**
 * Every registry tag of the repository.
 *
 * @example
 * const { events, names } = await readRegistryTags(repo)
 */
export async function readRegistryTags(repo: Pick<Repo, 'root' | 'ctx'>): Promise<RegistryTags> {
  const { stdout } = await git(['for-each-ref', `--format=${FORMAT}`, 'refs/tags'], { cwd: repo.root, env: repo.ctx.env, signal: repo.ctx.signal })
  const parts = stdout.split('\0')
  const events: TagEvent[] = []
  const names = new Set<string>()
  for (let i = 0; i + FIELDS - 1 < parts.length; i += FIELDS) {
    const type = i === 0 ? parts[i] : parts[i].slice(1) // records after the first start with git's newline
    const tag = parts[i + 1]
    // The cheap test first: almost every tag of a big registry is one, most of a code repo's are not.
    if (tag.indexOf('@') < 0 && tag.indexOf('#') < 0) continue
    const created = isCreationTag(tag)
    if (!created && !parseRegistryTag(tag)) continue
    names.add(tag)
    if (type !== 'tag' || parts[i + 2] !== 'commit') continue
    events.push({
      tag,
      commit: parts[i + 3],
      time: Number(parts[i + 4]) || 0,
      tagger: parts[i + 5],
      email: parts[i + 6].replace(/^<|>$/g, ''),
      message: parts[i + 7].replace(SIGNATURE, '').replace(/\n$/, ''),
    })
  }
  return { events, names }
}

export interface Registry extends RegistryTags {
  state: RegistryState
}

/**
 * Read and fold the registry. Warnings and problems are in `state`; the caller shows them.
 *
 * @example
 * const { state } = await loadRegistry(repo)
 */
export async function loadRegistry(repo: Pick<Repo, 'root' | 'ctx'>): Promise<Registry> {
  const tags = await readRegistryTags(repo)
  return { ...tags, state: foldRegistry(tags.events) }
}
