/**
 * `xp model ls`: the registry in the shape of `gto show --json`. Every tag is listed every
 * time; each artifact's part is folded from its own tags, and kept in
 * `.xp/registry-show.json` under a digest of those tags' names and object ids. Tag objects
 * never change, so an artifact whose tags are the same is the same, and only artifacts
 * whose tags changed are folded again. The file is a cache only: delete it and nothing
 * is lost.
 */
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { ensureXpDir, type Repo } from '../repo.js'
import { writeFileAtomic } from '../fsutil.js'
import { foldEvents, gtoShowOf, showEntry, type GtoShowEntry, type ShowEntry } from './fold.js'
import { eventsOf, listTags, parseListing, type Listed } from './read.js'

export interface RegistryShow {
  /** `gto show --json` (with `deprecated`, the deprecated artifacts too) */
  show: Record<string, GtoShowEntry>
  /** every stage in use, sorted */
  stages: string[]
  warnings: string[]
  problems: string[]
}

/** What one artifact's tags fold to. `entry` is null for names that are no artifact (`m@1.0.0`). */
interface Part {
  key: string
  name: string
  entry: ShowEntry | null
  warnings: string[]
  problems: string[]
}

const memoFile = (repo: Pick<Repo, 'xpDir'>) => path.join(repo.xpDir, 'registry-show.json')

function readMemo(repo: Pick<Repo, 'xpDir'>): Record<string, Part> {
  try {
    const m = JSON.parse(fs.readFileSync(memoFile(repo), 'utf8'))
    return m && m.format === 3 && m.parts && typeof m.parts === 'object' ? m.parts : {}
  } catch {
    return {}
  }
}

/** The artifact part of a tag name: up to its first `@` or `#`. */
function prefixOf(tag: string): string {
  const at = tag.indexOf('@')
  const hash = tag.indexOf('#')
  return tag.slice(0, at < 0 ? hash : hash < 0 ? at : Math.min(at, hash))
}

/**
 * The listing's lines by the artifact part of the tag name (up to the first `@` or `#`,
 * which artifact names cannot contain): no parsing needed to tell what changed.
 */
function groupLines(lines: string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>()
  for (const line of lines) {
    const sp = line.indexOf(' ')
    if (sp < 0) continue
    const at = line.indexOf('@', sp)
    const hash = line.indexOf('#', sp)
    if (at < 0 && hash < 0) continue
    const prefix = line.slice(sp + 1, at < 0 ? hash : hash < 0 ? at : Math.min(at, hash))
    const g = groups.get(prefix)
    if (g) g.push(line)
    else groups.set(prefix, [line])
  }
  return groups
}

/**
 * Every artifact's latest version and what each stage shows.
 *
 * @example
 * const { show } = await showRegistry(repo) // { churn: { version: 'v1.1.0', stage: { production: 'v1.0.0' }, registered: true, active: true } }
 */
export async function showRegistry(repo: Pick<Repo, 'root' | 'ctx' | 'xpDir'>, opts: { deprecated?: boolean } = {}): Promise<RegistryShow> {
  const listing = await listTags(repo)
  const groups = groupLines(listing.lines)
  const memo = readMemo(repo)
  const parts: Record<string, Part> = {}
  const changed: Array<{ prefix: string; key: string; listed: Listed[]; warnings: string[] }> = []
  for (const [prefix, lines] of groups) {
    const key = createHash('sha1').update(lines.join('\n')).digest('hex')
    const m = memo[prefix]
    if (m && m.key === key) parts[prefix] = m
    else changed.push({ prefix, key, ...parseListing(lines) })
  }
  let oids: Set<string> | undefined
  let total = 0
  for (const ls of groups.values()) total += ls.length
  // built only if the index is rewritten
  const present = {
    has: (oid: string) => (oids ??= new Set([...groups.values()].flatMap((ls) => ls.map((l) => l.slice(0, l.indexOf(' ')))))).has(oid),
    size: total,
  }
  // a listing that read every tag object (no index yet) leaves the index behind, changes or not
  if (!changed.length && listing.known) await eventsOf(repo, [], present, listing.known)
  if (changed.length) {
    const byPrefix = new Map(changed.map((c) => [c.prefix, c]))
    const warn = (ref: string, w: string) => byPrefix.get(prefixOf(ref))?.warnings.push(w)
    const state = foldEvents(
      await eventsOf(
        repo,
        changed.flatMap((c) => c.listed),
        present,
        listing.known,
        warn,
      ),
    )
    for (const c of changed) {
      const name = c.listed[0]?.parsed.artifact ?? c.prefix
      const a = state.artifacts.get(name)
      const problems = state.problems.filter((p) => p.startsWith(`artifact "${name}"`))
      parts[c.prefix] = { key: c.key, name, entry: a ? showEntry(a) : null, warnings: c.warnings, problems }
    }
  }
  if (changed.length || Object.keys(memo).some((p) => !parts[p])) {
    try {
      ensureXpDir(repo)
      writeFileAtomic(memoFile(repo), JSON.stringify({ format: 3, parts }))
    } catch {
      // a read-only checkout still lists, folding every artifact every time
    }
  }
  const all = Object.values(parts)
  const entries = all.filter((p) => p.entry).map((p) => [p.name, p.entry!] as [string, ShowEntry])
  const { show, stages } = gtoShowOf(entries, opts)
  return { show, stages, warnings: all.flatMap((p) => p.warnings), problems: all.flatMap((p) => p.problems) }
}
