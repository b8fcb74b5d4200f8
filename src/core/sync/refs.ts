/**
 * Pure logic of the git side of push and pull: which refs xp shares (runs, the notes ref,
 * registry tags), what differs between two sides, and what `git push --porcelain` said.
 * No I/O here, so all of it is unit-tested without git.
 */
import { RUNS_PREFIX, NOTES_REF, RunRef } from '../runs/ref.js'
import { parseRegistryTag } from '../registry/tag.js'

export const TAGS_PREFIX = 'refs/tags/'

/**
 * A GTO registry tag name (docs/architecture.md#registry-tags): `name@vX.Y.Z[!]`, `name@deprecated`,
 * `name#stage[!]#N`, any of them for an artifact of a folder (`dir=name@v1.0.0`). Decided
 * by the registry's own parser: a second, coarser grammar here left `dir=name` tags (a
 * subfolder project's models) behind on push and pull.
 *
 * @example
 * isRegistryTag('churn@v1.2.0')      // true
 * isRegistryTag('svc=churn@v1.2.0')  // true
 * isRegistryTag('v1.0')              // false
 */
export function isRegistryTag(tag: string): boolean {
  return parseRegistryTag(tag) !== null
}

export interface RefEntry {
  ref: string
  /** what the ref points at (a tag object for annotated tags) */
  oid: string
  /** the commit behind an annotated tag */
  peeled?: string
}

/** Which refs xp shares: run refs, the notes ref, annotated registry tags. */
export function isSharedRef(e: Pick<RefEntry, 'ref'>, annotated = true): boolean {
  if (e.ref === NOTES_REF) return true
  if (e.ref.startsWith(RUNS_PREFIX)) return RunRef.parse(e.ref) !== null
  if (e.ref.startsWith(TAGS_PREFIX)) return annotated && isRegistryTag(e.ref.slice(TAGS_PREFIX.length))
  return false
}

/** Parse `git for-each-ref --format='%(objectname) %(objecttype) %(*objectname) %(refname)'`. */
export function parseLocalRefs(text: string): RefEntry[] {
  const out: RefEntry[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    const [oid, type, peeled, ref] = line.split(' ')
    if (!ref) continue
    const e: RefEntry = { ref, oid }
    if (peeled) e.peeled = peeled
    if (!isSharedRef(e, !ref.startsWith(TAGS_PREFIX) || type === 'tag')) continue
    out.push(e)
  }
  return out
}

/** Parse `git ls-remote` output (`<oid>\t<ref>`), keeping peeled `^{}` lines as `peeled`. */
export function parseLsRemote(text: string): Map<string, RefEntry> {
  const out = new Map<string, RefEntry>()
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t')
    if (tab < 0) continue
    const oid = line.slice(0, tab)
    const ref = line.slice(tab + 1)
    if (ref.endsWith('^{}')) {
      const base = out.get(ref.slice(0, -3))
      if (base) base.peeled = oid
      continue
    }
    out.set(ref, { ref, oid })
  }
  return out
}

/** Refs of `from` that `to` lacks or has at another object. */
export function changedRefs(from: RefEntry[], to: Map<string, RefEntry>): RefEntry[] {
  return from.filter((e) => to.get(e.ref)?.oid !== e.oid)
}

export interface PushStatus {
  ref: string
  /** ' ' fast-forward, '+' forced, '-' deleted, '*' new, '!' rejected, '=' up to date */
  flag: string
  summary: string
}

/** Parse `git push --porcelain` (lines `<flag>\t<from>:<to>\t<summary>`). */
export function parsePorcelain(text: string): PushStatus[] {
  const out: PushStatus[] = []
  for (const line of text.split('\n')) {
    const m = /^([ +\-*!=])\t([^\t]*)\t(.*)$/.exec(line)
    if (!m) continue
    const colon = m[2].lastIndexOf(':')
    out.push({ flag: m[1], ref: colon >= 0 ? m[2].slice(colon + 1) : m[2], summary: m[3] })
  }
  return out
}

/** Is this rejection one a fetch-and-merge (notes) or a retry (lock race) can cure? */
export function isRetryableRejection(s: PushStatus): boolean {
  return /fetch first|non-fast-forward|stale info|cannot lock|failed to lock|failed to update|incorrect old value|reference already exists/i.test(s.summary)
}

/** Chunk refspecs so one git command line stays well under the kernel's argument limit. */
export function chunkArgs(items: string[], maxBytes = 512 * 1024): string[][] {
  const out: string[][] = []
  let cur: string[] = []
  let size = 0
  for (const it of items) {
    if (cur.length && size + it.length + 1 > maxBytes) {
      out.push(cur)
      cur = []
      size = 0
    }
    cur.push(it)
    size += it.length + 1
  }
  if (cur.length) out.push(cur)
  return out
}
