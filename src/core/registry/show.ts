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
import { eventsOf, hasTagIndex, listPlain, parseListing, readFull, type FullListing, type Listed, type TagListing } from './read.js'

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

/** A group's lines, and beside them their places in the listing. */
interface Group {
  lines: string[]
  at: number[]
}

/**
 * The listing's lines by the artifact part of the tag name (up to the first `@` or `#`,
 * which artifact names cannot contain): no parsing needed to tell what changed.
 */
function groupLines({ lines }: TagListing): Map<string, Group> {
  const groups = new Map<string, Group>()
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const sp = line.indexOf(' ')
    if (sp < 0) continue
    const at = line.indexOf('@', sp)
    const hash = line.indexOf('#', sp)
    if (at < 0 && hash < 0) continue
    const prefix = line.slice(sp + 1, at < 0 ? hash : hash < 0 ? at : Math.min(at, hash))
    const g = groups.get(prefix)
    if (g) {
      g.lines.push(line)
      g.at.push(i)
    } else groups.set(prefix, { lines: [line], at: [i] })
  }
  return groups
}

interface Changed {
  prefix: string
  key: string
  listed: Listed[]
  warnings: string[]
}

/** The listing's groups, those the memo still holds, and the changed ones parsed. */
function planParts(listing: TagListing, memo: Record<string, Part>) {
  const groups = groupLines(listing)
  const parts: Record<string, Part> = {}
  const changed: Changed[] = []
  const known = (listing as Partial<FullListing>).known
  for (const [prefix, { lines, at }] of groups) {
    const key = createHash('sha1').update(lines.join('\n')).digest('hex')
    const m = memo[prefix]
    if (m && m.key === key) parts[prefix] = m
    else changed.push({ prefix, key, ...parseListing(lines, known && at.map((i) => known[i])) })
  }
  return { groups, parts, changed }
}

/** The plain listing (its last line empty) and the full one name the same tags with the same objects. */
function sameLines(plain: string[], full: string[]): boolean {
  const n = plain.length && plain[plain.length - 1] === '' ? plain.length - 1 : plain.length
  if (n !== full.length) return false
  for (let i = 0; i < n; i++) if (plain[i] !== full[i]) return false
  return true
}

/**
 * Every artifact's latest version and what each stage shows.
 *
 * @example
 * const { show } = await showRegistry(repo) // { churn: { version: 'v1.1.0', stage: { production: 'v1.0.0' }, registered: true, active: true } }
 */
export async function showRegistry(repo: Pick<Repo, 'root' | 'ctx' | 'xpDir'>, opts: { deprecated?: boolean } = {}): Promise<RegistryShow> {
  // A fresh clone (no tag index) reads every tag object, git's longest step: the plain
  // listing is grouped, hashed and parsed meanwhile (issue 16), and what the objects say is
  // joined to it by place when both listings agree, line by line.
  const full = hasTagIndex(repo) ? undefined : readFull(repo)
  full?.catch(() => {}) // awaited below; a failure of the plain listing first must not leave it unhandled
  let listing: TagListing = await listPlain(repo)
  const memo = readMemo(repo)
  let { groups, parts, changed } = planParts(listing, memo)
  if (full) {
    const f = await full
    if (sameLines(listing.lines, f.lines)) {
      for (const c of changed) for (const l of c.listed) l.known = f.known[groups.get(c.prefix)!.at[l.line]]
    } else ({ groups, parts, changed } = planParts(f, memo)) // a tag came or went between the two: the full listing alone
    listing = f
  }
  let oids: Set<string> | undefined
  let total = 0
  for (const g of groups.values()) total += g.lines.length
  // built only if the index is rewritten
  const present = {
    has: (oid: string) => (oids ??= new Set([...groups.values()].flatMap((g) => g.lines.map((l) => l.slice(0, l.indexOf(' ')))))).has(oid),
    size: total,
  }
  // a listing that read every tag object (no index yet) leaves the index behind, changes or not
  if (!changed.length && listing.known) await eventsOf(repo, [], present, listing)
  if (changed.length) {
    const byPrefix = new Map(changed.map((c) => [c.prefix, c]))
    const warn = (ref: string, w: string) => byPrefix.get(prefixOf(ref))?.warnings.push(w)
    // a listing shows each artifact's latest version and stages' first holders only
    const state = foldEvents(
      await eventsOf(
        repo,
        changed.flatMap((c) => c.listed),
        present,
        listing,
        warn,
      ),
      { brief: true },
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
