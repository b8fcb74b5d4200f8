/**
 * Read the registry's tags with one `git for-each-ref refs/tags`: annotated tags become
 * events (tagger date, tagger, message, the commit they point at); lightweight tags are
 * not events, but their names still count for counters and taken names.
 */
import { createHash } from 'node:crypto'
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { parseRegistryTag, isCreationTag } from './tag.js'
import { foldEvents, toRegistryEvent, creationWarning, type RegistryEvent, type RegistryState, type TagEvent } from './fold.js'

export interface RegistryTags {
  /** annotated registry tags on commits, parsed */
  events: RegistryEvent[]
  /** the names of every registry-like tag, annotated or not */
  names: Set<string>
  /** tags GTO's grammar has but xp ignores (NAME@created) */
  warnings: string[]
  /** digest of every tag's name and object id: equal digests, equal registries */
  digest: string
}

const BASE = ['%(objecttype)', '%(refname:strip=2)', '%(objectname)', '%(*objecttype)', '%(*objectname)', '%(taggerdate:unix)']
// Tagger and message only when asked: a listing does not show them, and they are most of git's output.
const DETAILS = ['%(taggername)', '%(taggeremail)', '%(if:equals=tag)%(objecttype)%(then)%(contents)%(end)']

const SIGNATURE = /\n?-----BEGIN (PGP|SSH) SIGNATURE-----[\s\S]*$/

/**
 * Every registry tag of the repository, with one `git for-each-ref`.
 *
 * @example
 * const { events, names } = await readRegistryTags(repo, { details: true })
 */
export async function readRegistryTags(repo: Pick<Repo, 'root' | 'ctx'>, opts: { details?: boolean } = {}): Promise<RegistryTags> {
  const fields = opts.details ? [...BASE, ...DETAILS] : BASE
  const n = fields.length
  const { stdout } = await git(['for-each-ref', `--format=${fields.join('%00')}%00`, 'refs/tags'], { cwd: repo.root, env: repo.ctx.env, signal: repo.ctx.signal })
  const parts = stdout.split('\0')
  const events: RegistryEvent[] = []
  const names = new Set<string>()
  const warnings: string[] = []
  const hash = createHash('sha1')
  for (let i = 0; i + n - 1 < parts.length; i += n) {
    const tag = parts[i + 1]
    hash.update(`${parts[i + 2]} ${tag}\n`)
    // The cheap test first: almost every tag of a big registry is one, most of a code repo's are not.
    if (tag.indexOf('@') < 0 && tag.indexOf('#') < 0) continue
    const parsed = parseRegistryTag(tag)
    if (!parsed) {
      if (isCreationTag(tag)) {
        names.add(tag)
        warnings.push(creationWarning(tag))
      }
      continue
    }
    names.add(tag)
    const type = i === 0 ? parts[i] : parts[i].slice(1) // records after the first start with git's newline
    if (type !== 'tag' || parts[i + 3] !== 'commit') continue
    const event: TagEvent = {
      tag,
      commit: parts[i + 4],
      time: Number(parts[i + 5]) || 0,
      tagger: opts.details ? parts[i + 6] : '',
      email: opts.details ? parts[i + 7].replace(/^<|>$/g, '') : '',
      message: opts.details ? parts[i + 8].replace(SIGNATURE, '').replace(/\n$/, '') : '',
    }
    events.push(toRegistryEvent(event, parsed))
  }
  return { events, names, warnings, digest: hash.digest('hex') }
}

/**
 * The digest {@link readRegistryTags} would report, from names and object ids alone: git
 * reads no tag object for it, so it costs what listing the refs costs.
 */
export async function tagsDigest(repo: Pick<Repo, 'root' | 'ctx'>): Promise<string> {
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname:strip=2)', 'refs/tags'], { cwd: repo.root, env: repo.ctx.env, signal: repo.ctx.signal })
  return createHash('sha1').update(stdout).digest('hex')
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
export async function loadRegistry(repo: Pick<Repo, 'root' | 'ctx'>, opts: { details?: boolean } = {}): Promise<Registry> {
  const tags = await readRegistryTags(repo, opts)
  const state = foldEvents(tags.events)
  state.warnings.push(...tags.warnings)
  return { ...tags, state }
}
