/**
 * The registry's state, folded from its tags every time (docs/architecture.md#registry-tags; there is no state
 * file). Pure: takes tag events, returns state plus the warnings and problems to show.
 *
 * The fold gives GTO 1.8's answers, ties included (docs/registry.md, "State"). GTO indexes
 * tags in three passes (deprecations; registrations and deregistrations; assignments and
 * unassignments), each sorted by tagger second and, within a second, by ref name (git's
 * listing order). Its versions are keyed by name and commit, and every order it shows
 * comes from stable sorts by the second over those lists, some reversed: this module
 * follows the same orders, written as xp's own data, so that a tie breaks as GTO breaks it.
 */
import { parseRegistryTag, isCreationTag, type ParsedTag, type TagKind } from './tag.js'
import { parseSemVer, compareSemVer, compareVersionText } from './semver.js'

/** One annotated tag as read from git. */
export interface TagEvent {
  /** the name stored in the tag object (GTO reads this one, not the ref's) */
  tag: string
  /** the ref's name under refs/tags/, when it differs from `tag` (`git tag NEW OLD`) */
  ref?: string
  /** the tag object's id, when read from git */
  oid?: string
  /** tagger date, seconds since the epoch */
  time: number
  /** the tagger's UTC offset as git writes it (`+0000`, `-0530`); `+0000` when unknown */
  offset?: string
  /** the commit the tag points at */
  commit: string
  tagger: string
  email: string
  message: string
}

export interface RegistryEvent extends TagEvent {
  artifact: string
  kind: TagKind
  /** for stage events: the version at the commit, or the commit's hash when none is registered */
  version?: string
  stage?: string
  counter?: number
}

export interface VersionState {
  version: string
  commit: string
  /** registered explicitly (false for a commit that only has stage tags: its version is its hash) */
  registered: boolean
  /** its newest registration event is a registration (or, unregistered, it has stage events) */
  active: boolean
  /** when it was (last) registered; for an unregistered commit, its newest stage event */
  created: number
  /** its (newest) registration tag */
  tag?: string
  /** stages whose newest event for this version is an assignment */
  stages: string[]
}

export interface StageHolder {
  version: string
  commit: string
  /** the newest assignment of this version to the stage */
  assigned: number
  tag: string
}

export interface ArtifactState {
  name: string
  /** false when its newest event is a deprecation */
  active: boolean
  /** always true for artifacts known from tags (GTO's flag for artifacts only annotated in files) */
  registered: boolean
  /** highest active registered version (GTO's latest) */
  latest: VersionState | null
  /** every version, highest SemVer first; commit-hash versions last */
  versions: VersionState[]
  /** per stage: the active versions holding it, the one GTO shows first */
  stages: Record<string, StageHolder[]>
  /** this artifact's events in GTO's history order, oldest first (`gto history --ascending`) */
  events: RegistryEvent[]
  /** the commit GTO puts a new `@deprecated` tag on: that of the artifact's newest event */
  newestCommit: string | null
}

export interface RegistryState {
  artifacts: Map<string, ArtifactState>
  /** stages held by some version of some artifact, sorted (GTO's "used stages") */
  stages: string[]
  /** non-fatal things the user should see (ignored tags) */
  warnings: string[]
  /** inconsistencies in the tags; the rest of the registry is still read */
  problems: string[]
}

/** GTO's event priorities: the order of `gto history` among events of one second. */
export const PRIORITY: Record<TagKind, number> = { deprecate: 2, register: 3, deregister: 4, assign: 5, unassign: 6 }
/** GTO's indexing passes: deprecations, then versions, then stages. */
const PASS: Record<TagKind, number> = { deprecate: 0, register: 1, deregister: 1, assign: 2, unassign: 2 }

const refOf = (e: TagEvent) => e.ref ?? e.tag
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** GTO's indexing order: pass, second, ref name. */
export function compareEvents(a: RegistryEvent, b: RegistryEvent): number {
  return PASS[a.kind] - PASS[b.kind] || a.time - b.time || byName(refOf(a), refOf(b))
}

/** A stable sort by the second (Array.prototype.sort is stable), as GTO's `sorted(key=created_at)`. */
const byTime = <T extends { time: number }>(list: T[]): T[] => [...list].sort((a, b) => a.time - b.time)
const desc = <T>(list: T[]): T[] => [...list].reverse()

const short = (commit: string) => commit.slice(0, 7)

/** The rule GTO enforces, quoted in xp's messages. */
export const GTO_ONE_VERSION_PER_COMMIT = 'GTO: "Multiple versions are not allowed on the same Git commit"'

/**
 * Fold tag events into the registry's state.
 *
 * @example
 * const state = foldRegistry([{ tag: 'churn@v1.0.0', time: 10, commit: c1, tagger: 'A', email: 'a@x', message: '' }])
 * state.artifacts.get('churn')!.latest!.version // 'v1.0.0'
 */
export function foldRegistry(tags: TagEvent[]): RegistryState {
  const warnings: string[] = []
  const events: RegistryEvent[] = []
  for (const t of tags) {
    const p = parseRegistryTag(t.tag)
    if (p) events.push(toRegistryEvent(t, p))
    else if (isCreationTag(t.tag)) warnings.push(creationWarning(t.tag))
  }
  const state = foldEvents(events)
  state.warnings.unshift(...warnings)
  return state
}

export const creationWarning = (tag: string) =>
  `ignoring tag "${tag}": GTO's creation tags (NAME@created) are not supported (GTO itself fails on them); an artifact exists once it has a version or a stage`

/** A tag event with its parsed name; every field set, so that all events share one shape (fast to fold). */
export function toRegistryEvent(t: TagEvent, p: ParsedTag): RegistryEvent {
  return {
    tag: t.tag,
    ref: t.ref,
    oid: t.oid,
    time: t.time,
    offset: t.offset,
    commit: t.commit,
    tagger: t.tagger,
    email: t.email,
    message: t.message,
    artifact: p.artifact,
    kind: p.kind,
    version: p.version,
    stage: p.stage,
    counter: p.counter,
  }
}

/**
 * Fold parsed events (from {@link toRegistryEvent}) into state. `brief`: only what a listing
 * shows (`showEntry`): no list of versions, and each stage's first holder only (a cold
 * `model ls` of 30,000 tags sorted and copied every version and holder for nothing).
 */
export function foldEvents(events: RegistryEvent[], opts: { brief?: boolean } = {}): RegistryState {
  const problems: string[] = []
  const byArtifact = new Map<string, RegistryEvent[]>()
  for (const e of events) {
    const list = byArtifact.get(e.artifact)
    if (list) list.push(e)
    else byArtifact.set(e.artifact, [e])
  }
  const artifacts = new Map<string, ArtifactState>()
  const used = new Set<string>()
  for (const [name, list] of byArtifact) {
    list.sort(compareEvents)
    const a = foldArtifact(name, list, problems, opts.brief === true)
    for (const stage in a.stages) used.add(stage)
    artifacts.set(name, a)
  }
  return { artifacts, stages: [...used].sort(), warnings: [], problems }
}

interface VStage {
  stage: string
  assignments: RegistryEvent[]
  unassignments: RegistryEvent[]
}

interface VersionAcc extends VersionState {
  /** order of creation (GTO's list of versions) */
  index: number
  registrations: RegistryEvent[]
  deregistrations: RegistryEvent[]
  /** by stage, in the order stages first appeared (a version has a few: a list beats a Map) */
  vstages: VStage[]
}

/**
 * The fold's lists start as this shared empty list and get one of their own at their first
 * event (issue 16: most versions have no deregistration, most stages no unassignment; a
 * cold listing of 30,000 tags made 60,000 empty arrays and 10,000 Maps). Never pushed to.
 */
const NONE: never[] = []
const NO_STAGES: VStage[] = []
/** `list` with `e` added: a list of its own when `list` is the shared empty one. */
function add<T>(list: T[], e: T): T[] {
  if (list.length === 0) return [e]
  list.push(e)
  return list
}
const stageOf = (v: VersionAcc, stage: string) => {
  for (const s of v.vstages) if (s.stage === stage) return s
  return undefined
}

/** A stage's events of one version, newest first, unassignment first within a second. */
const vstageDesc = (s: VStage) => desc(byTime([...s.assignments, ...s.unassignments]))
/** A version's events, newest first, in GTO's order within a second. */
const versionDesc = (v: VersionAcc) => desc(byTime([...v.registrations, ...v.deregistrations, ...v.vstages.flatMap(vstageDesc)]))
const maxTime = (list: RegistryEvent[]) => list.reduce((m, e) => Math.max(e.time, m), -Infinity)
/**
 * The first of `desc(byTime([...a, ...b]))` without building it (the fold runs per version
 * and stage: 30,000 tags made a quarter of a million short-lived arrays): the last event of
 * the newest second, in list order.
 */
function newestOf(a: RegistryEvent[], b: RegistryEvent[] = []): RegistryEvent | undefined {
  let best: RegistryEvent | undefined
  for (const e of a) if (!best || e.time >= best.time) best = e
  for (const e of b) if (!best || e.time >= best.time) best = e
  return best
}

function foldArtifact(name: string, events: RegistryEvent[], problems: string[], brief: boolean): ArtifactState {
  const versions: VersionAcc[] = []
  const byKey = new Map<string, VersionAcc>()
  const byCommit = new Map<string, VersionAcc[]>()
  const deprecations: RegistryEvent[] = []
  const orphans: RegistryEvent[] = []
  const newVersion = (version: string, commit: string, registered: boolean, time: number): VersionAcc => {
    const v: VersionAcc = {
      version,
      commit,
      registered,
      active: false,
      created: time,
      tag: undefined,
      stages: NONE,
      index: versions.length,
      registrations: NONE,
      deregistrations: NONE,
      vstages: NO_STAGES,
    }
    versions.push(v)
    return v
  }
  const reported = new Set<string>()
  for (const e of events) {
    if (e.kind === 'deprecate') deprecations.push(e)
    else if (e.kind === 'register' || e.kind === 'deregister') {
      // a version is its name on its commit: v1.0.0 on c1 and v1.0.0 on c2 are two versions
      const key = `${e.version}\0${e.commit}`
      let v = byKey.get(key)
      if (!v) {
        byKey.set(key, (v = newVersion(e.version!, e.commit, false, e.time)))
        const list = byCommit.get(e.commit)
        if (list) list.push(v)
        else byCommit.set(e.commit, [v])
      }
      if (e.kind === 'register') v.registrations = add(v.registrations, e)
      else v.deregistrations = add(v.deregistrations, e)
    } else {
      // a stage tag belongs to the version registered at its commit, whenever registered
      const list = byCommit.get(e.commit)
      let v: VersionAcc | undefined
      // On a commit with no registered version GTO makes a version named by the commit's
      // hash for each stage tag there, one apiece (its lookup skips versions that have no
      // registration event). xp reads them so too: an unassignment there cancels nothing.
      if (!list) v = newVersion(e.commit, e.commit, false, e.time)
      else if (list.length === 1) v = list[0]
      else {
        if (!reported.has(e.commit)) {
          reported.add(e.commit)
          problems.push(
            `artifact "${name}" has ${list.length} versions on commit ${short(e.commit)} (${list.map((x) => x.version).join(', ')}) and stage tags there, which GTO cannot read (${GTO_ONE_VERSION_PER_COMMIT}); xp ignores those stage tags: delete the extra registration tags (\`git tag -d\`)`,
          )
        }
        orphans.push(e)
        continue
      }
      e.version = v.version
      const s = stageOf(v, e.stage!)
      if (!s)
        v.vstages = add(
          v.vstages,
          e.kind === 'assign' ? { stage: e.stage!, assignments: [e], unassignments: NONE } : { stage: e.stage!, assignments: NONE, unassignments: [e] },
        )
      else if (e.kind === 'assign') s.assignments = add(s.assignments, e)
      else s.unassignments = add(s.unassignments, e)
    }
  }

  for (const v of versions) {
    v.registered = v.registrations.length > 0
    // the newest registration event decides; within its second a deregistration wins
    const newest = newestOf(v.registrations, v.deregistrations)
    if (newest) v.active = newest.kind === 'register'
    else v.active = v.vstages.length > 0
    if (v.registrations.length) {
      const last = newestOf(v.registrations)!
      v.created = last.time
      v.tag = last.tag
    } else {
      const stageEvents = v.vstages.flatMap((s) => [...s.assignments, ...s.unassignments])
      v.created = stageEvents.length ? maxTime(stageEvents) : maxTime(v.deregistrations)
    }
  }

  // Stages. A version holds a stage when its newest event there is an assignment (an
  // unassignment in the same second wins). The one shown is the most recently assigned; in
  // one second, the version created first (GTO sorts versions by their creation, then
  // their assignments by time, both stably, and reverses each).
  const stageHolders: Record<string, Array<{ v: VersionAcc; assigned: RegistryEvent }>> = {}
  for (const v of versions) {
    if (!v.active) continue
    for (const s of v.vstages) {
      const newest = newestOf(s.assignments, s.unassignments)
      if (newest?.kind !== 'assign') continue
      v.stages = add(v.stages, s.stage)
      ;(stageHolders[s.stage] ??= []).push({ v, assigned: newest })
    }
  }
  const stages: Record<string, StageHolder[]> = {}
  type Held = { v: VersionAcc; assigned: RegistryEvent }
  const shownFirst = (x: Held, y: Held) => y.assigned.time - x.assigned.time || x.v.created - y.v.created || x.v.index - y.v.index
  for (const stage of Object.keys(stageHolders).sort()) {
    if (brief) {
      // the first of the sorted list below, by a scan (a version holds a stage once: no ties)
      let first = stageHolders[stage][0]
      for (const h of stageHolders[stage]) if (shownFirst(h, first) < 0) first = h
      stages[stage] = [{ version: first.v.version, commit: first.v.commit, assigned: first.assigned.time, tag: first.assigned.tag }]
      continue
    }
    const seen = new Set<string>()
    stages[stage] = stageHolders[stage]
      .sort(shownFirst)
      .filter(({ v }) => !seen.has(v.version) && !!seen.add(v.version)) // GTO lists a version name once
      .map(({ v, assigned }) => ({ version: v.version, commit: v.commit, assigned: assigned.time, tag: assigned.tag }))
  }

  // GTO's artifact events: deprecations, then each version's (newest first), stably by
  // time; its history sorts those, newest first, stably by (time, priority). Only history
  // and which need that order: it is built when first asked for.
  const historyOf = () => {
    const artifactDesc = desc(byTime([...deprecations, ...versions.flatMap(versionDesc), ...orphans]))
    return artifactDesc.sort((a, b) => a.time - b.time || PRIORITY[a.kind] - PRIORITY[b.kind])
  }
  // GTO's newest event is the last of the newest second in that order: any event of a
  // version (the last such version's), else the last deprecation
  const newestTime = events.reduce((m, e) => Math.max(e.time, m), -Infinity)
  let newest: RegistryEvent | undefined
  for (const d of deprecations) if (d.time === newestTime) newest = d
  for (const v of versions) {
    if (v.registrations.some((e) => e.time === newestTime) || v.deregistrations.some((e) => e.time === newestTime))
      newest = v.registrations[0] ?? v.deregistrations[0]
    else
      for (const st of v.vstages)
        if (st.assignments.some((e) => e.time === newestTime) || st.unassignments.some((e) => e.time === newestTime))
          newest = st.assignments[0] ?? st.unassignments[0]
  }
  for (const o of orphans) if (o.time === newestTime) newest = o

  let history: RegistryEvent[] | undefined
  const state = (latest: VersionState | null, all: VersionState[]): ArtifactState => ({
    name,
    // GTO: the newest event is not a deprecation (any other event of that second wins)
    active: newest !== undefined && newest.kind !== 'deprecate',
    registered: true,
    latest,
    versions: all,
    stages,
    get events() {
      return (history ??= historyOf())
    },
    newestCommit: newest?.commit ?? null,
  })
  if (brief) {
    // the first registered active SemVer version of the order below, by a scan
    let found: VersionAcc | undefined
    let foundSv: ReturnType<typeof parseSemVer> = null
    for (const v of versions) {
      if (!v.registered || !v.active) continue
      const sv = parseSemVer(v.version)
      if (sv && (!foundSv || compareSemVer(sv, foundSv) > 0 || (compareSemVer(sv, foundSv) === 0 && v.index > found!.index))) {
        found = v
        foundSv = sv
      }
    }
    if (found && found.stages.length > 1) found.stages.sort()
    return state(found ? publicVersion(found) : null, [])
  }

  // Versions highest first; equal precedence (build metadata differs): the one created later first.
  const keyed = versions.map((v) => ({ v, sv: parseSemVer(v.version) }))
  keyed.sort((x, y) =>
    x.sv && y.sv ? compareSemVer(y.sv, x.sv) || y.v.index - x.v.index : x.sv ? -1 : y.sv ? 1 : compareVersionText(y.v.version, x.v.version),
  )
  // a commit's hash-named versions are listed as one
  const hashed = new Map<string, VersionAcc>()
  const all: VersionState[] = []
  const published = new Map<VersionAcc, VersionState>()
  for (const { v } of keyed) {
    if (v.registered || v.registrations.length || v.deregistrations.length) {
      if (v.stages.length > 1) v.stages.sort()
      published.set(v, publicVersion(v))
      all.push(published.get(v)!)
      continue
    }
    const first = hashed.get(v.commit)
    if (!first) {
      hashed.set(v.commit, v)
      all.push(v)
    } else {
      first.stages = [...first.stages, ...v.stages.filter((s) => !first.stages.includes(s))]
      first.active ||= v.active
      first.created = Math.max(first.created, v.created)
    }
  }
  for (const v of hashed.values()) {
    if (v.stages.length > 1) v.stages.sort()
    all[all.indexOf(v)] = publicVersion(v)
  }
  const found = keyed.find(({ v, sv }) => sv && v.registered && v.active)?.v
  return state(found ? published.get(found)! : null, all)
}

/** A version without the fold's working fields. */
function publicVersion(v: VersionState): VersionState {
  const { version, commit, registered, active, created, tag, stages } = v
  // a list of its own: the fold's shared empty one never leaves it
  return { version, commit, registered, active, created, tag, stages: stages.length ? stages : [] }
}

/** Highest version ever registered (active or not): the base for the next bump, so it never collides. */
export function highestVersion(a: ArtifactState | undefined): string | null {
  let best: ReturnType<typeof parseSemVer> = null
  for (const v of a?.versions ?? []) {
    const s = v.registered ? parseSemVer(v.version) : null
    if (s && (!best || compareSemVer(s, best) > 0)) best = s
  }
  return best?.raw ?? null
}

/** GTO's `show --json` entry for one artifact. */
export interface GtoShowEntry {
  version: string | null
  stage: Record<string, string | null>
  registered: boolean
  active: boolean
}

/** One artifact's part of the listing, on its own: the stages it holds, the version each shows. */
export interface ShowEntry {
  version: string | null
  stages: Record<string, string>
  registered: boolean
  active: boolean
}

export function showEntry(a: ArtifactState): ShowEntry {
  const stages: Record<string, string> = {}
  for (const s in a.stages) if (a.stages[s].length) stages[s] = a.stages[s][0].version
  return { version: a.latest?.version ?? null, stages, registered: a.registered, active: a.active }
}

/**
 * The registry in the exact shape of `gto show --json` from each artifact's entry: every
 * active artifact (all with `deprecated`), its latest version, and for every stage used
 * anywhere in the registry (deprecated artifacts included, as GTO does) the version shown
 * there (most recently assigned) or null.
 */
export function gtoShowOf(
  entries: Iterable<[string, ShowEntry]>,
  opts: { deprecated?: boolean } = {},
): { show: Record<string, GtoShowEntry>; stages: string[] } {
  const list = [...entries].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  const used = new Set<string>()
  for (const [, e] of list) for (const s in e.stages) used.add(s)
  const stages = [...used].sort()
  const show: Record<string, GtoShowEntry> = {}
  for (const [name, e] of list) {
    if (!e.active && !opts.deprecated) continue
    const stage: Record<string, string | null> = {}
    for (const s of stages) stage[s] = e.stages[s] ?? null
    show[name] = { version: e.version, stage, registered: e.registered, active: e.active }
  }
  return { show, stages }
}

/**
 * `gto show --json` of a folded registry.
 *
 * @example
 * gtoShow(state) // { churn: { version: 'v1.1.0', stage: { production: 'v1.0.0' }, registered: true, active: true } }
 */
export function gtoShow(state: RegistryState, opts: { deprecated?: boolean } = {}): Record<string, GtoShowEntry> {
  return gtoShowOf(
    [...state.artifacts].map(([name, a]) => [name, showEntry(a)] as [string, ShowEntry]),
    opts,
  ).show
}
