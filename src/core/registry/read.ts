/**
 * Read the registry's tags: annotated tags become events (tagger date, the commit they
 * point at, and on request tagger and message); lightweight tags are not events, but
 * their names still count for counters and taken names.
 *
 * Every command lists every tag and folds them all. What it need not do every time is
 * read every tag object for its date: a tag object never changes, so `.xp/registry-tags.txt`
 * keeps each one's date and commit by object id (like the run-record index docs/architecture.md#run-record
 * allows). A listing is then one `git for-each-ref` that reads no tag object, plus a
 * `git cat-file --batch` for the few tags not seen before; with many new ones (a fresh
 * clone) one `git for-each-ref` reads them all. The file is a cache only.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ensureXpDir, type Repo } from '../repo.js'
import { git, CatFileBatch } from '../git.js'
import { writeFileAtomic } from '../fsutil.js'
import { parseRegistryTag, isCreationTag, type ParsedTag } from './tag.js'
import { foldEvents, creationWarning, type RegistryEvent, type RegistryState } from './fold.js'

type RepoLike = Pick<Repo, 'root' | 'ctx' | 'xpDir'>

export interface RegistryTags {
  /** annotated registry tags on commits, parsed */
  events: RegistryEvent[]
  /** the names of every registry-like tag, annotated or not */
  names: Set<string>
  /** tags GTO's grammar has but xp ignores (NAME@created) */
  warnings: string[]
}

/**
 * What a tag object says: [tagger time, commit, tagger's UTC offset, the name stored in
 * the object, and the time as git wrote it when that is how xp writes it], or 0 when it is
 * not an annotated tag of a commit.
 */
type Known = [number, string, string, string, string?] | 0

// `OID NAME` first, as the plain listing's line: a record's first field is then its line as is
const FULL = ['%(objectname) %(refname:strip=2)', '%(objecttype)', '%(*objecttype)', '%(*objectname)', '%(taggerdate:raw)', '%(tag)']
/** Past this many unseen tags one for-each-ref reading every tag beats asking cat-file for each. */
const BATCH_LIMIT = 256

export interface Listed {
  oid: string
  tag: string
  parsed: ParsedTag
  /** what its tag object says, when the listing read it */
  known: Known | undefined
  /** its line's place in the lines it was parsed from */
  line: number
}

/** The listing of every tag, a line `OID NAME` each. */
export interface TagListing {
  lines: string[]
  /**
   * What each line's tag object says, when the listing had to read them anyway (a fresh
   * clone): beside `lines`, undefined for a tag that is no registry tag. An array, not a
   * Map by object id (issue 16: hashing 30,000 ids into Maps, three times, was a tenth of
   * a cold listing's CPU).
   */
  known?: Array<Known | undefined>
  /**
   * Some object id may be listed twice (`git tag NEW OLD`, or lightweight tags on one
   * commit): only then are the events and index lines made unique by object id.
   */
  dups?: boolean
}

export type FullListing = Required<TagListing>

/**
 * List every tag: with the index, one `git for-each-ref` that reads no tag object; without
 * it (a fresh clone), one that reads every tag object at once.
 */
export async function listTags(repo: RepoLike): Promise<TagListing> {
  if (!hasTagIndex(repo)) return readFull(repo)
  return listPlain(repo)
}

/** Is there a tag index (else this is a fresh clone, or the index was deleted)? */
export const hasTagIndex = (repo: Pick<Repo, 'xpDir'>) => fs.existsSync(indexFile(repo))

/** The plain listing, `OID NAME` a line (the last one empty): it reads no tag object. */
export async function listPlain(repo: RepoLike): Promise<TagListing> {
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname:strip=2)', 'refs/tags'], {
    cwd: repo.root,
    env: repo.ctx.env,
    signal: repo.ctx.signal,
  })
  return { lines: stdout.split('\n') }
}

/**
 * Parse listing lines (`OID NAME`) into registry tags, names taken, and warnings; `known`,
 * beside `lines`, is what the listing read of their tag objects.
 */
export function parseListing(lines: string[], known?: Array<Known | undefined>): { listed: Listed[]; names: Set<string>; warnings: string[] } {
  const names = new Set<string>()
  const warnings: string[] = []
  const listed: Listed[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const sp = line.indexOf(' ')
    const tag = line.slice(sp + 1)
    // The cheap test first: almost every tag of a big registry is one, most of a code repo's are not.
    if (sp < 0 || (tag.indexOf('@') < 0 && tag.indexOf('#') < 0)) continue
    const parsed = parseRegistryTag(tag)
    if (parsed) {
      listed.push({ oid: line.slice(0, sp), tag, parsed, known: known?.[i], line: i })
      names.add(tag)
    } else if (isCreationTag(tag)) {
      names.add(tag)
      warnings.push(creationWarning(tag))
    }
  }
  return { listed, names, warnings }
}

/**
 * The events of listed tags: dates and commits from the index, unseen tag objects read
 * (and added to the index; `present` holds the object ids of every tag that exists, `size` their number).
 *
 * An event is named by the name inside its tag object, as GTO names it: a ref made by
 * `git tag NEW OLD` holds OLD's object and is the event OLD, once (`warn` says so).
 */
export async function eventsOf(
  repo: RepoLike,
  listed: Listed[],
  present: { has: (oid: string) => boolean; size: number },
  preread?: TagListing,
  warn: (ref: string, message: string) => void = () => {},
): Promise<RegistryEvent[]> {
  const index = TagIndex.read(repo)
  const fresh = new Map<string, Known>()
  const unseen: string[] = []
  for (const l of listed) if (l.known === undefined && index.get(l.oid) === undefined) unseen.push(l.oid)
  if (unseen.length > BATCH_LIMIT) {
    const { oids, ks } = knownById(await readFull(repo))
    for (let i = 0; i < oids.length; i++) fresh.set(oids[i], ks[i])
  } else if (unseen.length) for (const [o, k] of await readTagObjects(repo, unseen)) fresh.set(o, k)
  const events: RegistryEvent[] = []
  // an object id listed twice is one event; a listing that read every tag object knows whether any is
  const seen = preread?.known && !preread.dups && !fresh.size ? undefined : new Set<string>()
  for (const l of listed) {
    const k = l.known ?? fresh.get(l.oid) ?? index.get(l.oid)
    if (!k) continue
    // by index: a destructuring runs the iterator protocol, 30,000 times before the JIT is warm
    const time = k[0]
    const commit = k[1]
    const offset = k[2]
    const inside = k[3]
    if (inside === l.tag || !inside) {
      if (!seen) events.push(makeEvent(l.tag, undefined, l.oid, l.parsed, time, offset, commit))
      else if (!seen.has(l.oid)) {
        events.push(makeEvent(l.tag, undefined, l.oid, l.parsed, time, offset, commit))
        seen.add(l.oid)
      }
      continue
    }
    const p = parseRegistryTag(inside)
    if (!p) {
      warn(l.tag, `ignoring tag "${l.tag}": its tag object is named "${inside}", which is not a registry tag (GTO fails on such a tag)`)
      continue
    }
    if (p.artifact !== l.parsed.artifact) {
      warn(l.tag, `ignoring tag "${l.tag}": its tag object is named "${inside}", an event of another artifact`)
      continue
    }
    warn(l.tag, `tag "${l.tag}" holds the tag object "${inside}" (as \`git tag ${l.tag} ${inside}\` makes): read as "${inside}", as GTO reads it`)
    if (!seen?.has(l.oid)) events.push(makeEvent(inside, l.tag, l.oid, p, time, offset, commit))
    seen?.add(l.oid)
  }
  if (preread?.known) {
    // every tag object was read by the listing (a fresh clone): nothing was left unseen
    writeIndex(repo, index, knownById(preread as FullListing), (oid) => present.has(oid), present.size)
  } else if (unseen.length) writeIndex(repo, index, { oids: [...fresh.keys()], ks: [...fresh.values()] }, (oid) => present.has(oid), present.size)
  return events
}

/**
 * What a full listing read, by object id, in listing order (a Map, first place and last
 * value, only when an id may repeat).
 */
function knownById(listing: FullListing): Fresh {
  const { lines, known } = listing
  if (listing.dups) {
    const map = new Map<string, Known>()
    for (let i = 0; i < lines.length; i++) if (known[i] !== undefined) map.set(lines[i].slice(0, lines[i].indexOf(' ')), known[i]!)
    return { oids: [...map.keys()], ks: [...map.values()] }
  }
  const oids: string[] = []
  const ks: Known[] = []
  for (let i = 0; i < lines.length; i++)
    if (known[i] !== undefined) {
      oids.push(lines[i].slice(0, lines[i].indexOf(' ')))
      ks.push(known[i]!)
    }
  return { oids, ks }
}

/** Index entries just read: object ids and what each says, side by side, each id once. */
interface Fresh {
  oids: string[]
  ks: Known[]
}

/**
 * Every registry tag of the repository.
 *
 * @example
 * const { events, names } = await readRegistryTags(repo)
 */
export async function readRegistryTags(repo: RepoLike, opts: { listing?: TagListing } = {}): Promise<RegistryTags> {
  const listing = opts.listing ?? (await listTags(repo))
  const { listed, names, warnings } = parseListing(listing.lines, listing.known)
  const present = new Set(listed.map((l) => l.oid))
  const events = await eventsOf(repo, listed, present, listing, (_ref, w) => warnings.push(w))
  return { events, names, warnings }
}

function makeEvent(tag: string, ref: string | undefined, oid: string, p: ParsedTag, time: number, offset: string, commit: string): RegistryEvent {
  // every field, in one order: one object shape for the fold
  return {
    tag,
    ref,
    oid,
    time,
    offset,
    commit,
    tagger: '',
    email: '',
    message: '',
    artifact: p.artifact,
    kind: p.kind,
    version: p.version,
    stage: p.stage,
    counter: p.counter,
  }
}

/**
 * One `git for-each-ref` that reads every tag object: the listing, and what each registry
 * tag says. Parsed in place (issue 16): a record's first field is its listing line, kept as
 * a slice, and only the fields of registry tags become strings of their own (a `split` of
 * 30,000 records made 180,000 strings for the collector).
 */
export async function readFull(repo: RepoLike): Promise<FullListing> {
  const { stdout } = await git(['for-each-ref', `--format=${FULL.join('%00')}%00`, 'refs/tags'], { cwd: repo.root, env: repo.ctx.env, signal: repo.ctx.signal })
  const lines: string[] = []
  const known: Array<Known | undefined> = []
  let dups = false
  const s = stdout
  for (let pos = 0; pos < s.length; ) {
    if (s.charCodeAt(pos) === 10) pos++ // records after the first start with git's newline
    const e0 = s.indexOf('\0', pos)
    const e1 = e0 < 0 ? -1 : s.indexOf('\0', e0 + 1)
    const e2 = e1 < 0 ? -1 : s.indexOf('\0', e1 + 1)
    const e3 = e2 < 0 ? -1 : s.indexOf('\0', e2 + 1)
    const e4 = e3 < 0 ? -1 : s.indexOf('\0', e3 + 1)
    const e5 = e4 < 0 ? -1 : s.indexOf('\0', e4 + 1)
    if (e5 < 0) break
    const line = s.slice(pos, e0)
    pos = e5 + 1
    lines.push(line)
    const sp = line.indexOf(' ')
    if (line.indexOf('@', sp) < 0 && line.indexOf('#', sp) < 0) {
      known.push(undefined)
      continue
    }
    if (e1 - e0 !== 4 || !s.startsWith('tag', e0 + 1) || e2 - e1 !== 7 || !s.startsWith('commit', e1 + 1)) {
      // lightweight tags on one commit share its id
      known.push(0)
      dups = true
      continue
    }
    // taggerdate:raw is `TIME OFFSET`
    const dsp = s.indexOf(' ', e3 + 1)
    const timeText = dsp > e3 && dsp < e4 ? s.slice(e3 + 1, dsp) : s.slice(e3 + 1, e4)
    const time = Number(timeText) || 0
    const offset = dsp > e3 && dsp < e4 ? s.slice(dsp + 1, e4) : undefined
    // the name inside the object is almost always the ref's: the same string then
    const nameLen = line.length - sp - 1
    const same = e5 - e4 - 1 === nameLen && s.startsWith(line.slice(sp + 1), e4 + 1)
    // a tag object lives under its own name once: only one named otherwise can share its id
    if (!same) dups = true
    known.push([time, s.slice(e2 + 1, e3), validOffset(offset), same ? line.slice(sp + 1) : s.slice(e4 + 1, e5), canonical(timeText) ? timeText : undefined])
  }
  return { lines, known, dups }
}

/** Read a few tag objects over one `git cat-file --batch`. */
async function readTagObjects(repo: RepoLike, oids: string[]): Promise<Map<string, Known>> {
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  try {
    const objs = await Promise.all(oids.map((o) => batch.read(o)))
    const out = new Map<string, Known>()
    for (const [i, oid] of oids.entries()) out.set(oid, objs[i]?.type === 'tag' ? parseTagHeader(objs[i]!.content.toString('utf8')) : 0)
    return out
  } finally {
    batch.close()
  }
}

/**
 * The commit, tagger time and offset, and own name of a tag object, from its header
 * (`object`, `type`, `tag`, `tagger NAME <EMAIL> TIME TZ`); 0 for a tag of anything but a commit.
 *
 * @example
 * parseTagHeader('object 1a…\ntype commit\ntag m@v1.0.0\ntagger A <a@x> 1700000010 +0000\n\nmsg') // [1700000010, '1a…', '+0000', 'm@v1.0.0']
 */
export function parseTagHeader(text: string): Known {
  const end = text.indexOf('\n\n')
  const lines = (end < 0 ? text : text.slice(0, end)).split('\n')
  const field = (k: string) => lines.find((l) => l.startsWith(k + ' '))?.slice(k.length + 1)
  const object = field('object')
  if (!object || field('type') !== 'commit') return 0
  const m = / (\d+) ([+-]\d{4})$/.exec(field('tagger') ?? '')
  return [Number(m?.[1] ?? 0), object, validOffset(m?.[2]), field('tag') ?? '']
}

/**
 * Is this the text `String(Number(text))` gives (digits, no leading zero, exact as a
 * double)? The index then takes git's text as is (issue 16: turning 30,000 numbers back into
 * text was a third of writing a fresh clone's index).
 */
function canonical(text: string): boolean {
  if (text.length === 0 || text.length > 15 || text.charCodeAt(0) === 48) return false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

const validOffset = (o: string | undefined) => (o && /^[+-]\d{4}$/.test(o) ? o : '+0000')

// One line per tag object, `OID TIME OFFSET COMMIT NAME` (or `OID 0`): plain text parses
// faster than JSON, and a line is split only when its tag is looked up. (Tag names hold no
// spaces: git forbids them.)
const INDEX_HEADER = 'xp registry tag index 2'
const INDEX_LINE = /^[0-9a-f]+ (\d+) ([+-]\d{4}) ([0-9a-f]{40}(?:[0-9a-f]{24})?) (\S+)$/
const indexFile = (repo: Pick<Repo, 'xpDir'>) => path.join(repo.xpDir, 'registry-tags.txt')

/**
 * The index as read. A few look-ups (the tags of one new artifact version) search the text;
 * many build a map once.
 */
class TagIndex {
  private map: Map<string, string> | undefined
  private lookups = 0

  constructor(private readonly text: string) {}

  static read(repo: Pick<Repo, 'xpDir'>): TagIndex {
    try {
      const text = fs.readFileSync(indexFile(repo), 'utf8')
      if (text.startsWith(INDEX_HEADER + '\n')) return new TagIndex(text.slice(INDEX_HEADER.length))
    } catch {
      // no index yet: every tag object is read
    }
    return new TagIndex('')
  }

  /** Lines by object id (a damaged line may map to a bad key: it is then never found). */
  lines(): Map<string, string> {
    if (!this.map) {
      this.map = new Map()
      for (const line of this.text.split('\n')) if (line) this.map.set(line.slice(0, line.indexOf(' ')), line)
    }
    return this.map
  }

  line(oid: string): string | undefined {
    if (this.map || ++this.lookups > 64) return this.lines().get(oid)
    const at = this.text.indexOf(`\n${oid} `)
    if (at < 0) return undefined
    const end = this.text.indexOf('\n', at + 1)
    return this.text.slice(at + 1, end < 0 ? undefined : end)
  }

  get(oid: string): Known | undefined {
    const line = this.line(oid)
    if (line === undefined) return undefined
    if (line.endsWith(' 0') && line.indexOf(' ') === line.length - 2) return 0
    // anything malformed is unknown, so the tag object is read again rather than trusted
    const m = INDEX_LINE.exec(line)
    return m ? [Number(m[1]), m[3], m[2], m[4]] : undefined
  }

  get empty(): boolean {
    return this.text.length <= 1
  }

  /** About how many entries it has (its newlines), without splitting it. */
  count(): number {
    if (this.map) return this.map.size
    let n = 0
    for (let i = this.text.indexOf('\n', 1); i >= 0; i = this.text.indexOf('\n', i + 1)) n++
    return n
  }
}

/**
 * Add `fresh` to the index. A few new entries are appended (a torn last line would be
 * malformed, hence unknown, and its tag read again); the file is rewritten with only the
 * tags that exist now when it has grown past twice the registry, or had damaged lines.
 */
function writeIndex(repo: Pick<Repo, 'xpDir'>, index: TagIndex, fresh: Fresh, present: (oid: string) => boolean, total: number) {
  const line = (oid: string, k: Known) => (k ? `${oid} ${k[4] ?? k[0]} ${k[2]} ${k[1]} ${k[3]}` : `${oid} 0`)
  const { oids, ks } = fresh
  const lines = (into: string[], end: string) => {
    for (let i = 0; i < oids.length; i++) into.push(line(oids[i], ks[i]) + end)
    return into
  }
  try {
    ensureXpDir(repo)
    if (!index.empty && oids.every((oid) => index.line(oid) === undefined) && index.count() + oids.length <= 2 * total + 100) {
      fs.appendFileSync(indexFile(repo), lines([], '\n').join(''))
      return
    }
    const out = [INDEX_HEADER]
    if (!index.empty) {
      const added = new Set(oids)
      for (const [oid, l] of index.lines()) if (!added.has(oid) && present(oid)) out.push(l)
    }
    // what was just read came from this listing: present by construction (a fresh clone's
    // 30,000 tags never build the set of object ids)
    writeFileAtomic(indexFile(repo), lines(out, '').join('\n') + '\n')
  } catch {
    // a read-only checkout still reads the registry, at full cost every time
  }
}

const SIGNATURE = /\n?-----BEGIN (PGP|SSH) SIGNATURE-----[\s\S]*$/

/**
 * Fill in tagger, email and message of some events (history, which) from their tag objects,
 * over one `git cat-file --batch`: a listing never needs them, so it never reads them.
 */
export async function addTagDetails(repo: Pick<Repo, 'root' | 'ctx'>, events: RegistryEvent[]): Promise<void> {
  if (!events.length) return
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  try {
    const objs = await Promise.all(events.map((e) => batch.read(e.oid ?? `refs/tags/${e.ref ?? e.tag}`)))
    events.forEach((e, i) => {
      const o = objs[i]
      if (o?.type === 'tag') Object.assign(e, parseTagDetails(o.content.toString('utf8')))
    })
  } finally {
    batch.close()
  }
}

/**
 * Tagger, email and message of a tag object.
 *
 * @example
 * parseTagDetails('object …\ntype commit\ntag m@v1.0.0\ntagger Ada L <ada@x> 1700000010 +0000\n\nhello\n') // { tagger: 'Ada L', email: 'ada@x', message: 'hello' }
 */
export function parseTagDetails(text: string): { tagger: string; email: string; message: string } {
  const end = text.indexOf('\n\n')
  const header = end < 0 ? text : text.slice(0, end)
  const m = /^tagger (.*?) ?<([^>]*)> \d+ [+-]\d{4}$/m.exec(header)
  // stripped, as GTO strips it
  const message =
    end < 0
      ? ''
      : text
          .slice(end + 2)
          .replace(SIGNATURE, '')
          .trim()
  return { tagger: m?.[1] ?? '', email: m?.[2] ?? '', message }
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
export async function loadRegistry(repo: RepoLike, opts: { listing?: TagListing } = {}): Promise<Registry> {
  const tags = await readRegistryTags(repo, opts)
  const state = foldEvents(tags.events)
  state.warnings.push(...tags.warnings)
  return { ...tags, state }
}
